"""A movie night's vote on Discord: the native poll, its end, the announcement, and the
persistent "mark seen" button under it.

Discord sends no event when a poll ends, so each poll's deadline is in the records;
`VoteWatcher` decides every poll whose deadline has passed when the bot starts, then
sleeps until the next deadline (or until a new poll is opened). At a deadline it
fetches the poll message (never in the cache after a restart), reads the voters of each
answer, records the night and announces the winner. A poll Discord has not finalised
yet, or a failed request, is tried again a little later.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

import discord

from bot import presentation_night as night_words
from bot.background import BackgroundTasks
from bot.discord_bot import NO_PINGS
from bot.discord_bot.error_handler import describe_error, log_fault
from bot.discord_bot.layout import DISCORD
from bot.errors import InputError, SuggestWatchError
from bot.pipeline.domain import PickDraft, label
from bot.pipeline.movienight import MovieNights, VoteOutcome
from bot.pipeline.records import NightRecord

log = logging.getLogger(__name__)

# After a failed announcement (Discord unreachable, the poll not final yet), try again.
RETRY_SECONDS = 30.0
SEEN_BUTTON_TEMPLATE = r"movienight:seen:(?P<night_id>[0-9]+)"
POLL_NOT_ALLOWED = (
    "⚠️ I could not start the vote: I need the **Create Polls** permission (SEND_POLLS) "
    "in this channel. The picks stay above."
)


def mention(member_id: str) -> str:
    """A member as Discord shows them; with no pings allowed it notifies nobody."""
    return f"<@{member_id}>"


def vote_line(deadline: datetime.datetime) -> str:
    """Under the picks once the poll is posted: where to vote and until when."""
    stamp = int(deadline.timestamp())
    return f"🗳️ Vote in the poll below: it closes <t:{stamp}:R>. The most votes wins."


async def post_poll(
    channel: discord.abc.Messageable,
    picks: Sequence[PickDraft],
    hours: int,
    notify: Sequence[str],
) -> discord.Message:
    """Post the night's poll: one answer per pick (title and year, within 55 characters),
    one choice each, open for `hours`. `notify`: the participants to ping, if any."""
    poll = discord.Poll(
        question=night_words.NIGHT_POLL_QUESTION,
        duration=datetime.timedelta(hours=hours),
        multiple=False,
    )
    for pick in picks:
        poll.add_answer(text=night_words.poll_answer(pick.title, pick.year))
    if not notify:
        return await channel.send(poll=poll, allowed_mentions=NO_PINGS)
    pinged = discord.AllowedMentions(
        everyone=False,
        roles=False,
        replied_user=False,
        users=[discord.Object(int(member_id)) for member_id in notify],
    )
    content = " ".join(mention(member_id) for member_id in notify)
    return await channel.send(content, poll=poll, allowed_mentions=pinged)


def announcement(outcome: VoteOutcome) -> str:
    """The winner, how many votes it had, and how a tie was broken."""
    winner = outcome.winner
    most = outcome.votes.get(winner.position, 0)
    lines = [f"🏆 {night_words.night_winner(label(winner), most, DISCORD)}"]
    if outcome.is_tie_broken:
        tied = [
            label(pick) for pick in outcome.picks if outcome.votes.get(pick.position, 0) == most
        ]
        lines.append(night_words.night_tie(tied, most, label(winner), DISCORD))
    lines.append(night_words.night_blending([mention(m.member_id) for m in outcome.members]))
    lines.append(night_words.MARK_SEEN_HINT)
    return "\n".join(lines)


class SeenButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=SEEN_BUTTON_TEMPLATE):
    """The "mark seen" button under a night's announcement; works after restarts (the
    night is in its custom id). Each participant who presses it rates the winner seen."""

    def __init__(self, night_id: int) -> None:
        super().__init__(
            discord.ui.Button(
                label="Mark seen",
                emoji="👁️",
                style=discord.ButtonStyle.secondary,
                custom_id=f"movienight:seen:{night_id}",
            )
        )
        self.night_id = night_id

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction,
        item: discord.ui.Item[Any],
        match: re.Match[str],
    ) -> SeenButton:
        """The button of the night its custom id names."""
        return cls(int(match["night_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Rate the winner seen for the member who pressed, privately confirmed."""
        nights: MovieNights = interaction.client.pipeline.movie_nights  # type: ignore[attr-defined]
        try:
            pick = await nights.mark_winner_seen(self.night_id, str(interaction.user.id))
        except InputError as exc:
            text = describe_error(exc)
        else:
            text = night_words.night_marked_seen(label(pick), DISCORD)
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


