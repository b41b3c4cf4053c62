"""End-to-end fixtures: the real bot against the fake Discord and the fake Ollama.

`harness` starts both fakes, opens the real pipeline on a temporary DATA_DIR and runs
`SuggestWatchBot` logged in to the fake Discord. Tests act as members through the
fake (`harness.slash(...)`) and look at what Discord would show (`harness.fake`).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.discord_bot.client import SuggestWatchBot
from bot.discord_bot.layout import picks_text
from bot.discord_bot.streaming import STILL_WRITING_MARK, WriteBudget
from bot.pipeline.domain import PickDraft
from bot.pipeline.pipeline import Pipeline, open_pipeline
from bot.pipeline.records import Records
from bot.settings import DiscordSettings
from tests.fakes.discord_server import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.ollama_server import DEFAULT_PICKS, FakeOllama
from tests.fakes.wikidata_server import FakeWikidata

EDIT_INTERVAL = 0.2  # the smallest STREAM_EDIT_INTERVAL the settings allow
# Discord's write budget (5 writes in any 5 s) scaled down with the interval, on both
# sides: the fake Discord enforces it with 429s, the bot paces itself by it.
WRITE_BUDGET = WriteBudget(writes=5, window=1.0)
ALICE = 111_111_111_111_111_111
BOB = 222_222_222_222_222_222
NO_PINGS = {"parse": []}
# The fake's default picks as a finished reply shows them.
ALL_PICKS = picks_text(tuple(PickDraft(**pick, is_complete=True) for pick in DEFAULT_PICKS))


@pytest.fixture
async def fake_ollama() -> AsyncIterator[FakeOllama]:
    """The fake Ollama with small embeddings (fast) and an instant answer by default."""
    async with FakeOllama(embed_dim=32) as fake:
        yield fake


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(write_budget=(WRITE_BUDGET.writes, WRITE_BUDGET.window)) as fake:
        yield fake


def make_settings(
    fake_ollama: FakeOllama, fake_discord: FakeDiscord, data_dir: Path, **overrides: Any
) -> DiscordSettings:
    values: dict[str, Any] = {
        "discord_token": "fake-token",
        "discord_guild_id": fake_discord.guild_id,
        "ollama_url": fake_ollama.url,
        "data_dir": data_dir,
        "stream_edit_interval": EDIT_INTERVAL,
        "max_concurrent_generations": 2,
        "model_idle_timeout": 0.5,
        "model_first_token_timeout": 5.0,
        # Some answers here are long on purpose; the length cut has its own tests.
        "gen_num_predict": 8192,
        "_env_file": None,
    }
    values.update(overrides)
    return DiscordSettings(**values)


@dataclass
class Harness:
    """A running bot with both fakes, and the shortcuts tests need."""

    fake: FakeDiscord
    ollama: FakeOllama
    settings: DiscordSettings
    pipeline: Pipeline
    bot: SuggestWatchBot
    completed: set[int] = field(default_factory=set)  # interaction ids whose handler ended

    async def slash(
        self, name: str, options: dict[str, Any] | None = None, user: int = ALICE
    ) -> FakeInteraction:
        """Run a slash command as `user` and wait until the bot's handler is done."""
        interaction = await self.fake.dispatch_slash(name, options or {}, user_id=user)
        await self.until_done(interaction)
        return interaction

    async def until_done(self, interaction: FakeInteraction, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        await self.fake.wait_for(lambda: interaction.id in self.completed, timeout)

    async def press(
        self, custom_id: str, message: FakeMessage, user: int = ALICE
    ) -> FakeInteraction:
        pressed = await self.fake.dispatch_component(custom_id, message.id, user_id=user)
        await self.fake.wait_for(lambda: pressed.is_acknowledged)
        return pressed

    def answer_of(self, interaction: FakeInteraction) -> str:
        """Everything a member reads in the reply: all its messages, in order."""
        return "\n".join(message.content for message in self.fake.replies(interaction.token))

    def private_reply(self, interaction: FakeInteraction) -> str:
        """The text of an ephemeral answer (send_message or deferred and edited)."""
        replies = self.fake.replies(interaction.token)
        assert replies, "the bot did not answer"
        assert all(message.is_ephemeral for message in replies), "the answer was public"
        return "\n".join(message.content for message in replies)


@asynccontextmanager
async def open_records(settings: DiscordSettings) -> AsyncIterator[Records]:
    """A second connection to the bot's SQLite records, for reading what it stored."""
    async with Records.open(settings.sqlite_path) as records:
        yield records


def track_completion(bot: SuggestWatchBot, completed: set[int]) -> None:
    """Note when a command's handler ended, normally or through the error handler."""

    async def on_app_command_completion(interaction: discord.Interaction, _: Any) -> None:
        completed.add(interaction.id)

    bot.add_listener(on_app_command_completion)
    handle_error = bot.tree.on_error

    async def on_error(interaction: discord.Interaction, error: Exception) -> None:
        await handle_error(interaction, error)
        completed.add(interaction.id)

    bot.tree.on_error = on_error  # type: ignore[method-assign]


def grounded_settings(
    ollama: FakeOllama,
    fake: FakeDiscord,
    wikidata: FakeWikidata,
    data_dir: Path,
    **overrides: Any,
) -> DiscordSettings:
    """Settings with the film catalogue on, pointed at the fake Wikidata."""
    return make_settings(
        ollama,
        fake,
        data_dir,
        catalogue="wikidata",
        wikidata_api_url=wikidata.api_url,
        catalogue_contact="owner@example.org",
        **overrides,
    )


@asynccontextmanager
async def running_bot(
    fake: FakeDiscord, ollama: FakeOllama, settings: DiscordSettings
) -> AsyncIterator[Harness]:
    """Open the pipeline and run the bot against the fakes; close both on exit."""
    async with AsyncExitStack() as stack:
        pipeline = await stack.enter_async_context(open_pipeline(settings))
        bot = SuggestWatchBot(
            pipeline, settings, write_budget=WRITE_BUDGET, guild_ready_timeout=0.1
        )
        harness = Harness(fake, ollama, settings, pipeline, bot)
        track_completion(bot, harness.completed)
        await stack.enter_async_context(fake.running(bot))
        yield harness


@pytest.fixture
def settings(fake_ollama: FakeOllama, fake_discord: FakeDiscord, tmp_path: Path) -> DiscordSettings:
    return make_settings(fake_ollama, fake_discord, tmp_path / "data")


@pytest.fixture
async def harness(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, settings: DiscordSettings
) -> AsyncIterator[Harness]:
    async with running_bot(fake_discord, fake_ollama, settings) as running:
        yield running
        assert_no_pings(fake_discord)


def assert_no_pings(fake: FakeDiscord) -> None:
    """Every message the bot sent or edited allowed no mentions at all."""
    for request in fake.sent_payloads():
        body = request.json
        data = body.get("data", {}) if "type" in body and "data" in body else body
        assert data.get("allowed_mentions") == NO_PINGS, (
            f"{request.method} {request.path} may ping: {data.get('allowed_mentions')!r}"
        )


def is_written(message: FakeMessage | None) -> bool:
    """The message shows final text: not loading, no "still writing" mark."""
    return (
        message is not None
        and not message.flags & 128
        and bool(message.content)
        and STILL_WRITING_MARK.strip() not in message.content
    )


def edit_gaps(fake: FakeDiscord, message_id: int) -> list[float]:
    """Seconds between consecutive successful edits of one message, from the fake's log."""
    times = [
        request.time for request in fake.message_writes(message_id) if request.method == "PATCH"
    ]
    return [later - earlier for earlier, later in itertools.pairwise(times)]


def writes_of(fake: FakeDiscord, message_id: int) -> list[float]:
    """When the fake accepted each write (edit or send) of one message."""
    return [
        request.time
        for request in fake.message_writes(message_id)
        if request.method in ("PATCH", "POST") and request.status == 200
    ]


def assert_within_budget(fake: FakeDiscord, message_id: int) -> None:
    """No window of the budget's length saw more writes of the message than it allows."""
    times = writes_of(fake, message_id)
    for index, start in enumerate(times):
        in_window = [t for t in times[index:] if t < start + WRITE_BUDGET.window]
        assert len(in_window) <= WRITE_BUDGET.writes, f"{len(in_window)} writes in one window"


def rate_limited(fake: FakeDiscord) -> list[str]:
    """The requests the fake answered with a 429."""
    return [f"{r.method} {r.path}" for r in fake.requests if r.status == 429]


def words(text: str) -> list[str]:
    return re.findall(r"\S+", text)
