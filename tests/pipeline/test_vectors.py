"""The `TasteVectors` contract, run against every implementation, and Qdrant's own details.

The contract tests take `opened` or `vectors` and run once per entry of
`IMPLEMENTATIONS`; a new store joins by adding one entry (an `Implementation`: how to
open it on a folder, and how to read everything it holds without its interface).
Where a test is about what is *in* the store (erasure, leftovers), it reads the
engine itself through that second look, not through `search`.
"""

import asyncio
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest
import qdrant_edge
from qdrant_client import QdrantClient, models

from bot.errors import DimensionMismatch, VectorStoreError
from bot.pipeline.vectors import (
    MemberTastes,
    PerMemberCollections,
    QdrantServer,
    SharedCollection,
    TastePoint,
    TasteVectors,
    VectorLayout,
    edge_files,
    member_alias,
    open_taste_vectors,
)
from bot.pipeline.vectors.edge import EdgeTasteVectors, open_edge_vectors


@dataclass(frozen=True)
class StoredPoint:
    """One point as the engine holds it, read past the store's interface."""

    id: int
    payload: dict[str, Any]


@dataclass(frozen=True)
class OpenedStore:
    """A store under test, and a look at every point it holds (leftovers included)."""

    vectors: TasteVectors
    every_point: Callable[[], Awaitable[list[StoredPoint]]]


class Implementation(Protocol):
    """How the contract suite opens one kind of store on a folder (again, for a restart)."""

    @property
    def name(self) -> str: ...

    async def open(self, folder: Path) -> OpenedStore: ...


@dataclass(frozen=True)
class EmbeddedQdrant:
    """A Qdrant layout in embedded mode, on a client the test made and can read itself."""

    layout: VectorLayout

    @property
    def name(self) -> str:
        return self.layout.value

    async def open(self, folder: Path) -> OpenedStore:
        client = await asyncio.to_thread(qdrant_client_on, folder)
        store_class = (
            SharedCollection if self.layout is VectorLayout.SHARED else PerMemberCollections
        )
        # The store runs its calls on its own worker; the test reads only between them.
        return OpenedStore(
            store_class(client, workers=1), lambda: asyncio.to_thread(every_qdrant_point, client)
        )


def qdrant_client_on(folder: Path) -> QdrantClient:
    """An embedded Qdrant client on `folder`, which is created if needed."""
    folder.mkdir(parents=True, exist_ok=True)
    return QdrantClient(path=str(folder))


def every_qdrant_point(client: QdrantClient) -> list[StoredPoint]:
    """Every point in every collection, reachable or not, with its payload."""
    points: list[StoredPoint] = []
    for collection in client.get_collections().collections:
        records, _ = client.scroll(collection.name, limit=10_000, with_payload=True)
        points.extend(StoredPoint(int(record.id), record.payload or {}) for record in records)
    return points


@dataclass(frozen=True)
class EdgeShard:
    """The Qdrant Edge store (the default without a server) in a folder of its own."""

    @property
    def name(self) -> str:
        return "edge"

    async def open(self, folder: Path) -> OpenedStore:
        store = await open_edge_vectors(folder)
        return OpenedStore(store, lambda: every_edge_point(store, folder))


async def every_edge_point(store: EdgeTasteVectors, folder: Path) -> list[StoredPoint]:
    """Every point of the current shard, and of any other generation left in `folder`."""
    points = [StoredPoint(taste_id, payload) for taste_id, payload in await store.every_point()]

    def leftovers() -> list[StoredPoint]:
        found: list[StoredPoint] = []
        current = edge_files.read_current(folder)
        for path in edge_files.stray_generations(folder, current):
            shard = qdrant_edge.EdgeShard.load(str(path))  # nobody holds a stray one
            try:
                records, _ = shard.scroll(
                    qdrant_edge.ScrollRequest(limit=10_000, with_payload=True)
                )
            finally:
                shard.close()
            found.extend(StoredPoint(int(r.id), dict(r.payload or {})) for r in records)
        return found

    return points + await asyncio.to_thread(leftovers)


LAYOUTS = [VectorLayout.PER_MEMBER, VectorLayout.SHARED]
IMPLEMENTATIONS: list[Implementation] = [
    *(EmbeddedQdrant(layout) for layout in LAYOUTS),
    EdgeShard(),
]


@pytest.fixture(params=IMPLEMENTATIONS, ids=[i.name for i in IMPLEMENTATIONS])
def implementation(request: pytest.FixtureRequest) -> Implementation:
    return request.param


