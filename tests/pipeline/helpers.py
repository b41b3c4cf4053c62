"""Shortcuts the pipeline tests share: running a suggestion, stating tastes, and reading
what the records hold through a connection of the test's own."""

from __future__ import annotations

from bot.pipeline.events import SuggestionEvent
from bot.pipeline.pipeline import Pipeline
from bot.pipeline.records import FeedbackRecord, PickRecord, Records, SuggestionRecord
from bot.settings import Settings
from tests.fakes.ollama_server import FakeOllama

TASTES = (
    "slow thoughtful sci-fi like Arrival",
    "heist movies with clever twists",
    "cozy british baking shows",
    "animated films from studio ghibli",
)


async def collect(
    pipeline: Pipeline, member: str, query: str, count: int = 4
) -> list[SuggestionEvent]:
    """Every event of one suggestion, in order."""
    return [event async for event in pipeline.suggest(member, query, count)]


async def add_tastes(pipeline: Pipeline, member: str, texts: tuple[str, ...] = TASTES) -> None:
    for text in texts:
        await pipeline.prefer(member, text)


def chat_prompt(fake: FakeOllama, index: int = -1) -> str:
    """The user turn of a chat request the fake Ollama received (the last by default)."""
    return str(fake.chat_requests[index].body["messages"][-1]["content"])


async def stored_suggestion(settings: Settings, suggestion_id: int) -> SuggestionRecord | None:
    """The suggestion as the records hold it."""
    async with Records.open(settings.sqlite_path) as records:
        return await records.suggestions.get_suggestion(suggestion_id)


async def stored_picks(settings: Settings, member: str, suggestion_id: int) -> list[PickRecord]:
    """Every pick of the suggestion the records hold, shown or left out."""
    async with Records.open(settings.sqlite_path) as records:
        return await records.picks.list_picks(member, suggestion_id)


async def stored_feedback(settings: Settings, suggestion_id: int) -> list[FeedbackRecord]:
    """The reactions the records hold for the suggestion's messages."""
    async with Records.open(settings.sqlite_path) as records:
        return await records.suggestions.list_feedback(suggestion_id)
