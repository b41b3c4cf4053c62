"""Taste vectors in Qdrant, behind one small interface that speaks of members and tastes.

`TasteVectors` is all the pipeline knows of the vector store. Two layouts implement it
(the setting VECTOR_LAYOUT chooses):

- `PerMemberCollections` (``per-member``, the default): one collection per member, so
  isolation is structural; right for a community server.
- `SharedCollection` (``shared``): one collection for everyone, the member id a
  keyword payload index marked `is_tenant`, HNSW graphs built per member
  (`payload_m`, global `m=0`), every search, count and delete filtered by member.
  Qdrant's own advice once there are thousands of members.

Every place is reached through a Qdrant *alias* that points at a physical collection
with a generation suffix (``__g3``). `rebuild` fills a new generation beside the old
one and moves the alias in one alias operation, so a search never finds a member
without vectors, and a rebuild killed half way leaves only unreferenced collections
that `tidy` removes. Points carry the taste's id (and, shared, the member's id),
never the taste's text: the records hold that.

qdrant-client's embedded mode is synchronous under its async face, so every call
runs on a worker thread, never on the event loop. Embedded mode is not
thread-safe, so it gets exactly one worker; a server gets a few.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import warnings
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol, TypeVar

from qdrant_client import QdrantClient, models

from bot.errors import DimensionMismatch, VectorStoreError

log = logging.getLogger(__name__)

PHYSICAL_PREFIX = "tastes_"
MEMBER_ALIAS_PREFIX = "member_"
SHARED_ALIAS = "shared_tastes"
SHARED_PHYSICAL = "tastes_shared"
MEMBER_KEY = "member_id"
TASTE_KEY = "taste_id"
_GENERATION = re.compile(r"^(?P<base>.+)__g(?P<number>\d+)$")
_PLAIN_MEMBER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SERVER_WORKERS = 4
_BATCH = 256
_SHARED_PAYLOAD_M = 16
T = TypeVar("T")


class VectorLayout(StrEnum):
    """How tastes are laid out in Qdrant (the VECTOR_LAYOUT setting)."""

    PER_MEMBER = "per-member"
    SHARED = "shared"


@dataclass(frozen=True, slots=True)
class TastePoint:
    """One taste as the vector store holds it: its id and its vector, no text."""

    taste_id: int
    vector: Sequence[float]


@dataclass(frozen=True, slots=True)
class ScoredTaste:
    """A search hit: the taste's id and its cosine similarity to the query."""

    taste_id: int
    score: float


@dataclass(frozen=True, slots=True)
class MemberTastes:
    """All of one member's tastes, ready to be written into a new index."""

    member_id: str
    points: Sequence[TastePoint]


@dataclass(frozen=True, slots=True)
class RebuildReport:
    """What `rebuild` did: vectors written and places of absent members removed."""

    members: int
    vectors: int
    removed_members: int


@dataclass(slots=True)
class VectorCensus:
    """What the store holds, member by member, for `doctor` to compare with the records.

    `vectors` and `dimensions` cover the members asked about that have a place;
    `strangers` counts members with vectors who were not asked about (no records);
    `other_layout` counts places left in the layout that is not configured.
    """

    vectors: dict[str, int] = field(default_factory=dict)
    dimensions: dict[str, int] = field(default_factory=dict)
    strangers: int = 0
    other_layout: int = 0


class TasteVectors(Protocol):
    """What the pipeline needs of a vector store, member by member."""

    layout: VectorLayout

    async def store(self, member_id: str, points: Sequence[TastePoint]) -> None:
        """Write (or overwrite) these tastes' vectors, creating the member's place."""
        ...

    async def delete(self, member_id: str, taste_ids: Sequence[int]) -> None:
        """Erase these tastes' vectors; ids the member has no vector for are ignored."""
        ...

    async def delete_member(self, member_id: str) -> None:
        """Erase every vector of the member."""
        ...

    async def search(
        self, member_id: str, vector: Sequence[float], limit: int
    ) -> list[ScoredTaste]:
        """The member's most similar tastes, best first; [] when they have none."""
        ...

    async def taste_ids(self, member_id: str) -> set[int]:
        """The ids of every taste the store holds a vector for, for this member."""
        ...

    async def census(self, member_ids: Sequence[str]) -> VectorCensus:
        """Vector counts and sizes of these members, and what belongs to nobody listed."""
        ...

    async def rebuild(self, members: AsyncIterator[MemberTastes]) -> RebuildReport:
        """Replace the whole index with `members`, switching over without a gap."""
        ...

    async def tidy(self) -> int:
        """Remove what an interrupted rebuild left behind; returns how many collections."""
        ...

    async def close(self) -> None:
        """Close the client and its worker."""
        ...


