"""The /suggest command: acknowledge at once, then stream the pipeline's events."""

from __future__ import annotations

import asyncio
import logging
from contextlib import aclosing
from dataclasses import dataclass, replace

import discord
from discord import app_commands
from discord.ext import commands

from bot.background import BackgroundTasks
from bot.discord_bot import NO_PINGS
from bot.discord_bot import layout as say
from bot.discord_bot.client import SuggestWatchBot
from bot.discord_bot.error_handler import describe_error, log_fault
from bot.discord_bot.exts.library import save_view
from bot.discord_bot.exts.suggest._delivery import ChannelWindows, MessageLinks, ReplyDelivery
from bot.discord_bot.exts.suggest._left_open import finish_replies_left_open
from bot.discord_bot.exts.suggest._slots import GenerationSlots
from bot.discord_bot.exts.suggest._views import ExpiredStop, wait_with_stop_button
from bot.discord_bot.film_cards import film_cards
from bot.discord_bot.reactions import RATING_EMOJIS, rate_by_reaction
from bot.discord_bot.streaming import StreamedReply
from bot.errors import InputError, QueueTimeout, SuggestWatchError
from bot.pipeline.domain import PickDraft
from bot.pipeline.events import Failed, Finished, PicksUpdated, Retrieved, TextDelta
from bot.pipeline.pipeline import DEFAULT_COUNT, MAX_COUNT, MIN_COUNT

log = logging.getLogger(__name__)

# On shutdown, the longest wait for the answers being written to get their last edit,
# on top of one STREAM_EDIT_INTERVAL (the last edit waits for its turn like any other).
SHUTDOWN_GRACE_SECONDS = 5.0

Reply = StreamedReply[discord.Message]


@dataclass(frozen=True)
class Ending:
    """How one generation ended: what its reply's last edit and the rating prompt need."""

    # Set once retrieval is done: the header shows the request and the tastes.
    retrieved: Retrieved | None = None
    footer: str = ""
    is_finished: bool = False
    picks: tuple[PickDraft, ...] = ()  # the picks shown, once finished
    is_stopped: bool = False  # by Stop, or by the bot shutting down
    refused: InputError | None = None
    fault: Exception | None = None  # unexpected: for the central handler
    cards: tuple[discord.Embed, ...] = ()  # the found picks' cards, sent after the reply

    @property
    def suggestion_id(self) -> int | None:
        """The suggestion the reply shows, once it is recorded."""
        return self.retrieved.suggestion_id if self.retrieved else None


