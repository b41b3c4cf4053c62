"""/help: what the bot does and how to start."""

from __future__ import annotations

import discord
from discord import app_commands
from discord.ext import commands

from bot.discord_bot import NO_PINGS
from bot.discord_bot.client import SuggestWatchBot
from bot.discord_bot.streaming import MESSAGE_LIMIT, split_message

HELP_TEXT = """\
**suggest.watch** recommends movies and shows from *your own* stated tastes, \
using an AI model that runs on this server's owner's machine.

**Start in two steps**
1. Tell me what you like: `/prefer text: slow-burn sci-fi with a twist`
   (one taste per command; add as many as you like).
2. Ask for picks: `/suggest query: something for a rainy Sunday` \
(add `count:` for 1 to 10 picks; 4 by default).

The picks are written live into the channel; press **Stop** to end it early.

**Your ratings shape your next picks**
• 👍 or 👎 on an answer rates every pick in it; react with a pick's number \
(1️⃣, 2️⃣, …) to say you liked just that one. Remove the reaction to take it back.
• `/rate` rates one pick: liked it, not for me, or seen it already.
• Picks you liked become examples for similar requests; picks you said are \
not for me, or that you have seen, and titles suggested to you lately are not \
suggested again.
• `/history` lists your recent picks with your ratings (only you see it).

**Your library**
• **Save to watchlist…** under an answer saves that pick to *your* watchlist; \
`/watchlist` shows it (remove a title, or mark it watched and rate it). \
Watchlisted titles are never suggested.
• `/import file:` takes your Letterboxd export ZIP (Settings → Data) or IMDb \
ratings or watchlist CSV (⋯ → Export): what you saw is never suggested again, \
what you liked guides your picks. `/import erase:True` undoes it.

**Movie night**
`/movienight with: @bob @carol` blends the tastes of everyone named (you included, \
up to 10) into picks for the group, then opens a poll (`hours:` 1 to 768, 2 by \
default). When it ends, the winner is announced. The channel sees whose tastes were \
blended, never the tastes themselves. Nobody is pinged unless you set `notify:`. \
`/privacy` keeps you out of other members' movie nights.

**Your tastes**
• `/tastes` lists them (only you see the list).
• `/forget taste:` removes one (start typing to pick it), or all of them \
(then you can erase your history, ratings and library too).
Nobody else can see or remove your tastes, and your suggestions use only yours.

**Film data: [Wikidata](<https://www.wikidata.org/>), CC0**
Each pick is checked against Wikidata, the free film catalogue: a pick it knows shows \
its year, genres, runtime, director and links (Wikipedia, IMDb, Letterboxd, where to \
watch); one it does not know is replaced or marked.
"""


class Help(commands.Cog):
    """The help text for new members."""

    def __init__(self, bot: SuggestWatchBot) -> None:
        self.bot = bot

    @app_commands.command(name="help", description="What suggest.watch does and how to start")
    async def help(self, interaction: discord.Interaction) -> None:
        # Every feature adds a paragraph: past one message's limit it goes on in more.
        first, *more = split_message(HELP_TEXT, MESSAGE_LIMIT)
        await interaction.response.send_message(first, ephemeral=True, allowed_mentions=NO_PINGS)
        for page in more:
            await interaction.followup.send(page, ephemeral=True, allowed_mentions=NO_PINGS)


async def setup(bot: SuggestWatchBot) -> None:
    await bot.add_cog(Help(bot))
