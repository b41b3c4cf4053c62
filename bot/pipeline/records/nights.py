"""Movie nights: who took part under which label, the picks, the poll and its deadline,
the votes and the winner; and each member's choice not to be blended into others'
nights (`member_privacy`). See schema version 5.

A night's picks are copied to every participant as a suggestion of their own (so they
count as suggested to them, and a vote or "seen" rates their copy); the copies are
written here, in the same transaction as the night's picks, so a night is never half
shared.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.pipeline.domain import Rating, SuggestionStatus
from bot.pipeline.picks import pick_key
from bot.pipeline.records.database import Database, Transaction
from bot.pipeline.records.rows import VOTE_SOURCE, now

PICKING = "picking"  # the picks are being written
NO_VOTE = "no_vote"  # the picks stand, without a poll (none asked, or none allowed)
VOTING = "voting"  # the poll runs until `deadline`
DECIDED = "decided"  # the winner is recorded, the announcement not yet made
ANNOUNCED = "announced"


@dataclass(frozen=True, slots=True)
class NightMember:
    """A participant of a night, under the label the prompt gave them."""

    member_id: str
    label: str
    suggestion_id: int | None = None  # their copy of the night's picks


@dataclass(frozen=True, slots=True)
class NightPick:
    """One pick of a night, as shown and as a poll answer (`position` from 1)."""

    position: int
    title: str
    year: int | None
    kind: str | None
    reasoning: str
    confidence: float | None


@dataclass(frozen=True, slots=True)
class NightRecord:
    """One movie night as recorded."""

    id: int
    asker_id: str
    query: str
    state: str
    suggestion_id: int | None
    channel_id: int | None
    poll_message_id: int | None
    deadline: datetime | None
    winner_position: int | None
    is_tie_broken: bool
    announcement_id: int | None
    members: tuple[NightMember, ...]
    picks: tuple[NightPick, ...]
    votes: tuple[tuple[str, int], ...]  # (member id, position), every voter's


class NightRecords:
    """The `movie_night*` tables and `member_privacy`."""

    def __init__(self, database: Database) -> None:
        self._database = database

    # -- privacy ------------------------------------------------------------------------

    async def set_movie_night_opt_out(self, member_id: str, is_opted_out: bool) -> None:
        """Keep the member's choice of being left out of other members' movie nights."""
        async with self._database.transaction("store the privacy choice") as transaction:
            await transaction.execute(
                """INSERT INTO member_privacy (member_id, no_movie_night, updated_at)
                   VALUES (?, ?, ?) ON CONFLICT (member_id)
                   DO UPDATE SET no_movie_night = excluded.no_movie_night,
                                 updated_at = excluded.updated_at""",
                (member_id, int(is_opted_out), now()),
            )

    async def opted_out(self, member_ids: Iterable[str]) -> set[str]:
        """Which of these members chose not to be included in others' movie nights."""
        ids = list(member_ids)
        if not ids:
            return set()
        marks = ",".join("?" * len(ids))
        async with self._database.read("read the privacy choices") as reader:
            rows = await reader.fetch_all(
                f"SELECT member_id FROM member_privacy "
                f"WHERE no_movie_night = 1 AND member_id IN ({marks})",
                ids,
            )
        return {row[0] for row in rows}

    # -- a night's life -----------------------------------------------------------------

    async def start_night(
        self, asker_id: str, query: str, members: Sequence[NightMember], suggestion_id: int
    ) -> int:
        """Record a night as its picks start to be written; returns its id."""
        async with self._database.transaction("record the movie night") as transaction:
            written = await transaction.execute(
                """INSERT INTO movie_nights (asker_id, query, suggestion_id, state, created_at)
                   VALUES (?, ?, ?, ?, ?)""",
                (asker_id, query, suggestion_id, PICKING, now()),
            )
            night_id = written.lastrowid
            assert night_id is not None
            await transaction.execute_many(
                """INSERT INTO movie_night_members (night_id, member_id, label)
                   VALUES (?, ?, ?)""",
                [(night_id, member.member_id, member.label) for member in members],
            )
        return night_id

    async def record_picks(self, night_id: int, picks: Sequence[NightPick], model: str) -> None:
        """Keep the night's shown picks and give each participant (the asker has the
        streamed suggestion already) a copy as a suggestion of their own."""
        async with self._database.transaction("record the movie night's picks") as transaction:
            await transaction.execute_many(
                """INSERT OR REPLACE INTO movie_night_picks
                       (night_id, position, title, year, kind, reasoning, confidence, key)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?)""",
                [
                    (
                        night_id,
                        pick.position,
                        pick.title,
                        pick.year,
                        pick.kind,
                        pick.reasoning,
                        pick.confidence,
                        pick_key(pick.title, pick.year),
                    )
                    for pick in picks
                ],
            )
            rows = await transaction.fetch_all(
                """SELECT m.member_id, n.asker_id, n.suggestion_id, n.query
                   FROM movie_night_members m JOIN movie_nights n ON n.id = m.night_id
                   WHERE m.night_id = ?""",
                (night_id,),
            )
            for member_id, asker_id, asker_suggestion, query in rows:
                copy = asker_suggestion
                if member_id != asker_id:
                    copy = await _copy_for(transaction, member_id, query, model, picks)
                await transaction.execute(
                    """UPDATE movie_night_members SET member_suggestion_id = ?
                       WHERE night_id = ? AND member_id = ?""",
                    (copy, night_id, member_id),
                )
            await transaction.execute(
                "UPDATE movie_nights SET state = ? WHERE id = ?", (NO_VOTE, night_id)
            )

    async def open_vote(
        self, night_id: int, channel_id: int, poll_message_id: int, deadline: datetime
    ) -> None:
        """The night's poll is posted and ends at `deadline`."""
        async with self._database.transaction("record the movie night's poll") as transaction:
            await transaction.execute(
                """UPDATE movie_nights SET state = ?, channel_id = ?, poll_message_id = ?,
                       deadline = ? WHERE id = ?""",
                (
                    VOTING,
                    channel_id,
                    poll_message_id,
                    deadline.astimezone(UTC).isoformat(),
                    night_id,
                ),
            )

    async def night_of_poll(self, poll_message_id: int) -> int | None:
        """The night whose poll is this message, or None."""
        async with self._database.read("look up the poll") as reader:
            rows = await reader.fetch_all(
                "SELECT id FROM movie_nights WHERE poll_message_id = ?", (poll_message_id,)
            )
        return rows[0][0] if rows else None

    async def record_vote(self, night_id: int, member_id: str, position: int, added: bool) -> None:
        """A vote arrived (or was taken back) while the poll runs."""
        async with self._database.transaction("record the vote") as transaction:
            if added:
                await transaction.execute(
                    """INSERT OR IGNORE INTO movie_night_votes
                           (night_id, member_id, position, created_at) VALUES (?, ?, ?, ?)""",
                    (night_id, member_id, position, now()),
                )
            else:
                await transaction.execute(
                    """DELETE FROM movie_night_votes
                       WHERE night_id = ? AND member_id = ? AND position = ?""",
                    (night_id, member_id, position),
                )

    async def due_nights(self, at: datetime) -> list[NightRecord]:
        """Nights whose poll has ended by `at` and whose winner is not announced yet."""
        async with self._database.read("find the polls that ended") as reader:
            rows = await reader.fetch_all(
                """SELECT id FROM movie_nights
                   WHERE (state = ? AND deadline <= ?) OR state = ? ORDER BY deadline, id""",
                (VOTING, at.astimezone(UTC).isoformat(), DECIDED),
            )
        return [night for row in rows if (night := await self.night(row[0])) is not None]

    async def next_deadline(self) -> datetime | None:
        """When the next running poll ends, if any runs."""
        async with self._database.read("find the next poll's end") as reader:
            row = await reader.fetch_one(
                "SELECT MIN(deadline) FROM movie_nights WHERE state = ?", (VOTING,)
            )
        return datetime.fromisoformat(row[0]) if row[0] else None

    async def decide(
        self,
        night_id: int,
        votes: Mapping[str, Sequence[int]],
        winner_position: int,
        is_tie_broken: bool,
    ) -> None:
        """Record the poll's final votes and the winner; every participant's vote becomes
        a liked rating of their copy of that pick, unless they rated the film themselves."""
        stamp = now()
        async with self._database.transaction("record the movie night's winner") as transaction:
            await transaction.execute(
                "DELETE FROM movie_night_votes WHERE night_id = ?", (night_id,)
            )
            await transaction.execute_many(
                """INSERT OR IGNORE INTO movie_night_votes
                       (night_id, member_id, position, created_at) VALUES (?, ?, ?, ?)""",
                [
                    (night_id, member_id, position, stamp)
                    for member_id, positions in votes.items()
                    for position in positions
                ],
            )
            await transaction.execute(
                """UPDATE movie_nights SET state = ?, winner_position = ?, is_tie_broken = ?,
                       decided_at = ? WHERE id = ?""",
                (DECIDED, winner_position, int(is_tie_broken), stamp, night_id),
            )
            await _rate_votes(transaction, night_id, stamp)

    async def mark_announced(self, night_id: int, announcement_id: int | None) -> None:
        """The winner was announced (by this message)."""
        async with self._database.transaction("record the announcement") as transaction:
            await transaction.execute(
                "UPDATE movie_nights SET state = ?, announcement_id = ? WHERE id = ?",
                (ANNOUNCED, announcement_id, night_id),
            )

    async def night(self, night_id: int) -> NightRecord | None:
        """The night with this id, with its members, picks and votes, or None."""
        async with self._database.read("read the movie night") as reader:
            rows = await reader.fetch_all("SELECT * FROM movie_nights WHERE id = ?", (night_id,))
            if not rows:
                return None
            members = await reader.fetch_all(
                "SELECT * FROM movie_night_members WHERE night_id = ? ORDER BY label",
                (night_id,),
            )
            picks = await reader.fetch_all(
                "SELECT * FROM movie_night_picks WHERE night_id = ? ORDER BY position",
                (night_id,),
            )
            votes = await reader.fetch_all(
                """SELECT member_id, position FROM movie_night_votes
                   WHERE night_id = ? ORDER BY position, member_id""",
                (night_id,),
            )
        return _night_from_rows(rows[0], members, picks, votes)

    async def erase_member(self, member_id: str) -> int:
        """Erase the nights the member asked for, and their part (membership, votes) in
        others'; returns how many nights they asked for."""
        mine = "SELECT id FROM movie_nights WHERE asker_id = ?"
        async with self._database.transaction("erase the movie nights") as transaction:
            for table in ("movie_night_votes", "movie_night_picks", "movie_night_members"):
                await transaction.execute(
                    f"DELETE FROM {table} WHERE night_id IN ({mine})", (member_id,)
                )
            asked = await transaction.execute(
                "DELETE FROM movie_nights WHERE asker_id = ?", (member_id,)
            )
            await transaction.execute(
                "DELETE FROM movie_night_votes WHERE member_id = ?", (member_id,)
            )
            await transaction.execute(
                "DELETE FROM movie_night_members WHERE member_id = ?", (member_id,)
            )
        return asked.rowcount