@pytest.fixture
async def opened(tmp_path: Path, implementation: Implementation) -> AsyncIterator[OpenedStore]:
    store = await implementation.open(tmp_path / "store")
    yield store
    await store.vectors.close()


@pytest.fixture
def vectors(opened: OpenedStore) -> TasteVectors:
    return opened.vectors


@pytest.fixture(params=LAYOUTS, ids=[layout.value for layout in LAYOUTS])
def layout(request: pytest.FixtureRequest) -> VectorLayout:
    return request.param


def unit(*components: float) -> list[float]:
    norm = math.sqrt(sum(c * c for c in components))
    return [c / norm for c in components]


async def point_ids(opened: OpenedStore) -> set[int]:
    return {point.id for point in await opened.every_point()}


async def search_ids(store: TasteVectors, member: str, vector: list[float]) -> list[int]:
    return [hit.taste_id for hit in await store.search(member, vector, limit=10)]


async def feed(members: Sequence[MemberTastes]) -> AsyncIterator[MemberTastes]:
    for member in members:
        yield member


# -- the contract, on every implementation ------------------------------------------------


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


async def test_deleted_tastes_are_erased_from_the_store_itself(opened: OpenedStore) -> None:
    vectors = opened.vectors
    await vectors.store("alice", [TastePoint(1, unit(1, 0)), TastePoint(2, unit(0, 1))])
    await vectors.store("bob", [TastePoint(3, unit(1, 0))])
    await vectors.delete("alice", [1])
    assert await point_ids(opened) == {2, 3}
    await vectors.delete_member("alice")
    assert await point_ids(opened) == {3}
    assert await vectors.search("alice", unit(1, 0), 3) == []


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
    opened: OpenedStore,
) -> None:
    vectors = opened.vectors
    await vectors.store("alice", [TastePoint(1, unit(1, 0, 0))])
    await vectors.store("bob", [TastePoint(2, unit(1, 0, 0))])
    report = await vectors.rebuild(feed([MemberTastes("alice", [TastePoint(5, unit(0, 1))])]))
    assert (report.members, report.vectors, report.removed_members) == (1, 1, 1)
    assert await search_ids(vectors, "alice", unit(0, 1)) == [5]
    assert await vectors.search("bob", unit(0, 1), 3) == []
    assert await point_ids(opened) == {5}
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
    tmp_path: Path, implementation: Implementation
) -> None:
    opened = await implementation.open(tmp_path / "q")
    store = opened.vectors
    await store.store("alice", [TastePoint(1, unit(1, 0))])
    await store.store("bob", [TastePoint(2, unit(1, 0))])

    async def dies() -> AsyncIterator[MemberTastes]:
        yield MemberTastes("alice", [TastePoint(1, unit(0, 1))])
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        await store.rebuild(dies())
    await store.close()

    opened = await implementation.open(tmp_path / "q")
    store = opened.vectors
    try:
        await store.tidy()
        assert await store.taste_ids("alice") == {1}
        assert await store.taste_ids("bob") == {2}
        assert len(await opened.every_point()) == 2  # nothing half-built is left
        new = [MemberTastes("alice", [TastePoint(1, unit(0, 1))])]
        new.append(MemberTastes("bob", [TastePoint(2, unit(0, 1))]))
        await store.rebuild(feed(new))
        assert await search_ids(store, "bob", unit(0, 1)) == [2]
        assert len(await opened.every_point()) == 2
    finally:
        await store.close()


async def test_vectors_survive_a_restart(tmp_path: Path, implementation: Implementation) -> None:
    store = (await implementation.open(tmp_path / "q")).vectors
    await store.store("alice", [TastePoint(1, unit(1, 0))])
    await store.close()
    reopened = (await implementation.open(tmp_path / "q")).vectors
    try:
        assert await search_ids(reopened, "alice", unit(1, 0)) == [1]
    finally:
        await reopened.close()


# -- Qdrant: the payload, the layouts, names and opening ---------------------------------


async def test_points_carry_ids_only_never_the_tastes_text(
    tmp_path: Path, layout: VectorLayout
) -> None:
    opened = await EmbeddedQdrant(layout).open(tmp_path / "q")
    try:
        await opened.vectors.store("alice", [TastePoint(7, unit(1, 0))])
        [point] = await opened.every_point()
    finally:
        await opened.vectors.close()
    expected = {"taste_id": 7} | ({"member_id": "alice"} if layout is VectorLayout.SHARED else {})
    assert point.payload == expected


