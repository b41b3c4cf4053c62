"""The Discord bot: a thin adapter that maps slash commands onto the shared pipeline.

The pipeline and settings are passed in; `setup_hook` loads one extension per feature
and syncs the slash commands only when they changed since the last sync (Discord caps
how many commands an application may create per day). The last synced payload's hash
is kept per target (guild or global) in DATA_DIR.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import discord
from discord.ext import commands

from bot.discord_bot.error_handler import SuggestWatchTree
from bot.discord_bot.streaming import DISCORD_WRITE_BUDGET, WriteBudget
from bot.errors import ConfigError
from bot.pipeline.pipeline import Pipeline
from bot.settings import DiscordSettings

log = logging.getLogger(__name__)

EXTENSIONS = (
    "bot.discord_bot.exts.help",
    "bot.discord_bot.exts.tastes",
    "bot.discord_bot.exts.suggest",
    "bot.discord_bot.exts.feedback",
    "bot.discord_bot.exts.history",
    "bot.discord_bot.exts.library",
    "bot.discord_bot.exts.movienight",
    "bot.discord_bot.exts.privacy",
)
SYNC_STATE_FILE = "discord_command_sync.json"


def bot_intents() -> discord.Intents:
    """What the features need: guilds (for slash commands), reactions and poll votes
    (movie night). No privileged one."""
    intents = discord.Intents.none()
    intents.guilds = True
    intents.guild_reactions = True
    intents.dm_reactions = True
    intents.guild_polls = True
    return intents


@runtime_checkable
class ShutsDownCleanly(Protocol):
    """A cog with work in flight that must end cleanly before the bot disconnects."""

    async def shut_down(self) -> None: ...


def describe_refused_sync(guild: discord.Object | None, exc: discord.HTTPException) -> str:
    """One line for a command sync Discord refused: where, why, and what to do."""
    reason = f"{exc.status} {exc.text or 'Forbidden'}".strip()
    if guild is None:
        return (
            f"Discord refused to register the slash commands globally ({reason}): invite "
            "the bot with the `applications.commands` scope."
        )
    return (
        f"Discord refused to register the slash commands in guild {guild.id} ({reason}): "
        "check DISCORD_GUILD_ID is a server the bot is in, and that it was invited with the "
        "`applications.commands` scope."
    )


class SuggestWatchBot(commands.Bot):
    """The bot, holding the pipeline every extension works through."""

    def __init__(
        self,
        pipeline: Pipeline,
        settings: DiscordSettings,
        *,
        write_budget: WriteBudget = DISCORD_WRITE_BUDGET,
        **options: Any,
    ) -> None:
        """`write_budget` is Discord's per-message write limit (tests scale it down)."""
        # The bot never joins voice: spare the owner discord.py's warnings about the
        # optional voice libraries at every start.
        discord.VoiceClient.warn_nacl = False
        discord.VoiceClient.warn_dave = False
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=bot_intents(),
            help_command=None,
            tree_cls=SuggestWatchTree,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        self.pipeline = pipeline
        self.settings = settings
        self.write_budget = write_budget
        self._is_shutting_down = False

    async def setup_hook(self) -> None:
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self.sync_commands_if_changed()
        for problem in await self.pipeline.start_up_problems():
            log.error("%s", problem)

    async def sync_commands_if_changed(self) -> bool:
        """Sync to DISCORD_GUILD_ID (instant) or globally, unless nothing changed.

        Returns whether a sync was made."""
        guild = (
            discord.Object(self.settings.discord_guild_id)
            if self.settings.discord_guild_id
            else None
        )
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        target = f"guild {guild.id}" if guild else "global"
        payload = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()
        key = f"{self.application_id}:{target}"

        state = self._read_sync_state()
        if state.get(key) == digest:
            log.info("Slash commands unchanged since the last sync (%s); not syncing.", target)
            return False
        try:
            synced = await self.tree.sync(guild=guild)
        except discord.Forbidden as exc:
            raise ConfigError(describe_refused_sync(guild, exc)) from None
        state[key] = digest
        self._write_sync_state(state)
        names = ", ".join(f"/{command.name}" for command in synced)
        log.info("Synced %d slash commands (%s): %s", len(synced), target, names)
        return True

    @property
    def _sync_state_path(self) -> Path:
        return self.settings.data_dir / SYNC_STATE_FILE

    def _read_sync_state(self) -> dict[str, str]:
        try:
            return json.loads(self._sync_state_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("Ignoring an unreadable %s (%s); syncing again.", SYNC_STATE_FILE, exc)
            return {}

    def _write_sync_state(self, state: dict[str, str]) -> None:
        path = self._sync_state_path
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(state, indent=2, sort_keys=True), encoding="utf-8")
        temporary.replace(path)

    async def close(self) -> None:
        """Let every cog end its work in flight (answers get their last edit), then
        disconnect. The pipeline is closed by its owner after this."""
        if not self._is_shutting_down:
            self._is_shutting_down = True
            for cog in list(self.cogs.values()):
                if isinstance(cog, ShutsDownCleanly):
                    await cog.shut_down()
        await super().close()

    async def on_ready(self) -> None:
        log.info(
            "Connected as %s (id %s) in %d guild(s).",
            self.user,
            self.application_id,
            len(self.guilds),
        )
