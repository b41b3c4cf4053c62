"""Reactions on a suggestion's messages, stored as the member's rating of its picks.

Raw reaction events arrive for every message, cached or not, so reactions on answers
sent before a restart count too. The bot's own reactions (the 👍 👎 prompt) are not
ratings, and reactions on other messages are not stored. Every reaction on an answer
is logged; only the asker's 👍 👎 (every pick) and number reactions (one pick, liked)
rate picks, and removing the reaction takes that rating back.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.discord_bot.client import SuggestWatchBot
from bot.discord_bot.error_handler import log_fault
from bot.discord_bot.reactions import rate_by_reaction
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
        if suggestion_id is None:
            return
        log.info(
            "Member %s %s %s on suggestion #%d",
            event.user_id,
            "added" if added else "removed",
            event.emoji,
            suggestion_id,
        )
        await self._rate(str(event.user_id), suggestion_id, str(event.emoji), added=added)

    async def _rate(self, member_id: str, suggestion_id: int, emoji: str, *, added: bool) -> None:
        try:
            await rate_by_reaction(self.bot.pipeline, member_id, suggestion_id, emoji, added=added)
        except SuggestWatchError as exc:
            log_fault(exc, "Recording a rating")


async def setup(bot: SuggestWatchBot) -> None:
    await bot.add_cog(Feedback(bot))
