"""/suggest: a public answer streamed into the channel, with a Stop button."""

from __future__ import annotations

from bot.discord_bot.client import SuggestWatchBot
from bot.discord_bot.exts.suggest._cog import Suggest


async def setup(bot: SuggestWatchBot) -> None:
    await bot.add_cog(Suggest(bot))
