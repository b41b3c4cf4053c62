"""`PerMemberCollections`: one Qdrant collection per member (``per-member``, the default).

Isolation is structural: a member's alias leads only to their own collection. Right
for a community server.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence

from qdrant_client import models

from bot.pipeline.vectors._qdrant import REBUILD_BATCH, QdrantStore, scroll_ids, to_point
from bot.pipeline.vectors.contract import (
    MemberTastes,
    RebuildReport,
    ScoredTaste,
    TastePoint,
    VectorCensus,
    VectorLayout,
)
from bot.pipeline.vectors.naming import (
    SHARED_ALIAS,
    generation_of,
    member_alias,
    physical_name,
)


class PerMemberCollections(QdrantStore):
    """`TasteVectors` with one Qdrant collection per member."""

    layout = VectorLayout.PER_MEMBER

    async def store(self, member_id: str, points: Sequence[TastePoint]) -> None:
        """Write these tastes' vectors into the member's collection, creating it."""
        if not points:
            return
        alias = member_alias(member_id)
        await self._ensure_place(alias, len(points[0].vector))
        structs = [to_point(point) for point in points]
        await self._run(
            "store the taste's vector",
            lambda: self._client.upsert(alias, points=structs, wait=True),
        )

    async def delete(self, member_id: str, taste_ids: Sequence[int]) -> None:
        """Erase these tastes' vectors from the member's collection."""
        alias = member_alias(member_id)
        if not taste_ids or await self._size_of(alias) is None:
            return
        selector = models.PointIdsList(points=list(taste_ids))
        await self._run(
            "remove the taste's vector",
            lambda: self._client.delete(alias, points_selector=selector, wait=True),
        )

    async def delete_member(self, member_id: str) -> None:
        """Drop the member's collection and its alias."""
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
        """The member's most similar tastes, best first."""
        alias = member_alias(member_id)
        if await self._checked_size(alias, vector) is None:
            return []
        response = await self._run(
            "search the tastes",
            lambda: self._client.query_points(alias, query=list(vector), limit=limit),
        )
        return [ScoredTaste(int(hit.id), float(hit.score)) for hit in response.points]

    async def taste_ids(self, member_id: str) -> set[int]:
        """The ids in the member's collection."""
        alias = member_alias(member_id)
        if await self._size_of(alias) is None:
            return set()
        return await self._run("read the member's vectors", lambda: scroll_ids(self._client, alias))

    async def census(self, member_ids: Sequence[str]) -> VectorCensus:
        """Count each listed member's vectors; every other alias is a stranger."""
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
        new = physical_name(alias, generation_of(old) + 1)
        self._create_fresh(new, len(points[0].vector) if points else 1)
        for start in range(0, len(points), REBUILD_BATCH):
            batch = [to_point(p) for p in points[start : start + REBUILD_BATCH]]
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
