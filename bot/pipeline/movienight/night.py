"""Movie nights: picks for a group, blended from every participant's tastes, then voted on.

`MovieNights.plan` sorts the named members (`planning.py`); `run` blends their parts
into one prompt (`blend.py`), records the night and streams the answer through an
`AnswerRun` like a suggestion, every pick scrubbed of the participants' taste text
(`privacy.py`); at its end the shown picks are recorded and copied to each
participant. The vote (`open_vote`, `record_poll_vote`, `due`, `decide`) and what a
night teaches (`mark_winner_seen`) follow. Nothing here knows Discord: a poll is
"the night's vote", its answers are the picks' positions.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import replace
from datetime import datetime

from bot.background import BackgroundTasks
from bot.errors import InputError
from bot.pipeline.answer import AnswerRun
from bot.pipeline.catalogue.grounding import (
    Grounding,
    PickLookups,
    extra_spares,
    grounding_for,
)
from bot.pipeline.domain import PickDraft, Rating, SuggestionTimings
from bot.pipeline.events import (
    Failed,
    Finished,
    PicksUpdated,
    Retrieved,
    SuggestionEvent,
    TextDelta,
)
from bot.pipeline.model_client import ModelClient
from bot.pipeline.movienight.blend import BlendedMember, build_night_messages
from bot.pipeline.movienight.events import NightStarted, VoteOutcome
from bot.pipeline.movienight.planning import (
    Blend,
    Blender,
    NightPlan,
    avoided_per_member,
    plan_night,
)
from bot.pipeline.movienight.privacy import TasteScrubber
from bot.pipeline.prompt import ChatMessage
from bot.pipeline.ratings import CHOICE_SOURCE, Ratings
from bot.pipeline.records import (
    NightMember,
    NightPick,
    NightRecord,
    NightRecords,
    PickRecords,
    SuggestionRecords,
    TasteRecords,
)
from bot.pipeline.text import clean_text
from bot.settings import Settings

log = logging.getLogger(__name__)

MIN_PICKS = 3
MAX_PICKS = 5
DEFAULT_PICKS = 4
MIN_HOURS = 1
MAX_HOURS = 768  # Discord's longest poll: 32 days
DEFAULT_HOURS = 2

NightEvent = NightStarted | Retrieved | PicksUpdated | TextDelta | Finished | Failed


class MovieNights:
    """Plans, runs and decides movie nights."""

    def __init__(
        self,
        settings: Settings,
        chat: ModelClient,
        blender: Blender,
        taste_records: TasteRecords,
        suggestion_records: SuggestionRecords,
        pick_records: PickRecords,
        night_records: NightRecords,
        ratings: Ratings,
        owner_id: str | None = None,
        catalogue: PickLookups | None = None,
    ) -> None:
        """`catalogue` checks every pick (None: CATALOGUE=off)."""
        self._settings = settings
        self._catalogue = catalogue
        self._chat = chat
        self._blender = blender
        self._tastes = taste_records
        self._suggestions = suggestion_records
        self._picks = pick_records
        self._nights = night_records
        self._ratings = ratings
        self._owner_id = owner_id

    def check_night(self, query: str, count: int, hours: int = DEFAULT_HOURS) -> str:
        """Validate a night's request before it queues; returns the cleaned request
        (empty: the group asked for nothing in particular)."""
        if query.strip():
            query = clean_text(query, max_chars=self._settings.query_max_chars, what="A request")
        if not MIN_PICKS <= count <= MAX_PICKS:
            raise InputError(f"Ask for {MIN_PICKS} to {MAX_PICKS} picks, not {count}.")
        if not MIN_HOURS <= hours <= MAX_HOURS:
            raise InputError(f"A vote runs {MIN_HOURS} to {MAX_HOURS} hours, not {hours}.")
        return query.strip()

    async def plan(self, asker_id: str, member_ids: Sequence[str]) -> NightPlan:
        """Who takes part (with tastes, not opted out), who does not and why."""
        return await plan_night(asker_id, member_ids, self._tastes, self._nights)

    async def run(
        self, plan: NightPlan, query: str, count: int = DEFAULT_PICKS
    ) -> AsyncGenerator[NightEvent, None]:
        """Stream one night: `NightStarted`, then the answer's events (see `Suggester`),
        each pick free of taste text (and checked in the catalogue, when one is used).
        The shown picks are recorded before `Finished`."""
        if not plan.is_enough:
            raise InputError("A movie night needs at least two members with tastes.")
        query = self.check_night(query, count)
        blend, messages = await self.prompt_for(plan, query, count)
        retrieved, night_id, members = await self._start(plan, query, count, blend.members)
        yield NightStarted(night_id, members, blend.seconds)
        lookups = BackgroundTasks(f"catalogue lookups of movie night #{night_id}")
        run = AnswerRun(
            self._settings,
            self._chat,
            self._suggestions,
            self._picks,
            member_id=plan.asker_id,
            retrieved=retrieved,
            messages=messages,
            avoid=blend.avoid,
            grounding=self._grounding(lookups, blend),
        )
        try:
            async with aclosing(run.events()) as events:
                scrubbed = self._scrubbed(events, TasteScrubber(blend.taste_texts), night_id)
                async with aclosing(scrubbed):
                    async for event in scrubbed:
                        yield event
        finally:
            await lookups.stop()

    async def _scrubbed(
        self, events: AsyncGenerator[SuggestionEvent, None], scrubber: TasteScrubber, night_id: int
    ) -> AsyncGenerator[NightEvent, None]:
        """The answer's events with every pick scrubbed of taste text; a plain-text answer
        comes whole at its end, scrubbed. The shown picks are recorded at `Finished`."""
        text = ""
        async for event in events:
            match event:
                case TextDelta():
                    text += event.text
                    continue
                case PicksUpdated():
                    event = PicksUpdated(scrubber.scrub_picks(event.picks))
                case Finished() | Failed():
                    if text:
                        yield TextDelta(scrubber.scrub(text))
                    event = replace(event, picks=scrubber.scrub_picks(event.picks))
                    if isinstance(event, Finished):
                        await self._record_picks(night_id, event.picks)
            yield event

    def _grounding(self, lookups: BackgroundTasks, blend: Blend) -> Grounding | None:
        """The catalogue's checks for one night's answer, or None without a catalogue."""
        return grounding_for(
            self._catalogue,
            lookups,
            unverified=self._settings.unverified_picks,
            avoided_qids=blend.avoid_films,
        )

    def _spares(self, blend: Blend) -> int:
        """Picks asked beyond the count, as for a suggestion (more with a catalogue when
        many titles are avoided: each may cost a pick)."""
        if self._catalogue is None:
            return self._settings.spare_picks
        return self._settings.spare_picks + extra_spares(len(blend.avoid))

    async def prompt_for(
        self, plan: NightPlan, query: str, count: int
    ) -> tuple[Blend, list[ChatMessage]]:
        """Every participant's part, and the chat messages they make (spares asked for)."""
        blend = await self._blender.blend(plan.participants, query)
        messages = build_night_messages(
            system_prompt=self._settings.system_prompt,
            query=query,
            members=blend.members,
            count=count + self._spares(blend),
            avoided_per_member=avoided_per_member(self._settings, len(blend.members)),
        )
        return blend, messages

    async def _start(
        self, plan: NightPlan, query: str, count: int, blended: Sequence[BlendedMember]
    ) -> tuple[Retrieved, int, tuple[NightMember, ...]]:
        """Record the asker's suggestion and the night; the `Retrieved` to start with."""
        suggestion_id = await self._suggestions.start_suggestion(
            plan.asker_id,
            query,
            count,
            (),  # no taste text in the record: the tastes stay their owners'
            self._settings.chat_model,
            SuggestionTimings(),
            owner_id=self._owner_id,
        )
        members = tuple(
            NightMember(member_id, part.label)
            for member_id, part in zip(plan.participants, blended, strict=True)
        )
        night_id = await self._nights.start_night(plan.asker_id, query, members, suggestion_id)
        retrieved = Retrieved(
            suggestion_id=suggestion_id,
            query=query,
            count=count,
            matches=(),
            has_tastes=True,
            embed_seconds=0.0,
            search_seconds=0.0,
        )
        return retrieved, night_id, members

    async def _record_picks(self, night_id: int, picks: tuple[PickDraft, ...]) -> None:
        """Keep the shown picks and copy them to every participant."""
        await self._nights.record_picks(
            night_id,
            [
                NightPick(number, pick.title, pick.year, pick.kind, pick.reasoning, pick.confidence)
                for number, pick in enumerate(picks, start=1)
            ],
            self._settings.chat_model,
        )

    # -- the vote -------------------------------------------------------------------------

    async def open_vote(
        self, night_id: int, channel_id: int, poll_message_id: int, deadline: datetime
    ) -> None:
        """The night's poll is posted; it is decided once `deadline` has passed."""
        await self._nights.open_vote(night_id, channel_id, poll_message_id, deadline)

    async def record_poll_vote(
        self, poll_message_id: int, member_id: str, position: int, added: bool
    ) -> bool:
        """Keep a vote as it arrives; False when the message is no night's poll."""
        night_id = await self._nights.night_of_poll(poll_message_id)
        if night_id is None:
            return False
        await self._nights.record_vote(night_id, member_id, position, added)
        return True

    async def night(self, night_id: int) -> NightRecord | None:
        """The recorded night, or None."""
        return await self._nights.night(night_id)

    async def due(self, at: datetime) -> list[NightRecord]:
        """Nights whose vote ended by `at` and whose winner is not announced yet."""
        return await self._nights.due_nights(at)

    async def next_deadline(self) -> datetime | None:
        """When the next running vote ends."""
        return await self._nights.next_deadline()

    async def decide(self, night: NightRecord, voters: Mapping[int, Sequence[str]]) -> VoteOutcome:
        """Record the final votes (`voters` per position) and the winner: the most votes,
        a tie broken by the picks' confidence. Participants' votes become liked ratings."""
        counts = {pick.position: len(voters.get(pick.position, ())) for pick in night.picks}
        most = max(counts.values(), default=0)
        tied = [pick for pick in night.picks if counts[pick.position] == most]
        winner = max(tied, key=lambda pick: (pick.confidence or 0.0, -pick.position))
        by_member: dict[str, list[int]] = {}
        for position, members in voters.items():
            for member_id in members:
                by_member.setdefault(member_id, []).append(position)
        await self._nights.decide(night.id, by_member, winner.position, len(tied) > 1)
        return VoteOutcome(night.id, winner, counts, len(tied) > 1, night.members, night.picks)

    async def mark_announced(self, night_id: int, announcement_id: int | None) -> None:
        """The winner is announced: the night is done."""
        await self._nights.mark_announced(night_id, announcement_id)

    # -- what a night teaches -------------------------------------------------------------

    async def mark_winner_seen(self, night_id: int, member_id: str) -> NightPick:
        """A participant has seen the night's winner: rated seen in their own copy."""
        night = await self._nights.night(night_id)
        if night is None or night.winner_position is None:
            raise InputError("That movie night has no winner to mark.")
        member = next((m for m in night.members if m.member_id == member_id), None)
        if member is None or member.suggestion_id is None:
            raise InputError("Only the members who took part in this movie night can mark it.")
        await self._ratings.rate(
            member_id, member.suggestion_id, Rating.SEEN, night.winner_position, CHOICE_SOURCE
        )
        return next(pick for pick in night.picks if pick.position == night.winner_position)

    async def set_opt_out(self, member_id: str, is_opted_out: bool) -> None:
        """Keep whether the member may be blended into other members' movie nights."""
        await self._nights.set_movie_night_opt_out(member_id, is_opted_out)

    async def is_opted_out(self, member_id: str) -> bool:
        """Whether the member chose to be left out of other members' movie nights."""
        return member_id in await self._nights.opted_out([member_id])

    async def erase(self, member_id: str) -> int:
        """Erase the member's nights and their part in others'; returns nights asked."""
        return await self._nights.erase_member(member_id)
