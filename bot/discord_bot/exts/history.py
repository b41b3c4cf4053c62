"""/history and /rate: a member's recent picks with their ratings, always answered privately."""

from __future__ import annotations

import logging
import re

import discord
from discord import app_commands
from discord.ext import commands

from bot import presentation as say
from bot.discord_bot import NO_PINGS
from bot.discord_bot.client import SuggestWatchBot
from bot.discord_bot.layout import DISCORD
from bot.discord_bot.streaming import MESSAGE_LIMIT, split_message
from bot.errors import InputError, SuggestWatchError
from bot.pipeline.domain import PastPick, Rating, label
from bot.pipeline.pipeline import PAST_PICKS_LIMIT

log = logging.getLogger(__name__)

AUTOCOMPLETE_LIMIT = 25  # Discord shows at most 25 choices
CHOICE_NAME_LIMIT = 100
CLEAR = "clear"
RATING_CHOICES = [
    app_commands.Choice(name="Liked it", value=Rating.LIKED.value),
    app_commands.Choice(name="Not for me", value=Rating.NOT_FOR_ME.value),
    app_commands.Choice(name="Seen it already", value=Rating.SEEN.value),
    app_commands.Choice(name="Take my rating back", value=CLEAR),
]
# "12:3" (pick 3 of suggestion 12, as autocomplete fills it in), "#12 3", or "12" (all).
_PICK_REFERENCE = re.compile(r"^#?(\d+)(?:\s*[:.\s]\s*(\d+))?$")


def history_pages(picks: list[PastPick]) -> list[str]:
    """The member's picks grouped under their request, each with its rating."""
    if not picks:
        return [say.no_picks_yet("`/suggest`")]
    lines = [f"{say.history_heading(len(picks), DISCORD)} (rate one with `/rate`):"]
    for heading, picks_in_request in say.history_groups(picks, DISCORD):
        lines += [f"\n{heading}", *picks_in_request]
    return split_message("\n".join(lines), MESSAGE_LIMIT)


def parse_pick_reference(text: str) -> tuple[int, int | None]:
    """The suggestion and pick a member meant; `InputError` if it is not one."""
    found = _PICK_REFERENCE.match(text.strip())
    if found is None:
        raise InputError(
            "Choose a pick from the list as you type, or write its suggestion and pick "
            "number like `12:3` (or just `12` for all its picks)."
        )
    position = int(found[2]) if found[2] else None
    return int(found[1]), position


def pick_choice(pick: PastPick) -> app_commands.Choice[str]:
    # An unrated pick is offered by its title alone: choices stay short.
    rating = f": {say.rating_text(pick.rating)}" if pick.rating else ""
    name = f"#{pick.suggestion_id} · {pick.position}. {label(pick)}{rating}"
    if len(name) > CHOICE_NAME_LIMIT:
        name = name[: CHOICE_NAME_LIMIT - 1] + "…"
    return app_commands.Choice(name=name, value=f"{pick.suggestion_id}:{pick.position}")


class History(commands.Cog):
    """Each member's own picks and ratings, shown and changed only by that member."""

    def __init__(self, bot: SuggestWatchBot) -> None:
        self.bot = bot

    @app_commands.command(name="history", description="Your recent picks and ratings (only you)")
    async def history(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        picks = await self.bot.pipeline.past_picks(str(interaction.user.id), PAST_PICKS_LIMIT)
        pages = history_pages(picks)
        await interaction.edit_original_response(content=pages[0], allowed_mentions=NO_PINGS)
        for page in pages[1:]:
            await interaction.followup.send(page, ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="rate", description="Rate one of your picks; it shapes future picks")
    @app_commands.describe(
        pick="Start typing to choose one of your recent picks",
        rating="What you think of it",
    )
    @app_commands.choices(rating=RATING_CHOICES)
    async def rate(
        self, interaction: discord.Interaction, pick: str, rating: app_commands.Choice[str]
    ) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        suggestion_id, position = parse_pick_reference(pick)
        chosen = None if rating.value == CLEAR else Rating(rating.value)
        rated = await self.bot.pipeline.rate(
            str(interaction.user.id), suggestion_id, chosen, position
        )
        lines = [
            say.rated_pick(record.shown_position, label(record), record.rating, DISCORD)
            for record in rated
        ]
        await interaction.edit_original_response(
            content="\n".join([f"Saved. {say.RATINGS_SHAPE_PICKS}", *lines]),
            allowed_mentions=NO_PINGS,
        )

    @rate.autocomplete("pick")
    async def _pick_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            picks = await self.bot.pipeline.past_picks(str(interaction.user.id), PAST_PICKS_LIMIT)
        except SuggestWatchError as exc:
            log.warning("Autocomplete of /rate failed: %s", exc)
            return []
        typed = current.strip().casefold()
        choices = [pick_choice(pick) for pick in picks]
        matching = [choice for choice in choices if typed in choice.name.casefold()]
        return matching[:AUTOCOMPLETE_LIMIT]


async def setup(bot: SuggestWatchBot) -> None:
    await bot.add_cog(History(bot))
