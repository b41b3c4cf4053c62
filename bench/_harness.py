"""Setting the scene for a benchmark: settings, a member's tastes, requests, and the
Discord bot logged in to the fake Discord in the fakes' process."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bench._remote import RemoteFakes
from bot.pipeline.pipeline import Pipeline
from bot.settings import DiscordSettings, Settings

if TYPE_CHECKING:
    from bot.discord_bot.client import SuggestWatchBot

EMBED_DIM = 1024  # bge-large's, as in production
EDIT_INTERVAL = 1.0  # STREAM_EDIT_INTERVAL's default

_MOODS = (
    "slow", "tense", "funny", "bleak", "warm", "strange", "quiet", "loud", "clever",
    "gentle", "brutal", "dreamy", "witty", "dark", "hopeful", "melancholy", "cosy",
    "epic", "intimate", "absurd",
)  # fmt: skip
_KINDS = (
    "science fiction", "heist films", "courtroom dramas", "anime series", "westerns",
    "war films", "romantic comedies", "murder mysteries", "space operas", "documentaries",
    "horror films", "sitcoms", "period dramas", "road movies", "spy thrillers",
    "animated features", "sports dramas", "musicals", "noir", "fantasy epics",
)  # fmt: skip
_DETAILS = (
    "with a twist ending", "about families", "set in Japan", "from the seventies",
    "with great scores", "told out of order", "about grief", "with unreliable narrators",
    "shot in black and white", "about friendship", "with long takes", "set at sea",
    "about artificial intelligence", "with ensemble casts", "about small towns",
    "with morally grey heroes", "set in the future", "about music", "in French",
    "about time travel", "with practical effects", "about heists gone wrong",
    "with strong women leads", "set in winter", "about outsiders",
)  # fmt: skip


def taste_texts(count: int, seed: int = 7) -> list[str]:
    """`count` distinct, plausible tastes (up to 10,000), shuffled reproducibly."""
    combos = list(itertools.product(_MOODS, _KINDS, _DETAILS))  # 10,000 of them
    if count > len(combos):
        raise ValueError(f"at most {len(combos)} distinct tastes")
    random.Random(seed).shuffle(combos)
    return [f"I love {mood} {kind} {detail}" for mood, kind, detail in combos[:count]]


def request_text(tag: int) -> str:
    """A /suggest request carrying the `bench-N` tag that ties it to the fakes' logs."""
    return f"bench-{tag} something tense and clever for tonight, maybe science fiction"


# The fake answers every request with the same picks: without this, every suggestion
# after a member's first would leave them all out as already suggested.
NO_REPEAT_WINDOW = 0


def pipeline_settings(fakes: RemoteFakes, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "ollama_url": fakes.ollama_url,
        "data_dir": data_dir,
        "max_tastes_per_member": 10_000,
        "no_repeat_window": NO_REPEAT_WINDOW,
        "catalogue": "off",  # the catalogue rows point it at the fake Wikidata
        "_env_file": None,
    }
    values.update(overrides)
    return Settings(**values)


async def discord_settings(fakes: RemoteFakes, data_dir: Path, **overrides: Any) -> DiscordSettings:
    ids = await fakes.call("discord_ids")
    values: dict[str, Any] = {
        "discord_token": "fake-token",
        "discord_guild_id": ids["guild_id"],
        "ollama_url": fakes.ollama_url,
        "data_dir": data_dir,
        "stream_edit_interval": EDIT_INTERVAL,
        "no_repeat_window": NO_REPEAT_WINDOW,
        "catalogue": "off",
        "_env_file": None,
    }
    values.update(overrides)
    return DiscordSettings(**values)


async def add_tastes(pipeline: Pipeline, member_id: str, count: int) -> None:
    """Store tastes the way a member does, through `/prefer`'s pipeline call."""
    for text in taste_texts(count):
        await pipeline.prefer(member_id, text)


def members(count: int, first: int = 100_000_000_000_000_000) -> Iterator[int]:
    """Discord-like member ids."""
    return iter(range(first, first + count))


class Completions(set[int]):
    """Ids of interactions whose command handler has ended; waitable."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = asyncio.Event()

    def add(self, interaction_id: int) -> None:
        super().add(interaction_id)
        self._changed.set()

    async def wait_for(self, interaction_ids: Iterable[int], timeout: float) -> None:  # noqa: ASYNC109
        """Until every one of `interaction_ids` has ended, or `TimeoutError`."""
        wanted = set(interaction_ids)
        async with asyncio.timeout(timeout):
            while not wanted <= self:
                self._changed.clear()
                await self._changed.wait()


@asynccontextmanager
async def running_bot(
    fakes: RemoteFakes, pipeline: Pipeline, settings: DiscordSettings
) -> AsyncIterator[tuple[SuggestWatchBot, Completions]]:
    """The real bot, logged in to the fake Discord in the fakes' process.

    As the Discord tests do (tests/discord_bot/conftest.py), with one difference: the
    fake runs in another process, so an unstarted `FakeDiscord` that only knows the
    remote URL does the pointing of discord.py and the log-in (`FakeDiscord.running`).
    Yields the bot and the ids of the interactions whose command handler has ended.
    """
    from bot.discord_bot.client import SuggestWatchBot
    from tests.discord_bot.conftest import track_completion
    from tests.fakes.discord_server import FakeDiscord

    pointer = FakeDiscord()
    pointer.url = fakes.discord_url
    async with AsyncExitStack() as stack:
        bot = SuggestWatchBot(pipeline, settings, guild_ready_timeout=0.1)
        completed = Completions()
        track_completion(bot, completed)
        await stack.enter_async_context(pointer.running(bot))
        yield bot, completed