def member_alias(member_id: str) -> str:
    """The member's place (per-member layout): readable for Discord ids, hashed otherwise."""
    if _PLAIN_MEMBER_ID.fullmatch(member_id):
        return f"{MEMBER_ALIAS_PREFIX}m_{member_id}"
    digest = hashlib.sha256(member_id.encode()).hexdigest()[:32]
    return f"{MEMBER_ALIAS_PREFIX}h_{digest}"


def _physical(alias: str, generation: int) -> str:
    """The collection of one generation behind an alias."""
    if alias == SHARED_ALIAS:
        return f"{SHARED_PHYSICAL}__g{generation}"
    return f"{PHYSICAL_PREFIX}{alias.removeprefix(MEMBER_ALIAS_PREFIX)}__g{generation}"


def _alias_of_physical(name: str) -> str | None:
    """The alias a physical collection of ours belongs behind (None: not ours)."""
    if not name.startswith(PHYSICAL_PREFIX):
        return None
    match = _GENERATION.match(name)
    base = match["base"] if match else name  # a first-release collection has no suffix
    if base == SHARED_PHYSICAL:
        return SHARED_ALIAS
    return MEMBER_ALIAS_PREFIX + base.removeprefix(PHYSICAL_PREFIX)


def _generation(name: str | None) -> int:
    match = _GENERATION.match(name or "")
    return int(match["number"]) if match else 0


def _is_member_alias(name: str) -> bool:
    return name.startswith(MEMBER_ALIAS_PREFIX)


def _already_exists(exc: Exception) -> bool:
    return "already exists" in str(exc).lower()


