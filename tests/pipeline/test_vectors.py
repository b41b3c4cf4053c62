"""The `TasteVectors` contract, run against both layouts in embedded mode.

Where a test is about what is *in* the store (erasure, payloads, leftovers), it reads
Qdrant itself through a second look at the client, not through `search`.
"""

import asyncio
import math
import re
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from qdrant_client import QdrantClient, models

from bot.errors import DimensionMismatch, VectorStoreError
from bot.pipeline.vectors import (
    MemberTastes,
    TastePoint,
    TasteVectors,
    VectorLayout,
    member_alias,
    open_taste_vectors,
)

LAYOUTS = [VectorLayout.PER_MEMBER, VectorLayout.SHARED]


def unit(*components: float) -> list[float]:
    norm = math.sqrt(sum(c * c for c in components))
    return [c / norm for c in components]


@pytest.fixture(params=LAYOUTS, ids=[layout.value for layout in LAYOUTS])
def layout(request: pytest.FixtureRequest) -> VectorLayout:
    return request.param


@pytest.fixture
async def vectors(tmp_path: Path, layout: VectorLayout) -> AsyncIterator[TasteVectors]:
    store = await open_taste_vectors(layout, path=tmp_path / "qdrant")
    yield store
    await store.close()


def raw_client(store: TasteVectors) -> QdrantClient:
    client = store._client  # type: ignore[attr-defined]  # the test looks inside on purpose
    assert isinstance(client, QdrantClient)
    return client


async def every_point(store: TasteVectors) -> list[models.Record]:
    """Every point in every physical collection, with its payload and vector."""

    def read() -> list[models.Record]:
        client = raw_client(store)
        points: list[models.Record] = []
        for collection in client.get_collections().collections:
            records, _ = client.scroll(
                collection.name, limit=10_000, with_payload=True, with_vectors=True
            )
            points.extend(records)
        return points

    # On the store's own worker: embedded Qdrant is not thread-safe.
    executor = store._executor  # type: ignore[attr-defined]
    return await asyncio.get_running_loop().run_in_executor(executor, read)


async def search_ids(store: TasteVectors, member: str, vector: list[float]) -> list[int]:
    return [hit.taste_id for hit in await store.search(member, vector, limit=10)]


async def feed(members: Sequence[MemberTastes]) -> AsyncIterator[MemberTastes]:
    for member in members:
        yield member


async def test_search_returns_the_most_similar_tastes_best_first(vectors: TasteVectors) -> None:
    await vectors.store("alice", [TastePoint(1, unit(1, 0, 0)), TastePoint(2, unit(0, 1, 0))])
    await vectors.store("alice", [TastePoint(3, unit(1, 1, 0))])
    hits = await vectors.search("alice", unit(1, 0.1, 0), limit=2)
    assert [hit.taste_id for hit in hits] == [1, 3]
    assert hits[0].score == pytest.approx(1 / math.sqrt(1.01), abs=1e-4)  # cosine


async def test_a_member_never_finds_or_removes_another_members_tastes(
    vectors: TasteVectors,
) -> None:
    await vectors.store("alice", [TastePoint(1, unit(1, 0, 0))])
    assert await vectors.search("bob", unit(1, 0, 0), limit=3) == []
    await vectors.store("bob", [TastePoint(2, unit(1, 0, 0))])
    assert await search_ids(vectors, "bob", unit(1, 0, 0)) == [2]
    await vectors.delete("bob", [1])
    await vectors.delete_member("bob")
    assert await search_ids(vectors, "alice", unit(1, 0, 0)) == [1]
    assert await vectors.taste_ids("alice") == {1}
    assert await vectors.taste_ids("bob") == set()


async def test_deleted_tastes_are_erased_from_the_store_itself(vectors: TasteVectors) -> None:
    await vectors.store("alice", [TastePoint(1, unit(1, 0)), TastePoint(2, unit(0, 1))])
    await vectors.store("bob", [TastePoint(3, unit(1, 0))])
    await vectors.delete("alice", [1])
    assert {int(p.id) for p in await every_point(vectors)} == {2, 3}
    await vectors.delete_member("alice")
    assert {int(p.id) for p in await every_point(vectors)} == {3}
    assert await vectors.search("alice", unit(1, 0), 3) == []


