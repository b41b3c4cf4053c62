"""Shared fixtures for the whole test suite."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.fakes.ollama_server import FakeOllama


@pytest.fixture
async def fake_ollama() -> AsyncIterator[FakeOllama]:
    """A started fake Ollama server on a free port; `fake_ollama.url` is its address."""
    async with FakeOllama() as fake:
        yield fake
