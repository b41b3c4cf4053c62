"""/suggest: a public answer streamed into the channel, with a Stop button."""

from __future__ import annotations

from bot.discord_bot.client import SuggestWatchBot
from bot.discord_bot.exts.suggest._cog import SHUTDOWN_GRACE_SECONDS, Ending, Suggest
from bot.discord_bot.exts.suggest._delivery import CHANNEL_WINDOWS_KEPT, ChannelWindows
from bot.discord_bot.exts.suggest._slots import GenerationSlots
from bot.discord_bot.exts.suggest._views import STOP_CUSTOM_ID, with_ending

__all__ = [
    "CHANNEL_WINDOWS_KEPT",
    "SHUTDOWN_GRACE_SECONDS",
    "STOP_CUSTOM_ID",
    "ChannelWindows",
    "Ending",
    "GenerationSlots",
    "Suggest",
    "setup",
    "with_ending",
]


async def setup(bot: SuggestWatchBot) -> None:
    """Load the /suggest cog."""
    await bot.add_cog(Suggest(bot))