async def test_points_carry_ids_only_never_the_tastes_text(
    vectors: TasteVectors, layout: VectorLayout
) -> None:
    await vectors.store("alice", [TastePoint(7, unit(1, 0))])
    [point] = await every_point(vectors)
    expected = {"taste_id": 7} | ({"member_id": "alice"} if layout is VectorLayout.SHARED else {})
    assert point.payload == expected


async def test_a_vector_of_another_size_is_a_dimension_mismatch_naming_reindex(
    vectors: TasteVectors,
) -> None:
    await vectors.store("alice", [TastePoint(1, unit(1, 0, 0))])
    with pytest.raises(DimensionMismatch, match="reindex"):
        await vectors.store("alice", [TastePoint(2, unit(1, 0))])
    with pytest.raises(DimensionMismatch, match="3-d vectors but the embedding model gives 2-d"):
        await vectors.search("alice", unit(1, 0), 3)


async def test_concurrent_first_tastes_all_succeed(vectors: TasteVectors) -> None:
    members = ["alice", "alice", "bob", "carol", "carol"]
    await asyncio.gather(
        *(vectors.store(m, [TastePoint(i, unit(1, i))]) for i, m in enumerate(members, 1))
    )
    assert await vectors.taste_ids("alice") == {1, 2}
    assert await vectors.taste_ids("carol") == {4, 5}


async def test_census_counts_each_members_vectors_and_the_strangers(
    vectors: TasteVectors,
) -> None:
    await vectors.store("alice", [TastePoint(1, unit(1, 0)), TastePoint(2, unit(0, 1))])
    await vectors.store("bob", [TastePoint(3, unit(1, 0))])
    census = await vectors.census(["alice", "carol"])
    assert census.vectors == {"alice": 2}
    assert census.dimensions == {"alice": 2}
    assert (census.strangers, census.other_layout) == (1, 0)


async def test_rebuild_replaces_everything_and_removes_absent_members(
    vectors: TasteVectors,
) -> None:
    await vectors.store("alice", [TastePoint(1, unit(1, 0, 0))])
    await vectors.store("bob", [TastePoint(2, unit(1, 0, 0))])
    report = await vectors.rebuild(feed([MemberTastes("alice", [TastePoint(5, unit(0, 1))])]))
    assert (report.members, report.vectors, report.removed_members) == (1, 1, 1)
    assert await search_ids(vectors, "alice", unit(0, 1)) == [5]
    assert await vectors.search("bob", unit(0, 1), 3) == []
    assert {int(p.id) for p in await every_point(vectors)} == {5}
    assert (await vectors.census(["alice"])).dimensions == {"alice": 2}


async def test_every_member_stays_searchable_while_a_rebuild_runs(vectors: TasteVectors) -> None:
    members = [f"m{i}" for i in range(4)]
    for i, member in enumerate(members):
        await vectors.store(member, [TastePoint(i + 1, unit(1, 0))])
    seen: list[list[int]] = []

    async def watched() -> AsyncIterator[MemberTastes]:
        for i, member in enumerate(members):
            # Before each member is written into the new index, everyone can still search.
            seen.append([len(await vectors.search(m, unit(1, 0), 3)) for m in members])
            yield MemberTastes(member, [TastePoint(i + 1, unit(1, 0))])

    await vectors.rebuild(watched())
    seen.append([len(await vectors.search(m, unit(1, 0), 3)) for m in members])
    assert seen == [[1, 1, 1, 1]] * (len(members) + 1)


async def test_a_rebuild_that_dies_half_way_leaves_the_old_index_and_a_rerun_finishes(
    tmp_path: Path, layout: VectorLayout
) -> None:
    store = await open_taste_vectors(layout, path=tmp_path / "q")
    await store.store("alice", [TastePoint(1, unit(1, 0))])
    await store.store("bob", [TastePoint(2, unit(1, 0))])

    async def dies() -> AsyncIterator[MemberTastes]:
        yield MemberTastes("alice", [TastePoint(1, unit(0, 1))])
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        await store.rebuild(dies())
    await store.close()

    store = await open_taste_vectors(layout, path=tmp_path / "q")
    try:
        await store.tidy()
        assert await store.taste_ids("alice") == {1}
        assert await store.taste_ids("bob") == {2}
        assert len(await every_point(store)) == 2  # nothing half-built is left
        new = [MemberTastes("alice", [TastePoint(1, unit(0, 1))])]
        new.append(MemberTastes("bob", [TastePoint(2, unit(0, 1))]))
        await store.rebuild(feed(new))
        assert await search_ids(store, "bob", unit(0, 1)) == [2]
        assert len(await every_point(store)) == 2
    finally:
        await store.close()