async def test_rebuild_moves_the_tastes_to_the_other_layout(
    tmp_path: Path, layout: VectorLayout
) -> None:
    other = VectorLayout.SHARED if layout is VectorLayout.PER_MEMBER else VectorLayout.PER_MEMBER
    store = (await EmbeddedQdrant(other).open(tmp_path / "q")).vectors
    await store.store("alice", [TastePoint(1, unit(1, 0))])
    await store.close()

    opened = await EmbeddedQdrant(layout).open(tmp_path / "q")
    store = opened.vectors
    try:
        assert (await store.census(["alice"])).other_layout == 1
        await store.rebuild(feed([MemberTastes("alice", [TastePoint(1, unit(1, 0))])]))
        census = await store.census(["alice"])
        assert (census.vectors, census.other_layout) == ({"alice": 1}, 0)
        assert len(await opened.every_point()) == 1
    finally:
        await store.close()


async def test_a_first_release_collection_is_adopted_behind_its_alias(tmp_path: Path) -> None:
    client = QdrantClient(path=str(tmp_path / "q"))
    client.create_collection(
        "tastes_m_alice",
        vectors_config=models.VectorParams(size=2, distance=models.Distance.COSINE),
    )
    client.upsert("tastes_m_alice", [models.PointStruct(id=4, vector=unit(1, 0), payload={})])
    store = PerMemberCollections(client, workers=1)
    try:
        assert await store.tidy() == 0
        assert await search_ids(store, "alice", unit(1, 0)) == [4]
        await store.rebuild(feed([MemberTastes("alice", [TastePoint(4, unit(0, 1))])]))
        names = {c.name for c in client.get_collections().collections}
        assert names == {"tastes_m_alice__g1"}
    finally:
        await store.close()


async def test_open_taste_vectors_opens_the_configured_layout(
    tmp_path: Path, layout: VectorLayout
) -> None:
    store = await open_taste_vectors(layout, path=tmp_path / "q")
    try:
        assert store.layout is layout
        await store.store("alice", [TastePoint(1, unit(1, 0))])
        assert await search_ids(store, "alice", unit(1, 0)) == [1]
    finally:
        await store.close()


async def test_a_second_process_on_the_same_folder_is_told_what_to_do(
    tmp_path: Path, layout: VectorLayout
) -> None:
    first = await open_taste_vectors(layout, path=tmp_path / "q")
    try:
        with pytest.raises(VectorStoreError, match=r"in use by another suggest\.watch process"):
            await open_taste_vectors(layout, path=tmp_path / "q")
    finally:
        await first.close()


@pytest.mark.filterwarnings("ignore:Failed to obtain server version")
async def test_an_unreachable_server_is_a_vector_store_error() -> None:
    server = QdrantServer("http://127.0.0.1:9", api_key=None, timeout=5)
    with pytest.raises(VectorStoreError, match=re.escape("vector store at http://127.0.0.1:9")):
        await open_taste_vectors(VectorLayout.PER_MEMBER, server=server)


def test_member_places_are_readable_for_ids_and_hashed_for_anything_else() -> None:
    assert member_alias("123456789") == "member_m_123456789"
    hashed = member_alias("élodie smith")
    assert hashed.startswith("member_h_")
    assert hashed != member_alias("elodie smith")


async def test_the_shared_layout_asks_for_a_tenant_index_and_graphs_per_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Embedded Qdrant accepts these and ignores them, so the test records the requests.
    client = QdrantClient(path=str(tmp_path / "q"))
    asked: dict[str, dict[str, object]] = {}
    for method in ("create_collection", "create_payload_index"):
        real = getattr(client, method)

        def spy(*args: object, _real=real, _method=method, **kwargs: object) -> object:  # type: ignore[no-untyped-def]
            asked[_method] = kwargs
            return _real(*args, **kwargs)

        monkeypatch.setattr(client, method, spy)
    store = SharedCollection(client, workers=1)
    try:
        await store.store("alice", [TastePoint(1, unit(1, 0))])
    finally:
        await store.close()
    hnsw = asked["create_collection"]["hnsw_config"]
    assert isinstance(hnsw, models.HnswConfigDiff) and (hnsw.m, hnsw.payload_m) == (0, 16)
    index = asked["create_payload_index"]["field_schema"]
    assert isinstance(index, models.KeywordIndexParams) and index.is_tenant is True


def test_a_store_missing_part_of_the_contract_cannot_be_made() -> None:
    class Forgetful(TasteVectors):
        layout = VectorLayout.PER_MEMBER

        async def store(self, member_id: str, points: Sequence[TastePoint]) -> None:
            return None

    with pytest.raises(TypeError, match="abstract"):
        Forgetful()  # type: ignore[abstract]