class _QdrantStore:
    """The client, its worker thread, error translation and what both layouts share."""

    layout: VectorLayout

    def __init__(self, client: QdrantClient, *, workers: int) -> None:
        self._client = client
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qdrant")
        self._sizes: dict[str, int] = {}  # alias -> vector size, once seen

    async def close(self) -> None:
        try:
            await self._run("close the vector store", self._client.close)
        finally:
            self._executor.shutdown(wait=False)

    async def tidy(self) -> int:
        """Drop unreferenced generations; put an alias in front of first-release collections."""

        def tidy() -> int:
            aliases = self._aliases()
            collections = self._collections()
            for dangling, target in list(aliases.items()):
                if target not in collections:  # its collection went away: a dangling name
                    self._delete_alias(dangling)
                    del aliases[dangling]
            targets = set(aliases.values())
            adopt: list[models.CreateAliasOperation] = []
            removed = 0
            for name in sorted(collections - targets):
                owner = _alias_of_physical(name)
                if owner is None:
                    continue
                if owner not in aliases and _generation(name) == 0 and _is_member_alias(owner):
                    # A first-release collection: reach it through its alias from now on.
                    adopt.append(_create_alias(owner, name))
                    aliases[owner] = name
                    continue
                # A generation built by a rebuild that never switched, or one switched away
                # from but not yet removed: nobody can reach it.
                self._client.delete_collection(name)
                removed += 1
            if adopt:
                self._client.update_collection_aliases(change_aliases_operations=adopt)
                log.info("Gave %d first-release collection(s) their alias", len(adopt))
            return removed

        removed = await self._run("tidy the vector store", tidy)
        if removed:
            log.warning("Removed %d collection(s) left by an interrupted reindex", removed)
        self._sizes.clear()
        return removed

    def _aliases(self) -> dict[str, str]:
        """Our aliases and the collection each points at (blocking; worker thread only)."""
        return {
            a.alias_name: a.collection_name
            for a in self._client.get_aliases().aliases
            if a.alias_name == SHARED_ALIAS or _is_member_alias(a.alias_name)
        }

    def _collections(self) -> set[str]:
        return {
            c.name
            for c in self._client.get_collections().collections
            if c.name.startswith(PHYSICAL_PREFIX)
        }

    def _create_place(self, alias: str, dimension: int) -> None:
        """Create-if-missing for the first generation behind `alias` (blocking).

        Both steps tolerate "already exists", so two first tastes at once (or in two
        processes) both succeed, and a crash between the steps is finished next time.
        """
        physical = _physical(alias, 1)
        try:
            self._create_collection(physical, dimension)
        except Exception as exc:
            if not _already_exists(exc):
                raise
        if not self._client.collection_exists(alias):
            try:
                self._client.update_collection_aliases(
                    change_aliases_operations=[_create_alias(alias, physical)]
                )
            except Exception as exc:
                if not _already_exists(exc):
                    raise

    def _create_collection(self, name: str, dimension: int) -> None:
        self._client.create_collection(name, vectors_config=_vector_params(dimension))

    def _switch(self, alias: str, new: str, old: str | None) -> None:
        """Point `alias` at `new` in one alias operation, then drop `old` (blocking)."""
        operations: list[models.AliasOperations] = []
        if old is not None:
            operations.append(
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))
            )
        operations.append(_create_alias(alias, new))
        self._client.update_collection_aliases(change_aliases_operations=operations)
        if old is not None:
            self._client.delete_collection(old)

    def _delete_alias(self, alias: str) -> None:
        self._client.update_collection_aliases(
            change_aliases_operations=[
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))
            ]
        )

    def _drop_place(self, alias: str, target: str) -> None:
        self._client.delete_collection(target)
        if self._client.collection_exists(alias):  # a server may keep the alias
            self._delete_alias(alias)

    def _size(self, alias: str) -> int | None:
        if not self._client.collection_exists(alias):
            return None
        vectors = self._client.get_collection(alias).config.params.vectors
        assert isinstance(vectors, models.VectorParams)  # we only ever create one vector
        return vectors.size

    async def _size_of(self, alias: str) -> int | None:
        if alias in self._sizes:
            return self._sizes[alias]
        size = await self._run("read the vector store", lambda: self._size(alias))
        if size is not None:
            self._sizes[alias] = size
        return size

    async def _ensure_place(self, alias: str, dimension: int) -> None:
        size = await self._size_of(alias)
        if size is None:
            await self._run(
                "create the member's place in the vector store",
                lambda: self._create_place(alias, dimension),
            )
            size = await self._size_of(alias)
        if size is not None and size != dimension:
            raise DimensionMismatch(size, dimension)

    async def _checked_size(self, alias: str, vector: Sequence[float]) -> int | None:
        size = await self._size_of(alias)
        if size is not None and size != len(vector):
            raise DimensionMismatch(size, len(vector))
        return size

    async def _run(self, doing: str, call: Callable[[], T]) -> T:
        """Run a blocking qdrant-client call on our worker, translating its errors."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, call)
        except DimensionMismatch:
            raise
        except Exception as exc:  # qdrant-client raises many unrelated types; this is the boundary
            log.error("Qdrant failed to %s: %r", doing, exc)
            raise VectorStoreError(f"Could not {doing}: the vector store failed ({exc}).") from exc


class PerMemberCollections(_QdrantStore):
    """`TasteVectors` with one Qdrant collection per member."""

    layout = VectorLayout.PER_MEMBER

    async def store(self, member_id: str, points: Sequence[TastePoint]) -> None:
        if not points:
            return
        alias = member_alias(member_id)
        await self._ensure_place(alias, len(points[0].vector))
        structs = [_to_point(point) for point in points]
        await self._run(
            "store the taste's vector",
            lambda: self._client.upsert(alias, points=structs, wait=True),
        )

    async def delete(self, member_id: str, taste_ids: Sequence[int]) -> None:
        alias = member_alias(member_id)
        if not taste_ids or await self._size_of(alias) is None:
            return
        selector = models.PointIdsList(points=list(taste_ids))
        await self._run(
            "remove the taste's vector",
            lambda: self._client.delete(alias, points_selector=selector, wait=True),
        )

    async def delete_member(self, member_id: str) -> None:
        alias = member_alias(member_id)

        def drop() -> None:
            target = self._aliases().get(alias)
            if target is not None:
                self._drop_place(alias, target)

        await self._run("remove the member's vectors", drop)
        self._sizes.pop(alias, None)

    async def search(
        self, member_id: str, vector: Sequence[float], limit: int
    ) -> list[ScoredTaste]:
        alias = member_alias(member_id)
        if await self._checked_size(alias, vector) is None:
            return []
        response = await self._run(
            "search the tastes",
            lambda: self._client.query_points(alias, query=list(vector), limit=limit),
        )
        return [ScoredTaste(int(hit.id), float(hit.score)) for hit in response.points]

    async def taste_ids(self, member_id: str) -> set[int]:
        alias = member_alias(member_id)
        if await self._size_of(alias) is None:
            return set()
        return await self._run(
            "read the member's vectors", lambda: _scroll_ids(self._client, alias)
        )

    async def census(self, member_ids: Sequence[str]) -> VectorCensus:
        wanted = {member_alias(member_id): member_id for member_id in member_ids}

        def count() -> VectorCensus:
            census = VectorCensus()
            for alias in self._aliases():
                if alias == SHARED_ALIAS:
                    census.other_layout += 1
                elif alias not in wanted:
                    census.strangers += 1
                else:
                    member_id = wanted[alias]
                    census.vectors[member_id] = self._client.count(alias, exact=True).count
                    size = self._size(alias)
                    if size is not None:
                        census.dimensions[member_id] = size
            return census

        return await self._run("count the vectors", count)

    async def rebuild(self, members: AsyncIterator[MemberTastes]) -> RebuildReport:
        """Member by member: build a new generation, then move the member's alias to it."""
        aliases = await self._run("list the vector store", self._aliases)
        kept: set[str] = set()
        written = 0
        async for member in members:
            alias = member_alias(member.member_id)
            kept.add(alias)
            old = aliases.get(alias)
            await self._run(
                "rebuild the member's vectors",
                lambda a=alias, o=old, m=member: self._rebuild_member(a, o, m.points),  # type: ignore[misc]
            )
            self._sizes.pop(alias, None)
            written += len(member.points)
        removed = await self._run("remove stale vectors", lambda: self._drop_all_but(kept))
        self._sizes.clear()
        return RebuildReport(len(kept), written, removed)

    def _rebuild_member(self, alias: str, old: str | None, points: Sequence[TastePoint]) -> None:
        new = _physical(alias, _generation(old) + 1)
        if self._client.collection_exists(new):
            self._client.delete_collection(new)  # half-built by a rebuild that was killed
        dimension = len(points[0].vector) if points else 1
        self._create_collection(new, dimension)
        for start in range(0, len(points), _BATCH):
            batch = [_to_point(p) for p in points[start : start + _BATCH]]
            self._client.upsert(new, points=batch, wait=True)
        self._switch(alias, new, old)

    def _drop_all_but(self, kept: set[str]) -> int:
        """Drop every member place not in `kept`, and the shared layout's index."""
        removed = 0
        for alias, target in self._aliases().items():
            if alias not in kept:
                self._drop_place(alias, target)
                removed += alias != SHARED_ALIAS
        return removed


