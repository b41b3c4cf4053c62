"""`python -m bot` (or `suggest-watch-bot`): run the Discord bot. Only wiring lives here."""

from __future__ import annotations

import asyncio
import logging
import sys

import discord

from bot.discord_bot.client import SuggestWatchBot
from bot.errors import ConfigError, SuggestWatchError
from bot.pipeline.pipeline import open_pipeline
from bot.settings import DiscordSettings, load_settings

EXIT_FAILED = 1
EXIT_CONFIG = 2

log = logging.getLogger("bot")


async def run(settings: DiscordSettings) -> None:
    """Open the pipeline, run the bot until it is stopped, close everything."""
    async with open_pipeline(settings) as pipeline, SuggestWatchBot(pipeline, settings) as bot:
        await bot.start(settings.discord_token.get_secret_value())


def main() -> None:
    try:
        settings = load_settings(DiscordSettings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    discord.utils.setup_logging(level=logging.getLevelName(settings.log_level.upper()))
    try:
        asyncio.run(run(settings))
    except KeyboardInterrupt:
        log.info("Stopped.")
    except discord.LoginFailure:
        print("Discord refused DISCORD_TOKEN: check the bot token.", file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    except discord.PrivilegedIntentsRequired:
        print(
            "Discord refused the gateway intents; this bot needs no privileged one.",
            file=sys.stderr,
        )
        sys.exit(EXIT_FAILED)
    except SuggestWatchError as exc:
        print(f"Could not start: {exc}", file=sys.stderr)
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
