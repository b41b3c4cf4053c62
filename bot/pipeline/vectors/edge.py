"""Taste vectors in a Qdrant Edge shard: Qdrant's own engine inside this process.

The embedded store for owners without a Qdrant server. One shard holds every member's
tastes: a point per taste (its id is the taste's id), with the payload ``member_id``
(a keyword index marked `is_tenant`) and ``taste_id``, never the text. Every search,
count and delete is filtered by member, so a search scores only that member's own
vectors, exactly, found through the tenant index: no graph is needed at a member's size,
and the shard is never optimized while serving (an optimize holds the GIL for seconds).

No aliases: each generation is its own shard folder, and `current.json` names the one
in use (see `edge_files.py`). `rebuild` fills the next generation beside the old one while
searches keep using the old, then switches with one rename; a rebuild killed before
that leaves the old one whole, and `tidy` removes what it left.

Edge calls hold the GIL, so they are kept short and off the event loop: all run on one
worker thread, in order; writes go in slices of `WRITE_SLICE` points; the write-ahead
log is flushed every `FLUSH_EVERY` points (a flush is an fsync or several, 20-60 ms,
and bounds what the next open replays). A rebuild's thousands of writes and flushes go
to another process (`edge_builder.py`); this one only loads the finished shard. Vectors
are stored as float16: half the memory, and cosine scores within 1e-4 of float32's
(the similarity floor needs 0.001).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import qdrant_edge as edge

from bot.errors import DimensionMismatch, VectorStoreError
from bot.pipeline.vectors import edge_files as files
from bot.pipeline.vectors.contract import (
    MemberTastes,
    RebuildReport,
    ScoredTaste,
    TastePoint,
    TasteVectors,
    VectorCensus,
    VectorLayout,
)
from bot.pipeline.vectors.edge_builder import (
    MEMBER_KEY,
    WRITE_SLICE,
    ShardBuilder,
    create_shard,
    to_point,
    wait_for_builders,
)

log = logging.getLogger(__name__)

FLUSH_EVERY = 1000  # points written between flushes; replaying 1,000 takes ~50 ms
READ_PAGE = 1024
T = TypeVar("T")


class EdgeTasteVectors(TasteVectors):
    """`TasteVectors` in one Qdrant Edge shard under `root`, partitioned by member."""

    layout = VectorLayout.SHARED  # one shard for everyone, partitioned by member

    def __init__(self, root: Path, holder: files.Holder) -> None:
        self.root = root
        self._holder = holder
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="edge")
        self._shard: edge.EdgeShard | None = None
        self._current: files.Current | None = None
        self._unflushed = 0
        self._closed = False

    @classmethod
    async def open(cls, root: Path) -> EdgeTasteVectors:
        """Take the store's folder for this process and load the current generation."""
        holder = await asyncio.to_thread(files.Holder.take, root)
        store = cls(root, holder)
        try:
            await store._run("open the vector store", store._open)
        except VectorStoreError as exc:
            store._executor.shutdown(wait=True)
            holder.release()
            if "WouldBlock" in str(exc):  # Edge's own WAL lock: a holder ours missed
                raise VectorStoreError(files.in_use_message(root)) from exc
            raise
        return store

    # -- the interface ------------------------------------------------------------------

    async def store(self, member_id: str, points: Sequence[TastePoint]) -> None:
        """Write (or overwrite) these tastes' vectors; the first ever creates the shard."""
        if not points:
            return
        dimension = len(points[0].vector)
        await self._run("create the vector store", lambda: self._ensure_shard(dimension))
        for start in range(0, len(points), WRITE_SLICE):
            batch = points[start : start + WRITE_SLICE]
            await self._run(
                "store the taste's vector",
                lambda b=batch: self._write(self._live(), member_id, b),  # type: ignore[misc]
            )

    async def delete(self, member_id: str, taste_ids: Sequence[int]) -> None:
        """Erase these tastes' vectors; ids the member has no vector for are ignored."""
        if not taste_ids or self._current is None:
            return
        where = _member_filter(member_id, edge.HasIdCondition(set(taste_ids)))
        await self._run("remove the taste's vector", lambda: self._erase(where, len(taste_ids)))

    async def delete_member(self, member_id: str) -> None:
        """Erase every vector of the member."""
        if self._current is None:
            return
        await self._run(
            "remove the member's vectors", lambda: self._erase(_member_filter(member_id), 1)
        )

    async def search(
        self, member_id: str, vector: Sequence[float], limit: int
    ) -> list[ScoredTaste]:
        """The member's most similar tastes, best first; [] when they have none."""
        current = self._current
        if current is None:
            return []
        if current.dimension != len(vector):
            raise DimensionMismatch(current.dimension, len(vector))
        request = edge.QueryRequest(
            limit=limit, query=edge.Query.Nearest(list(vector)), filter=_member_filter(member_id)
        )
        hits = await self._run("search the tastes", lambda: self._live().query(request))
        return [ScoredTaste(int(hit.id), float(hit.score)) for hit in hits]

    async def taste_ids(self, member_id: str) -> set[int]:
        """The ids of every taste the store holds a vector for, for this member."""
        ids: set[int] = set()
        async for page in self._pages(_member_filter(member_id), with_vector=False):
            ids.update(int(record.id) for record in page)
        return ids

    async def census(self, member_ids: Sequence[str]) -> VectorCensus:
        """Vector counts of these members, and how many members with vectors were not asked."""
        census = VectorCensus()
        current = self._current
        if current is None:
            return census
        wanted = set(member_ids)
        for member_id, count in (await self._run("count the vectors", self._counts)).items():
            if member_id in wanted:
                census.vectors[member_id] = count
                census.dimensions[member_id] = current.dimension
            else:
                census.strangers += 1
        return census

    async def rebuild(self, members: AsyncIterator[MemberTastes]) -> RebuildReport:
        """Fill the next generation beside the current one, then switch in one rename."""
        await self.tidy()  # a generation folder left by a killed rebuild is in the way
        generation = (self._current.generation if self._current else 0) + 1
        path = files.generation_dir(self.root, generation)
        builder: ShardBuilder | None = None
        kept: set[str] = set()
        written = 0
        try:
            async for member in members:
                kept.add(member.member_id)
                if member.points:
                    builder = builder or await _start_builder(path, member)
                    await _send(builder, member)
                    written += len(member.points)
            before = set(await self.members())
            new = None if builder is None else files.Current(generation, builder.dimension)
            if builder is not None:
                await _finish(builder)
            await self._run("switch to the new index", lambda: self._switch(new))
        except BaseException:
            if builder is not None:
                await builder.abort()
            await asyncio.to_thread(files.remove_generation, path)
            raise
        return RebuildReport(len(kept), written, len(before - kept))

    async def tidy(self) -> int:
        """Remove generations `current.json` does not name; returns how many."""

        def tidy() -> int:
            if not wait_for_builders(self.root):
                raise VectorStoreError(
                    f"An index builder still writes in {self.root}: stop it, then start again."
                )
            stray = files.stray_generations(self.root, self._current)
            for path in stray:
                files.remove_generation(path)
            return len(stray)

        removed = await self._run("tidy the vector store", tidy)
        if removed:
            log.warning("Removed %d vector index folder(s) left by an interrupted reindex", removed)
        return removed

    async def close(self) -> None:
        """Flush and close the shard, then let another process open the store (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._run("close the vector store", self._close_shard)
        finally:
            self._executor.shutdown(wait=True)
            self._holder.release()

    # -- beyond the interface -----------------------------------------------------------

    async def members(self) -> dict[str, int]:
        """Every member with vectors, and how many each has."""
        return await self._run("count the vectors", self._counts)

    async def member_points(self, member_id: str) -> list[TastePoint]:
        """One member's tastes with their vectors (to copy them elsewhere)."""
        points: list[TastePoint] = []
        async for page in self._pages(_member_filter(member_id), with_vector=True):
            points.extend(_to_taste(record)[1] for record in page)
        return points

    async def every_point(self) -> list[tuple[int, dict[str, object]]]:
        """Every point of the shard with its payload, whoever's it is (for checks)."""
        points: list[tuple[int, dict[str, object]]] = []
        async for page in self._pages(None, with_vector=False):
            points.extend((int(record.id), dict(record.payload or {})) for record in page)
        return points

    async def count(self) -> int:
        """How many vectors the store holds, all members together."""
        if self._current is None:
            return 0
        return await self._run("count the vectors", lambda: self._live().count(edge.CountRequest()))

    # -- on the worker thread -----------------------------------------------------------

    def _open(self) -> None:
        self._current = files.read_current(self.root)
        if self._current is None:
            return
        path = files.generation_dir(self.root, self._current.generation)
        if not path.is_dir():
            log.warning("The vector index %s is missing: starting empty (reindex fills it)", path)
            self._current = None
            files.write_current(self.root, None)
            return
        self._shard = edge.EdgeShard.load(str(path))

    def _ensure_shard(self, dimension: int) -> None:
        if self._current is None:
            path = files.generation_dir(self.root, 1)
            files.remove_generation(path)  # left by a first rebuild that was killed
            self._switch(files.Current(1, dimension), create_shard(path, dimension))
        elif self._current.dimension != dimension:
            raise DimensionMismatch(self._current.dimension, dimension)

    def _live(self) -> edge.EdgeShard:
        if self._shard is None:
            raise VectorStoreError("The vector store is closed.")
        return self._shard

    def _write(self, shard: edge.EdgeShard, member_id: str, points: Sequence[TastePoint]) -> None:
        structs = [to_point(point.taste_id, point.vector, member_id) for point in points]
        shard.update(edge.UpdateOperation.upsert_points(structs))
        self._note_written(shard, len(structs))

    def _erase(self, where: edge.Filter, weight: int) -> None:
        shard = self._live()
        shard.update(edge.UpdateOperation.delete_points_by_filter(where))
        self._note_written(shard, weight)

    def _note_written(self, shard: edge.EdgeShard, points: int) -> None:
        self._unflushed += points
        if self._unflushed >= FLUSH_EVERY:
            shard.flush()
            self._unflushed = 0

    def _counts(self) -> dict[str, int]:
        if self._current is None:
            return {}
        request = edge.FacetRequest(key=MEMBER_KEY, limit=2**31 - 1, exact=True)
        return {str(hit.value): hit.count for hit in self._live().facet(request).hits}

    def _switch(self, new: files.Current | None, shard: edge.EdgeShard | None = None) -> None:
        """Make `new` current in one rename (loading its shard), then drop the old one."""
        if new is not None and shard is None:
            shard = edge.EdgeShard.load(str(files.generation_dir(self.root, new.generation)))
        files.write_current(self.root, new)
        old_shard, old = self._shard, self._current
        self._shard, self._current, self._unflushed = shard, new, 0
        if old_shard is not None:
            old_shard.close()
        if old is not None and (new is None or new.generation != old.generation):
            files.remove_generation(files.generation_dir(self.root, old.generation))

    def _close_shard(self) -> None:
        if self._shard is not None:
            self._shard.flush()
            self._shard.close()
            self._shard = None

    # -- helpers on the loop ------------------------------------------------------------

    async def _pages(
        self, where: edge.Filter | None, *, with_vector: bool
    ) -> AsyncIterator[list[edge.Record]]:
        offset: int | str | None = None
        while self._current is not None:
            request = edge.ScrollRequest(
                offset=offset,
                limit=READ_PAGE,
                filter=where,
                with_payload=True,
                with_vector=with_vector,
            )
            page, next_offset = await self._run(
                "read the vectors",
                lambda r=request: self._live().scroll(r),  # type: ignore[misc]
            )
            if page:
                yield page
            if next_offset is None:
                return
            offset = next_offset  # type: ignore[assignment]

    async def _run(self, doing: str, call: Callable[[], T]) -> T:
        """Run a blocking Edge call on our worker, translating its errors."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, call)
        except VectorStoreError:
            raise
        except Exception as exc:  # Edge raises bare Exception; this is the boundary
            log.error("The Edge vector store failed to %s: %r", doing, exc)
            raise VectorStoreError(f"Could not {doing}: the vector store failed ({exc}).") from exc


async def open_edge_vectors(root: Path) -> EdgeTasteVectors:
    """Open (or prepare) the Edge store under `root`; one process at a time."""
    return await EdgeTasteVectors.open(root)


def _member_filter(member_id: str, *more: edge.HasIdCondition) -> edge.Filter:
    match = edge.FieldCondition(key=MEMBER_KEY, match=edge.MatchValue(member_id))
    return edge.Filter(must=[match, *more])


async def _start_builder(path: Path, member: MemberTastes) -> ShardBuilder:
    try:
        return await ShardBuilder.start(path, len(member.points[0].vector))
    except OSError as exc:
        raise VectorStoreError(f"Could not start the index builder: {exc}") from exc


async def _send(builder: ShardBuilder, member: MemberTastes) -> None:
    vectors = [point.vector for point in member.points]
    if any(len(vector) != builder.dimension for vector in vectors):
        wrong = next(len(v) for v in vectors if len(v) != builder.dimension)
        raise DimensionMismatch(builder.dimension, wrong)
    try:
        await builder.write(member.member_id, [point.taste_id for point in member.points], vectors)
    except RuntimeError as exc:
        raise VectorStoreError(f"Could not rebuild the vectors: {exc}") from exc


async def _finish(builder: ShardBuilder) -> None:
    try:
        await builder.finish()
    except RuntimeError as exc:
        raise VectorStoreError(f"Could not rebuild the vectors: {exc}") from exc


def _to_taste(record: edge.Record) -> tuple[str, TastePoint]:
    payload = record.payload or {}
    vector = record.vector
    assert isinstance(vector, list)
    return str(payload.get(MEMBER_KEY)), TastePoint(int(record.id), vector)  # type: ignore[arg-type]
