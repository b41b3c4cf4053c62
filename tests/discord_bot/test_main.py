"""`python -m bot`: a bad configuration is one line and exit code 2; good wiring connects."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.__main__ import EXIT_CONFIG, EXIT_FAILED, main, run
from bot.discord_bot import layout as render
from bot.discord_bot.streaming import STILL_WRITING_MARK
from bot.pipeline.domain import SuggestionStatus
from bot.pipeline.records import Records, SuggestionRecord
from bot.settings import DiscordSettings
from tests.discord_bot.conftest import ALICE, running_bot
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.ollama_server import FakeOllama, unused_port


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


# -- the real process: stops and restarts ----------------------------------------------------

REPO = Path(__file__).resolve().parents[2]
MARK = STILL_WRITING_MARK.strip()
PROCESS_TIMEOUT = 30.0  # start-up imports qdrant-client and discord.py on a shared CPU


class BotProcess:
    """`python -m bot` in a child process, logged in to the fake Discord."""

    def __init__(self, fake: FakeDiscord, ollama: FakeOllama, data_dir: Path) -> None:
        self.fake = fake
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GEN_", "OLLAMA_"))},
            "PYTHONPATH": str(REPO),
            "DISCORD_TOKEN": "fake-token",
            "DISCORD_GUILD_ID": str(fake.guild_id),
            "OLLAMA_URL": ollama.url,
            "DATA_DIR": str(data_dir),
            "STREAM_EDIT_INTERVAL": "0.2",
        }
        self.data_dir = data_dir
        self.log = data_dir.parent / "bot.log"
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        ready_before = self.fake.ready_sessions
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "tests.fakes.run_bot",
                self.fake.url,
                env=self.env,
                cwd=self.data_dir.parent,  # no developer's .env is read
                stdout=log,
                stderr=log,
            )
        await self.fake.wait_for(
            lambda: self.fake.ready_sessions > ready_before or self.process.returncode is not None,
            PROCESS_TIMEOUT,
        )
        assert self.process.returncode is None, self.log.read_text()

    def send(self, signal_number: int) -> None:
        assert self.process is not None
        self.process.send_signal(signal_number)

    async def exit_code(self) -> int:
        assert self.process is not None
        return await asyncio.wait_for(self.process.wait(), PROCESS_TIMEOUT)


async def wait_for_record(
    sqlite_path: Path, check: Callable[[SuggestionRecord], bool], suggestion_id: int = 1
) -> SuggestionRecord:
    """Poll the records (another process writes them) until `check` holds, bounded."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PROCESS_TIMEOUT
    async with Records.open(sqlite_path) as records:
        while True:
            stored = await records.suggestions.get_suggestion(suggestion_id)
            if stored is not None and check(stored):
                return stored
            if loop.time() > deadline:
                raise TimeoutError(f"suggestion #{suggestion_id} is {stored}")
            await asyncio.sleep(0.05)


@pytest.fixture
async def slow_ollama() -> AsyncIterator[FakeOllama]:
    """The fake Ollama writing slowly enough to be stopped mid-answer, in plain text (the
    tests read the checkpointed text back)."""
    async with FakeOllama(embed_dim=32, tokens_per_second=8, ignore_format=True) as fake:
        yield fake


async def start_answer(bot: BotProcess, fake: FakeDiscord) -> FakeMessage:
    interaction = await fake.dispatch_slash("suggest", {"query": "space"}, user_id=ALICE)
    original = await fake.wait_for(lambda: fake.original(interaction.token), PROCESS_TIMEOUT)
    await fake.wait_for(lambda: "Arrival" in original.content, PROCESS_TIMEOUT)
    return original


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
async def test_a_signal_mid_answer_finishes_the_reply_records_it_and_exits_0(
    fake_discord: FakeDiscord, slow_ollama: FakeOllama, tmp_path: Path, stop_signal: int
) -> None:
    bot = BotProcess(fake_discord, slow_ollama, tmp_path / "data")
    await bot.start()
    original = await start_answer(bot, fake_discord)

    bot.send(stop_signal)

    assert await bot.exit_code() == 0, bot.log.read_text()
    assert "Traceback" not in bot.log.read_text()
    assert MARK not in original.content
    assert original.custom_ids == []
    assert render.RESTARTING in original.content
    stored = await wait_for_record(bot.data_dir / "suggest_watch.sqlite3", lambda s: True)
    assert stored.status is SuggestionStatus.CANCELLED
    assert stored.text.startswith("1. **Arrival")
    assert stored.text.strip() in original.content  # the last edit kept all the text
    await slow_ollama.wait_for(lambda: slow_ollama.streams_closed_early == 1)


