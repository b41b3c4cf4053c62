"""Meta-test: every extension loads, and no two commands share a name."""

from __future__ import annotations

import pkgutil

import pytest

import bot.discord_bot.exts as exts
from bot.discord_bot.client import EXTENSIONS, SuggestWatchBot
from bot.settings import DiscordSettings


@pytest.fixture
async def offline_bot(tmp_path) -> SuggestWatchBot:
    settings = DiscordSettings(discord_token="x", data_dir=tmp_path, _env_file=None)
    return SuggestWatchBot(pipeline=None, settings=settings)  # type: ignore[arg-type]


def test_every_extension_module_is_listed() -> None:
    found = {f"{exts.__name__}.{module.name}" for module in pkgutil.iter_modules(exts.__path__)}
    assert found == set(EXTENSIONS)


@pytest.mark.parametrize("extension", EXTENSIONS)
async def test_extension_loads(offline_bot: SuggestWatchBot, extension: str) -> None:
    await offline_bot.load_extension(extension)
    assert extension in offline_bot.extensions


async def test_command_names_are_unique(offline_bot: SuggestWatchBot) -> None:
    for extension in EXTENSIONS:
        await offline_bot.load_extension(extension)
    names = [command.qualified_name for command in offline_bot.tree.walk_commands()]
    assert len(names) == len(set(names))
    assert len(names) >= 5