class SharedCollection(_QdrantStore):
    """`TasteVectors` with one collection for every member, partitioned by member id."""

    layout = VectorLayout.SHARED

    def _create_collection(self, name: str, dimension: int) -> None:
        self._client.create_collection(
            name,
            vectors_config=_vector_params(dimension),
            # No global graph: one HNSW graph per member (tenant), as Qdrant advises.
            hnsw_config=models.HnswConfigDiff(m=0, payload_m=_SHARED_PAYLOAD_M),
        )
        with warnings.catch_warnings():
            # Embedded mode ignores payload indexes (and says so); a server uses it.
            warnings.filterwarnings("ignore", "Payload indexes have no effect")
            self._client.create_payload_index(
                name,
                MEMBER_KEY,
                field_schema=models.KeywordIndexParams(
                    type=models.KeywordIndexType.KEYWORD, is_tenant=True
                ),
            )

    async def store(self, member_id: str, points: Sequence[TastePoint]) -> None:
        if not points:
            return
        await self._ensure_place(SHARED_ALIAS, len(points[0].vector))
        structs = [_to_point(point, member_id) for point in points]
        await self._run(
            "store the taste's vector",
            lambda: self._client.upsert(SHARED_ALIAS, points=structs, wait=True),
        )

    async def delete(self, member_id: str, taste_ids: Sequence[int]) -> None:
        if not taste_ids or await self._size_of(SHARED_ALIAS) is None:
            return
        selector = models.FilterSelector(
            filter=models.Filter(
                must=[
                    _of_member(member_id),
                    models.HasIdCondition(has_id=list(taste_ids)),
                ]
            )
        )
        await self._run(
            "remove the taste's vector",
            lambda: self._client.delete(SHARED_ALIAS, points_selector=selector, wait=True),
        )

    async def delete_member(self, member_id: str) -> None:
        if await self._size_of(SHARED_ALIAS) is None:
            return
        selector = models.FilterSelector(filter=models.Filter(must=[_of_member(member_id)]))
        await self._run(
            "remove the member's vectors",
            lambda: self._client.delete(SHARED_ALIAS, points_selector=selector, wait=True),
        )

    async def search(
        self, member_id: str, vector: Sequence[float], limit: int
    ) -> list[ScoredTaste]:
        if await self._checked_size(SHARED_ALIAS, vector) is None:
            return []
        response = await self._run(
            "search the tastes",
            lambda: self._client.query_points(
                SHARED_ALIAS,
                query=list(vector),
                query_filter=models.Filter(must=[_of_member(member_id)]),
                limit=limit,
            ),
        )
        return [ScoredTaste(int(hit.id), float(hit.score)) for hit in response.points]

    async def taste_ids(self, member_id: str) -> set[int]:
        if await self._size_of(SHARED_ALIAS) is None:
            return set()
        return await self._run(
            "read the member's vectors",
            lambda: _scroll_ids(
                self._client, SHARED_ALIAS, models.Filter(must=[_of_member(member_id)])
            ),
        )

    async def census(self, member_ids: Sequence[str]) -> VectorCensus:
        wanted = set(member_ids)

        def count() -> VectorCensus:
            census = VectorCensus()
            aliases = self._aliases()
            census.other_layout = sum(_is_member_alias(alias) for alias in aliases)
            size = self._size(SHARED_ALIAS) if SHARED_ALIAS in aliases else None
            if size is None:
                return census
            counts = _count_by_member(self._client, SHARED_ALIAS)
            for member_id, vectors in counts.items():
                if member_id in wanted:
                    census.vectors[member_id] = vectors
                    census.dimensions[member_id] = size
                else:
                    census.strangers += 1
            return census

        return await self._run("count the vectors", count)

    async def rebuild(self, members: AsyncIterator[MemberTastes]) -> RebuildReport:
        """Fill a new generation with every member, then move the one alias to it."""
        aliases = await self._run("list the vector store", self._aliases)
        old = aliases.get(SHARED_ALIAS)
        new = _physical(SHARED_ALIAS, _generation(old) + 1)
        created = False
        count = written = 0
        kept: set[str] = set()
        async for member in members:
            kept.add(member.member_id)
            if member.points and not created:
                dimension = len(member.points[0].vector)
                await self._run(
                    "start a new index",
                    lambda d=dimension: self._fresh(new, d),  # type: ignore[misc]
                )
                created = True
            structs = [_to_point(p, member.member_id) for p in member.points]
            for start in range(0, len(structs), _BATCH):
                batch = structs[start : start + _BATCH]
                await self._run(
                    "rebuild the vectors",
                    lambda b=batch: self._client.upsert(new, points=b, wait=True),  # type: ignore[misc]
                )
            count += 1
            written += len(member.points)

        def switch() -> int:
            before = set(_count_by_member(self._client, old)) if old else set()
            if created:
                self._switch(SHARED_ALIAS, new, old)
            elif old is not None:
                self._drop_place(SHARED_ALIAS, old)
            # Only now, with everyone in the shared index, drop the per-member layout.
            kept_aliases = {member_alias(member_id) for member_id in kept}
            removed = len(before - kept)
            for alias, target in self._aliases().items():
                if _is_member_alias(alias):
                    self._drop_place(alias, target)
                    removed += alias not in kept_aliases
            return removed

        removed = await self._run("switch to the new index", switch)
        self._sizes.clear()
        return RebuildReport(count, written, removed)

    def _fresh(self, name: str, dimension: int) -> None:
        if self._client.collection_exists(name):
            self._client.delete_collection(name)  # half-built by a rebuild that was killed
        self._create_collection(name, dimension)


