"""Per-member Qdrant collections in embedded mode: search, isolation, dimensions."""

import math
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.errors import DimensionMismatch, VectorStoreError
from bot.pipeline.vectors import PerMemberCollections, TastePoint, collection_name


def unit(*components: float) -> list[float]:
    norm = math.sqrt(sum(c * c for c in components))
    return [c / norm for c in components]


@pytest.fixture
async def vectors(tmp_path: Path) -> AsyncIterator[PerMemberCollections]:
    store = await PerMemberCollections.open(path=tmp_path / "qdrant")
    yield store
    await store.close()


async def test_search_returns_the_most_similar_tastes_best_first(
    vectors: PerMemberCollections,
) -> None:
    await vectors.upsert("alice", TastePoint(1, "a", unit(1, 0, 0)))
    await vectors.upsert("alice", TastePoint(2, "b", unit(0, 1, 0)))
    await vectors.upsert("alice", TastePoint(3, "c", unit(1, 1, 0)))
    hits = await vectors.search("alice", unit(1, 0.1, 0), limit=2)
    assert [hit.taste_id for hit in hits] == [1, 3]
    assert hits[0].score == pytest.approx(1 / math.sqrt(1.01), abs=1e-4)  # cosine


async def test_a_member_never_finds_another_members_tastes(vectors: PerMemberCollections) -> None:
    await vectors.upsert("alice", TastePoint(1, "a", unit(1, 0, 0)))
    assert await vectors.search("bob", unit(1, 0, 0), limit=3) == []
    await vectors.upsert("bob", TastePoint(2, "b", unit(1, 0, 0)))
    assert [hit.taste_id for hit in await vectors.search("bob", unit(1, 0, 0), 3)] == [2]


async def test_deleted_tastes_are_no_longer_found(vectors: PerMemberCollections) -> None:
    await vectors.upsert("alice", TastePoint(1, "a", unit(1, 0)))
    await vectors.upsert("alice", TastePoint(2, "b", unit(0, 1)))
    await vectors.delete("alice", [1])
    assert [hit.taste_id for hit in await vectors.search("alice", unit(1, 0), 3)] == [2]
    await vectors.drop_member("alice")
    assert await vectors.search("alice", unit(1, 0), 3) == []


async def test_a_vector_of_another_size_is_a_dimension_mismatch_naming_reindex(
    vectors: PerMemberCollections,
) -> None:
    await vectors.upsert("alice", TastePoint(1, "a", unit(1, 0, 0)))
    with pytest.raises(DimensionMismatch, match="reindex"):
        await vectors.upsert("alice", TastePoint(2, "b", unit(1, 0)))
    with pytest.raises(DimensionMismatch, match="3-d vectors but the embedding model gives 2-d"):
        await vectors.search("alice", unit(1, 0), 3)


async def test_rebuild_replaces_a_members_vectors_with_the_new_size(
    vectors: PerMemberCollections,
) -> None:
    await vectors.upsert("alice", TastePoint(1, "a", unit(1, 0, 0)))
    await vectors.rebuild_member("alice", 2, [TastePoint(5, "e", unit(0, 1))])
    hits = await vectors.search("alice", unit(0, 1), 3)
    assert [hit.taste_id for hit in hits] == [5]
    assert await vectors.dimensions() == {collection_name("alice"): 2}


async def test_drop_members_except_removes_only_the_unlisted(vectors: PerMemberCollections) -> None:
    for member in ("alice", "bob", "carol"):
        await vectors.upsert(member, TastePoint(1, "a", unit(1, 0)))
    assert await vectors.drop_members_except(["bob"]) == 2
    assert set(await vectors.dimensions()) == {collection_name("bob")}


async def test_vectors_survive_a_restart(tmp_path: Path) -> None:
    store = await PerMemberCollections.open(path=tmp_path / "q")
    await store.upsert("alice", TastePoint(1, "a", unit(1, 0)))
    await store.close()
    reopened = await PerMemberCollections.open(path=tmp_path / "q")
    try:
        assert [hit.taste_id for hit in await reopened.search("alice", unit(1, 0), 3)] == [1]
    finally:
        await reopened.close()


async def test_a_second_process_on_the_same_folder_is_told_what_to_do(
    vectors: PerMemberCollections, tmp_path: Path
) -> None:
    with pytest.raises(VectorStoreError, match=r"in use by another suggest\.watch process"):
        await PerMemberCollections.open(path=tmp_path / "qdrant")


@pytest.mark.filterwarnings("ignore:Failed to obtain server version")
async def test_an_unreachable_server_is_a_vector_store_error() -> None:
    with pytest.raises(VectorStoreError, match=re.escape("vector store at http://127.0.0.1:9")):
        await PerMemberCollections.open(url="http://127.0.0.1:9")


def test_collection_names_are_readable_for_ids_and_hashed_for_anything_else() -> None:
    assert collection_name("123456789") == "tastes_m_123456789"
    hashed = collection_name("élodie smith")
    assert hashed.startswith("tastes_h_")
    assert hashed != collection_name("elodie smith")
