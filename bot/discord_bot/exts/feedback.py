"""Reactions on a suggestion's messages, stored as the member's rating of it.

Raw reaction events arrive for every message, cached or not, so reactions on answers
sent before a restart count too. The bot's own reactions (the 👍 👎 prompt) are not
ratings, and reactions on other messages are not stored.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.discord_bot.client import SuggestWatchBot
from bot.discord_bot.error_handler import log_fault
from bot.errors import SuggestWatchError

log = logging.getLogger(__name__)


class Feedback(commands.Cog):
    """Writes every member's reaction on a suggestion to the records."""

    def __init__(self, bot: SuggestWatchBot) -> None:
        self.bot = bot

    @commands.Cog.listener()
    async def on_raw_reaction_add(self, event: discord.RawReactionActionEvent) -> None:
        await self._record(event, added=True)

    @commands.Cog.listener()
    async def on_raw_reaction_remove(self, event: discord.RawReactionActionEvent) -> None:
        await self._record(event, added=False)

    async def _record(self, event: discord.RawReactionActionEvent, *, added: bool) -> None:
        if self.bot.user is not None and event.user_id == self.bot.user.id:
            return
        try:
            suggestion_id = await self.bot.pipeline.record_feedback(
                str(event.user_id), event.message_id, str(event.emoji), added
            )
        except SuggestWatchError as exc:
            log_fault(exc, "Recording a reaction")
            return
        if suggestion_id is not None:
            log.info(
                "Member %s %s %s on suggestion #%d",
                event.user_id,
                "added" if added else "removed",
                event.emoji,
                suggestion_id,
            )


async def setup(bot: SuggestWatchBot) -> None:
    await bot.add_cog(Feedback(bot))