async def open_taste_vectors(
    layout: VectorLayout,
    *,
    path: Path | None = None,
    url: str | None = None,
    api_key: str | None = None,
) -> PerMemberCollections | SharedCollection:
    """The store in `layout`: embedded mode under `path`, or the Qdrant server at `url`."""

    def connect() -> QdrantClient:
        if url:
            client = QdrantClient(url=url, api_key=api_key, timeout=10)
            client.get_collections()  # fail now, with a clear message, if it is down
            return client
        assert path is not None
        path.mkdir(parents=True, exist_ok=True)
        return QdrantClient(path=str(path))

    where = url or str(path)
    try:
        client = await asyncio.to_thread(connect)
    except Exception as exc:
        raise VectorStoreError(_describe_open_failure(where, exc)) from exc
    cls = SharedCollection if layout is VectorLayout.SHARED else PerMemberCollections
    return cls(client, workers=_SERVER_WORKERS if url else 1)


def _vector_params(dimension: int) -> models.VectorParams:
    return models.VectorParams(size=dimension, distance=models.Distance.COSINE)


def _create_alias(alias: str, collection: str) -> models.CreateAliasOperation:
    return models.CreateAliasOperation(
        create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)
    )


def _of_member(member_id: str) -> models.FieldCondition:
    return models.FieldCondition(key=MEMBER_KEY, match=models.MatchValue(value=member_id))


