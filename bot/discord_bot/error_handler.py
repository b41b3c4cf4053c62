"""The one place where errors become what a member reads.

Our own errors (`bot.errors`) carry a message written for a person; the member sees it
(or, for faults of the model server, Qdrant or SQLite, a short explanation) and the owner gets a
log line with the cause. Anything else is a bug: the member gets a short apology with
an error id, and the same id is logged with the traceback so the owner can find it.
"""

from __future__ import annotations

import logging
import secrets

import discord
from discord import app_commands

from bot.discord_bot import NO_PINGS
from bot.errors import (
    InputError,
    ModelNotFound,
    ModelServerError,
    ModelServerRefused,
    ModelServerStalled,
    ModelServerUnreachable,
    QueueTimeout,
    RecordsError,
    SuggestWatchError,
    TasteNotFound,
    VectorStoreError,
)

log = logging.getLogger(__name__)

# Set in `interaction.extras` once a command has put its own text in the original
# response: an error then goes in a private follow-up and the text stays.
ORIGINAL_IS_WRITTEN = "original_is_written"


def describe_error(error: SuggestWatchError) -> str:
    """What a member reads for one of our errors."""
    if isinstance(error, InputError | TasteNotFound):
        return str(error)
    if isinstance(error, QueueTimeout):
        return (
            "Too many suggestions are being written right now and your turn did not come "
            "in time, so nothing was run. Please ask again in a few minutes."
        )
    if isinstance(error, ModelServerUnreachable):
        return "I can't reach the AI model right now. The owner has been told; please try later."
    if isinstance(error, ModelServerRefused):
        return (
            "The AI model's server refused me (its key is missing or wrong). "
            "The owner has been told; please try later."
        )
    if isinstance(error, ModelNotFound):
        return (
            "The AI model isn't installed on this server yet. "
            "The owner has been told how to fix it; please try later."
        )
    if isinstance(error, ModelServerStalled):
        return "The AI model stopped answering. Please try again in a moment."
    if isinstance(error, ModelServerError):
        return "The AI model ran into an error. Please try again in a moment."
    if isinstance(error, VectorStoreError):
        return "My taste index is having trouble right now. The owner has been told."
    if isinstance(error, RecordsError):
        return "I couldn't read or save my records just now. The owner has been told."
    return "Something went wrong on my side. Please try again later."


def log_fault(error: SuggestWatchError, doing: str) -> None:
    """Tell the owner about a fault (not about a member's own mistake)."""
    if isinstance(error, InputError | TasteNotFound):
        log.info("%s: the member's input was refused: %s", doing, error)
    else:
        log.warning("%s failed: %s: %s", doing, type(error).__name__, error)


def new_error_id() -> str:
    return secrets.token_hex(4)


def apology(error_id: str) -> str:
    return (
        f"Sorry, something went wrong on my side (error id `{error_id}`). "
        "The owner can look it up in the log."
    )


async def tell_member(interaction: discord.Interaction, text: str) -> None:
    """Answer privately, whatever state the interaction's response is in."""
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_PINGS)
        elif (
            interaction.response.type is discord.InteractionResponseType.deferred_channel_message
            and not interaction.extras.get(ORIGINAL_IS_WRITTEN)
        ):
            # The "thinking…" placeholder is ours to resolve.
            await interaction.edit_original_response(
                content=text, view=None, allowed_mentions=NO_PINGS
            )
        else:
            await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_PINGS)
    except discord.HTTPException as exc:
        log.warning("Could not tell the member about an error: %s", exc)


async def handle_command_error(
    interaction: discord.Interaction, error: app_commands.AppCommandError | Exception
) -> None:
    """Route an error from a command or a button to the member and the log."""
    cause = error.original if isinstance(error, app_commands.CommandInvokeError) else error
    command = interaction.command.qualified_name if interaction.command else "a component"
    if isinstance(cause, SuggestWatchError):
        log_fault(cause, f"/{command}")
        await tell_member(interaction, describe_error(cause))
        return
    if isinstance(cause, app_commands.CheckFailure | app_commands.TransformerError):
        await tell_member(interaction, str(cause) or "You can't use that here.")
        return
    error_id = new_error_id()
    log.error(
        "Unexpected error %s in /%s (member %s)",
        error_id,
        command,
        interaction.user.id,
        exc_info=cause,
    )
    await tell_member(interaction, apology(error_id))


class SuggestWatchTree(app_commands.CommandTree):
    """The command tree, with the one error handler for every command."""

    async def on_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await handle_command_error(interaction, error)
