"""`python -m bot` (or `suggest-watch-bot`): run the Discord bot. Only wiring lives here.

SIGTERM (`docker compose stop`) and SIGINT (Ctrl-C) stop it in order: the answers being
written are cancelled and get their last edit, then the bot disconnects, then the
pipeline closes, and the process exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

import aiohttp
import discord

from bot.discord_bot.client import SuggestWatchBot
from bot.errors import ConfigError, SuggestWatchError
from bot.pipeline.pipeline import open_pipeline
from bot.settings import DiscordSettings, load_settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)

log = logging.getLogger("bot")


async def run(settings: DiscordSettings, stop: asyncio.Event | None = None) -> None:
    """Open the pipeline, run the bot until `stop` is set (or it fails), close everything."""
    stop = stop or asyncio.Event()
    async with open_pipeline(settings) as pipeline, SuggestWatchBot(pipeline, settings) as bot:
        serving = asyncio.create_task(bot.start(settings.discord_token.get_secret_value()))
        stopping = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if serving.done():
            serving.result()  # the bot ended by itself: raise why
            return
        log.info("Stopping: finishing the answers being written, then disconnecting.")
        await bot.close()
        await serving


async def run_until_signalled(settings: DiscordSettings) -> None:
    """`run`, stopped in order by SIGTERM or SIGINT."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C still works
            loop.add_signal_handler(signal_number, stop.set)
    await run(settings, stop)


def build_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="suggest-watch-bot",
        description=(
            "Run the suggest.watch Discord bot. Configured by environment variables or a "
            ".env file in the current folder (see .env.example); DISCORD_TOKEN is required. "
            "SIGTERM or Ctrl-C stops it cleanly."
        ),
    )


def main(argv: Sequence[str] | None = None) -> None:
    build_parser().parse_args(argv)
    try:
        settings = load_settings(DiscordSettings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        sys.exit(EXIT_CONFIG)
    discord.utils.setup_logging(level=logging.getLevelName(settings.log_level.upper()))
    try:
        asyncio.run(run_until_signalled(settings))
    except KeyboardInterrupt:  # before the handlers were in place
        pass
    except discord.LoginFailure:
        fail(
            "Discord refused DISCORD_TOKEN: check the bot token "
            "(Developer Portal > your application > Bot > Reset Token).",
            EXIT_CONFIG,
        )
    except discord.PrivilegedIntentsRequired:
        fail("Discord refused the gateway intents; this bot needs no privileged one.")
    except (
        aiohttp.ClientConnectionError,
        discord.GatewayNotFound,
        discord.DiscordServerError,
        TimeoutError,
        OSError,
    ) as exc:
        fail(f"Could not reach Discord ({describe_network_error(exc)}): check the network.")
    except SuggestWatchError as exc:
        fail(f"Could not start: {exc}")
    log.info("Stopped.")


def fail(message: str, code: int = EXIT_FAILED) -> None:
    print(message, file=sys.stderr)
    sys.exit(code)


def describe_network_error(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


if __name__ == "__main__":
    main()
