"""The bot starts against the fake Discord, syncs its commands only when they changed."""

from __future__ import annotations

import json
import logging

import discord
import pytest

from bot.discord_bot.client import SYNC_STATE_FILE, bot_intents
from bot.settings import DiscordSettings
from tests.discord_bot.conftest import make_settings, running_bot
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.ollama_server import FakeOllama

COMMANDS = {
    "help",
    "prefer",
    "tastes",
    "forget",
    "suggest",
    "history",
    "rate",
    "watchlist",
    "import",
    "movienight",
    "privacy",
}
GUILD_SYNC = r"/applications/\d+/guilds/\d+/commands"
GLOBAL_SYNC = r"/applications/\d+/commands"


async def test_first_start_syncs_the_commands_to_the_dev_guild(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, settings: DiscordSettings
) -> None:
    async with running_bot(fake_discord, fake_ollama, settings):
        pass

    assert len(fake_discord.requests_matching("PUT", GUILD_SYNC)) == 1
    assert not fake_discord.requests_matching("PUT", GLOBAL_SYNC)
    assert {command["name"] for command in fake_discord.commands[fake_discord.guild_id]} == COMMANDS
    assert (settings.data_dir / SYNC_STATE_FILE).exists()


async def test_a_restart_with_unchanged_commands_does_not_sync_again(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, settings: DiscordSettings
) -> None:
    async with running_bot(fake_discord, fake_ollama, settings):
        pass
    async with running_bot(fake_discord, fake_ollama, settings):
        pass

    assert len(fake_discord.requests_matching("PUT", GUILD_SYNC)) == 1
    assert len(fake_discord.identify_payloads) == 2


async def test_changed_commands_are_synced_again(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, settings: DiscordSettings
) -> None:
    async with running_bot(fake_discord, fake_ollama, settings):
        pass
    state_file = settings.data_dir / SYNC_STATE_FILE
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({key: "an older command set" for key in state}))

    async with running_bot(fake_discord, fake_ollama, settings):
        pass

    assert len(fake_discord.requests_matching("PUT", GUILD_SYNC)) == 2


async def test_without_a_guild_id_the_commands_are_synced_globally(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, tmp_path
) -> None:
    settings = make_settings(fake_ollama, fake_discord, tmp_path / "data", discord_guild_id=None)
    async with running_bot(fake_discord, fake_ollama, settings):
        pass

    assert len(fake_discord.requests_matching("PUT", GLOBAL_SYNC)) == 1
    assert not fake_discord.requests_matching("PUT", GUILD_SYNC)
    assert {command["name"] for command in fake_discord.commands[None]} == COMMANDS


async def test_the_bot_identifies_without_privileged_intents(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, settings: DiscordSettings
) -> None:
    async with running_bot(fake_discord, fake_ollama, settings):
        pass

    [identify] = fake_discord.identify_payloads
    intents = discord.Intents(identify["intents"])
    assert not (intents.members or intents.presences or intents.message_content)
    assert intents.guilds and intents.guild_reactions
    assert intents.guild_polls  # movie night's votes
    assert intents == bot_intents()


async def test_start_up_logs_no_warning_about_voice_libraries(
    fake_discord: FakeDiscord,
    fake_ollama: FakeOllama,
    settings: DiscordSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = True  # as on a fresh import
    with caplog.at_level(logging.WARNING, logger="discord"):
        async with running_bot(fake_discord, fake_ollama, settings):
            pass
    assert not [r for r in caplog.records if "voice will NOT be supported" in r.getMessage()]
