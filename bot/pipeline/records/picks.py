"""Picks of structured answers, the members' ratings of them, the embeddings of liked
picks, a member's past picks (what `history` shows) and erasing a member's suggestions."""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from typing import Any

from bot.pipeline.catalogue.lookup import CheckState, Lookup
from bot.pipeline.domain import PastPick, Rating
from bot.pipeline.picks import PickDecision, pick_key
from bot.pipeline.records.database import Database
from bot.pipeline.records.rows import (
    VOTE_SOURCE,
    PickRecord,
    now,
    past_pick_from_row,
    pick_from_row,
)

# The newest rating row of each pick is its rating.
_CURRENT_RATINGS = """
    SELECT pick_id, rating FROM pick_ratings
    WHERE rowid IN (SELECT MAX(rowid) FROM pick_ratings WHERE member_id = ? GROUP BY pick_id)
"""

_MINE = "SELECT id FROM suggestions WHERE member_id = ?"
# Children before parents, so every foreign key holds after each statement.
_ERASE_MEMBER_HISTORY = (
    # The library (issue 18): watchlist, titles marked watched, imports.
    "DELETE FROM library_vectors WHERE entry_id IN (SELECT id FROM library WHERE member_id = ?)",
    "DELETE FROM library WHERE member_id = ?",
    "DELETE FROM pick_vectors WHERE pick_id IN (SELECT id FROM picks WHERE member_id = ?)",
    "DELETE FROM pick_ratings WHERE member_id = ?",
    "DELETE FROM picks WHERE member_id = ?",
    f"DELETE FROM feedback WHERE suggestion_id IN ({_MINE})",
    f"DELETE FROM suggestion_messages WHERE suggestion_id IN ({_MINE})",
    "DELETE FROM suggestions WHERE member_id = ?",
)


