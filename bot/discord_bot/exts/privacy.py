"""/privacy: whether other members may blend your tastes into their movie nights."""

from __future__ import annotations

from typing import Literal

import discord
from discord import app_commands
from discord.ext import commands

from bot import presentation_night as night_words
from bot.discord_bot import NO_PINGS
from bot.discord_bot.client import SuggestWatchBot

INCLUDE = "include me"
LEAVE_OUT = "leave me out"


class Privacy(commands.Cog):
    """A member's privacy choices, kept with their data."""

    def __init__(self, bot: SuggestWatchBot) -> None:
        self.bot = bot

    @app_commands.command(
        name="privacy", description="Whether others can include your tastes in a movie night"
    )
    @app_commands.describe(movie_nights="Include you in other members' movie nights, or not")
    async def privacy(
        self,
        interaction: discord.Interaction,
        movie_nights: Literal["include me", "leave me out"] | None = None,
    ) -> None:
        """Show the member's choice, or change it; only they see the answer."""
        nights = self.bot.pipeline.movie_nights
        member_id = str(interaction.user.id)
        if movie_nights is not None:
            await nights.set_opt_out(member_id, movie_nights == LEAVE_OUT)
        text = night_words.privacy_state(await nights.is_opted_out(member_id))
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


async def setup(bot: SuggestWatchBot) -> None:
    """Load the /privacy cog."""
    await bot.add_cog(Privacy(bot))