async def _copy_for(
    transaction: Transaction, member_id: str, query: str, model: str, picks: Sequence[NightPick]
) -> int:
    """A participant's own suggestion holding the night's picks; returns its id."""
    stamp = now()
    written = await transaction.execute(
        """INSERT INTO suggestions (member_id, query, count, matches, model, status,
               created_at, finished_at, is_structured)
           VALUES (?, ?, ?, '[]', ?, ?, ?, ?, 1)""",
        (member_id, query, len(picks), model, SuggestionStatus.COMPLETE, stamp, stamp),
    )
    suggestion_id = written.lastrowid
    assert suggestion_id is not None
    await transaction.execute_many(
        """INSERT INTO picks (suggestion_id, member_id, answer_position, shown_position,
               title, year, kind, reasoning, confidence, key, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            (
                suggestion_id,
                member_id,
                pick.position,
                pick.position,
                pick.title,
                pick.year,
                pick.kind,
                pick.reasoning,
                pick.confidence,
                pick_key(pick.title, pick.year),
                stamp,
            )
            for pick in picks
        ],
    )
    return suggestion_id


async def _rate_votes(transaction: Transaction, night_id: int, stamp: str) -> None:
    """Each participant's votes as liked ratings of their own copy's picks; a film the
    member rated themselves (any pick, any other source) keeps their rating."""
    await transaction.execute(
        """INSERT OR IGNORE INTO pick_ratings (pick_id, member_id, source, rating, created_at)
           SELECT p.id, v.member_id, ?, ?, ?
           FROM movie_night_votes v
           JOIN movie_night_members m ON m.night_id = v.night_id AND m.member_id = v.member_id
           JOIN picks p ON p.suggestion_id = m.member_suggestion_id
                       AND p.member_id = v.member_id AND p.shown_position = v.position
           WHERE v.night_id = ? AND NOT EXISTS (
               SELECT 1 FROM pick_ratings r JOIN picks q ON q.id = r.pick_id
               WHERE r.member_id = v.member_id AND q.key = p.key AND r.source != ?)""",
        (VOTE_SOURCE, Rating.LIKED, stamp, night_id, VOTE_SOURCE),
    )


def _night_from_rows(
    row: sqlite3.Row,
    members: list[sqlite3.Row],
    picks: list[sqlite3.Row],
    votes: list[sqlite3.Row],
) -> NightRecord:
    return NightRecord(
        id=row["id"],
        asker_id=row["asker_id"],
        query=row["query"],
        state=row["state"],
        suggestion_id=row["suggestion_id"],
        channel_id=row["channel_id"],
        poll_message_id=row["poll_message_id"],
        deadline=datetime.fromisoformat(row["deadline"]) if row["deadline"] else None,
        winner_position=row["winner_position"],
        is_tie_broken=bool(row["is_tie_broken"]),
        announcement_id=row["announcement_id"],
        members=tuple(
            NightMember(member["member_id"], member["label"], member["member_suggestion_id"])
            for member in members
        ),
        picks=tuple(
            NightPick(
                pick["position"],
                pick["title"],
                pick["year"],
                pick["kind"],
                pick["reasoning"],
                pick["confidence"],
            )
            for pick in picks
        ),
        votes=tuple((vote["member_id"], vote["position"]) for vote in votes),
    )