def seen_view(night_id: int) -> discord.ui.View:
    """The announcement's view: the one persistent "mark seen" button."""
    view = discord.ui.View(timeout=None)
    view.add_item(SeenButton(night_id))
    return view


class VoteWatcher:
    """Decides and announces every night whose poll has ended, also after restarts."""

    def __init__(
        self,
        client: discord.Client,
        nights: Callable[[], MovieNights],
        tasks: BackgroundTasks,
        retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        """`nights` gives the pipeline's movie nights when needed (none before start)."""
        self._client = client
        self._get_nights = nights
        self._tasks = tasks
        self._retry_seconds = retry_seconds
        self._wake = asyncio.Event()
        self._is_started = False

    def _nights(self) -> MovieNights:
        return self._get_nights()

    def start(self) -> None:
        """Start watching (once): what ended while the bot was away is decided first."""
        if not self._is_started:
            self._is_started = True
            self._tasks.start(self._watch(), name="movie night votes")

    def wake(self) -> None:
        """A poll was opened: look at the deadlines again."""
        self._wake.set()

    async def open_vote(
        self, night_id: int, channel_id: int, message: discord.Message, hours: int
    ) -> datetime.datetime:
        """Keep the posted poll's deadline (Discord's own, when it says) and wake up."""
        expires = message.poll.expires_at if message.poll else None
        deadline = expires or discord.utils.utcnow() + datetime.timedelta(hours=hours)
        await self._nights().open_vote(night_id, channel_id, message.id, deadline)
        self.wake()
        return deadline

    async def _watch(self) -> None:
        while True:
            self._wake.clear()
            has_failed = await self.announce_due()
            timeout = await self._until_next(has_failed)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    async def _until_next(self, has_failed: bool) -> float | None:
        try:
            deadline = await self._nights().next_deadline()
        except SuggestWatchError as exc:
            log_fault(exc, "Reading the next poll's deadline")
            return self._retry_seconds
        seconds = None
        if deadline is not None:
            seconds = max(0.0, (deadline - discord.utils.utcnow()).total_seconds())
        if has_failed:
            seconds = self._retry_seconds if seconds is None else min(seconds, self._retry_seconds)
        return seconds

    async def announce_due(self) -> bool:
        """Decide and announce every night whose poll has ended; True if one must wait."""
        has_failed = False
        try:
            due = await self._nights().due(discord.utils.utcnow())
        except SuggestWatchError as exc:
            log_fault(exc, "Finding the polls that ended")
            return True
        for night in due:
            try:
                await self._announce(night)
            except (discord.HTTPException, SuggestWatchError, PollNotFinal) as exc:
                log.warning("Movie night #%d is not announced yet: %s", night.id, exc)
                has_failed = True
        return has_failed

    async def _announce(self, night: NightRecord) -> None:
        assert night.channel_id is not None and night.poll_message_id is not None
        channel = self._client.get_partial_messageable(night.channel_id)
        voters = await self._voters(channel, night)
        outcome = await self._nights().decide(night, voters)
        try:
            sent = await channel.send(
                announcement(outcome), view=seen_view(night.id), allowed_mentions=NO_PINGS
            )
        except (discord.Forbidden, discord.NotFound) as exc:
            # The channel is gone or closed to the bot: trying again would not help.
            log.warning(
                "Movie night #%d won by %s, not announced: %s", night.id, outcome.winner.title, exc
            )
            await self._nights().mark_announced(night.id, None)
            return
        await self._nights().mark_announced(night.id, sent.id)
        log.info("Movie night #%d: %s won", night.id, outcome.winner.title)

    async def _voters(
        self, channel: discord.PartialMessageable, night: NightRecord
    ) -> dict[int, list[str]]:
        """Who voted for which pick: from the ended poll, or (message gone) the votes
        that arrived while it ran."""
        assert night.poll_message_id is not None
        try:
            message = await channel.fetch_message(night.poll_message_id)
        except (discord.NotFound, discord.Forbidden):
            message = None  # deleted, or the channel closed to the bot
        if message is None or message.poll is None:
            recorded: dict[int, list[str]] = {}
            for member_id, position in night.votes:
                recorded.setdefault(position, []).append(member_id)
            return recorded
        if not message.poll.is_finalised():
            raise PollNotFinal(f"Discord has not finalised the poll of night #{night.id} yet")
        voters: dict[int, list[str]] = {}
        for position, answer in enumerate(message.poll.answers, start=1):
            if answer.vote_count:
                voters[position] = [str(user.id) async for user in answer.voters()]
        return voters


class PollNotFinal(Exception):
    """The poll's deadline passed but Discord has not counted it as ended yet."""
