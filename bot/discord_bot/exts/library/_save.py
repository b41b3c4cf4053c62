"""The "Save to watchlist…" select under a finished reply, working after a restart.

It is a `DynamicItem`: the suggestion's id lives in its custom id, so a select on an
answer written before a restart still reaches `SaveToWatchlist.from_custom_id`. Any
member may use it; each saves to their own watchlist and is answered privately.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import discord

from bot import presentation_library as say
from bot.discord_bot import NO_PINGS
from bot.discord_bot.error_handler import handle_command_error
from bot.discord_bot.layout import DISCORD
from bot.errors import SuggestWatchError
from bot.pipeline.domain import PickDraft

SAVE_CUSTOM_ID = "watchlist:save:{suggestion_id}"
SAVE_PLACEHOLDER = "Save to watchlist…"
OPTION_LABEL_LIMIT = 100  # Discord's limit for a select option's label
SEE_IT = "See it with `/watchlist`."


class SaveToWatchlist(
    discord.ui.DynamicItem[discord.ui.Select[Any]],
    template=r"watchlist:save:(?P<suggestion_id>\d+)",
):
    """Saves the chosen pick of one suggestion to the choosing member's watchlist."""

    def __init__(self, suggestion_id: int, picks: Sequence[PickDraft] = ()) -> None:
        options = [
            discord.SelectOption(label=_option_label(number, pick), value=str(number))
            for number, pick in enumerate(picks, start=1)
        ] or [discord.SelectOption(label="(restored)", value="1")]
        super().__init__(
            discord.ui.Select(
                custom_id=SAVE_CUSTOM_ID.format(suggestion_id=suggestion_id),
                placeholder=SAVE_PLACEHOLDER,
                options=options,
            )
        )
        self.suggestion_id = suggestion_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Item[Any], match: re.Match[str]
    ) -> SaveToWatchlist:
        """The select of a reply, after a restart as before it."""
        return cls(int(match["suggestion_id"]))

    async def callback(self, interaction: discord.Interaction) -> None:
        """Save the chosen pick for whoever chose it, and tell them privately."""
        pipeline = getattr(interaction.client, "pipeline", None)
        assert pipeline is not None, "the select only runs in SuggestWatchBot"
        try:
            saved = await pipeline.library.save_pick(
                str(interaction.user.id), self.suggestion_id, int(self.item.values[0])
            )
        except SuggestWatchError as exc:
            await handle_command_error(interaction, exc)
            return
        if saved.was_there:
            text = say.already_on_watchlist(saved.title, saved.year, DISCORD)
        else:
            text = f"{say.saved_to_watchlist(saved.title, saved.year, DISCORD)} {SEE_IT}"
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)


def save_view(suggestion_id: int, picks: Sequence[PickDraft]) -> discord.ui.View | None:
    """The view a finished reply keeps: the select listing its picks (None without picks)."""
    if not picks:
        return None
    view = discord.ui.View(timeout=None)
    view.add_item(SaveToWatchlist(suggestion_id, picks))
    return view


def _option_label(number: int, pick: PickDraft) -> str:
    label = f"{number}. {say.title_label(pick.title, pick.year)}"
    if len(label) > OPTION_LABEL_LIMIT:
        label = label[: OPTION_LABEL_LIMIT - 1] + "…"
    return label
