"""`SharedCollection`: one Qdrant collection for every member (``shared``).

The member id is a keyword payload index marked `is_tenant`, HNSW graphs are built
per member (`payload_m`, global `m=0`), and every search, count and delete is
filtered by member. Qdrant's own advice once there are thousands of members.
"""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Sequence

from qdrant_client import models

from bot.pipeline.vectors._qdrant import (
    REBUILD_BATCH,
    QdrantStore,
    count_by_member,
    of_member,
    scroll_ids,
    to_point,
    vector_params,
)
from bot.pipeline.vectors.contract import (
    MemberTastes,
    RebuildReport,
    ScoredTaste,
    TastePoint,
    VectorCensus,
    VectorLayout,
)
from bot.pipeline.vectors.naming import (
    MEMBER_KEY,
    SHARED_ALIAS,
    generation_of,
    is_member_alias,
    member_alias,
    physical_name,
)

# Links per node of each member's own HNSW graph (Qdrant's default `m`).
SHARED_PAYLOAD_M = 16


class SharedCollection(QdrantStore):
    """`TasteVectors` with one collection for every member, partitioned by member id."""

    layout = VectorLayout.SHARED

    def _create_collection(self, name: str, dimension: int) -> None:
        self._client.create_collection(
            name,
            vectors_config=vector_params(dimension),
            # No global graph: one HNSW graph per member (tenant), as Qdrant advises.
            hnsw_config=models.HnswConfigDiff(m=0, payload_m=SHARED_PAYLOAD_M),
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
        """Write these tastes' vectors into the shared collection, marked as the member's."""
        if not points:
            return
        await self._ensure_place(SHARED_ALIAS, len(points[0].vector))
        structs = [to_point(point, member_id) for point in points]
        await self._run(
            "store the taste's vector",
            lambda: self._client.upsert(SHARED_ALIAS, points=structs, wait=True),
        )

    async def delete(self, member_id: str, taste_ids: Sequence[int]) -> None:
        """Erase these of the member's tastes (another member's ids are untouched)."""
        if not taste_ids or await self._size_of(SHARED_ALIAS) is None:
            return
        selector = models.FilterSelector(
            filter=models.Filter(
                must=[of_member(member_id), models.HasIdCondition(has_id=list(taste_ids))]
            )
        )
        await self._run(
            "remove the taste's vector",
            lambda: self._client.delete(SHARED_ALIAS, points_selector=selector, wait=True),
        )

    async def delete_member(self, member_id: str) -> None:
        """Erase every point marked as the member's."""
        if await self._size_of(SHARED_ALIAS) is None:
            return
        selector = models.FilterSelector(filter=models.Filter(must=[of_member(member_id)]))
        await self._run(
            "remove the member's vectors",
            lambda: self._client.delete(SHARED_ALIAS, points_selector=selector, wait=True),
        )

    async def search(
        self, member_id: str, vector: Sequence[float], limit: int
    ) -> list[ScoredTaste]:
        """The member's most similar tastes, best first, filtered to the member."""
        if await self._checked_size(SHARED_ALIAS, vector) is None:
            return []
        response = await self._run(
            "search the tastes",
            lambda: self._client.query_points(
                SHARED_ALIAS,
                query=list(vector),
                query_filter=models.Filter(must=[of_member(member_id)]),
                limit=limit,
            ),
        )
        return [ScoredTaste(int(hit.id), float(hit.score)) for hit in response.points]

    async def taste_ids(self, member_id: str) -> set[int]:
        """The ids of the member's points."""
        if await self._size_of(SHARED_ALIAS) is None:
            return set()
        where = models.Filter(must=[of_member(member_id)])
        return await self._run(
            "read the member's vectors", lambda: scroll_ids(self._client, SHARED_ALIAS, where)
        )

    async def census(self, member_ids: Sequence[str]) -> VectorCensus:
        """Count each listed member's points; members not listed are strangers."""
        wanted = set(member_ids)

        def count() -> VectorCensus:
            census = VectorCensus()
            aliases = self._aliases()
            census.other_layout = sum(is_member_alias(alias) for alias in aliases)
            size = self._size(SHARED_ALIAS) if SHARED_ALIAS in aliases else None
            if size is None:
                return census
            for member_id, vectors in count_by_member(self._client, SHARED_ALIAS).items():
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
        new = physical_name(SHARED_ALIAS, generation_of(old) + 1)
        is_created = False
        count = written = 0
        kept: set[str] = set()
        async for member in members:
            kept.add(member.member_id)
            if member.points and not is_created:
                dimension = len(member.points[0].vector)
                await self._run(
                    "start a new index",
                    lambda d=dimension: self._create_fresh(new, d),  # type: ignore[misc]
                )
                is_created = True
            await self._fill(new, member)
            count += 1
            written += len(member.points)
        removed = await self._run(
            "switch to the new index",
            lambda: self._switch_shared(new if is_created else None, old, kept),
        )
        self._sizes.clear()
        return RebuildReport(count, written, removed)

    async def _fill(self, collection: str, member: MemberTastes) -> None:
        """Write one member's points into the new generation, a batch at a time."""
        structs = [to_point(p, member.member_id) for p in member.points]
        for start in range(0, len(structs), REBUILD_BATCH):
            batch = structs[start : start + REBUILD_BATCH]
            await self._run(
                "rebuild the vectors",
                lambda b=batch: self._client.upsert(collection, points=b, wait=True),  # type: ignore[misc]
            )

    def _switch_shared(self, new: str | None, old: str | None, kept: set[str]) -> int:
        """Move the alias to `new` (None: nobody has tastes), drop the per-member layout,
        and return how many members lost their vectors."""
        before = set(count_by_member(self._client, old)) if old else set()
        if new is not None:
            self._switch(SHARED_ALIAS, new, old)
        elif old is not None:
            self._drop_place(SHARED_ALIAS, old)
        # Only now, with everyone in the shared index, drop the per-member layout.
        kept_aliases = {member_alias(member_id) for member_id in kept}
        removed = len(before - kept)
        for alias, target in self._aliases().items():
            if is_member_alias(alias):
                self._drop_place(alias, target)
                removed += alias not in kept_aliases
        return removed
