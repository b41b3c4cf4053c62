"""Fixtures for the pipeline tests: settings on a temporary DATA_DIR, the backends
opened on it, and a pipeline built from them.

Every pipeline test runs once per store without a server (Edge; local mode in both
layouts), so all keep the same contract. A test that needs to break or look into a
store takes `backends`: the very objects the `pipeline` fixture's parts were given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.pipeline.pipeline import Backends, Pipeline, open_backends
from bot.settings import Settings
from tests.fakes.ollama_server import FakeOllama
from tests.stores import STORES


@pytest.fixture(params=list(STORES))
def store(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(fake_ollama: FakeOllama, tmp_path: Path, store: str) -> Settings:
    return Settings(
        ollama_url=fake_ollama.url,
        data_dir=tmp_path / "data",
        **STORES[store],  # type: ignore[arg-type]
        # The fake's word-hash embeddings score unrelated text near 0, not like bge-large:
        # no floor here; the floor's own tests set it.
        min_taste_similarity=-1.0,
        _env_file=None,
    )


@pytest.fixture
async def backends(settings: Settings) -> AsyncIterator[Backends]:
    async with open_backends(settings) as opened:
        yield opened


@pytest.fixture
async def pipeline(settings: Settings, backends: Backends) -> AsyncIterator[Pipeline]:
    async with Pipeline(settings, backends) as opened:
        yield opened
