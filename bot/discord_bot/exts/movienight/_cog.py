"""/movienight: picks for the members named, blended from their tastes, then a poll.

The members come as mentions in one text option (`<@id>`; the asker is always in; role
mentions are not expanded, as that needs the privileged members intent). Refusals are
private and come before anything public. The picks stream into a public reply like
/suggest's, with each participant named by a mention that pings nobody; then the poll
is posted, pinging the participants only when `notify` is set.
"""

from __future__ import annotations

import asyncio
import logging
import re
from contextlib import aclosing
from dataclasses import dataclass

import discord
from discord import app_commands
from discord.ext import commands

from bot import presentation
from bot import presentation_night as night_words
from bot.background import BackgroundTasks
from bot.discord_bot import NO_PINGS
from bot.discord_bot import layout as say
from bot.discord_bot.client import SuggestWatchBot
from bot.discord_bot.error_handler import describe_error, log_fault
from bot.discord_bot.exts.library import save_view
from bot.discord_bot.exts.movienight._vote import (
    POLL_NOT_ALLOWED,
    SeenButton,
    VoteWatcher,
    mention,
    post_poll,
    vote_line,
)
from bot.discord_bot.exts.suggest import ChannelWindows, GenerationSlots, Suggest
from bot.discord_bot.exts.suggest._delivery import MessageLinks, ReplyDelivery
from bot.discord_bot.exts.suggest._views import wait_with_stop_button
from bot.discord_bot.film_cards import film_cards
from bot.discord_bot.streaming import StreamedReply
from bot.errors import InputError, QueueTimeout, SuggestWatchError
from bot.pipeline.events import Failed, Finished, PicksUpdated, Retrieved, TextDelta
from bot.pipeline.movienight import (
    DEFAULT_HOURS,
    DEFAULT_PICKS,
    MAX_HOURS,
    MAX_MEMBERS,
    MAX_PICKS,
    MIN_HOURS,
    MIN_PICKS,
    NightEvent,
    NightPlan,
    NightStarted,
)

log = logging.getLogger(__name__)

MEMBER_MENTION = re.compile(r"<@!?([0-9]+)>")
ROLE_MENTION = re.compile(r"<@&[0-9]+>")

Reply = StreamedReply[discord.Message]


@dataclass
class NightShown:
    """What the reply shows of a night so far."""

    night_id: int | None = None
    names: dict[str, str] | None = None  # label -> mention
    finished: Finished | None = None
    footer: str = ""
    is_stopped: bool = False  # by Stop, or by the bot shutting down


def night_header(plan: NightPlan, query: str, count: int) -> str:
    """Whose tastes are blended, who was left out for want of tastes (never the tastes)."""
    lines = [f"🍿 {say.DISCORD.strong(night_words.night_heading(query, count, say.DISCORD))}"]
    lines.append(night_words.night_blending([mention(m) for m in plan.participants]))
    lines += [
        night_words.night_without_tastes(mention(member_id), say.ADD_TASTE)
        for member_id in plan.without_tastes
    ]
    return "\n".join(lines)


def night_footer(event: Finished) -> str:
    """The end of a night's answer before the vote: cut short, what the catalogue could
    not check, repeats left out, or no picks at all (picks are rated by voting)."""
    lines = [say.CUT_BY_LENGTH] if event.is_cut else []
    lines += presentation.catalogue_end_lines(event.picks)
    if event.left_out_count:
        lines.append(presentation.left_out_line(event.left_out_count))
    if event.is_structured and not event.picks:
        lines.append(presentation.NO_NEW_PICKS)
    if presentation.uses_catalogue(event.picks):
        lines.append(say.CATALOGUE_CREDIT)
    return "\n".join(lines)


