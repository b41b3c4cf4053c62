"""Suggestions as they run and end, the front-end messages that show them, and the
reactions members leave on those messages."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence

from bot.pipeline.domain import GenerationStats, MatchedTaste, SuggestionStatus, SuggestionTimings
from bot.pipeline.records.database import Database
from bot.pipeline.records.rows import (
    FeedbackRecord,
    OpenReply,
    SuggestionRecord,
    feedback_from_row,
    now,
    suggestion_from_row,
)

log = logging.getLogger(__name__)


class SuggestionRecords:
    """The `suggestions`, `suggestion_messages` and `feedback` tables."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def close_abandoned_suggestions(self, is_gone: Callable[[str | None], bool]) -> int:
        """Mark `interrupted` every running suggestion whose owner `is_gone`; the text
        checkpointed so far stays. Returns how many were closed."""
        closed = 0
        async with self._database.transaction("close abandoned suggestions") as transaction:
            rows = await transaction.fetch_all(
                "SELECT DISTINCT owner_id FROM suggestions WHERE status = ?",
                (SuggestionStatus.RUNNING,),
            )
            for (owner_id,) in rows:
                if not is_gone(owner_id):
                    continue
                written = await transaction.execute(
                    """UPDATE suggestions SET status = ?, error = ?, finished_at = ?
                       WHERE status = ? AND owner_id IS ?""",
                    (
                        SuggestionStatus.INTERRUPTED,
                        "The bot stopped while this suggestion was being written.",
                        now(),
                        SuggestionStatus.RUNNING,
                        owner_id,
                    ),
                )
                closed += written.rowcount
        if closed:
            log.warning("Marked %d suggestion(s) left running by a stop as interrupted", closed)
        return closed

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
        async with self._database.transaction("record the suggestion") as transaction:
            written = await transaction.execute(
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
                    now(),
                    owner_id,
                ),
            )
        assert written.lastrowid is not None
        return written.lastrowid

    async def checkpoint_suggestion(self, suggestion_id: int, text: str) -> None:
        """Save the text streamed so far of a running suggestion, so a kill loses little."""
        async with self._database.transaction("save the suggestion's text so far") as transaction:
            await transaction.execute(
                "UPDATE suggestions SET text = ?, checkpointed_at = ? WHERE id = ? AND status = ?",
                (text, now(), suggestion_id, SuggestionStatus.RUNNING),
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
        async with self._database.transaction("record the suggestion's outcome") as transaction:
            await transaction.execute(
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
                    now(),
                    is_structured,
                    suggestion_id,
                ),
            )

    async def get_suggestion(self, suggestion_id: int) -> SuggestionRecord | None:
        """The suggestion with this id, or None."""
        async with self._database.read("read the suggestion") as reader:
            rows = await reader.fetch_all(
                "SELECT * FROM suggestions WHERE id = ?", (suggestion_id,)
            )
        return suggestion_from_row(rows[0]) if rows else None

    async def count_suggestions(self) -> int:
        """How many suggestions are recorded, of every member."""
        async with self._database.read("count the suggestions") as reader:
            return int((await reader.fetch_one("SELECT COUNT(*) FROM suggestions"))[0])

    async def link_message(
        self, suggestion_id: int, message_id: int, channel_id: int | None
    ) -> None:
        """Note that a front-end message shows the suggestion; its reply counts as open
        until `close_reply`."""
        async with self._database.transaction("link the message to its suggestion") as transaction:
            await transaction.execute(
                """INSERT INTO suggestion_messages (message_id, suggestion_id, channel_id)
                   VALUES (?, ?, ?) ON CONFLICT (message_id) DO NOTHING""",
                (message_id, suggestion_id, channel_id),
            )
            await transaction.execute(
                "UPDATE suggestions SET reply_state = 'open' WHERE id = ? AND reply_state IS NULL",
                (suggestion_id,),
            )

    async def close_reply(self, suggestion_id: int) -> None:
        """The suggestion's reply got its last edit: nothing is left to tidy."""
        async with self._database.transaction("close the suggestion's reply") as transaction:
            await transaction.execute(
                "UPDATE suggestions SET reply_state = 'closed' WHERE id = ?", (suggestion_id,)
            )

    async def open_replies(self) -> list[OpenReply]:
        """Replies that never got their last edit, of suggestions no longer running."""
        async with self._database.read("find replies left open") as reader:
            rows = await reader.fetch_all(
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
        """The suggestion a front-end message shows, or None for any other message."""
        async with self._database.read("look up the message") as reader:
            rows = await reader.fetch_all(
                "SELECT suggestion_id FROM suggestion_messages WHERE message_id = ?", (message_id,)
            )
        return rows[0][0] if rows else None

    async def add_feedback(
        self, member_id: str, suggestion_id: int, message_id: int, emoji: str, added: bool
    ) -> None:
        """Record a reaction added to (or removed from) a suggestion's message."""
        async with self._database.transaction("record the feedback") as transaction:
            await transaction.execute(
                """INSERT INTO feedback
                       (member_id, suggestion_id, message_id, emoji, action, created_at)
                   VALUES (?, ?, ?, ?, ?, ?)""",
                (
                    member_id,
                    suggestion_id,
                    message_id,
                    emoji,
                    "added" if added else "removed",
                    now(),
                ),
            )

    async def list_feedback(self, suggestion_id: int) -> list[FeedbackRecord]:
        """Every reaction recorded on the suggestion's messages, oldest first."""
        async with self._database.read("read the feedback") as reader:
            rows = await reader.fetch_all(
                "SELECT * FROM feedback WHERE suggestion_id = ? ORDER BY id", (suggestion_id,)
            )
        return [feedback_from_row(row) for row in rows]