class PickRecords:
    """The `picks`, `pick_ratings` and `pick_vectors` tables, and erasing a member's past."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def add_picks(
        self, suggestion_id: int, member_id: str, decisions: Sequence[PickDecision]
    ) -> None:
        """Record every pick of a suggestion's answer, shown or left out, in answer order."""
        created_at = now()
        rows = [
            (
                suggestion_id,
                member_id,
                position,
                decision.shown_position,
                decision.left_out,
                decision.draft.title,
                decision.draft.year,
                decision.draft.kind,
                decision.draft.description,
                decision.draft.reasoning,
                decision.draft.confidence,
                pick_key(decision.draft.title, decision.draft.year),
                *_check_columns(decision.draft.check),
                created_at,
            )
            for position, decision in enumerate(decisions, start=1)
        ]
        async with self._database.transaction("record the picks") as transaction:
            await transaction.execute_many(
                """INSERT INTO picks (suggestion_id, member_id, answer_position, shown_position,
                       left_out, title, year, kind, description, reasoning, confidence, key,
                       qid, check_state, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                rows,
            )

    async def list_picks(self, member_id: str, suggestion_id: int) -> list[PickRecord]:
        """The member's picks of one suggestion in answer order, with their ratings."""
        async with self._database.read("read the picks") as reader:
            rows = await reader.fetch_all(
                f"""SELECT picks.*, current.rating FROM picks
                    LEFT JOIN ({_CURRENT_RATINGS}) AS current ON current.pick_id = picks.id
                    WHERE picks.member_id = ? AND picks.suggestion_id = ?
                    ORDER BY picks.answer_position""",
                (member_id, member_id, suggestion_id),
            )
        return [pick_from_row(row) for row in rows]

    async def rate_pick(self, member_id: str, pick_id: int, source: str, rating: Rating) -> None:
        """Set the member's rating of a pick from one source; the newest rating counts."""
        async with self._database.transaction("record the rating") as transaction:
            await transaction.execute(
                """INSERT OR REPLACE INTO pick_ratings
                       (pick_id, member_id, source, rating, created_at)
                   VALUES (?, ?, ?, ?, ?)""",
                (pick_id, member_id, source, rating, now()),
            )
            if source != VOTE_SOURCE:
                # The member's own word on a film wins over a movie-night vote for it.
                await transaction.execute(
                    """DELETE FROM pick_ratings WHERE member_id = ? AND source = ?
                       AND pick_id IN (
                           SELECT other.id FROM picks AS other, picks AS rated
                           WHERE rated.id = ? AND other.member_id = ?
                             AND (other.key = rated.key OR other.qid = rated.qid))""",
                    (member_id, VOTE_SOURCE, pick_id, member_id),
                )

    async def unrate_pick(
        self, member_id: str, pick_id: int, source: str, rating: Rating | None = None
    ) -> bool:
        """Take back the rating from one source (only if it is `rating`, when given)."""
        sql = "DELETE FROM pick_ratings WHERE member_id = ? AND pick_id = ? AND source = ?"
        parameters: list[Any] = [member_id, pick_id, source]
        if rating is not None:
            sql += " AND rating = ?"
            parameters.append(rating)
        async with self._database.transaction("take back the rating") as transaction:
            written = await transaction.execute(sql, parameters)
        return written.rowcount > 0

    async def rated_picks(
        self, member_id: str, ratings: Sequence[Rating], limit: int
    ) -> list[PickRecord]:
        """The member's picks whose current rating is one of `ratings`, newest rated first."""
        marks = ",".join("?" * len(ratings))
        async with self._database.read("read the rated picks") as reader:
            rows = await reader.fetch_all(
                f"""SELECT picks.*, current.rating FROM picks
                    JOIN ({_CURRENT_RATINGS}) AS current ON current.pick_id = picks.id
                    WHERE picks.member_id = ? AND current.rating IN ({marks})
                    ORDER BY picks.id DESC LIMIT ?""",
                (member_id, member_id, *ratings, limit),
            )
        return [pick_from_row(row) for row in rows]

    async def recently_shown(self, member_id: str, suggestions: int) -> list[PickRecord]:
        """The picks shown to the member in their last `suggestions` suggestions, newest first."""
        if suggestions <= 0:
            return []
        async with self._database.read("read the recent picks") as reader:
            rows = await reader.fetch_all(
                f"""SELECT picks.*, current.rating FROM picks
                    LEFT JOIN ({_CURRENT_RATINGS}) AS current ON current.pick_id = picks.id
                    WHERE picks.member_id = ? AND picks.shown_position IS NOT NULL
                      AND picks.suggestion_id IN (
                        SELECT DISTINCT suggestion_id FROM picks WHERE member_id = ?
                        ORDER BY suggestion_id DESC LIMIT ?)
                    ORDER BY picks.suggestion_id DESC, picks.shown_position""",
                (member_id, member_id, member_id, suggestions),
            )
        return [pick_from_row(row) for row in rows]

    async def pick_vectors(self, pick_ids: Iterable[int], model: str) -> dict[int, list[float]]:
        """Stored embeddings of these picks made with `model`."""
        ids = list(pick_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        async with self._database.read("read the pick vectors") as reader:
            rows = await reader.fetch_all(
                "SELECT pick_id, vector FROM pick_vectors "
                f"WHERE model = ? AND pick_id IN ({marks})",
                (model, *ids),
            )
        return {row[0]: array("f", row[1]).tolist() for row in rows}

    async def store_pick_vectors(self, model: str, vectors: dict[int, list[float]]) -> None:
        """Keep embeddings of picks made with `model`, to compare with later requests."""
        rows = [
            (pick_id, model, array("f", vector).tobytes()) for pick_id, vector in vectors.items()
        ]
        async with self._database.transaction("store the pick vectors") as transaction:
            await transaction.execute_many(
                "INSERT OR REPLACE INTO pick_vectors (pick_id, model, vector) VALUES (?, ?, ?)",
                rows,
            )

    async def past_picks(self, member_id: str, limit: int) -> list[PastPick]:
        """The member's most recently shown picks, newest first, with their ratings."""
        async with self._database.read("read the past picks") as reader:
            rows = await reader.fetch_all(
                f"""SELECT picks.*, current.rating, suggestions.query FROM picks
                    JOIN suggestions ON suggestions.id = picks.suggestion_id
                    LEFT JOIN ({_CURRENT_RATINGS}) AS current ON current.pick_id = picks.id
                    WHERE picks.member_id = ? AND picks.shown_position IS NOT NULL
                    ORDER BY picks.suggestion_id DESC, picks.shown_position LIMIT ?""",
                (member_id, member_id, limit),
            )
        return [past_pick_from_row(row) for row in rows]

    async def count_member_suggestions(self, member_id: str) -> int:
        """How many suggestions of the member are recorded."""
        async with self._database.read("count the suggestions") as reader:
            row = await reader.fetch_one(
                "SELECT COUNT(*) FROM suggestions WHERE member_id = ?", (member_id,)
            )
        return int(row[0])

    async def erase_member_suggestions(self, member_id: str) -> int:
        """Erase the member's suggestions, picks, ratings and reactions; returns suggestions."""
        removed = 0
        # One transaction: whole or not at all, and no other scope runs in between.
        async with self._database.transaction("erase the suggestions") as transaction:
            for sql in _ERASE_MEMBER_HISTORY:
                removed = (await transaction.execute(sql, (member_id,))).rowcount
        return removed


def _check_columns(check: Lookup | None) -> tuple[str | None, str | None]:
    """The `qid` and `check_state` of a pick; still checking is recorded as not checked."""
    if check is None:
        return None, None
    state = CheckState.NOT_CHECKED if check.state is CheckState.CHECKING else check.state
    return check.qid, state.value