async def test_after_a_kill_the_next_start_finishes_the_reply_and_keeps_the_checkpoint(
    fake_discord: FakeDiscord, slow_ollama: FakeOllama, tmp_path: Path
) -> None:
    bot = BotProcess(fake_discord, slow_ollama, tmp_path / "data")
    sqlite_path = bot.data_dir / "suggest_watch.sqlite3"
    await bot.start()
    original = await start_answer(bot, fake_discord)
    await wait_for_record(sqlite_path, lambda stored: bool(stored.text))  # a checkpoint

    bot.send(signal.SIGKILL)
    assert await bot.exit_code() == -signal.SIGKILL
    assert MARK in original.content and original.custom_ids  # nothing tidied it
    shown = original.content.replace(STILL_WRITING_MARK, "").rstrip()
    async with Records.open(sqlite_path) as records:
        checkpointed = await records.suggestions.get_suggestion(1)
    assert checkpointed is not None and checkpointed.status is SuggestionStatus.RUNNING

    again = BotProcess(fake_discord, slow_ollama, tmp_path / "data")
    await again.start()
    await fake_discord.wait_for(lambda: render.CUT_BY_RESTART in original.content, PROCESS_TIMEOUT)
    again.send(signal.SIGTERM)
    assert await again.exit_code() == 0

    assert MARK not in original.content
    assert original.custom_ids == []
    stored = await wait_for_record(sqlite_path, lambda s: True)
    assert stored.status is SuggestionStatus.INTERRUPTED
    assert stored.text == checkpointed.text  # the record keeps its checkpoint
    assert original.content.startswith(shown)  # the message keeps what it showed


# -- start-up problems, one line each ---------------------------------------------------------


def test_help_works_with_no_configuration(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("usage: suggest-watch-bot")


async def run_to_exit(bot: BotProcess, discord_url: str | None = None) -> tuple[int, str]:
    """Start the bot process and wait for it to end by itself; its code and output."""
    with bot.log.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.fakes.run_bot",
            discord_url or bot.fake.url,
            env=bot.env,
            cwd=bot.data_dir.parent,
            stdout=log,
            stderr=log,
        )
        code = await asyncio.wait_for(process.wait(), PROCESS_TIMEOUT)
    return code, bot.log.read_text()


async def test_a_wrong_token_is_one_line(
    fake_discord: FakeDiscord,
    fake_ollama: FakeOllama,
    tmp_path: Path,
) -> None:
    fake_discord.refuse("GET", r"/users/@me", 401, 0, "401: Unauthorized")
    code, output = await run_to_exit(BotProcess(fake_discord, fake_ollama, tmp_path / "data"))
    assert code == EXIT_CONFIG
    assert "Traceback" not in output
    assert output.splitlines()[-1].startswith("Discord refused DISCORD_TOKEN")


async def test_no_network_is_one_line(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    bot = BotProcess(fake_discord, fake_ollama, tmp_path / "data")
    code, output = await run_to_exit(bot, f"http://127.0.0.1:{unused_port()}")
    assert code == EXIT_FAILED
    assert "Traceback" not in output
    assert output.splitlines()[-1].startswith("Could not reach Discord (")


async def test_a_refused_command_sync_names_the_guild_and_the_permission(
    fake_discord: FakeDiscord,
    fake_ollama: FakeOllama,
    tmp_path: Path,
) -> None:
    fake_discord.refuse("PUT", r"/applications/\d+/.*commands", 403, 50001, "Missing Access")
    code, output = await run_to_exit(BotProcess(fake_discord, fake_ollama, tmp_path / "data"))
    assert code == EXIT_FAILED
    assert "Traceback" not in output
    last = output.splitlines()[-1]
    assert last.startswith("Could not start: Discord refused to register the slash commands")
    assert f"guild {fake_discord.guild_id}" in last
    assert "Missing Access" in last and "applications.commands" in last


async def test_vectors_of_the_wrong_size_are_one_line_at_start_naming_reindex(
    fake_discord: FakeDiscord,
    fake_ollama: FakeOllama,
    settings: DiscordSettings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    async with running_bot(fake_discord, fake_ollama, settings) as before:
        await before.pipeline.prefer(str(ALICE), "film noir")
    fake_ollama.embed_dim = 16  # EMBED_MODEL changed to one with smaller vectors

    with caplog.at_level(logging.ERROR, logger="bot"):
        async with running_bot(fake_discord, fake_ollama, settings):
            pass

    [line] = [
        record.getMessage() for record in caplog.records if "another size" in record.getMessage()
    ]
    assert "\n" not in line
    assert "reindex" in line


def test_an_unusable_data_dir_stops_start_up_with_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "file").write_text("")
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token-value")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "file" / "data"))

    with pytest.raises(SystemExit) as exit_info:
        main([])

    assert exit_info.value.code == EXIT_FAILED
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert error.startswith(f"Could not start: DATA_DIR ({tmp_path / 'file' / 'data'})")