async def test_rebuild_moves_the_tastes_to_the_other_layout(
    tmp_path: Path, layout: VectorLayout
) -> None:
    other = VectorLayout.SHARED if layout is VectorLayout.PER_MEMBER else VectorLayout.PER_MEMBER
    store = await open_taste_vectors(other, path=tmp_path / "q")
    await store.store("alice", [TastePoint(1, unit(1, 0))])
    await store.close()

    store = await open_taste_vectors(layout, path=tmp_path / "q")
    try:
        assert (await store.census(["alice"])).other_layout == 1
        await store.rebuild(feed([MemberTastes("alice", [TastePoint(1, unit(1, 0))])]))
        census = await store.census(["alice"])
        assert (census.vectors, census.other_layout) == ({"alice": 1}, 0)
        assert len(await every_point(store)) == 1
    finally:
        await store.close()


async def test_vectors_survive_a_restart(tmp_path: Path, layout: VectorLayout) -> None:
    store = await open_taste_vectors(layout, path=tmp_path / "q")
    await store.store("alice", [TastePoint(1, unit(1, 0))])
    await store.close()
    reopened = await open_taste_vectors(layout, path=tmp_path / "q")
    try:
        assert await search_ids(reopened, "alice", unit(1, 0)) == [1]
    finally:
        await reopened.close()


async def test_a_first_release_collection_is_adopted_behind_its_alias(tmp_path: Path) -> None:
    client = QdrantClient(path=str(tmp_path / "q"))
    client.create_collection(
        "tastes_m_alice",
        vectors_config=models.VectorParams(size=2, distance=models.Distance.COSINE),
    )
    client.upsert("tastes_m_alice", [models.PointStruct(id=4, vector=unit(1, 0), payload={})])
    client.close()
    store = await open_taste_vectors(VectorLayout.PER_MEMBER, path=tmp_path / "q")
    try:
        assert await store.tidy() == 0
        assert await search_ids(store, "alice", unit(1, 0)) == [4]
        await store.rebuild(feed([MemberTastes("alice", [TastePoint(4, unit(0, 1))])]))
        names = {c.name for c in raw_client(store).get_collections().collections}
        assert names == {"tastes_m_alice__g1"}
    finally:
        await store.close()


async def test_a_second_process_on_the_same_folder_is_told_what_to_do(
    vectors: TasteVectors, tmp_path: Path, layout: VectorLayout
) -> None:
    with pytest.raises(VectorStoreError, match=r"in use by another suggest\.watch process"):
        await open_taste_vectors(layout, path=tmp_path / "qdrant")


@pytest.mark.filterwarnings("ignore:Failed to obtain server version")
async def test_an_unreachable_server_is_a_vector_store_error() -> None:
    with pytest.raises(VectorStoreError, match=re.escape("vector store at http://127.0.0.1:9")):
        await open_taste_vectors(VectorLayout.PER_MEMBER, url="http://127.0.0.1:9")


def test_member_places_are_readable_for_ids_and_hashed_for_anything_else() -> None:
    assert member_alias("123456789") == "member_m_123456789"
    hashed = member_alias("élodie smith")
    assert hashed.startswith("member_h_")
    assert hashed != member_alias("elodie smith")


async def test_the_shared_layout_asks_for_a_tenant_index_and_graphs_per_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Embedded Qdrant accepts these and ignores them, so the test records the requests.
    store = await open_taste_vectors(VectorLayout.SHARED, path=tmp_path / "q")
    client = raw_client(store)
    asked: dict[str, dict[str, object]] = {}
    for method in ("create_collection", "create_payload_index"):
        real = getattr(client, method)

        def spy(*args: object, _real=real, _method=method, **kwargs: object) -> object:  # type: ignore[no-untyped-def]
            asked[_method] = kwargs
            return _real(*args, **kwargs)

        monkeypatch.setattr(client, method, spy)
    try:
        await store.store("alice", [TastePoint(1, unit(1, 0))])
    finally:
        await store.close()
    hnsw = asked["create_collection"]["hnsw_config"]
    assert isinstance(hnsw, models.HnswConfigDiff) and (hnsw.m, hnsw.payload_m) == (0, 16)
    index = asked["create_payload_index"]["field_schema"]
    assert isinstance(index, models.KeywordIndexParams) and index.is_tenant is True
