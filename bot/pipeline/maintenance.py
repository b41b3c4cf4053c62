"""Rebuilding every member's vectors from the records (`reindex`).

For a changed EMBED_MODEL, a lost vector store, drift, or a VECTOR_LAYOUT change. The
new index is built beside the old one and switched to atomically, so members keep
searchable vectors throughout; if it is killed, running it again finishes. Writes
wait while it runs (it holds every member's lock); searches do not.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from bot.pipeline.locks import MemberLocks
from bot.pipeline.model_client import ModelClient
from bot.pipeline.records import TasteRecords
from bot.pipeline.vectors import MemberTastes, TastePoint, TasteVectors
from bot.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ReindexReport:
    """What `reindex` did: members and tastes written, in which size and store."""

    members: int
    tastes: int
    dimension: int | None
    removed_members: int
    store: str  # "Edge store", or a server's (or local mode's) "<layout> layout"


class Reindexer:
    """Rebuilds the vector store from the records, in the configured layout."""

    def __init__(
        self,
        settings: Settings,
        embedder: ModelClient,
        taste_records: TasteRecords,
        vectors: TasteVectors,
        locks: MemberLocks,
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self._records = taste_records
        self._vectors = vectors
        self._locks = locks

    async def reindex(self, progress: Callable[[str, int], None] | None = None) -> ReindexReport:
        """Rebuild every member's vectors; `progress(member_id, tastes)` after each member."""
        dimensions: list[int] = []
        written: dict[str, list[int]] = {}

        async def members() -> AsyncIterator[MemberTastes]:
            for member_id in await self._records.members_with_tastes():
                tastes = await self._records.list_tastes(member_id)
                # The client batches the texts, so a member with hundreds of tastes is fine.
                vectors = await self._embedder.embed(
                    self._settings.embed_model, [t.text for t in tastes]
                )
                dimensions.append(len(vectors[0]))
                points = [TastePoint(t.id, v) for t, v in zip(tastes, vectors, strict=True)]
                yield MemberTastes(member_id, points)
                written[member_id] = [t.id for t in tastes]
                if progress:
                    progress(member_id, len(tastes))

        async with self._locks.everyone():
            report = await self._vectors.rebuild(members())
            for member_id, taste_ids in written.items():
                await self._records.mark_stored(member_id, taste_ids)
            # Rows mid-erase had no vector in the new index: only the rows are left.
            for unsettled in await self._records.unsettled():
                await self._records.delete_tastes(unsettled.member_id, unsettled.deleting)
        store = self._settings.vector_store_label
        log.info(
            "Reindexed %d tastes of %d members (%s); removed %d stale member place(s)",
            report.vectors,
            report.members,
            store,
            report.removed_members,
        )
        dimension = dimensions[-1] if dimensions else None
        return ReindexReport(
            report.members, report.vectors, dimension, report.removed_members, store
        )
