"""Stating, listing and forgetting tastes, against the fake Ollama, Qdrant and SQLite."""

import pytest

from bot.errors import (
    InputError,
    ModelNotFound,
    OllamaUnreachable,
    TasteNotFound,
    VectorStoreError,
)
from bot.pipeline.events import Retrieved
from bot.pipeline.pipeline import Backends, Pipeline, open_pipeline
from bot.settings import Settings
from tests.fakes.ollama_server import (
    FakeOllama,
    unused_port,
)
from tests.pipeline.helpers import (
    TASTES,
    add_tastes,
    collect,
)


async def test_prefer_stores_a_cleaned_taste_that_tastes_lists(pipeline: Pipeline) -> None:
    taste = await pipeline.prefer("alice", "  slow   sci-fi\n")
    assert taste.text == "slow sci-fi"
    assert [t.text for t in await pipeline.tastes("alice")] == ["slow sci-fi"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [("   ", "cannot be empty"), ("x" * 301, "at most 300"), ("bad\x00byte", "control")],
)
async def test_bad_taste_text_is_refused_and_nothing_is_stored(
    pipeline: Pipeline, fake_ollama: FakeOllama, text: str, reason: str
) -> None:
    with pytest.raises(InputError, match=reason):
        await pipeline.prefer("alice", text)
    assert await pipeline.tastes("alice") == []
    assert fake_ollama.embed_requests == []  # refused before any model time is spent


async def test_the_same_taste_twice_is_refused(pipeline: Pipeline) -> None:
    first = await pipeline.prefer("alice", "Film noir")
    with pytest.raises(InputError, match=f"already have that taste \\(#{first.id}\\)"):
        await pipeline.prefer("alice", "film   NOIR")


async def test_a_member_cannot_store_more_than_the_limit(settings: Settings) -> None:
    limited = settings.model_copy(update={"max_tastes_per_member": 2})
    async with open_pipeline(limited) as pipeline:
        await add_tastes(pipeline, "alice", TASTES[:2])
        with pytest.raises(InputError, match="the most allowed"):
            await pipeline.prefer("alice", TASTES[2])


async def test_prefer_with_ollama_down_stores_nothing(settings: Settings) -> None:
    down = settings.model_copy(update={"ollama_url": f"http://127.0.0.1:{unused_port()}"})
    async with open_pipeline(down) as pipeline:
        with pytest.raises(OllamaUnreachable, match="Cannot reach Ollama"):
            await pipeline.prefer("alice", "noir")
        assert await pipeline.tastes("alice") == []


async def test_prefer_with_the_embedding_model_missing_names_the_pull(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    fake_ollama.models.discard("bge-large")
    with pytest.raises(ModelNotFound, match="ollama pull bge-large"):
        await pipeline.prefer("alice", "noir")
    assert await pipeline.tastes("alice") == []


async def test_a_failed_vector_write_leaves_no_orphan_record(
    pipeline: Pipeline, backends: Backends, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken_store(*args: object) -> None:
        raise VectorStoreError("Could not store the taste's vector: the vector store failed.")

    monkeypatch.setattr(backends.vectors, "store", broken_store)
    with pytest.raises(VectorStoreError):
        await pipeline.prefer("alice", "noir")
    assert await pipeline.tastes("alice") == []


async def test_forget_removes_the_taste_from_both_stores(pipeline: Pipeline) -> None:
    await add_tastes(pipeline, "alice")
    arrival = (await pipeline.tastes("alice"))[0]
    forgotten = await pipeline.forget("alice", arrival.id)
    assert forgotten == arrival
    assert arrival.id not in [t.id for t in await pipeline.tastes("alice")]
    events = await collect(pipeline, "alice", "slow thoughtful sci-fi like Arrival")
    retrieved = events[0]
    assert isinstance(retrieved, Retrieved)
    assert arrival.id not in [m.taste_id for m in retrieved.matches]


async def test_a_member_cannot_forget_another_members_taste(pipeline: Pipeline) -> None:
    bobs = await pipeline.prefer("bob", "musicals")
    with pytest.raises(TasteNotFound, match=f"no taste #{bobs.id}"):
        await pipeline.forget("alice", bobs.id)
    assert [t.id for t in await pipeline.tastes("bob")] == [bobs.id]


async def test_forget_all_removes_only_the_members_tastes(pipeline: Pipeline) -> None:
    await add_tastes(pipeline, "alice")
    await pipeline.prefer("bob", "musicals")
    assert await pipeline.forget_all("alice") == len(TASTES)
    assert await pipeline.tastes("alice") == []
    assert len(await pipeline.tastes("bob")) == 1
