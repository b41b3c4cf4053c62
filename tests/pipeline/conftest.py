"""Fixtures for the pipeline tests: settings on a temporary DATA_DIR and an open pipeline.

Every pipeline test runs once per vector layout, so both keep the same contract.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.pipeline.pipeline import Pipeline, open_pipeline
from bot.pipeline.vectors import VectorLayout
from bot.settings import Settings
from tests.fakes.ollama_server import FakeOllama

LAYOUTS = [layout.value for layout in VectorLayout]


@pytest.fixture(params=LAYOUTS)
def layout(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(fake_ollama: FakeOllama, tmp_path: Path, layout: str) -> Settings:
    return Settings(
        ollama_url=fake_ollama.url,
        data_dir=tmp_path / "data",
        vector_layout=layout,
        # The fake's word-hash embeddings score unrelated text near 0, not like bge-large:
        # no floor here; the floor's own tests set it.
        min_taste_similarity=-1.0,
        _env_file=None,
    )


@pytest.fixture
async def pipeline(settings: Settings) -> AsyncIterator[Pipeline]:
    async with open_pipeline(settings) as opened:
        yield opened
