"""/movienight: picks blended from several members' tastes, put to a native poll."""

from __future__ import annotations

from bot.discord_bot.client import SuggestWatchBot
from bot.discord_bot.exts.movienight._cog import MovieNight
from bot.discord_bot.exts.movienight._vote import SEEN_BUTTON_TEMPLATE, SeenButton, VoteWatcher

__all__ = ["SEEN_BUTTON_TEMPLATE", "MovieNight", "SeenButton", "VoteWatcher", "setup"]


async def setup(bot: SuggestWatchBot) -> None:
    """Load the /movienight cog."""
    await bot.add_cog(MovieNight(bot))
