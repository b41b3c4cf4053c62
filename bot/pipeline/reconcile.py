"""Keeping the records and the vector store together after a crash or a fault.

SQLite is the record and the vectors are derived, so repair has one direction: a row
marked 'deleting' loses its vectors and then the row; a 'pending' row gets its vector
written. At start the quick erasing is done before the front end serves anyone;
writing pending vectors needs the embedding server, so a background task retries it,
with pauses doubling up to a few minutes while it is away, and again whenever a write asks.
"""

from __future__ import annotations

import asyncio
import logging

from bot.background import BackgroundTasks
from bot.errors import SuggestWatchError, VectorStoreError
from bot.pipeline.locks import MemberLocks
from bot.pipeline.model_client import ModelClient
from bot.pipeline.records import TasteRecords
from bot.pipeline.tastes import erase_tastes
from bot.pipeline.vectors import TastePoint, TasteVectors
from bot.settings import Settings

log = logging.getLogger(__name__)

RECONCILE_FIRST_PAUSE = 1.0
RECONCILE_MAX_PAUSE = 300.0


class Reconciler:
    """Finishes what a crash or a fault left between the two stores."""

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
        self._background = BackgroundTasks("reconcile")
        self._wanted = asyncio.Event()
        self._settled = asyncio.Event()
        self._first_pass_done = asyncio.Event()

    async def start(self) -> None:
        """Finish at once what needs no model, then keep reconciling in the background.

        Quick, blocking work first: drop half-built indexes of a killed reindex and
        finish erasing forgotten tastes. Pending tastes' vectors follow in a task.
        """
        await self._vectors.tidy()
        for unsettled in await self._records.unsettled():
            if not unsettled.deleting:
                continue
            try:
                async with self._locks.member(unsettled.member_id):
                    await erase_tastes(
                        self._records,
                        self._vectors,
                        unsettled.member_id,
                        unsettled.deleting,
                        restore_on_failure=False,
                    )
            except VectorStoreError as exc:  # the background task tries again
                log.warning("Could not yet erase forgotten tastes: %s", exc)
                continue
            log.warning(
                "Finished erasing %d forgotten taste(s) of member %s",
                len(unsettled.deleting),
                unsettled.member_id,
            )
        self._background.start(self._keep_reconciled(), name="reconcile pending tastes")

    def wake(self) -> None:
        """Ask for a reconcile now (a write left something unsettled)."""
        self._wanted.set()

    async def wait_until_settled(self) -> None:
        """Wait until no taste is waiting for its vector (use with a timeout)."""
        await self._settled.wait()

    async def wait_for_first_pass(self) -> None:
        """Wait until the background task has tried once (use with a timeout)."""
        await self._first_pass_done.wait()

    async def reconcile(self) -> int:
        """Write the vectors of pending tastes and erase forgotten ones; returns how many
        tastes are still unsettled (the model server or the vector store failed)."""
        left = 0
        for unsettled in await self._records.unsettled():
            try:
                async with self._locks.member(unsettled.member_id):
                    await self._settle_member(unsettled.member_id)
            except SuggestWatchError as exc:
                log.warning("Tastes of member %s still unsettled: %s", unsettled.member_id, exc)
                left += len(unsettled.pending) + len(unsettled.deleting)
        return left

    async def stop(self) -> None:
        """Stop the background task and wait for it (what is left is done at next start)."""
        await self._background.stop()

    async def _settle_member(self, member_id: str) -> None:
        # Read again under the lock: a writer may have settled them meanwhile.
        for unsettled in await self._records.unsettled(member_id):
            if unsettled.deleting:
                await erase_tastes(
                    self._records,
                    self._vectors,
                    member_id,
                    unsettled.deleting,
                    restore_on_failure=False,
                )
            if unsettled.pending:
                texts = [taste.text for taste in unsettled.pending]
                vectors = await self._embedder.embed(self._settings.embed_model, texts)
                points = [
                    TastePoint(taste.id, vector)
                    for taste, vector in zip(unsettled.pending, vectors, strict=True)
                ]
                await self._vectors.store(member_id, points)
                await self._records.mark_stored(member_id, [p.taste_id for p in points])
                log.info("Wrote the vectors of %d pending taste(s) of %s", len(points), member_id)

    async def _keep_reconciled(self) -> None:
        """Reconcile now, again on request, and with growing pauses while it fails."""
        pause = RECONCILE_FIRST_PAUSE
        while True:
            try:
                left = await self.reconcile()
            except SuggestWatchError as exc:
                log.warning("Could not reconcile the tastes: %s", exc)
                left = 1
            self._first_pass_done.set()
            if left:
                self._settled.clear()
                log.info("%d taste(s) unsettled; trying again in %.0f s", left, pause)
            else:
                self._settled.set()
                pause = RECONCILE_FIRST_PAUSE
            try:
                await asyncio.wait_for(self._wanted.wait(), None if not left else pause)
            except TimeoutError:
                pause = min(pause * 2, RECONCILE_MAX_PAUSE)
            self._wanted.clear()
