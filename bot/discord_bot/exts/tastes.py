"""/prefer, /tastes and /forget: each member's own tastes, always answered privately."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot import presentation as say
from bot.discord_bot import NO_PINGS
from bot.discord_bot.client import SuggestWatchBot
from bot.discord_bot.error_handler import handle_command_error
from bot.discord_bot.layout import DISCORD, code_span
from bot.discord_bot.streaming import MESSAGE_LIMIT, split_message
from bot.errors import SuggestWatchError, TasteNotFound
from bot.pipeline.domain import Taste

log = logging.getLogger(__name__)

FORGET_ALL = "all"
AUTOCOMPLETE_LIMIT = 25  # Discord shows at most 25 choices
CHOICE_NAME_LIMIT = 100
CONFIRM_TIMEOUT_SECONDS = 60.0
EXPIRED_CONFIRMATION = "No answer in time, so your tastes are kept. Ask again to forget them."
FORGOT_TASTES = "Forgot your tastes."
EXPIRED_HISTORY_CONFIRMATION = (
    f"{FORGOT_TASTES} No answer in time, so your history and ratings are kept."
)
ADD_TASTE = "`/prefer`"


def member_id_of(interaction: discord.Interaction) -> str:
    return str(interaction.user.id)


def list_tastes(tastes: list[Taste]) -> list[str]:
    """The member's tastes, numbered by the id /forget takes, split into messages."""
    if not tastes:
        return [say.no_tastes(ADD_TASTE)]
    lines = [f"{say.tastes_heading(len(tastes), DISCORD)} (remove one with `/forget`):"]
    lines += [say.taste_line(taste, DISCORD) for taste in tastes]
    return split_message("\n".join(lines), MESSAGE_LIMIT)


def taste_choice(taste: Taste) -> app_commands.Choice[str]:
    name = f"#{taste.id} {taste.text}"
    if len(name) > CHOICE_NAME_LIMIT:
        name = name[: CHOICE_NAME_LIMIT - 1] + "…"
    return app_commands.Choice(name=name, value=str(taste.id))


def find_taste(tastes: list[Taste], wanted: str) -> Taste | None:
    """The taste a member meant: an id from autocomplete (`12` or `#12`) or its exact text."""
    wanted = wanted.strip()
    number = wanted.removeprefix("#")
    for taste in tastes:
        if number.isdigit() and taste.id == int(number):
            return taste
    for taste in tastes:
        if taste.text.casefold() == wanted.casefold():
            return taste
    return None


class _PrivateConfirmation(discord.ui.View):
    """Buttons under a private question to one member; unanswered in time, they go."""

    expired_text = EXPIRED_CONFIRMATION

    def __init__(self, bot: SuggestWatchBot, member_id: str, question: discord.Interaction) -> None:
        super().__init__(timeout=CONFIRM_TIMEOUT_SECONDS)
        self.bot = bot
        self.member_id = member_id
        self._question = question  # the interaction whose message holds the buttons

    async def on_timeout(self) -> None:
        """Take the dead buttons away and say that nothing was erased."""
        try:
            await self._question.edit_original_response(
                content=self.expired_text, view=None, allowed_mentions=NO_PINGS
            )
        except discord.HTTPException as exc:
            log.warning("Could not tidy an expired confirmation: %s", exc)

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return member_id_of(interaction) == self.member_id

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        await handle_command_error(interaction, error)


