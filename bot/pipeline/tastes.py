"""Writing and erasing a member's tastes, in the records and the vector store at once.

A taste is in both stores or in neither. A write goes row (pending), vector, then the
row says "stored"; an erase goes row marked "deleting", vectors, then the row is
removed. A crash in between leaves a row whose state says what is left to do, which
`reconcile.py` finishes. Writes of one member hold that member's lock (`locks.py`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace

from bot.errors import DuplicateTaste, TasteLimitReached, TasteNotFound, VectorStoreError
from bot.pipeline.domain import Taste
from bot.pipeline.locks import MemberLocks, finish_even_if_cancelled
from bot.pipeline.model_client import ModelClient
from bot.pipeline.records import TasteRecords
from bot.pipeline.text import clean_text
from bot.pipeline.vectors import TastePoint, TasteVectors
from bot.settings import Settings

log = logging.getLogger(__name__)


async def erase_tastes(
    taste_records: TasteRecords,
    vectors: TasteVectors,
    member_id: str,
    taste_ids: Sequence[int] | None,
    *,
    restore_on_failure: bool = True,
) -> int:
    """Mark the rows, erase the vectors, remove the rows; returns how many rows went.

    `taste_ids=None` erases all of the member's tastes. A crash anywhere is finished at
    start, since a row marked 'deleting' is gone for the member already. If the vector
    store fails, the rows are restored (unless told not to) and the error raised.
    """
    ids = await taste_records.mark_deleting(member_id, taste_ids)
    try:
        if taste_ids is None:
            await vectors.delete_member(member_id)
        else:
            await vectors.delete(member_id, ids)
    except VectorStoreError:
        if restore_on_failure:
            # Nothing erased for certain: the tastes stay, and are written again.
            await taste_records.restore(member_id, ids)
        raise
    return await taste_records.delete_tastes(member_id, ids)


class TasteWriter:
    """States, lists and forgets a member's tastes, keeping both stores together."""

    def __init__(
        self,
        settings: Settings,
        embedder: ModelClient,
        taste_records: TasteRecords,
        vectors: TasteVectors,
        locks: MemberLocks,
        on_unsettled: Callable[[], None] = lambda: None,
    ) -> None:
        """`on_unsettled` is called when a failed erase may have left a vector behind."""
        self._settings = settings
        self._embedder = embedder
        self._records = taste_records
        self._vectors = vectors
        self._locks = locks
        self._on_unsettled = on_unsettled

    def check_taste(self, text: str) -> str:
        """The taste as it would be stored, or `InputError` saying why it cannot be."""
        return clean_text(text, max_chars=self._settings.taste_max_chars, what="A taste")

    async def prefer(self, member_id: str, text: str) -> Taste:
        """Store a taste for the member: the row, then its vector, then the row says so.

        A crash in between leaves the row pending, which start-up (or stating the same
        taste again) finishes. A vector store failure takes the row back.
        """
        text = self.check_taste(text)
        async with self._locks.member(member_id):
            existing = await self._records.find_taste(member_id, text)
            if existing and not existing.is_pending:
                raise DuplicateTaste(existing.id)
            limit = self._settings.max_tastes_per_member
            if existing is None and await self._records.count_tastes(member_id) >= limit:
                raise TasteLimitReached(limit)
            # Embed before writing anything: with the model server down, nothing is stored.
            [vector] = await self._embedder.embed(self._settings.embed_model, [text])
            taste = await finish_even_if_cancelled(self._store(member_id, text, vector))
        log.info("Member %s stored taste #%d", member_id, taste.id)
        return taste

    async def _store(self, member_id: str, text: str, vector: Sequence[float]) -> Taste:
        existing = await self._records.find_taste(member_id, text)
        if existing is None:
            taste = await self._records.add_taste(
                member_id, text, limit=self._settings.max_tastes_per_member
            )
        else:
            taste = existing  # pending: a crash (or a fault) left it half stored
        try:
            await self._vectors.store(member_id, [TastePoint(taste.id, vector)])
        except VectorStoreError:
            # Take the record back so no taste exists in one store only.
            await self._erase(member_id, [taste.id], restore_on_failure=False)
            raise
        await self._records.mark_stored(member_id, [taste.id])
        return replace(taste, is_pending=False)

    async def tastes(self, member_id: str) -> list[Taste]:
        """The member's tastes, oldest first."""
        return await self._records.list_tastes(member_id)

    async def count_tastes(self, member_id: str) -> int:
        """How many tastes the member has (to confirm forgetting them all)."""
        return await self._records.count_tastes(member_id)

    async def forget(self, member_id: str, taste_id: int) -> Taste:
        """Erase one of the member's own tastes from the records and the vector store."""
        async with self._locks.member(member_id):
            found = await self._records.get_tastes(member_id, [taste_id])
            if taste_id not in found:
                raise TasteNotFound(
                    f"You have no taste #{taste_id}. See your tastes for their numbers."
                )
            await finish_even_if_cancelled(self._erase(member_id, [taste_id]))
        log.info("Member %s forgot taste #%d", member_id, taste_id)
        return found[taste_id]

    async def forget_all(self, member_id: str) -> int:
        """Erase all of the member's tastes; returns how many there were."""
        async with self._locks.member(member_id):
            removed = await finish_even_if_cancelled(self._erase(member_id, None))
        log.info("Member %s forgot all %d tastes", member_id, removed)
        return removed

    async def _erase(
        self, member_id: str, taste_ids: Sequence[int] | None, *, restore_on_failure: bool = True
    ) -> int:
        try:
            return await erase_tastes(
                self._records,
                self._vectors,
                member_id,
                taste_ids,
                restore_on_failure=restore_on_failure,
            )
        except VectorStoreError:
            self._on_unsettled()  # a vector may be left: the reconcile erases it
            raise