class Suggest(commands.Cog):
    """Streams picks from the member's tastes into a public reply."""

    def __init__(self, bot: SuggestWatchBot) -> None:
        self.bot = bot
        # Both caps apply: the bot's, and the chat hosts' places (hosts × LLM_PARALLEL),
        # so a suggestion beyond either waits here, where its queue place is shown.
        places = bot.settings.chat_hosts().places or bot.settings.max_concurrent_generations
        self.slots = GenerationSlots(
            min(bot.settings.max_concurrent_generations, places),
            bot.settings.suggest_queue_timeout,
        )
        # Replies written through a channel (their tokens expired) share its write budget.
        self.channel_windows = ChannelWindows(bot.write_budget)
        self.is_shutting_down = False
        self._has_tidied = False
        # The generations, and the tidying of replies left open by the last run.
        self._tasks = BackgroundTasks("suggest")
        # One event per answer being written, set when its last edit is done.
        self._last_edits: set[asyncio.Event] = set()

    async def cog_load(self) -> None:
        """Answer Stop buttons a restart left behind."""
        self.bot.add_view(ExpiredStop())

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Once per run, in the background: an unreachable message never delays anything."""
        if not self._has_tidied:
            self._has_tidied = True
            tidying = finish_replies_left_open(self.bot.pipeline, self.bot)
            self._tasks.start(tidying, name="finish replies left open")

    async def shut_down(self) -> None:
        """Stop every answer being written: each is recorded cancelled with its text and
        gets a last edit saying the bot is restarting. Waits a bounded time for those
        edits; the bot disconnects after this."""
        self.is_shutting_down = True
        if self._last_edits:
            log.info("Stopping %d answer(s) being written", len(self._last_edits))
        waiting = list(self._last_edits)
        grace = SHUTDOWN_GRACE_SECONDS + self.bot.settings.stream_edit_interval
        try:
            async with asyncio.timeout(grace):
                await self._tasks.stop()
                await asyncio.gather(*(done.wait() for done in waiting))
        except TimeoutError:
            late = sum(not done.is_set() for done in waiting)
            log.warning("%d answer(s) did not get their last edit in time", late)

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
        """Check the request, take the member's one place, then answer it."""
        member_id = str(interaction.user.id)
        if self.is_shutting_down:
            await self._tell(interaction, say.RESTARTING_TRY_LATER)
            return
        try:
            # A bad request is refused privately before it takes a place in the queue.
            query = self.bot.pipeline.check_request(query, count)
        except InputError as exc:
            log_fault(exc, "/suggest")
            await self._tell(interaction, describe_error(exc))
            return
        if not self.slots.claim_member(member_id):
            await self._tell(interaction, say.ALREADY_RUNNING)
            return
        try:
            # Discord's deadline is 3 s whatever the model does: acknowledge first.
            await interaction.response.defer(thinking=True)
            await self._answer(interaction, member_id, query, count)
        finally:
            self.slots.release_member(member_id)

    @staticmethod
    async def _tell(interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)

    async def _answer(
        self, interaction: discord.Interaction, member_id: str, query: str, count: int
    ) -> None:
        links = MessageLinks(self.bot.pipeline, interaction.channel_id)
        window = self.channel_windows.of(interaction.channel_id or 0)
        delivery = ReplyDelivery(interaction, links, window)
        reply = self._new_reply(delivery)
        generating = self._generate(reply, links, member_id, query, count)
        generation = self._tasks.start(generating, name=f"/suggest of member {member_id}")
        answered = asyncio.Event()
        self._last_edits.add(answered)
        try:
            ending = await self._wait(interaction, reply, generation)
            await self._end(interaction, reply, links, ending, query, count)
            if ending.cards:
                await self._send_cards(delivery, ending.cards)
        finally:
            self._last_edits.discard(answered)
            answered.set()

    async def _wait(
        self, interaction: discord.Interaction, reply: Reply, generation: asyncio.Task[Ending]
    ) -> Ending:
        """Wait for the generation, with a Stop button under the reply meanwhile."""
        await wait_with_stop_button(generation, reply, interaction.user.id)
        # Cancelled before it ever ran (a shutdown at once): stopped, with nothing shown.
        return Ending(is_stopped=True) if generation.cancelled() else generation.result()

    async def _end(
        self,
        interaction: discord.Interaction,
        reply: Reply,
        links: MessageLinks,
        ending: Ending,
        query: str,
        count: int,
    ) -> None:
        """Give the reply its last edit (or take it away, for a refused request)."""
        if ending.retrieved is None:
            # Whatever ended the wait (Stop, the queue limit, retrieval failing), the
            # waiting status goes.
            reply.set_header(say.request_line(query, count))
        footer = ending.footer
        if ending.is_stopped:
            footer = say.RESTARTING if self.is_shutting_down else say.STOPPED
        elif ending.fault is not None:
            await reply.finish(say.BROKEN)
            await links.close_reply()
            raise ending.fault  # to the central handler
        elif ending.refused is not None and not reply.body:
            await self._refuse(interaction, reply, ending.refused)
            return

        # "Save to watchlist…" takes the Stop button's place under a finished answer.
        keep = save_view(ending.suggestion_id, ending.picks) if ending.suggestion_id else None
        messages = await reply.finish(footer, keep)
        await links.close_reply()
        if ending.is_finished and messages:
            await self._offer_rating(messages[-1])
        if ending.suggestion_id is not None:
            await self._apply_early_ratings(str(interaction.user.id), ending.suggestion_id)

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

    @staticmethod
    async def _send_cards(delivery: ReplyDelivery, cards: tuple[discord.Embed, ...]) -> None:
        """The found picks' cards, one message under the reply; the text has it all but
        the links, so a refused send loses no pick."""
        try:
            await delivery.send_cards(list(cards))
        except discord.HTTPException as exc:
            log.warning("Could not send the film cards: %s", exc)

    def _new_reply(self, delivery: ReplyDelivery) -> Reply:
        return StreamedReply(
            edit_first=delivery.edit_first,
            send_more=delivery.send_more,
            edit_more=delivery.edit_more,
            interval=self.bot.settings.stream_edit_interval,
            budget=self.bot.write_budget,
        )

    async def _generate(
        self, reply: Reply, links: MessageLinks, member_id: str, query: str, count: int
    ) -> Ending:
        """Wait for a slot, then render the pipeline's events into `reply`; how it ended.

        Cancelling it is how Stop and shutdown end it: it returns, stopped."""

        def show_place(place: int) -> None:
            reply.set_header(say.waiting(place, self.slots.limit))
            reply.start()

        ending = Ending()
        try:
            async with self.slots.generation(on_place=show_place):
                events = self.bot.pipeline.suggest(member_id, query, count)
                async with aclosing(events):
                    async for event in events:
                        ending = await self._show(reply, links, ending, event)
        except asyncio.CancelledError:
            return replace(ending, is_stopped=True)
        except QueueTimeout as exc:
            log_fault(exc, f"/suggest of member {member_id} waiting for a slot")
            return replace(ending, footer=f"⚠️ {describe_error(exc)}")
        except InputError as exc:
            log_fault(exc, "/suggest")
            return replace(ending, refused=exc, footer=f"⚠️ {describe_error(exc)}")
        except Exception as exc:
            return replace(ending, fault=exc)
        return ending

    @staticmethod
    async def _show(reply: Reply, links: MessageLinks, ending: Ending, event: object) -> Ending:
        """Show one event in the reply; how the generation stands after it."""
        match event:
            case Retrieved():
                reply.set_header(say.retrieved(event))
                reply.start()
                await links.set_suggestion(event.suggestion_id)
                return replace(ending, retrieved=event)
            case PicksUpdated(picks=picks):
                reply.set_body(say.picks_text(picks))
            case TextDelta(text=text):
                reply.append(text)
            case Finished():
                if event.is_structured and ending.retrieved is not None:
                    # The header counts the picks shown, not the ones asked for.
                    reply.set_header(say.retrieved(ending.retrieved, shown=len(event.picks)))
                cards = film_cards(
                    [
                        (number, pick.check)
                        for number, pick in enumerate(event.picks, 1)
                        if pick.check
                    ]
                )
                footer = say.finished(event)
                return replace(
                    ending,
                    is_finished=True,
                    picks=event.picks,
                    footer=footer,
                    cards=tuple(cards),
                )
            case Failed():
                reply.start()
                if event.suggestion_id is not None:
                    await links.set_suggestion(event.suggestion_id)
                return replace(ending, footer=say.failed(event))
        return ending

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
