"""The /suggest command: acknowledge at once, then stream the pipeline's events."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot import NO_PINGS
from bot.discord_bot.client import SuggestWatchBot
from bot.discord_bot.error_handler import describe_error, handle_command_error, log_fault
from bot.discord_bot.exts.suggest import _render as render
from bot.discord_bot.exts.suggest._delivery import MessageLinks, ReplyDelivery
from bot.discord_bot.exts.suggest._slots import GenerationSlots
from bot.discord_bot.reactions import RATING_EMOJIS, rate_by_reaction
from bot.discord_bot.streaming import (
    MESSAGE_LIMIT,
    STILL_WRITING_MARK,
    StreamedReply,
    WriteWindow,
)
from bot.errors import InputError, QueueTimeout, SuggestWatchError
from bot.pipeline.events import Failed, Finished, PicksUpdated, Retrieved, TextDelta
from bot.pipeline.pipeline import DEFAULT_COUNT, MAX_COUNT, MIN_COUNT

log = logging.getLogger(__name__)

__all__ = ["RATING_EMOJIS", "Suggest"]
# On shutdown, the longest wait for the answers being written to get their last edit,
# on top of one STREAM_EDIT_INTERVAL (the last edit waits for its turn like any other).
SHUTDOWN_GRACE_SECONDS = 5.0
# Fixed, so a Stop button left on an answer by a restart still reaches `ExpiredStop`.
STOP_CUSTOM_ID = "suggest:stop"

Reply = StreamedReply[discord.Message]


def with_ending(content: str, ending: str, limit: int = MESSAGE_LIMIT) -> str:
    """`content` followed by `ending`, shortened (never the ending) to fit one message."""
    room = limit - len(ending) - 2
    if len(content) > room:
        content = content[: max(room - 1, 0)].rstrip() + "…"
    return f"{content}\n\n{ending}".strip()


class StopButton(discord.ui.View):
    """The Stop button under a streaming answer; only the member who asked may press it."""

    def __init__(self, owner_id: int, on_stop: Callable[[], None]) -> None:
        super().__init__(timeout=None)
        self.owner_id = owner_id
        self.is_pressed = False
        self._on_stop = on_stop

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            render.ONLY_THE_ASKER, ephemeral=True, allowed_mentions=NO_PINGS
        )
        return False

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        await handle_command_error(interaction, error)

    @discord.ui.button(
        label="Stop", emoji="⏹️", style=discord.ButtonStyle.danger, custom_id=STOP_CUSTOM_ID
    )
    async def stop_button(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        # Acknowledge without a change: the answer's own next edit shows the result.
        await interaction.response.defer()
        self.is_pressed = True
        self.stop()
        self._on_stop()


class ExpiredStop(discord.ui.View):
    """Answers a Stop button whose answer is no longer being written (the bot restarted).

    A live `StopButton` is bound to its message and takes precedence; this persistent
    view catches the rest, so a press gets an answer instead of "interaction failed",
    and tidies the message: the dead button and the "still writing" mark go.
    """

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(
        label="Stop", emoji="⏹️", style=discord.ButtonStyle.danger, custom_id=STOP_CUSTOM_ID
    )
    async def stop_button(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        content = interaction.message.content if interaction.message else ""
        content = content.replace(STILL_WRITING_MARK, "").rstrip()
        await interaction.response.edit_message(
            content=with_ending(content, render.CUT_BY_RESTART),
            view=None,
            allowed_mentions=NO_PINGS,
        )


@dataclass
class _Outcome:
    """How one generation ended, for the final edit and the rating prompt."""

    footer: str = ""
    suggestion_id: int | None = None
    is_started: bool = False  # retrieval is done: the header shows the request and tastes
    is_finished: bool = False
    refused: InputError | None = None


class Suggest(commands.Cog):
    """Streams picks from the member's tastes into a public reply."""

    def __init__(self, bot: SuggestWatchBot) -> None:
        self.bot = bot
        self.slots = GenerationSlots(
            bot.settings.max_concurrent_generations, bot.settings.suggest_queue_timeout
        )
        # Replies written through a channel (their tokens expired) share its write budget.
        self._channel_windows: dict[int, WriteWindow] = {}
        self.is_shutting_down = False
        # The generation of every answer being written -> set when its last edit is done.
        self._in_flight: dict[asyncio.Task[None], asyncio.Event] = {}
        self._tidying: asyncio.Task[None] | None = None

    async def cog_load(self) -> None:
        self.bot.add_view(ExpiredStop())

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # Once per run, in the background: an unreachable message never delays anything.
        if self._tidying is None:
            self._tidying = asyncio.create_task(self._finish_replies_left_open())

    async def shut_down(self) -> None:
        """Stop every answer being written: each is recorded cancelled with its text and
        gets a last edit saying the bot is restarting. Waits a bounded time for those
        edits; the bot disconnects after this."""
        self.is_shutting_down = True
        if self._tidying is not None:
            self._tidying.cancel()
        if not self._in_flight:
            return
        log.info("Stopping %d answer(s) being written", len(self._in_flight))
        for generation in self._in_flight:
            generation.cancel()
        waits = [asyncio.create_task(done.wait()) for done in self._in_flight.values()]
        grace = SHUTDOWN_GRACE_SECONDS + self.bot.settings.stream_edit_interval
        _, late = await asyncio.wait(waits, timeout=grace)
        for wait in late:
            wait.cancel()
        if late:
            log.warning("%d answer(s) did not get their last edit in time", len(late))

    @app_commands.command(name="suggest", description="Get movie and show picks from your tastes")
    @app_commands.describe(
        query="What you are in the mood for, e.g. 'a tense thriller for tonight'",
        count=f"How many picks ({MIN_COUNT} to {MAX_COUNT}, {DEFAULT_COUNT} by default)",
    )
    async def suggest(
        self,
        interaction: discord.Interaction,
        query: str,
        count: app_commands.Range[int, MIN_COUNT, MAX_COUNT] = DEFAULT_COUNT,
    ) -> None:
        member_id = str(interaction.user.id)
        if self.is_shutting_down:
            await interaction.response.send_message(
                render.RESTARTING_TRY_LATER, ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        try:
            # A bad request is refused privately before it takes a place in the queue.
            query = self.bot.pipeline.check_request(query, count)
        except InputError as exc:
            log_fault(exc, "/suggest")
            await interaction.response.send_message(
                describe_error(exc), ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        if not self.slots.claim_member(member_id):
            await interaction.response.send_message(
                render.ALREADY_RUNNING, ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        try:
            # Discord's deadline is 3 s whatever the model does: acknowledge first.
            await interaction.response.defer(thinking=True)
            await self._answer(interaction, member_id, query, count)
        finally:
            self.slots.release_member(member_id)

    async def _answer(
        self, interaction: discord.Interaction, member_id: str, query: str, count: int
    ) -> None:
        links = MessageLinks(self.bot.pipeline, interaction.channel_id)
        reply = self._new_reply(interaction, links)
        outcome = _Outcome()
        generation = asyncio.create_task(
            self._generate(reply, links, outcome, member_id, query, count)
        )
        answered = asyncio.Event()
        self._in_flight[generation] = answered
        try:
            await self._follow(interaction, reply, links, outcome, generation, query, count)
        finally:
            del self._in_flight[generation]
            answered.set()

    async def _follow(
        self,
        interaction: discord.Interaction,
        reply: Reply,
        links: MessageLinks,
        outcome: _Outcome,
        generation: asyncio.Task[None],
        query: str,
        count: int,
    ) -> None:
        """Wait for the generation, then give the reply its last edit."""

        def stop_generation() -> None:
            generation.cancel()

        stop = StopButton(interaction.user.id, on_stop=stop_generation)
        reply.set_view(stop)
        try:
            await asyncio.wait({generation})
        finally:
            if not generation.done():  # this handler itself is cancelled
                generation.cancel()
                await reply.abandon()
        stop.stop()

        if not outcome.is_started:
            # Whatever ended the wait (Stop, the queue limit, retrieval failing), the
            # waiting status goes.
            reply.set_header(render.request_line(query, count))
        if generation.cancelled():
            outcome.footer = render.RESTARTING if self.is_shutting_down else render.STOPPED
        elif (error := generation.exception()) is not None:
            await reply.finish(render.BROKEN)
            await links.close_reply()
            raise error  # to the central handler
        elif outcome.refused is not None and not reply.body:
            await self._refuse(interaction, reply, outcome.refused)
            return

        messages = await reply.finish(outcome.footer)
        await links.close_reply()
        if outcome.is_finished and messages:
            await self._offer_rating(messages[-1])
        if outcome.suggestion_id is not None:
            await self._apply_early_ratings(str(interaction.user.id), outcome.suggestion_id)

    async def _apply_early_ratings(self, member_id: str, suggestion_id: int) -> None:
        """Rate by the asker's reactions added while the answer was written: its picks
        are recorded only at its end, so those reactions could not rate them then."""
        try:
            for emoji in await self.bot.pipeline.reactions_of(member_id, suggestion_id):
                await rate_by_reaction(
                    self.bot.pipeline, member_id, suggestion_id, emoji, added=True
                )
        except SuggestWatchError as exc:
            log_fault(exc, f"Applying early ratings of suggestion #{suggestion_id}")

    def _new_reply(self, interaction: discord.Interaction, links: MessageLinks) -> Reply:
        channel_id = interaction.channel_id or 0
        window = self._channel_windows.setdefault(channel_id, WriteWindow(self.bot.write_budget))
        delivery = ReplyDelivery(interaction, links, window)
        return StreamedReply(
            edit_first=delivery.edit_first,
            send_more=delivery.send_more,
            edit_more=delivery.edit_more,
            interval=self.bot.settings.stream_edit_interval,
            budget=self.bot.write_budget,
        )

    async def _generate(
        self,
        reply: Reply,
        links: MessageLinks,
        outcome: _Outcome,
        member_id: str,
        query: str,
        count: int,
    ) -> None:
        """Wait for a slot, then render the pipeline's events into `reply`."""

        def show_place(place: int) -> None:
            reply.set_header(render.waiting(place, self.slots.limit))
            reply.start()

        try:
            async with self.slots.generation(on_place=show_place):
                events = self.bot.pipeline.suggest(member_id, query, count)
                async with aclosing(events):
                    async for event in events:
                        await self._render(reply, links, outcome, event)
        except QueueTimeout as exc:
            log_fault(exc, f"/suggest of member {member_id} waiting for a slot")
            outcome.footer = f"⚠️ {describe_error(exc)}"
        except InputError as exc:
            log_fault(exc, "/suggest")
            outcome.refused = exc
            outcome.footer = f"⚠️ {describe_error(exc)}"

    @staticmethod
    async def _render(reply: Reply, links: MessageLinks, outcome: _Outcome, event: object) -> None:
        match event:
            case Retrieved():
                outcome.is_started = True
                outcome.suggestion_id = event.suggestion_id
                reply.set_header(render.retrieved(event))
                reply.start()
                await links.set_suggestion(event.suggestion_id)
            case PicksUpdated(picks=picks):
                reply.set_body(render.picks_text(picks))
            case TextDelta(text=text):
                reply.append(text)
            case Finished():
                outcome.is_finished = True
                outcome.footer = render.finished(event)
            case Failed():
                outcome.footer = render.failed(event)
                reply.start()
                if event.suggestion_id is not None:
                    await links.set_suggestion(event.suggestion_id)

    async def _refuse(
        self, interaction: discord.Interaction, reply: Reply, error: InputError
    ) -> None:
        """A bad request: say why privately and take the public placeholder away."""
        await reply.abandon()
        # Delete first: the first follow-up after a defer would replace the placeholder
        # (and be public) instead of arriving as a private message.
        try:
            await interaction.delete_original_response()
        except discord.HTTPException as exc:
            log.warning("Could not remove the placeholder of a refused /suggest: %s", exc)
        await interaction.followup.send(
            describe_error(error), ephemeral=True, allowed_mentions=NO_PINGS
        )

    @staticmethod
    async def _offer_rating(last: discord.Message) -> None:
        """Add the 👍 👎 prompt under the answer's last message (it is linked already)."""
        for emoji in RATING_EMOJIS:
            try:
                await last.add_reaction(emoji)
            except discord.HTTPException as exc:
                log.warning("Could not add the rating prompt %s: %s", emoji, exc)
                return

    # -- replies a killed bot left open ---------------------------------------------------

    async def _finish_replies_left_open(self) -> None:
        """Give every reply a killed bot left mid-stream its last edit: the "still
        writing" mark and the Stop button go, a notice comes, the text stays."""
        try:
            replies = await self.bot.pipeline.open_replies()
        except SuggestWatchError as exc:
            log_fault(exc, "Looking for replies left open by the last run")
            return
        for left_open in replies:
            await self._finish_left_open(left_open.messages)
            try:
                await self.bot.pipeline.close_reply(left_open.suggestion_id)
            except SuggestWatchError as exc:
                log_fault(exc, f"Closing the reply of suggestion #{left_open.suggestion_id}")
                return
        if replies:
            log.info("Finished %d answer(s) left open by the last run", len(replies))

    async def _finish_left_open(self, messages: tuple[tuple[int, int | None], ...]) -> None:
        # Only the first message carries the Stop button and only the last the mark.
        first, last = messages[0], messages[-1]
        for message_id, channel_id in dict.fromkeys((first, last)):
            if channel_id is None:
                continue
            channel = self.bot.get_partial_messageable(channel_id)
            try:
                message = await channel.fetch_message(message_id)
                content = message.content.replace(STILL_WRITING_MARK, "").rstrip()
                if (message_id, channel_id) == last and render.CUT_BY_RESTART not in content:
                    content = with_ending(content, render.CUT_BY_RESTART)
                await message.edit(content=content, view=None, allowed_mentions=NO_PINGS)
            except discord.HTTPException as exc:
                log.warning("Could not finish message %d left open: %s", message_id, exc)
