"""Tastes and the state of their vectors: pending, stored, or being erased.

A taste's row is written first (pending), its vector second, then the row is marked
stored; erasing goes the other way (deleting, vector erased, row removed). Start-up
finishes whatever a crash left between the two (`unsettled`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime

from bot.errors import DuplicateTaste, TasteLimitReached
from bot.pipeline.domain import Taste
from bot.pipeline.records.database import Database, Reader
from bot.pipeline.records.rows import DELETING, PENDING, STORED, Unsettled, now, taste_from_row
from bot.pipeline.text import taste_key


def _marks(ids: Sequence[int]) -> str:
    return ",".join("?" * len(ids))


class TasteRecords:
    """The `tastes` table: each member's stated tastes."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def add_taste(self, member_id: str, text: str, *, limit: int) -> Taste:
        """Store a new taste as pending (its vector not yet written).

        One statement checks the limit and inserts, and the unique key refuses a
        duplicate, so both rules hold however many writers there are.
        """
        created_at = now()
        async with self._database.transaction("store the taste") as transaction:
            try:
                written = await transaction.execute(
                    """INSERT INTO tastes (member_id, text, key, vector_state, created_at)
                       SELECT ?, ?, taste_key(?), ?, ?
                       WHERE (SELECT COUNT(*) FROM tastes
                              WHERE member_id = ? AND vector_state != ?) < ?""",
                    (member_id, text, text, PENDING, created_at, member_id, DELETING, limit),
                )
            except sqlite3.IntegrityError:  # the unique key: the member has it already
                # Found in the same transaction, so it is the row that refused this one.
                existing = await _find_taste(transaction, member_id, text)
                if existing is None:
                    raise
                raise DuplicateTaste(existing.id) from None
        if written.rowcount == 0:
            raise TasteLimitReached(limit)
        assert written.lastrowid is not None
        return Taste(
            written.lastrowid,
            member_id,
            text,
            datetime.fromisoformat(created_at),
            is_pending=True,
        )

    async def list_tastes(self, member_id: str) -> list[Taste]:
        """The member's tastes, oldest first (not those being erased)."""
        async with self._database.read("read the tastes") as reader:
            rows = await reader.fetch_all(
                "SELECT * FROM tastes WHERE member_id = ? AND vector_state != ? ORDER BY id",
                (member_id, DELETING),
            )
        return [taste_from_row(row) for row in rows]

    async def get_tastes(self, member_id: str, taste_ids: Iterable[int]) -> dict[int, Taste]:
        """The member's tastes among `taste_ids`; ids of others' tastes are simply absent."""
        ids = list(taste_ids)
        if not ids:
            return {}
        async with self._database.read("read the tastes") as reader:
            rows = await reader.fetch_all(
                f"""SELECT * FROM tastes
                    WHERE member_id = ? AND vector_state != ? AND id IN ({_marks(ids)})""",
                (member_id, DELETING, *ids),
            )
        return {row["id"]: taste_from_row(row) for row in rows}

    async def count_tastes(self, member_id: str) -> int:
        """How many tastes the member has (those being erased not counted)."""
        async with self._database.read("count the tastes") as reader:
            row = await reader.fetch_one(
                "SELECT COUNT(*) FROM tastes WHERE member_id = ? AND vector_state != ?",
                (member_id, DELETING),
            )
        return int(row[0])

    async def find_taste(self, member_id: str, text: str) -> Taste | None:
        """The member's taste with the same key (case and spacing aside), if any."""
        async with self._database.read("read the tastes") as reader:
            return await _find_taste(reader, member_id, text)

    async def mark_stored(self, member_id: str, taste_ids: Sequence[int]) -> None:
        """Record that these pending tastes' vectors are written."""
        if not taste_ids:
            return
        async with self._database.transaction("record the taste's vector") as transaction:
            await transaction.execute(
                f"""UPDATE tastes SET vector_state = ?
                    WHERE member_id = ? AND vector_state = ? AND id IN ({_marks(taste_ids)})""",
                (STORED, member_id, PENDING, *taste_ids),
            )

    async def mark_deleting(self, member_id: str, taste_ids: Sequence[int] | None) -> list[int]:
        """Start erasing these tastes (None: all the member's); returns their ids.

        From here on they are gone for the member (not listed, counted or matched) and
        their key is free; `delete_tastes` removes the rows once the vectors are erased.
        """
        where = "member_id = ?"
        parameters: list[str | int] = [member_id]
        if taste_ids is not None:
            where += f" AND id IN ({_marks(taste_ids)})"
            parameters += list(taste_ids)
        async with self._database.transaction("forget the tastes") as transaction:
            # RETURNING: exactly the rows this statement changed, whatever else writes.
            rows = await transaction.fetch_all(
                f"UPDATE tastes SET vector_state = ?, key = NULL WHERE {where} RETURNING id",
                (DELETING, *parameters),
            )
        return [row[0] for row in rows]

    async def restore(self, member_id: str, taste_ids: Sequence[int]) -> None:
        """Take back `mark_deleting` when the vectors could not be erased.

        They come back pending (their vectors may be partly erased): start-up, or the
        next statement of the same taste, writes them again.
        """
        if not taste_ids:
            return
        async with self._database.transaction("restore the tastes") as transaction:
            await transaction.execute(
                f"""UPDATE tastes SET vector_state = ?, key = taste_key(text)
                    WHERE member_id = ? AND vector_state = ? AND id IN ({_marks(taste_ids)})""",
                (PENDING, member_id, DELETING, *taste_ids),
            )

    async def delete_tastes(self, member_id: str, taste_ids: Sequence[int]) -> int:
        """Remove the rows of tastes being erased (their vectors are gone)."""
        if not taste_ids:
            return 0
        async with self._database.transaction("remove the tastes") as transaction:
            written = await transaction.execute(
                f"DELETE FROM tastes WHERE member_id = ? AND id IN ({_marks(taste_ids)})",
                (member_id, *taste_ids),
            )
        return written.rowcount

    async def unsettled(self, member_id: str | None = None) -> list[Unsettled]:
        """Every member (or just this one) with pending or deleting tastes, and which."""
        where, parameters = "vector_state != ?", [STORED]
        if member_id is not None:
            where, parameters = where + " AND member_id = ?", [STORED, member_id]
        async with self._database.read("read the unsettled tastes") as reader:
            rows = await reader.fetch_all(
                f"SELECT * FROM tastes WHERE {where} ORDER BY member_id, id", parameters
            )
        by_member: dict[str, tuple[list[Taste], list[int]]] = {}
        for row in rows:
            pending, deleting = by_member.setdefault(row["member_id"], ([], []))
            if row["vector_state"] == DELETING:
                deleting.append(row["id"])
            else:
                pending.append(taste_from_row(row))
        return [
            Unsettled(member_id, tuple(pending), tuple(deleting))
            for member_id, (pending, deleting) in by_member.items()
        ]

    async def taste_counts(self) -> dict[str, tuple[int, int]]:
        """Per member with tastes: (stored, pending) counts, for `doctor`."""
        async with self._database.read("count the tastes") as reader:
            rows = await reader.fetch_all(
                """SELECT member_id, SUM(vector_state = ?), SUM(vector_state = ?)
                   FROM tastes WHERE vector_state != ? GROUP BY member_id""",
                (STORED, PENDING, DELETING),
            )
        return {row[0]: (row[1], row[2]) for row in rows}

    async def members_with_tastes(self) -> list[str]:
        """Every member with at least one taste (not being erased)."""
        async with self._database.read("list the members") as reader:
            rows = await reader.fetch_all(
                "SELECT DISTINCT member_id FROM tastes WHERE vector_state != ? ORDER BY member_id",
                (DELETING,),
            )
        return [row[0] for row in rows]


async def _find_taste(reader: Reader, member_id: str, text: str) -> Taste | None:
    rows = await reader.fetch_all(
        "SELECT * FROM tastes WHERE member_id = ? AND key = ? LIMIT 1",
        (member_id, taste_key(text)),
    )
    return taste_from_row(rows[0]) if rows else None