class MovieNight(commands.Cog):
    """Picks for a group, and the group's vote."""

    def __init__(self, bot: SuggestWatchBot) -> None:
        self.bot = bot
        self._tasks = BackgroundTasks("movienight")
        self.votes = VoteWatcher(bot, lambda: bot.pipeline.movie_nights, self._tasks)
        self._own_slots = GenerationSlots(
            bot.settings.max_concurrent_generations, bot.settings.suggest_queue_timeout
        )
        self._own_windows = ChannelWindows(bot.write_budget)
        self._is_shutting_down = False

    async def cog_load(self) -> None:
        """Keep the announcements' "mark seen" buttons working after a restart."""
        self.bot.add_dynamic_items(SeenButton)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Decide the polls that ended while the bot was away, then watch the rest."""
        self.votes.start()

    async def shut_down(self) -> None:
        """Stop the nights being written (each reply says the bot restarts) and the
        watching of deadlines; the next start decides what ended meanwhile."""
        self._is_shutting_down = True
        await self._tasks.stop()

    def _slots(self) -> tuple[GenerationSlots, ChannelWindows]:
        # One queue for every answer the model writes, /suggest's and movie nights'.
        suggest = self.bot.get_cog("Suggest")
        if isinstance(suggest, Suggest):
            return suggest.slots, suggest.channel_windows
        return self._own_slots, self._own_windows

    @app_commands.command(
        name="movienight", description="Picks for a group from everyone's tastes, then a vote"
    )
    @app_commands.rename(members="with")
    @app_commands.describe(
        members=f"Mention the members watching with you (up to {MAX_MEMBERS - 1}), e.g. @bob",
        request="What the group is in the mood for (optional)",
        count=f"How many picks to vote on ({MIN_PICKS} to {MAX_PICKS})",
        hours=f"How long the vote runs, in hours ({MIN_HOURS} to {MAX_HOURS})",
        notify="Ping the participants when the vote opens (off by default)",
    )
    async def movienight(
        self,
        interaction: discord.Interaction,
        members: str,
        request: str = "",
        count: app_commands.Range[int, MIN_PICKS, MAX_PICKS] = DEFAULT_PICKS,
        hours: app_commands.Range[int, MIN_HOURS, MAX_HOURS] = DEFAULT_HOURS,
        notify: bool = False,
    ) -> None:
        """Sort the members, refuse privately what cannot run, then stream and poll."""
        asker = str(interaction.user.id)
        nights = self.bot.pipeline.movie_nights
        try:
            query = nights.check_night(request, count, hours)
            plan = await nights.plan(asker, MEMBER_MENTION.findall(members))
        except InputError as exc:
            log_fault(exc, "/movienight")
            await self._tell(interaction, describe_error(exc))
            return
        notes = [night_words.ROLES_NOT_EXPANDED] if ROLE_MENTION.search(members) else []
        if not plan.is_enough:
            await self._tell(interaction, "\n".join([self._not_enough(plan), *notes]))
            return
        slots, _ = self._slots()
        if not slots.claim_member(asker):
            await self._tell(interaction, say.ALREADY_RUNNING)
            return
        try:
            await interaction.response.defer(thinking=True)
            await self._answer(interaction, plan, query, count, hours, notify)
        finally:
            slots.release_member(asker)
        if plan.opted_out:
            notes.insert(0, night_words.night_opted_out([mention(m) for m in plan.opted_out]))
        if notes:  # after the public reply: a first follow-up would replace it
            await interaction.followup.send(
                "\n".join(notes), ephemeral=True, allowed_mentions=NO_PINGS
            )

    @staticmethod
    def _not_enough(plan: NightPlan) -> str:
        return night_words.night_not_enough(
            [mention(member_id) for member_id in plan.without_tastes],
            [mention(member_id) for member_id in plan.opted_out],
            say.ADD_TASTE,
        )

    @staticmethod
    async def _tell(interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

    async def _answer(
        self,
        interaction: discord.Interaction,
        plan: NightPlan,
        query: str,
        count: int,
        hours: int,
        notify: bool,
    ) -> None:
        slots, windows = self._slots()
        links = MessageLinks(self.bot.pipeline, interaction.channel_id)
        delivery = ReplyDelivery(interaction, links, windows.of(interaction.channel_id or 0))
        reply: Reply = StreamedReply(
            edit_first=delivery.edit_first,
            send_more=delivery.send_more,
            edit_more=delivery.edit_more,
            interval=self.bot.settings.stream_edit_interval,
            budget=self.bot.write_budget,
        )
        reply.set_header(night_header(plan, query, count))
        shown = NightShown()
        generating = self._generate(reply, links, shown, plan, query, count, slots)
        generation = self._tasks.start(generating, name=f"/movienight of {plan.asker_id}")
        await wait_with_stop_button(generation, reply, interaction.user.id)
        if not generation.cancelled() and (fault := generation.exception()) is not None:
            await reply.finish(say.BROKEN)
            await links.close_reply()
            raise fault  # to the central handler
        keep: discord.ui.View | None = None
        if generation.cancelled() or shown.is_stopped:
            shown.footer = say.RESTARTING if self._is_shutting_down else say.STOPPED
        elif shown.finished is not None and shown.finished.picks and shown.night_id is not None:
            await self._send_cards(delivery, shown.finished)
            vote = await self._open_vote(interaction, plan, shown, hours, notify)
            shown.footer = "\n".join(line for line in (shown.footer, vote) if line)
            # Anyone in the channel can keep a night's pick for later, as with /suggest.
            keep = save_view(shown.finished.suggestion_id, shown.finished.picks)
        await reply.finish(shown.footer, keep)
        await links.close_reply()

    async def _generate(
        self,
        reply: Reply,
        links: MessageLinks,
        shown: NightShown,
        plan: NightPlan,
        query: str,
        count: int,
        slots: GenerationSlots,
    ) -> None:
        """Wait for a slot, then show the night's events; Stop and shutdown cancel it."""

        def show_place(place: int) -> None:
            reply.set_header(say.waiting(place, slots.limit))
            reply.start()

        try:
            async with slots.generation(on_place=show_place):
                events = self.bot.pipeline.movie_nights.run(plan, query, count)
                async with aclosing(events):
                    async for event in events:
                        await self._show(reply, links, shown, event, plan, query, count)
        except asyncio.CancelledError:
            shown.is_stopped = True
        except QueueTimeout as exc:
            shown.footer = f"⚠️ {describe_error(exc)}"

    @staticmethod
    async def _send_cards(delivery: ReplyDelivery, finished: Finished) -> None:
        """The found picks' cards (facts and links), one message under the reply."""
        cards = film_cards(
            [(number, pick.check) for number, pick in enumerate(finished.picks, 1) if pick.check]
        )
        if not cards:
            return
        try:
            await delivery.send_cards(cards)
        except discord.HTTPException as exc:
            log.warning("Could not send the film cards of a movie night: %s", exc)

    @staticmethod
    async def _show(
        reply: Reply,
        links: MessageLinks,
        shown: NightShown,
        event: NightEvent,
        plan: NightPlan,
        query: str,
        count: int,
    ) -> None:
        """Show one event of the night in the reply."""
        match event:
            case NightStarted():
                shown.night_id = event.night_id
                shown.names = {m.label: mention(m.member_id) for m in event.members}
                reply.set_header(night_header(plan, query, count))
                reply.start()
            case Retrieved():
                await links.set_suggestion(event.suggestion_id)
            case PicksUpdated(picks=picks):
                reply.set_body(night_words.with_names(say.picks_text(picks), shown.names or {}))
            case TextDelta(text=text):
                reply.append(night_words.with_names(text, shown.names or {}))
            case Finished():
                shown.finished = event
                if event.is_structured:
                    reply.set_header(night_header(plan, query, len(event.picks)))
                shown.footer = night_footer(event)
            case Failed():
                reply.start()
                shown.footer = say.failed(event)

    async def _open_vote(
        self,
        interaction: discord.Interaction,
        plan: NightPlan,
        shown: NightShown,
        hours: int,
        notify: bool,
    ) -> str:
        """Post the poll and keep its deadline; the footer saying how to vote (or why
        there is no vote)."""
        assert shown.finished is not None and shown.night_id is not None
        channel_id = interaction.channel_id or 0
        channel = self.bot.get_partial_messageable(channel_id, guild_id=interaction.guild_id)
        pinged = plan.participants if notify else ()
        try:
            message = await post_poll(channel, shown.finished.picks, hours, pinged)
        except discord.Forbidden as exc:
            log.warning("Could not post the poll of movie night #%d: %s", shown.night_id, exc)
            return POLL_NOT_ALLOWED
        deadline = await self.votes.open_vote(shown.night_id, channel_id, message, hours)
        return vote_line(deadline)

    @commands.Cog.listener()
    async def on_raw_poll_vote_add(self, payload: discord.RawPollVoteActionEvent) -> None:
        """Keep a vote as it arrives (the poll message may not be cached)."""
        await self._record_vote(payload, added=True)

    @commands.Cog.listener()
    async def on_raw_poll_vote_remove(self, payload: discord.RawPollVoteActionEvent) -> None:
        """A vote taken back."""
        await self._record_vote(payload, added=False)

    async def _record_vote(self, payload: discord.RawPollVoteActionEvent, added: bool) -> None:
        nights = self.bot.pipeline.movie_nights
        try:
            await nights.record_poll_vote(
                payload.message_id, str(payload.user_id), payload.answer_id, added
            )
        except SuggestWatchError as exc:  # a lost vote is read again at the deadline
            log_fault(exc, f"Recording a vote on poll {payload.message_id}")
