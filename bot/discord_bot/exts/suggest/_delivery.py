"""Where a /suggest reply's writes go, and how its messages are tied to the suggestion.

Writes go through the interaction's webhook while its token lives (15 minutes). A
reply that outlives the token carries on through the channel with the bot's own
token: the first message is edited as a channel message, follow-ups are sent as
plain channel messages. The switch happens when the token's age says so, or when
Discord refuses the token; the write that found out is repeated on the new path.

Every message is linked to its suggestion as soon as both are known, so a rating
made while the answer is still streaming counts.
"""

from __future__ import annotations

import datetime
import logging
from collections import OrderedDict

import discord

from bot.discord_bot import NO_PINGS
from bot.discord_bot.error_handler import ORIGINAL_IS_WRITTEN, log_fault
from bot.discord_bot.streaming import WriteBudget, WriteWindow
from bot.errors import SuggestWatchError
from bot.pipeline.pipeline import Pipeline

log = logging.getLogger(__name__)

# Discord's interaction tokens last 15 minutes; switch a little before, so no write is
# refused on the way.
TOKEN_LIFETIME = datetime.timedelta(minutes=15)
TOKEN_MARGIN = datetime.timedelta(seconds=30)
# What Discord answers for a webhook write with a token that is no longer valid.
INVALID_WEBHOOK_TOKEN = 50027
UNKNOWN_WEBHOOK = 10015
# Channels whose write window is kept, the most recently used. A window only matters
# for the few seconds its budget takes to refill, so a forgotten one costs nothing.
CHANNEL_WINDOWS_KEPT = 256


def is_expired_token(error: discord.HTTPException) -> bool:
    """Discord refused the interaction's token (expired), not the write itself."""
    return error.status == 401 or error.code in (INVALID_WEBHOOK_TOKEN, UNKNOWN_WEBHOOK)


class ChannelWindows:
    """The write window of each channel replies are written through (shared by that
    channel's replies), for at most `limit` channels: the least recently used goes."""

    def __init__(self, budget: WriteBudget, limit: int = CHANNEL_WINDOWS_KEPT) -> None:
        self._budget = budget
        self._limit = limit
        self._windows: OrderedDict[int, WriteWindow] = OrderedDict()

    def __len__(self) -> int:
        return len(self._windows)

    def of(self, channel_id: int) -> WriteWindow:
        """The channel's window, made if it has none (or it was forgotten)."""
        window = self._windows.pop(channel_id, None) or WriteWindow(self._budget)
        self._windows[channel_id] = window
        while len(self._windows) > self._limit:
            self._windows.popitem(last=False)
        return window


class MessageLinks:
    """Links each message of one reply to its suggestion once both are known."""

    def __init__(self, pipeline: Pipeline, channel_id: int | None) -> None:
        self._pipeline = pipeline
        self._channel_id = channel_id
        self._suggestion_id: int | None = None
        self._pending: dict[int, None] = {}  # message ids not linked yet, in order
        self._linked: set[int] = set()

    async def add_message(self, message_id: int) -> None:
        """A message of the reply exists (new or written again)."""
        if message_id not in self._linked:
            self._pending[message_id] = None
            await self._link_pending()

    async def set_suggestion(self, suggestion_id: int) -> None:
        """The reply shows this suggestion (known once retrieval is recorded)."""
        self._suggestion_id = suggestion_id
        await self._link_pending()

    async def close_reply(self) -> None:
        """The reply had its last edit, so the next start has nothing to finish."""
        if self._suggestion_id is None or not self._linked:
            return
        try:
            await self._pipeline.close_reply(self._suggestion_id)
        except SuggestWatchError as exc:
            log_fault(exc, f"Closing the reply of suggestion #{self._suggestion_id}")

    async def _link_pending(self) -> None:
        if self._suggestion_id is None:
            return
        for message_id in list(self._pending):
            del self._pending[message_id]
            self._linked.add(message_id)
            try:
                await self._pipeline.link_message(self._suggestion_id, message_id, self._channel_id)
            except SuggestWatchError as exc:
                log_fault(exc, f"Linking suggestion #{self._suggestion_id} to its message")


