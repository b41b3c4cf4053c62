"""The system of record: tastes, suggestions and feedback in SQLite (aiosqlite, WAL).

The vector store is derived from these records and can always be rebuilt from them
(`reindex`); nothing here is ever derived from the vector store. Every method
translates sqlite errors into `RecordsError` at this boundary.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from array import array
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import DuplicateTaste, RecordsError, TasteLimitReached
from bot.pipeline.events import (
    GenerationStats,
    HistoryPick,
    MatchedTaste,
    Rating,
    SuggestionStatus,
    SuggestionTimings,
    Taste,
)
from bot.pipeline.picks import LeftOut, PickDecision, pick_key
from bot.pipeline.text import taste_key

log = logging.getLogger(__name__)

# One script per schema version; a database at version N runs scripts N+1 onwards.
# Never edit a released script: add the next one.
MIGRATIONS: tuple[str, ...] = (
    # 1: the first release.
    """
    CREATE TABLE tastes (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id   TEXT    NOT NULL,
        text        TEXT    NOT NULL,
        created_at  TEXT    NOT NULL
    );
    CREATE INDEX tastes_by_member ON tastes (member_id, id);

    CREATE TABLE suggestions (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id            TEXT    NOT NULL,
        query                TEXT    NOT NULL,
        count                INTEGER NOT NULL,
        matches              TEXT    NOT NULL,  -- JSON: [{taste_id, text, score}]
        model                TEXT    NOT NULL,
        text                 TEXT    NOT NULL DEFAULT '',
        status               TEXT    NOT NULL,
        error                TEXT,
        embed_seconds        REAL,
        search_seconds       REAL,
        first_token_seconds  REAL,
        generation_seconds   REAL,
        prompt_tokens        INTEGER,
        completion_tokens    INTEGER,
        tokens_per_second    REAL,
        created_at           TEXT    NOT NULL,
        finished_at          TEXT
    );
    CREATE INDEX suggestions_by_member ON suggestions (member_id, id);

    CREATE TABLE suggestion_messages (
        message_id     INTEGER PRIMARY KEY,
        suggestion_id  INTEGER NOT NULL REFERENCES suggestions (id),
        channel_id     INTEGER
    );

    CREATE TABLE feedback (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id      TEXT    NOT NULL,
        suggestion_id  INTEGER NOT NULL REFERENCES suggestions (id),
        message_id     INTEGER NOT NULL,
        emoji          TEXT    NOT NULL,
        action         TEXT    NOT NULL CHECK (action IN ('added', 'removed')),
        created_at     TEXT    NOT NULL
    );
    CREATE INDEX feedback_by_suggestion ON feedback (suggestion_id, id);
    """,
    # 2: crash-safe tastes. `vector_state` says whether the taste's vector is known to be
    # written ('stored'), may not be yet ('pending'), or is being erased ('deleting');
    # start-up finishes whatever a crash left. `key` (taste_key: NFC, spacing and case
    # folded) is unique per member, so the duplicate rule holds in the database itself.
    # Duplicates an older release let in are kept once (the oldest); the others become
    # 'deleting' with no key, and start-up removes them from both stores.
    """
    ALTER TABLE tastes ADD COLUMN key TEXT;
    ALTER TABLE tastes ADD COLUMN vector_state TEXT NOT NULL DEFAULT 'stored'
        CHECK (vector_state IN ('pending', 'stored', 'deleting'));
    UPDATE tastes SET key = taste_key(text);
    UPDATE tastes SET key = NULL, vector_state = 'deleting'
        WHERE id NOT IN (SELECT MIN(id) FROM tastes GROUP BY member_id, key);
    CREATE UNIQUE INDEX tastes_member_key ON tastes (member_id, key);
    CREATE INDEX tastes_unsettled ON tastes (vector_state) WHERE vector_state != 'stored';
    """,
    # 3 (issue 9): who owns a running suggestion, when its text was last saved, and
    # whether a front end's reply to it still needs its last edit.
    """
    ALTER TABLE suggestions ADD COLUMN owner_id TEXT;  -- see bot/pipeline/owners.py
    ALTER TABLE suggestions ADD COLUMN checkpointed_at TEXT;
    -- NULL: no linked reply; 'open': its last edit is not done yet; 'closed': it is.
    ALTER TABLE suggestions ADD COLUMN reply_state TEXT;
    CREATE INDEX suggestions_by_status ON suggestions (status);
    """,
    # 4 (issue 11): structured picks, one row each, and the member's ratings of them.
    """
    ALTER TABLE suggestions ADD COLUMN is_structured INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE picks (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        suggestion_id    INTEGER NOT NULL REFERENCES suggestions (id),
        member_id        TEXT    NOT NULL,
        answer_position  INTEGER NOT NULL,  -- 1.. in the model's answer
        shown_position   INTEGER,           -- 1.. as the member saw it; NULL if left out
        left_out         TEXT,              -- why it was not shown (picks.LeftOut)
        title            TEXT    NOT NULL,
        year             INTEGER,
        kind             TEXT,
        description      TEXT    NOT NULL DEFAULT '',
        reasoning        TEXT    NOT NULL DEFAULT '',
        confidence       REAL,
        key              TEXT    NOT NULL,  -- picks.pick_key: the same film, recognised
        created_at       TEXT    NOT NULL
    );
    CREATE INDEX picks_by_suggestion ON picks (suggestion_id, answer_position);
    CREATE INDEX picks_by_member ON picks (member_id, id);

    -- One row per pick and way of rating it (a reaction on the whole answer, a number
    -- reaction, a choice); the newest row is the pick's rating. Undo deletes the row.
    CREATE TABLE pick_ratings (
        pick_id     INTEGER NOT NULL REFERENCES picks (id),
        member_id   TEXT    NOT NULL,
        source      TEXT    NOT NULL,
        rating      TEXT    NOT NULL CHECK (rating IN ('liked', 'not_for_me', 'seen')),
        created_at  TEXT    NOT NULL,
        PRIMARY KEY (pick_id, source)
    );
    CREATE INDEX pick_ratings_by_member ON pick_ratings (member_id);

    -- Embeddings of liked picks, per embedding model: derived, made again when missing.
    CREATE TABLE pick_vectors (
        pick_id  INTEGER NOT NULL REFERENCES picks (id),
        model    TEXT    NOT NULL,
        vector   BLOB    NOT NULL,  -- float32, native byte order
        PRIMARY KEY (pick_id, model)
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


@dataclass(frozen=True, slots=True)
class SuggestionRecord:
    """One row of `suggestions`, as read back."""

    id: int
    member_id: str
    query: str
    count: int
    matches: tuple[MatchedTaste, ...]
    model: str
    text: str
    status: SuggestionStatus
    error: str | None
    timings: SuggestionTimings
    completion_tokens: int | None
    tokens_per_second: float | None
    created_at: datetime
    is_structured: bool = False


@dataclass(frozen=True, slots=True)
class OpenReply:
    """A suggestion whose front-end reply never got its last edit (the bot was killed)."""

    suggestion_id: int
    status: SuggestionStatus
    messages: tuple[tuple[int, int | None], ...]  # (message id, channel id), oldest first


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """One reaction added to or removed from a suggestion's message."""

    member_id: str
    suggestion_id: int
    message_id: int
    emoji: str
    added: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PickRecord:
    """One pick of a suggestion's answer, shown or left out, with its current rating."""

    id: int
    suggestion_id: int
    member_id: str
    answer_position: int
    shown_position: int | None
    left_out: LeftOut | None
    title: str
    year: int | None
    kind: str | None
    description: str
    reasoning: str
    confidence: float | None
    key: str
    rating: Rating | None


# The newest rating row of each pick is its rating.
_CURRENT_RATINGS = """
    SELECT pick_id, rating FROM pick_ratings
    WHERE rowid IN (SELECT MAX(rowid) FROM pick_ratings WHERE member_id = ? GROUP BY pick_id)
"""


def _pick(row: sqlite3.Row) -> PickRecord:
    return PickRecord(
        id=row["id"],
        suggestion_id=row["suggestion_id"],
        member_id=row["member_id"],
        answer_position=row["answer_position"],
        shown_position=row["shown_position"],
        left_out=LeftOut(row["left_out"]) if row["left_out"] else None,
        title=row["title"],
        year=row["year"],
        kind=row["kind"],
        description=row["description"],
        reasoning=row["reasoning"],
        confidence=row["confidence"],
        key=row["key"],
        rating=Rating(row["rating"]) if row["rating"] else None,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _taste(row: sqlite3.Row) -> Taste:
    return Taste(
        id=row["id"],
        member_id=row["member_id"],
        text=row["text"],
        created_at=datetime.fromisoformat(row["created_at"]),
        is_pending=row["vector_state"] == PENDING,
    )


PENDING = "pending"
STORED = "stored"
DELETING = "deleting"


@dataclass(frozen=True, slots=True)
class Unsettled:
    """Tastes a crash (or a fault) left between the two stores, for one member."""

    member_id: str
    pending: tuple[Taste, ...]
    deleting: tuple[int, ...]


class Records:
    """Async access to the SQLite records. Open with `Records.open(path)`."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._db = connection

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path) -> AsyncIterator[Records]:
        """Open (creating and migrating as needed) the database at `path`."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            connection = await aiosqlite.connect(path)
        except (OSError, sqlite3.Error) as exc:
            raise RecordsError(f"Cannot open the records database at {path}: {exc}") from exc
        try:
            connection.row_factory = sqlite3.Row
            await connection.create_function("taste_key", 1, taste_key, deterministic=True)
            records = cls(connection)
            await records._prepare()
            yield records
        finally:
            await connection.close()

    async def _prepare(self) -> None:
        async with self._translated("prepare the database"):
            await self._db.execute("PRAGMA journal_mode = WAL")
            await self._db.execute("PRAGMA foreign_keys = ON")
            # Wait for a lock held by another process (the terminal front end) briefly.
            await self._db.execute("PRAGMA busy_timeout = 5000")
            await self._migrate()

    async def _migrate(self) -> None:
        async with self._db.execute("PRAGMA user_version") as cursor:
            row = await cursor.fetchone()
        version = row[0] if row else 0
        if version > SCHEMA_VERSION:
            raise RecordsError(
                f"The records database is at schema version {version}, newer than this "
                f"release knows ({SCHEMA_VERSION}). Upgrade suggest.watch."
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            log.info("Migrating the records database to schema version %d", number)
            await self._db.executescript(
                f"BEGIN;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;"
            )

    async def close_abandoned_suggestions(self, is_gone: Callable[[str | None], bool]) -> int:
        """Mark `interrupted` every running suggestion whose owner `is_gone`; the text
        checkpointed so far stays. Returns how many were closed."""
        async with self._translated("close abandoned suggestions"):
            rows = await self._fetch_all(
                "SELECT DISTINCT owner_id FROM suggestions WHERE status = ?",
                (SuggestionStatus.RUNNING,),
            )
            closed = 0
            for (owner_id,) in rows:
                if not is_gone(owner_id):
                    continue
                closed += await self._execute_write(
                    """UPDATE suggestions SET status = ?, error = ?, finished_at = ?
                       WHERE status = ? AND owner_id IS ?""",
                    (
                        SuggestionStatus.INTERRUPTED,
                        "The bot stopped while this suggestion was being written.",
                        _now(),
                        SuggestionStatus.RUNNING,
                        owner_id,
                    ),
                )
        if closed:
            log.warning("Marked %d suggestion(s) left running by a stop as interrupted", closed)
        return closed

    async def schema_version(self) -> int:
        async with self._translated("read the schema version"):
            return (await self._fetch_one("PRAGMA user_version"))[0]

    # -- tastes ---------------------------------------------------------------------------

    async def add_taste(self, member_id: str, text: str, *, limit: int) -> Taste:
        """Store a new taste as pending (its vector not yet written).

        One statement checks the limit and inserts, and the unique key refuses a
        duplicate, so both rules hold however many writers there are.
        """
        created_at = _now()
        async with self._translated("store the taste"):
            try:
                cursor = await self._db.execute(
                    """INSERT INTO tastes (member_id, text, key, vector_state, created_at)
                       SELECT ?, ?, taste_key(?), ?, ?
                       WHERE (SELECT COUNT(*) FROM tastes
                              WHERE member_id = ? AND vector_state != ?) < ?""",
                    (member_id, text, text, PENDING, created_at, member_id, DELETING, limit),
                )
                await self._db.commit()
            except sqlite3.IntegrityError:  # the unique key: the member has it already
                await self._db.rollback()
                duplicate = True
            else:
                duplicate = False
        if duplicate:
            existing = await self.find_taste(member_id, text)
            raise DuplicateTaste(existing.id if existing else 0)
        if cursor.rowcount == 0:
            raise TasteLimitReached(limit)
        assert cursor.lastrowid is not None
        return Taste(
            cursor.lastrowid,
            member_id,
            text,
            datetime.fromisoformat(created_at),
            is_pending=True,
        )

    async def list_tastes(self, member_id: str) -> list[Taste]:
        """The member's tastes, oldest first (not those being erased)."""
        async with self._translated("read the tastes"):
            rows = await self._fetch_all(
                "SELECT * FROM tastes WHERE member_id = ? AND vector_state != ? ORDER BY id",
                (member_id, DELETING),
            )
        return [_taste(row) for row in rows]

    async def get_tastes(self, member_id: str, taste_ids: Iterable[int]) -> dict[int, Taste]:
        """The member's tastes among `taste_ids`; ids of others' tastes are simply absent."""
        ids = list(taste_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        async with self._translated("read the tastes"):
            rows = await self._fetch_all(
                f"""SELECT * FROM tastes
                    WHERE member_id = ? AND vector_state != ? AND id IN ({marks})""",
                (member_id, DELETING, *ids),
            )
        return {row["id"]: _taste(row) for row in rows}

    async def count_tastes(self, member_id: str) -> int:
        """How many tastes the member has (those being erased not counted)."""
        async with self._translated("count the tastes"):
            row = await self._fetch_one(
                "SELECT COUNT(*) FROM tastes WHERE member_id = ? AND vector_state != ?",
                (member_id, DELETING),
            )
        return row[0]

    async def find_taste(self, member_id: str, text: str) -> Taste | None:
        """The member's taste with the same key (case and spacing aside), if any."""
        async with self._translated("read the tastes"):
            rows = await self._fetch_all(
                "SELECT * FROM tastes WHERE member_id = ? AND key = ? LIMIT 1",
                (member_id, taste_key(text)),
            )
        return _taste(rows[0]) if rows else None

    async def mark_stored(self, member_id: str, taste_ids: Sequence[int]) -> None:
        """Record that these pending tastes' vectors are written."""
        await self._set_state(member_id, taste_ids, STORED, only_from=PENDING)

    async def mark_pending(self, member_id: str, taste_ids: Sequence[int]) -> None:
        """Record that these tastes' vectors may be missing (written again at start)."""
        await self._set_state(member_id, taste_ids, PENDING, only_from=STORED)

    async def mark_deleting(self, member_id: str, taste_ids: Sequence[int] | None) -> list[int]:
        """Start erasing these tastes (None: all the member's); returns their ids.

        From here on they are gone for the member (not listed, counted or matched) and
        their key is free; `delete_tastes` removes the rows once the vectors are erased.
        """
        where = "member_id = ?"
        parameters: list[str | int] = [member_id]
        if taste_ids is not None:
            where += f" AND id IN ({','.join('?' * len(taste_ids))})"
            parameters += list(taste_ids)
        async with self._translated("forget the tastes"):
            # RETURNING: exactly the rows this statement changed, whatever else writes.
            rows = await self._fetch_all(
                f"UPDATE tastes SET vector_state = ?, key = NULL WHERE {where} RETURNING id",
                (DELETING, *parameters),
            )
            await self._db.commit()
        return [row[0] for row in rows]

    async def restore(self, member_id: str, taste_ids: Sequence[int]) -> None:
        """Take back `mark_deleting` when the vectors could not be erased.

        They come back pending (their vectors may be partly erased): start-up, or the
        next statement of the same taste, writes them again.
        """
        if not taste_ids:
            return
        marks = ",".join("?" * len(taste_ids))
        async with self._translated("restore the tastes"):
            await self._execute_write(
                f"""UPDATE tastes SET vector_state = ?, key = taste_key(text)
                    WHERE member_id = ? AND vector_state = ? AND id IN ({marks})""",
                (PENDING, member_id, DELETING, *taste_ids),
            )

    async def delete_tastes(self, member_id: str, taste_ids: Sequence[int]) -> int:
        """Remove the rows of tastes being erased (their vectors are gone)."""
        if not taste_ids:
            return 0
        marks = ",".join("?" * len(taste_ids))
        async with self._translated("remove the tastes"):
            return await self._execute_write(
                f"DELETE FROM tastes WHERE member_id = ? AND id IN ({marks})",
                (member_id, *taste_ids),
            )

    async def unsettled(self, member_id: str | None = None) -> list[Unsettled]:
        """Every member (or just this one) with pending or deleting tastes, and which."""
        where, parameters = "vector_state != ?", [STORED]
        if member_id is not None:
            where, parameters = where + " AND member_id = ?", [STORED, member_id]
        async with self._translated("read the unsettled tastes"):
            rows = await self._fetch_all(
                f"SELECT * FROM tastes WHERE {where} ORDER BY member_id, id", parameters
            )
        by_member: dict[str, tuple[list[Taste], list[int]]] = {}
        for row in rows:
            pending, deleting = by_member.setdefault(row["member_id"], ([], []))
            if row["vector_state"] == DELETING:
                deleting.append(row["id"])
            else:
                pending.append(_taste(row))
        return [
            Unsettled(member_id, tuple(pending), tuple(deleting))
            for member_id, (pending, deleting) in by_member.items()
        ]

    async def settle_rebuilt(self, member_id: str, taste_ids: Sequence[int]) -> None:
        """After a rebuild wrote these tastes' vectors: pending ones become stored."""
        await self.mark_stored(member_id, taste_ids)

    async def taste_counts(self) -> dict[str, tuple[int, int]]:
        """Per member with tastes: (stored, pending) counts, for `doctor`."""
        async with self._translated("count the tastes"):
            rows = await self._fetch_all(
                """SELECT member_id, SUM(vector_state = ?), SUM(vector_state = ?)
                   FROM tastes WHERE vector_state != ? GROUP BY member_id""",
                (STORED, PENDING, DELETING),
            )
        return {row[0]: (row[1], row[2]) for row in rows}

    async def members_with_tastes(self) -> list[str]:
        """Every member with at least one taste (not being erased)."""
        async with self._translated("list the members"):
            rows = await self._fetch_all(
                "SELECT DISTINCT member_id FROM tastes WHERE vector_state != ? ORDER BY member_id",
                (DELETING,),
            )
        return [row[0] for row in rows]

    async def _set_state(
        self, member_id: str, taste_ids: Sequence[int], state: str, *, only_from: str
    ) -> None:
        if not taste_ids:
            return
        marks = ",".join("?" * len(taste_ids))
        async with self._translated("record the taste's vector"):
            await self._execute_write(
                f"""UPDATE tastes SET vector_state = ?
                    WHERE member_id = ? AND vector_state = ? AND id IN ({marks})""",
                (state, member_id, only_from, *taste_ids),
            )

    # -- suggestions ----------------------------------------------------------------------

    async def start_suggestion(
        self,
        member_id: str,
        query: str,
        count: int,
        matches: Sequence[MatchedTaste],
        model: str,
        timings: SuggestionTimings,
        status: SuggestionStatus = SuggestionStatus.RUNNING,
        owner_id: str | None = None,
    ) -> int:
        """Record a suggestion as it starts; `finish_suggestion` records how it ended.

        `owner_id` is the process writing it (see `owners.py`)."""
        matches_json = json.dumps(
            [{"taste_id": m.taste_id, "text": m.text, "score": m.score} for m in matches]
        )
        async with self._translated("record the suggestion"):
            cursor = await self._db.execute(
                """INSERT INTO suggestions (member_id, query, count, matches, model, status,
                       embed_seconds, search_seconds, created_at, owner_id)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (
                    member_id,
                    query,
                    count,
                    matches_json,
                    model,
                    status,
                    timings.embed_seconds,
                    timings.search_seconds,
                    _now(),
                    owner_id,
                ),
            )
            await self._db.commit()
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    async def checkpoint_suggestion(self, suggestion_id: int, text: str) -> None:
        """Save the text streamed so far of a running suggestion, so a kill loses little."""
        async with self._translated("save the suggestion's text so far"):
            await self._execute_write(
                "UPDATE suggestions SET text = ?, checkpointed_at = ? WHERE id = ? AND status = ?",
                (text, _now(), suggestion_id, SuggestionStatus.RUNNING),
            )

    async def finish_suggestion(
        self,
        suggestion_id: int,
        *,
        text: str,
        status: SuggestionStatus,
        timings: SuggestionTimings,
        stats: GenerationStats | None = None,
        error: str | None = None,
        is_structured: bool = False,
    ) -> None:
        """Record how a suggestion ended: its text, status, timings and whether it was JSON."""
        async with self._translated("record the suggestion's outcome"):
            await self._execute_write(
                """UPDATE suggestions SET text = ?, status = ?, error = ?, first_token_seconds = ?,
                       generation_seconds = ?, prompt_tokens = ?, completion_tokens = ?,
                       tokens_per_second = ?, finished_at = ?, is_structured = ?
                   WHERE id = ?""",
                (
                    text,
                    status,
                    error,
                    timings.first_token_seconds,
                    timings.generation_seconds,
                    stats.prompt_tokens if stats else None,
                    stats.completion_tokens if stats else None,
                    stats.tokens_per_second if stats else None,
                    _now(),
                    is_structured,
                    suggestion_id,
                ),
            )

    async def get_suggestion(self, suggestion_id: int) -> SuggestionRecord | None:
        async with self._translated("read the suggestion"):
            rows = await self._fetch_all("SELECT * FROM suggestions WHERE id = ?", (suggestion_id,))
        if not rows:
            return None
        row = rows[0]
        return SuggestionRecord(
            id=row["id"],
            member_id=row["member_id"],
            query=row["query"],
            count=row["count"],
            matches=tuple(MatchedTaste(**match) for match in json.loads(row["matches"])),
            model=row["model"],
            text=row["text"],
            status=SuggestionStatus(row["status"]),
            error=row["error"],
            timings=SuggestionTimings(
                embed_seconds=row["embed_seconds"],
                search_seconds=row["search_seconds"],
                first_token_seconds=row["first_token_seconds"],
                generation_seconds=row["generation_seconds"],
            ),
            completion_tokens=row["completion_tokens"],
            tokens_per_second=row["tokens_per_second"],
            created_at=datetime.fromisoformat(row["created_at"]),
            is_structured=bool(row["is_structured"]),
        )

    async def count_suggestions(self) -> int:
        async with self._translated("count the suggestions"):
            return (await self._fetch_one("SELECT COUNT(*) FROM suggestions"))[0]

    # -- messages and feedback ------------------------------------------------------------

    async def link_message(
        self, suggestion_id: int, message_id: int, channel_id: int | None
    ) -> None:
        """Note that a front-end message shows the suggestion; its reply counts as open
        until `close_reply`."""
        async with self._translated("link the message to its suggestion"):
            await self._db.execute(
                """INSERT INTO suggestion_messages (message_id, suggestion_id, channel_id)
                   VALUES (?, ?, ?) ON CONFLICT (message_id) DO NOTHING""",
                (message_id, suggestion_id, channel_id),
            )
            await self._db.execute(
                "UPDATE suggestions SET reply_state = 'open' WHERE id = ? AND reply_state IS NULL",
                (suggestion_id,),
            )
            await self._db.commit()

    async def close_reply(self, suggestion_id: int) -> None:
        """The suggestion's reply got its last edit: nothing is left to tidy."""
        async with self._translated("close the suggestion's reply"):
            await self._execute_write(
                "UPDATE suggestions SET reply_state = 'closed' WHERE id = ?", (suggestion_id,)
            )

    async def open_replies(self) -> list[OpenReply]:
        """Replies that never got their last edit, of suggestions no longer running."""
        async with self._translated("find replies left open"):
            rows = await self._fetch_all(
                """SELECT s.id, s.status, m.message_id, m.channel_id
                   FROM suggestions s JOIN suggestion_messages m ON m.suggestion_id = s.id
                   WHERE s.reply_state = 'open' AND s.status != ?
                   ORDER BY s.id, m.message_id""",
                (SuggestionStatus.RUNNING,),
            )
        replies: dict[int, OpenReply] = {}
        for row in rows:
            found = replies.get(row[0]) or OpenReply(row[0], SuggestionStatus(row[1]), ())
            replies[row[0]] = OpenReply(
                found.suggestion_id, found.status, (*found.messages, (row[2], row[3]))
            )
        return list(replies.values())

    async def suggestion_for_message(self, message_id: int) -> int | None:
        async with self._translated("look up the message"):
            rows = await self._fetch_all(
                "SELECT suggestion_id FROM suggestion_messages WHERE message_id = ?", (message_id,)
            )
        return rows[0][0] if rows else None

    async def add_feedback(
        self, member_id: str, suggestion_id: int, message_id: int, emoji: str, added: bool
    ) -> None:
        async with self._translated("record the feedback"):
            await self._execute_write(
                """INSERT INTO feedback
                       (member_id, suggestion_id, message_id, emoji, action, created_at)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (
                    member_id,
                    suggestion_id,
                    message_id,
                    emoji,
                    "added" if added else "removed",
                    _now(),
                ),
            )

    async def list_feedback(self, suggestion_id: int) -> list[FeedbackRecord]:
        async with self._translated("read the feedback"):
            rows = await self._fetch_all(
                "SELECT * FROM feedback WHERE suggestion_id = ? ORDER BY id", (suggestion_id,)
            )
        return [
            FeedbackRecord(
                member_id=row["member_id"],
                suggestion_id=row["suggestion_id"],
                message_id=row["message_id"],
                emoji=row["emoji"],
                added=row["action"] == "added",
                created_at=datetime.fromisoformat(row["created_at"]),
            )
            for row in rows
        ]

    # -- picks and ratings -----------------------------------------------------------------

    async def add_picks(
        self, suggestion_id: int, member_id: str, decisions: Sequence[PickDecision]
    ) -> None:
        """Record every pick of a suggestion's answer, shown or left out, in answer order."""
        created_at = _now()
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
                created_at,
            )
            for position, decision in enumerate(decisions, start=1)
        ]
        async with self._translated("record the picks"):
            await self._db.executemany(
                """INSERT INTO picks (suggestion_id, member_id, answer_position, shown_position,
                       left_out, title, year, kind, description, reasoning, confidence, key,
                       created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                rows,
            )
            await self._db.commit()

    async def list_picks(self, member_id: str, suggestion_id: int) -> list[PickRecord]:
        """The member's picks of one suggestion in answer order, with their ratings."""
        async with self._translated("read the picks"):
            rows = await self._fetch_all(
                f"""SELECT picks.*, current.rating FROM picks
                    LEFT JOIN ({_CURRENT_RATINGS}) AS current ON current.pick_id = picks.id
                    WHERE picks.member_id = ? AND picks.suggestion_id = ?
                    ORDER BY picks.answer_position""",
                (member_id, member_id, suggestion_id),
            )
        return [_pick(row) for row in rows]

    async def rate_pick(self, member_id: str, pick_id: int, source: str, rating: Rating) -> None:
        """Set the member's rating of a pick from one source; the newest rating counts."""
        async with self._translated("record the rating"):
            await self._execute_write(
                """INSERT OR REPLACE INTO pick_ratings
                       (pick_id, member_id, source, rating, created_at)
                   VALUES (?, ?, ?, ?, ?)""",
                (pick_id, member_id, source, rating, _now()),
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
        async with self._translated("take back the rating"):
            return await self._execute_write(sql, parameters) > 0

    async def rated_picks(
        self, member_id: str, ratings: Sequence[Rating], limit: int
    ) -> list[PickRecord]:
        """The member's picks whose current rating is one of `ratings`, newest rated first."""
        marks = ",".join("?" * len(ratings))
        async with self._translated("read the rated picks"):
            rows = await self._fetch_all(
                f"""SELECT picks.*, current.rating FROM picks
                    JOIN ({_CURRENT_RATINGS}) AS current ON current.pick_id = picks.id
                    WHERE picks.member_id = ? AND current.rating IN ({marks})
                    ORDER BY picks.id DESC LIMIT ?""",
                (member_id, member_id, *ratings, limit),
            )
        return [_pick(row) for row in rows]

    async def recently_shown(self, member_id: str, suggestions: int) -> list[PickRecord]:
        """The picks shown to the member in their last `suggestions` suggestions, newest first."""
        if suggestions <= 0:
            return []
        async with self._translated("read the recent picks"):
            rows = await self._fetch_all(
                f"""SELECT picks.*, current.rating FROM picks
                    LEFT JOIN ({_CURRENT_RATINGS}) AS current ON current.pick_id = picks.id
                    WHERE picks.member_id = ? AND picks.shown_position IS NOT NULL
                      AND picks.suggestion_id IN (
                        SELECT DISTINCT suggestion_id FROM picks WHERE member_id = ?
                        ORDER BY suggestion_id DESC LIMIT ?)
                    ORDER BY picks.suggestion_id DESC, picks.shown_position""",
                (member_id, member_id, member_id, suggestions),
            )
        return [_pick(row) for row in rows]

    async def pick_vectors(self, pick_ids: Iterable[int], model: str) -> dict[int, list[float]]:
        """Stored embeddings of these picks made with `model`."""
        ids = list(pick_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        async with self._translated("read the pick vectors"):
            rows = await self._fetch_all(
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
        async with self._translated("store the pick vectors"):
            await self._db.executemany(
                "INSERT OR REPLACE INTO pick_vectors (pick_id, model, vector) VALUES (?, ?, ?)",
                rows,
            )
            await self._db.commit()

    async def history(self, member_id: str, limit: int) -> list[HistoryPick]:
        """The member's most recently shown picks, newest first, with their ratings."""
        async with self._translated("read the history"):
            rows = await self._fetch_all(
                f"""SELECT picks.*, current.rating, suggestions.query FROM picks
                    JOIN suggestions ON suggestions.id = picks.suggestion_id
                    LEFT JOIN ({_CURRENT_RATINGS}) AS current ON current.pick_id = picks.id
                    WHERE picks.member_id = ? AND picks.shown_position IS NOT NULL
                    ORDER BY picks.suggestion_id DESC, picks.shown_position LIMIT ?""",
                (member_id, member_id, limit),
            )
        return [
            HistoryPick(
                suggestion_id=row["suggestion_id"],
                position=row["shown_position"],
                title=row["title"],
                year=row["year"],
                kind=row["kind"],
                query=row["query"],
                rating=Rating(row["rating"]) if row["rating"] else None,
                created_at=datetime.fromisoformat(row["created_at"]),
            )
            for row in rows
        ]

    async def count_history(self, member_id: str) -> int:
        """How many suggestions of the member are recorded."""
        async with self._translated("count the history"):
            row = await self._fetch_one(
                "SELECT COUNT(*) FROM suggestions WHERE member_id = ?", (member_id,)
            )
        return row[0]

    async def delete_member_history(self, member_id: str) -> int:
        """Erase the member's suggestions, picks, ratings and reactions; returns suggestions."""
        mine = "SELECT id FROM suggestions WHERE member_id = ?"
        statements = (
            "DELETE FROM pick_vectors WHERE pick_id IN (SELECT id FROM picks WHERE member_id = ?)",
            "DELETE FROM pick_ratings WHERE member_id = ?",
            "DELETE FROM picks WHERE member_id = ?",
            f"DELETE FROM feedback WHERE suggestion_id IN ({mine})",
            f"DELETE FROM suggestion_messages WHERE suggestion_id IN ({mine})",
            "DELETE FROM suggestions WHERE member_id = ?",
        )
        async with self._translated("erase the history"):
            # One transaction (sqlite3 opens it at the first DELETE): whole or not at all.
            try:
                for sql in statements:
                    cursor = await self._db.execute(sql, (member_id,))
                await self._db.commit()
            except BaseException:
                await self._db.rollback()
                raise
        return cursor.rowcount

    # -- helpers --------------------------------------------------------------------------

    async def _fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._db.execute(sql, parameters) as cursor:
            return list(await cursor.fetchall())

    async def _fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Row:
        rows = await self._fetch_all(sql, parameters)
        return rows[0]

    async def _execute_write(self, sql: str, parameters: Sequence[Any] = ()) -> int:
        """Run one write and commit it; returns the number of rows it changed."""
        cursor = await self._db.execute(sql, parameters)
        await self._db.commit()
        return cursor.rowcount

    @asynccontextmanager
    async def _translated(self, doing: str) -> AsyncIterator[None]:
        try:
            yield
        except (sqlite3.Error, ValueError) as exc:
            # ValueError: aiosqlite's "no active connection" after close.
            log.error("SQLite failed to %s: %s", doing, exc)
            raise RecordsError(f"Could not {doing}: the records database failed ({exc}).") from exc
