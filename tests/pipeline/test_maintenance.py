"""Reindex: a changed embedding size and a lost vector store are rebuilt from the records."""

import shutil

import pytest

from bot.errors import (
    DimensionMismatch,
)
from bot.pipeline.events import Failed, Retrieved
from bot.pipeline.pipeline import Pipeline, open_pipeline
from bot.settings import Settings
from tests.fakes.ollama_server import (
    FakeOllama,
)
from tests.pipeline.helpers import (
    TASTES,
    add_tastes,
    collect,
)


async def test_a_changed_embedding_size_is_detected_and_reindex_fixes_it(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    await add_tastes(pipeline, "alice")
    await pipeline.prefer("bob", "musicals")
    fake_ollama.embed_dim = 384  # EMBED_MODEL changed to a smaller model
    with pytest.raises(DimensionMismatch, match="reindex"):
        await pipeline.prefer("alice", "noir")
    failed = (await collect(pipeline, "alice", "sci-fi"))[-1]
    assert isinstance(failed, Failed) and isinstance(failed.error, DimensionMismatch)

    report = await pipeline.reindex()
    assert (report.members, report.tastes, report.dimension) == (2, len(TASTES) + 1, 384)
    retrieved = (await collect(pipeline, "alice", "thoughtful sci-fi like Arrival"))[0]
    assert isinstance(retrieved, Retrieved)
    assert retrieved.matches[0].text == "slow thoughtful sci-fi like Arrival"


async def test_reindex_rebuilds_a_lost_vector_store(settings: Settings) -> None:
    async with open_pipeline(settings) as pipeline:
        await add_tastes(pipeline, "alice")
    shutil.rmtree(settings.embedded_path)
    async with open_pipeline(settings) as pipeline:
        retrieved = (await collect(pipeline, "alice", "heist movies"))[0]
        assert isinstance(retrieved, Retrieved) and retrieved.matches == ()
        await pipeline.reindex()
        retrieved = (await collect(pipeline, "alice", "heist movies"))[0]
        assert isinstance(retrieved, Retrieved)
        assert retrieved.matches[0].text == "heist movies with clever twists"
