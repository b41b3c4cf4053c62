"""The Stop button under a streaming answer, and its stand-in after a restart."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import discord

from bot.discord_bot import NO_PINGS
from bot.discord_bot import layout as say
from bot.discord_bot.error_handler import handle_command_error
from bot.discord_bot.streaming import MESSAGE_LIMIT, STILL_WRITING_MARK, StreamedReply

# Fixed, so a Stop button left on an answer by a restart still reaches `ExpiredStop`.
STOP_CUSTOM_ID = "suggest:stop"


def with_ending(content: str, ending: str, limit: int = MESSAGE_LIMIT) -> str:
    """`content` followed by `ending`, shortened (never the ending) to fit one message."""
    room = limit - len(ending) - 2
    if len(content) > room:
        content = content[: max(room - 1, 0)].rstrip() + "…"
    return f"{content}\n\n{ending}".strip()


class StopButton(discord.ui.View):
    """The Stop button under a streaming answer; only the member who asked may press it."""

    def __init__(self, owner_id: int, on_stop: Callable[[], object]) -> None:
        super().__init__(timeout=None)
        self.owner_id = owner_id
        self.is_pressed = False
        self._on_stop = on_stop

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        """Only the asker may stop the answer; anyone else is told so privately."""
        if interaction.user.id == self.owner_id:
            return True
        await interaction.response.send_message(
            say.ONLY_THE_ASKER, ephemeral=True, allowed_mentions=NO_PINGS
        )
        return False

    async def on_error(
        self, interaction: discord.Interaction, error: Exception, item: discord.ui.Item
    ) -> None:
        """Route a failed press to the one error handler."""
        await handle_command_error(interaction, error)

    @discord.ui.button(
        label="Stop", emoji="⏹️", style=discord.ButtonStyle.danger, custom_id=STOP_CUSTOM_ID
    )
    async def stop_button(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        """Stop the generation; the answer's own next edit shows the result."""
        await interaction.response.defer()
        self.is_pressed = True
        self.stop()
        self._on_stop()


class ExpiredStop(discord.ui.View):
    """Answers a Stop button whose answer is no longer being written (the bot restarted).

    A live `StopButton` is bound to its message and takes precedence; this persistent
    view catches the rest, so a press gets an answer instead of "interaction failed",
    and tidies the message: the dead button and the "still writing" mark go.
    """

    def __init__(self) -> None:
        super().__init__(timeout=None)

    @discord.ui.button(
        label="Stop", emoji="⏹️", style=discord.ButtonStyle.danger, custom_id=STOP_CUSTOM_ID
    )
    async def stop_button(self, interaction: discord.Interaction, _: discord.ui.Button) -> None:
        """Finish the message the restart left open."""
        content = interaction.message.content if interaction.message else ""
        content = content.replace(STILL_WRITING_MARK, "").rstrip()
        await interaction.response.edit_message(
            content=with_ending(content, say.CUT_BY_RESTART),
            view=None,
            allowed_mentions=NO_PINGS,
        )


async def wait_with_stop_button(
    generation: asyncio.Task[Any], reply: StreamedReply[discord.Message], owner_id: int
) -> None:
    """Wait for `generation` with a Stop button (for `owner_id`) under the reply. If this
    wait is itself cancelled, the generation is cancelled and the reply abandoned."""
    stop = StopButton(owner_id, on_stop=generation.cancel)
    reply.set_view(stop)
    try:
        await asyncio.wait({generation})
    finally:
        if not generation.done():  # the waiting handler itself is cancelled
            generation.cancel()
            await reply.abandon()
    stop.stop()
