"""`python -m bot`: a bad configuration is one line and exit code 2; good wiring connects."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from bot.__main__ import EXIT_CONFIG, main, run
from bot.settings import DiscordSettings
from tests.fakes.discord_server import FakeDiscord


def test_a_missing_token_stops_start_up_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)

    with pytest.raises(SystemExit) as exit_info:
        main([])

    assert exit_info.value.code == EXIT_CONFIG
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "DISCORD_TOKEN" in error


def test_a_bad_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token-value")
    monkeypatch.setenv("STREAM_EDIT_INTERVAL", "0.01")

    with pytest.raises(SystemExit) as exit_info:
        main([])

    assert exit_info.value.code == EXIT_CONFIG
    error = capsys.readouterr().err
    assert "STREAM_EDIT_INTERVAL" in error
    assert "secret-token-value" not in error


async def test_run_wires_the_pipeline_and_the_bot_and_connects(
    fake_discord: FakeDiscord, settings: DiscordSettings
) -> None:
    with fake_discord.patched_discord():
        running = asyncio.create_task(run(settings))
        await fake_discord.wait_for(lambda: fake_discord.ready_sessions == 1 or running.done())
        assert not running.done(), running.exception()
        interaction = await fake_discord.dispatch_slash("help")
        await fake_discord.wait_for(lambda: fake_discord.original(interaction.token))
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running

    assert fake_discord.requests_matching("PUT", r"/applications/\d+/guilds/\d+/commands")
    assert "/suggest" in fake_discord.original(interaction.token).content
