"""Ratings and past picks: what a member said of the picks they were shown.

A member rates one shown pick or a whole suggestion (only their own); front-end
messages are linked to the suggestion they show, so a reaction on one is stored as
feedback and a reply left mid-stream by a killed process can be finished later.
"""

from __future__ import annotations

import logging

from bot.errors import InputError
from bot.pipeline.domain import PastPick, Rating
from bot.pipeline.records import OpenReply, PickRecord, PickRecords, SuggestionRecords

log = logging.getLogger(__name__)

# How a rating made outside reactions is recorded (a reaction's source is its emoji).
CHOICE_SOURCE = "choice"
PAST_PICKS_LIMIT = 20


class Ratings:
    """Rates shown picks, lists past ones, and links front-end messages to suggestions."""

    def __init__(self, suggestion_records: SuggestionRecords, pick_records: PickRecords) -> None:
        self._suggestions = suggestion_records
        self._picks = pick_records

    async def rate(
        self,
        member_id: str,
        suggestion_id: int,
        rating: Rating | None,
        position: int | None = None,
        source: str = CHOICE_SOURCE,
    ) -> list[PickRecord]:
        """Rate one shown pick (`position`, from 1) or all of a suggestion's picks.

        Only the member who asked can rate. `rating=None` takes back this source's
        rating. Returns the rated picks as they are now.
        """
        picks = await self._shown_picks(member_id, suggestion_id, position)
        for pick in picks:
            if rating is None:
                await self._picks.unrate_pick(member_id, pick.id, source)
            else:
                await self._picks.rate_pick(member_id, pick.id, source, rating)
        log.info(
            "Member %s rated %d pick(s) of suggestion #%d: %s",
            member_id,
            len(picks),
            suggestion_id,
            rating or "taken back",
        )
        return await self._shown_picks(member_id, suggestion_id, position)

    async def unrate(
        self,
        member_id: str,
        suggestion_id: int,
        rating: Rating,
        position: int | None = None,
        source: str = CHOICE_SOURCE,
    ) -> list[PickRecord]:
        """Take back a rating given from `source` (a reaction removed), if it is `rating`."""
        picks = await self._shown_picks(member_id, suggestion_id, position)
        for pick in picks:
            await self._picks.unrate_pick(member_id, pick.id, source, rating)
        return await self._shown_picks(member_id, suggestion_id, position)

    async def picks(self, member_id: str, suggestion_id: int) -> list[PickRecord]:
        """The shown picks of one of the member's suggestions, with their ratings."""
        return await self._shown_picks(member_id, suggestion_id, None)

    async def past_picks(self, member_id: str, limit: int = PAST_PICKS_LIMIT) -> list[PastPick]:
        """The member's most recently shown picks, newest first, with their ratings."""
        return await self._picks.past_picks(member_id, limit)

    async def count_suggestions(self, member_id: str) -> int:
        """How many suggestions of the member are recorded (to offer erasing them)."""
        return await self._picks.count_member_suggestions(member_id)

    async def erase_suggestions(self, member_id: str) -> int:
        """Erase the member's suggestions, picks and ratings; returns how many suggestions."""
        removed = await self._picks.erase_member_suggestions(member_id)
        log.info("Member %s erased their %d suggestion(s)", member_id, removed)
        return removed

    async def link_message(
        self, suggestion_id: int, message_id: int, channel_id: int | None
    ) -> None:
        """Remember that a front-end message shows this suggestion, as soon as it exists:
        for its ratings, and so a reply left mid-stream can be finished at the next start.
        The reply counts as open until `close_reply`."""
        await self._suggestions.link_message(suggestion_id, message_id, channel_id)

    async def close_reply(self, suggestion_id: int) -> None:
        """The front end made the reply's last edit."""
        await self._suggestions.close_reply(suggestion_id)

    async def open_replies(self) -> list[OpenReply]:
        """Replies a killed process left without their last edit, to finish now."""
        return await self._suggestions.open_replies()

    async def record_feedback(
        self, member_id: str, message_id: int, emoji: str, added: bool
    ) -> int | None:
        """Store a rating on a suggestion's message; None (nothing stored) for other messages."""
        suggestion_id = await self._suggestions.suggestion_for_message(message_id)
        if suggestion_id is None:
            return None
        await self._suggestions.add_feedback(member_id, suggestion_id, message_id, emoji, added)
        return suggestion_id

    async def reactions_of(self, member_id: str, suggestion_id: int) -> list[str]:
        """The emoji the member has on the suggestion's messages now, from the reaction log."""
        present: dict[tuple[int, str], bool] = {}
        for feedback in await self._suggestions.list_feedback(suggestion_id):
            if feedback.member_id == member_id:
                present[(feedback.message_id, feedback.emoji)] = feedback.added
        return list(dict.fromkeys(emoji for (_, emoji), added in present.items() if added))

    async def _shown_picks(
        self, member_id: str, suggestion_id: int, position: int | None
    ) -> list[PickRecord]:
        found = await self._picks.list_picks(member_id, suggestion_id)
        shown = [pick for pick in found if pick.shown_position is not None]
        if not shown:
            raise InputError(f"You have no suggestion #{suggestion_id} with picks to rate.")
        if position is None:
            return shown
        chosen = [pick for pick in shown if pick.shown_position == position]
        if not chosen:
            raise InputError(
                f"Suggestion #{suggestion_id} has picks 1 to {len(shown)}, not {position}."
            )
        return chosen