def _to_point(point: TastePoint, member_id: str | None = None) -> models.PointStruct:
    payload: dict[str, object] = {TASTE_KEY: point.taste_id}
    if member_id is not None:
        payload[MEMBER_KEY] = member_id
    return models.PointStruct(id=point.taste_id, vector=list(point.vector), payload=payload)


def _scroll_ids(
    client: QdrantClient, collection: str, where: models.Filter | None = None
) -> set[int]:
    ids: set[int] = set()
    offset: models.ExtendedPointId | None = None
    while True:
        records, offset = client.scroll(
            collection,
            scroll_filter=where,
            limit=1024,
            offset=offset,
            with_payload=False,
            with_vectors=False,
        )
        ids.update(int(record.id) for record in records)
        if offset is None:
            return ids


def _count_by_member(client: QdrantClient, collection: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    offset: models.ExtendedPointId | None = None
    while True:
        records, offset = client.scroll(
            collection,
            limit=4096,
            offset=offset,
            with_payload=[MEMBER_KEY],
            with_vectors=False,
        )
        for record in records:
            member_id = str((record.payload or {}).get(MEMBER_KEY))
            counts[member_id] = counts.get(member_id, 0) + 1
        if offset is None:
            return counts


def _describe_open_failure(where: str, exc: Exception) -> str:
    if "already accessed" in str(exc):
        return (
            f"The embedded vector store at {where} is in use by another suggest.watch process. "
            "Stop that process, or run a Qdrant server and set QDRANT_URL so both can share it."
        )
    return f"Cannot open the vector store at {where}: {exc}"