class ReplyDelivery:
    """The writes of one reply: by the interaction's token while it lives, else by channel."""

    def __init__(
        self, interaction: discord.Interaction, links: MessageLinks, channel_window: WriteWindow
    ) -> None:
        """`channel_window` paces writes through the channel, shared by its replies."""
        self._interaction = interaction
        self._links = links
        self._channel_window = channel_window
        self._original_id: int | None = None
        self._is_token_refused = False

    @property
    def uses_channel(self) -> bool:
        """Writes go through the channel now (the interaction's token is spent)."""
        age = discord.utils.utcnow() - self._interaction.created_at
        return self._is_token_refused or age >= TOKEN_LIFETIME - TOKEN_MARGIN

    def _channel(self) -> discord.PartialMessageable:
        return self._interaction.client.get_partial_messageable(
            self._interaction.channel_id or 0, guild_id=self._interaction.guild_id
        )

    def _token_refused(self, error: discord.HTTPException) -> bool:
        """Note a refused token and say whether the write can go by channel instead."""
        if not is_expired_token(error):
            return False
        if not self._is_token_refused:
            log.info("An interaction token expired mid-reply; writing through the channel")
        self._is_token_refused = True
        return True

    async def edit_first(self, content: str, view: discord.ui.View | None) -> discord.Message:
        """Edit the reply's first message (the interaction's original response)."""
        self._interaction.extras[ORIGINAL_IS_WRITTEN] = True
        if self._original_id is not None and self.uses_channel:
            return await self._edit_by_channel(self._original_id, content, view)
        try:
            message: discord.Message = await self._interaction.edit_original_response(
                content=content, view=view, allowed_mentions=NO_PINGS
            )
        except discord.HTTPException as exc:
            if self._original_id is None or not self._token_refused(exc):
                raise
            return await self._edit_by_channel(self._original_id, content, view)
        if self._original_id is None:
            self._original_id = message.id
            await self._links.add_message(message.id)
        return message

    async def send_more(self, content: str) -> discord.Message:
        """Send a follow-up message of the reply."""
        message: discord.Message
        if self.uses_channel:
            message = await self._send_by_channel(content)
        else:
            try:
                message = await self._interaction.followup.send(
                    content, wait=True, allowed_mentions=NO_PINGS
                )
            except discord.HTTPException as exc:
                if not self._token_refused(exc):
                    raise
                message = await self._send_by_channel(content)
        await self._links.add_message(message.id)
        return message

    async def send_cards(self, embeds: list[discord.Embed]) -> discord.Message:
        """Send one message of embeds under the reply (linked to its suggestion too)."""
        message: discord.Message
        if self.uses_channel:
            async with self._channel_window.slot():
                message = await self._channel().send(embeds=embeds, allowed_mentions=NO_PINGS)
        else:
            message = await self._interaction.followup.send(
                embeds=embeds, wait=True, allowed_mentions=NO_PINGS
            )
        await self._links.add_message(message.id)
        return message

    async def edit_more(self, message: discord.Message, content: str) -> None:
        """Edit a follow-up sent earlier."""
        if self.uses_channel or not isinstance(message, discord.WebhookMessage):
            await self._edit_by_channel(message.id, content)
            return
        try:
            await message.edit(content=content, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            if not self._token_refused(exc):
                raise
            await self._edit_by_channel(message.id, content)

    async def _edit_by_channel(
        self, message_id: int, content: str, view: discord.ui.View | None = None
    ) -> discord.Message:
        partial = self._channel().get_partial_message(message_id)
        async with self._channel_window.slot():
            return await partial.edit(content=content, view=view, allowed_mentions=NO_PINGS)

    async def _send_by_channel(self, content: str) -> discord.Message:
        async with self._channel_window.slot():
            return await self._channel().send(content, allowed_mentions=NO_PINGS)
