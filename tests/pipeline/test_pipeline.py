"""The pipeline as front ends open it: everything survives a restart, feedback is linked."""

from bot.pipeline.domain import SuggestionStatus
from bot.pipeline.events import Finished, Retrieved
from bot.pipeline.pipeline import Pipeline, open_pipeline
from bot.settings import Settings
from tests.pipeline.helpers import (
    TASTES,
    add_tastes,
    collect,
    stored_feedback,
    stored_suggestion,
)


async def test_tastes_and_vectors_survive_a_restart(settings: Settings) -> None:
    async with open_pipeline(settings) as pipeline:
        await add_tastes(pipeline, "alice")
        finished = (await collect(pipeline, "alice", "baking"))[-1]
        assert isinstance(finished, Finished)
    async with open_pipeline(settings) as pipeline:
        assert [t.text for t in await pipeline.tastes("alice")] == list(TASTES)
        retrieved = (await collect(pipeline, "alice", "cozy baking shows"))[0]
        assert isinstance(retrieved, Retrieved)
        assert retrieved.matches[0].text == "cozy british baking shows"
    stored = await stored_suggestion(settings, finished.suggestion_id)
    assert stored is not None and stored.status is SuggestionStatus.COMPLETE


async def test_feedback_is_stored_only_for_a_suggestions_messages(
    pipeline: Pipeline, settings: Settings
) -> None:
    finished = (await collect(pipeline, "alice", "noir"))[-1]
    assert isinstance(finished, Finished)
    await pipeline.link_message(finished.suggestion_id, 5001, 42)
    assert await pipeline.record_feedback("bob", 5001, "👍", added=True) == finished.suggestion_id
    assert await pipeline.record_feedback("bob", 9999, "👍", added=True) is None
    feedback = await stored_feedback(settings, finished.suggestion_id)
    assert [(f.member_id, f.emoji, f.added) for f in feedback] == [("bob", "👍", True)]