class ConfirmForgetAll(_PrivateConfirmation):
    """Yes / Cancel under the private question "forget all your tastes?"."""

    @discord.ui.button(label="Yes, forget them all", style=discord.ButtonStyle.danger)
    async def confirm(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.defer()
        done = say.forgot_all(await self.bot.pipeline.forget_all(self.member_id))
        pipeline = self.bot.pipeline
        question = say.erase_history_question(
            await pipeline.count_suggestions(self.member_id),
            await pipeline.library.count_titles(self.member_id),
        )
        if question is None:
            await interaction.edit_original_response(
                content=done, view=None, allowed_mentions=NO_PINGS
            )
            return
        await interaction.edit_original_response(
            content=f"{done}\n{question}",
            view=ConfirmForgetHistory(self.bot, self.member_id, interaction),
            allowed_mentions=NO_PINGS,
        )

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary)
    async def cancel(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(
            content=say.KEPT_TASTES, view=None, allowed_mentions=NO_PINGS
        )


class ConfirmForgetHistory(_PrivateConfirmation):
    """Erase / Keep under the private question "erase your history and ratings too?"."""

    expired_text = EXPIRED_HISTORY_CONFIRMATION

    @discord.ui.button(label="Erase my history too", style=discord.ButtonStyle.danger)
    async def erase(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.defer()
        titles = await self.bot.pipeline.library.count_titles(self.member_id)
        removed = await self.bot.pipeline.erase_suggestions(self.member_id)
        await interaction.edit_original_response(
            content=f"{FORGOT_TASTES} {say.erased_history(removed, titles)}",
            view=None,
            allowed_mentions=NO_PINGS,
        )

    @discord.ui.button(label="Keep my history", style=discord.ButtonStyle.secondary)
    async def keep(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(
            content=f"{FORGOT_TASTES} {say.KEPT_HISTORY}",
            view=None,
            allowed_mentions=NO_PINGS,
        )


class Tastes(commands.Cog):
    """What each member likes, stored and shown only for that member."""

    def __init__(self, bot: SuggestWatchBot) -> None:
        self.bot = bot

    @app_commands.command(name="prefer", description="Tell me something you like to watch")
    @app_commands.describe(text="A taste, e.g. 'slow-burn sci-fi with a twist'")
    async def prefer(self, interaction: discord.Interaction, text: str) -> None:
        # Embedding may take longer than Discord's 3 s deadline: acknowledge first.
        await interaction.response.defer(ephemeral=True, thinking=True)
        taste = await self.bot.pipeline.prefer(member_id_of(interaction), text)
        await interaction.edit_original_response(
            content=say.stored_taste(taste, DISCORD), allowed_mentions=NO_PINGS
        )

    @app_commands.command(name="tastes", description="List your tastes (only you see them)")
    async def tastes(self, interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        pages = list_tastes(await self.bot.pipeline.tastes(member_id_of(interaction)))
        await interaction.edit_original_response(content=pages[0], allowed_mentions=NO_PINGS)
        for page in pages[1:]:
            await interaction.followup.send(page, ephemeral=True, allowed_mentions=NO_PINGS)

    @app_commands.command(name="forget", description="Remove one of your tastes, or all of them")
    @app_commands.describe(taste="Start typing to pick one of your tastes, or 'all'")
    async def forget(self, interaction: discord.Interaction, taste: str) -> None:
        member_id = member_id_of(interaction)
        if taste.strip().casefold() == FORGET_ALL:
            await self._ask_to_forget_all(interaction, member_id)
            return
        await interaction.response.defer(ephemeral=True, thinking=True)
        found = find_taste(await self.bot.pipeline.tastes(member_id), taste)
        if found is None:
            raise TasteNotFound(
                f"You have no taste matching {code_span(taste)}. "
                "Pick one from the list as you type, or see `/tastes`."
            )
        forgotten = await self.bot.pipeline.forget(member_id, found.id)
        await interaction.edit_original_response(
            content=say.forgot_taste(forgotten, DISCORD),
            allowed_mentions=NO_PINGS,
        )

    async def _ask_to_forget_all(self, interaction: discord.Interaction, member_id: str) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        count = await self.bot.pipeline.count_tastes(member_id)
        if count == 0:
            await interaction.edit_original_response(
                content=say.NO_TASTES_TO_FORGET, allowed_mentions=NO_PINGS
            )
            return
        await interaction.edit_original_response(
            content=say.forget_all_question(count),
            view=ConfirmForgetAll(self.bot, member_id, interaction),
            allowed_mentions=NO_PINGS,
        )

    @forget.autocomplete("taste")
    async def _forget_choices(
        self, interaction: discord.Interaction, current: str
    ) -> list[app_commands.Choice[str]]:
        try:
            tastes = await self.bot.pipeline.tastes(member_id_of(interaction))
        except SuggestWatchError as exc:
            log.warning("Autocomplete of /forget failed: %s", exc)
            return []
        typed = current.strip().casefold()
        matching = [taste for taste in tastes if typed in f"#{taste.id} {taste.text}".casefold()]
        choices = [taste_choice(taste) for taste in matching[: AUTOCOMPLETE_LIMIT - 1]]
        if tastes and (not typed or FORGET_ALL.startswith(typed)):
            choices.append(
                app_commands.Choice(name=f"All my tastes ({len(tastes)})", value=FORGET_ALL)
            )
        return choices


async def setup(bot: SuggestWatchBot) -> None:
    await bot.add_cog(Tastes(bot))
