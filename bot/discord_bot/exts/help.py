"""/help: what the bot does and how to start."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot import NO_PINGS
from bot.discord_bot.client import SuggestWatchBot

HELP_TEXT = """\
**suggest.watch** recommends movies and shows from *your own* stated tastes, \
using an AI model that runs on this server's owner's machine.

**Start in two steps**
1. Tell me what you like: `/prefer text: slow-burn sci-fi with a twist`
   (one taste per command; add as many as you like).
2. Ask for picks: `/suggest query: something for a rainy Sunday` \
(add `count:` for 1 to 10 picks; 4 by default).

The answer is written live into the channel; press **Stop** to end it early. \
Rate a finished answer with 👍 or 👎: your rating is kept for the server's owner.

**Your tastes**
• `/tastes` lists them (only you see the list).
• `/forget taste:` removes one (start typing to pick it), or all of them.
Nobody else can see or remove your tastes, and your suggestions use only yours.
"""


class Help(commands.Cog):
    """The help text for new members."""

    def __init__(self, bot: SuggestWatchBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What suggest.watch does and how to start")
    async def help(self, interaction: discord.Interaction) -> None:
        await interaction.response.send_message(
            HELP_TEXT, ephemeral=True, allowed_mentions=NO_PINGS
        )


async def setup(bot: SuggestWatchBot) -> None:
    await bot.add_cog(Help(bot))
