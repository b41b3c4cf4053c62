"""The library on Discord: "Save to watchlist…" under every reply, /watchlist, /import."""

from __future__ import annotations

from bot.discord_bot.client import SuggestWatchBot
from bot.discord_bot.exts.library._cog import LibraryCog
from bot.discord_bot.exts.library._save import SAVE_CUSTOM_ID, SaveToWatchlist, save_view

__all__ = ["SAVE_CUSTOM_ID", "LibraryCog", "SaveToWatchlist", "save_view", "setup"]


async def setup(bot: SuggestWatchBot) -> None:
    """Load the library cog."""
    await bot.add_cog(LibraryCog(bot))
