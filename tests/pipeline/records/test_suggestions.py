"""Suggestions as they run and end, their linked messages and replies, and feedback."""

from pathlib import Path

import pytest

from bot.pipeline.domain import GenerationStats, MatchedTaste, SuggestionStatus, SuggestionTimings
from bot.pipeline.records import Records


async def test_a_suggestion_is_recorded_with_matches_timings_and_outcome(records: Records) -> None:
    matches = [MatchedTaste(3, "noir", 0.75)]
    suggestion_id = await records.suggestions.start_suggestion(
        "alice",
        "dark films",
        4,
        matches,
        "llama3.1:8b",
        SuggestionTimings(embed_seconds=0.01, search_seconds=0.002),
    )
    await records.suggestions.finish_suggestion(
        suggestion_id,
        text="1. **Se7en (1995)**",
        status=SuggestionStatus.COMPLETE,
        timings=SuggestionTimings(first_token_seconds=0.5, generation_seconds=4.0),
        stats=GenerationStats(completion_tokens=40, eval_seconds=2.0),
    )
    stored = await records.suggestions.get_suggestion(suggestion_id)
    assert stored is not None
    assert stored.matches == (MatchedTaste(3, "noir", 0.75),)
    assert stored.status is SuggestionStatus.COMPLETE
    assert stored.text == "1. **Se7en (1995)**"
    assert stored.timings.embed_seconds == pytest.approx(0.01)
    assert stored.timings.first_token_seconds == pytest.approx(0.5)
    assert stored.tokens_per_second == pytest.approx(20.0)


async def test_a_suggestion_whose_owner_is_gone_is_interrupted_with_its_checkpoint(
    db_path: Path,
) -> None:
    async with Records.open(db_path) as records:
        suggestion_id = await records.suggestions.start_suggestion(
            "alice", "q", 4, [], "m", SuggestionTimings(), owner_id="gone"
        )
        await records.suggestions.checkpoint_suggestion(suggestion_id, "1. **Heat (1995)**")
    async with Records.open(db_path) as reopened:
        assert (
            await reopened.suggestions.close_abandoned_suggestions(lambda owner: owner == "gone")
            == 1
        )
        stored = await reopened.suggestions.get_suggestion(suggestion_id)
    assert stored is not None
    assert stored.status is SuggestionStatus.INTERRUPTED
    assert stored.text == "1. **Heat (1995)**"


async def test_a_suggestion_whose_owner_lives_is_left_running(db_path: Path) -> None:
    async with Records.open(db_path) as records:
        live = await records.suggestions.start_suggestion(
            "alice", "q", 4, [], "m", SuggestionTimings(), owner_id="live"
        )
        assert (
            await records.suggestions.close_abandoned_suggestions(lambda owner: owner != "live")
            == 0
        )
        stored = await records.suggestions.get_suggestion(live)
    assert stored is not None
    assert stored.status is SuggestionStatus.RUNNING


async def test_a_checkpoint_never_reopens_a_finished_suggestion(db_path: Path) -> None:
    async with Records.open(db_path) as records:
        suggestion_id = await records.suggestions.start_suggestion(
            "alice", "q", 4, [], "m", SuggestionTimings()
        )
        await records.suggestions.finish_suggestion(
            suggestion_id, text="all", status=SuggestionStatus.COMPLETE, timings=SuggestionTimings()
        )
        await records.suggestions.checkpoint_suggestion(suggestion_id, "al")
        stored = await records.suggestions.get_suggestion(suggestion_id)
    assert stored is not None
    assert stored.text == "all"


async def test_a_reply_is_open_from_its_first_link_until_closed(db_path: Path) -> None:
    async with Records.open(db_path) as records:
        suggestion_id = await records.suggestions.start_suggestion(
            "alice", "q", 4, [], "m", SuggestionTimings(), owner_id="gone"
        )
        await records.suggestions.link_message(suggestion_id, 222, 9)
        await records.suggestions.link_message(suggestion_id, 111, 9)
        # Still running: its owner finishes it.
        assert await records.suggestions.open_replies() == []
        await records.suggestions.close_abandoned_suggestions(lambda owner: True)
        [reply] = await records.suggestions.open_replies()
        assert reply.suggestion_id == suggestion_id
        assert reply.status is SuggestionStatus.INTERRUPTED
        assert reply.messages == ((111, 9), (222, 9))
        await records.suggestions.close_reply(suggestion_id)
        # A late link does not reopen it.
        await records.suggestions.link_message(suggestion_id, 333, 9)
        assert await records.suggestions.open_replies() == []


async def test_feedback_is_kept_per_linked_message_across_a_restart(db_path: Path) -> None:
    async with Records.open(db_path) as records:
        suggestion_id = await records.suggestions.start_suggestion(
            "alice", "q", 4, [], "m", SuggestionTimings()
        )
        await records.suggestions.link_message(suggestion_id, 111, 222)
    async with Records.open(db_path) as records:
        assert await records.suggestions.suggestion_for_message(111) == suggestion_id
        assert await records.suggestions.suggestion_for_message(999) is None
        await records.suggestions.add_feedback("bob", suggestion_id, 111, "👍", added=True)
        await records.suggestions.add_feedback("bob", suggestion_id, 111, "👍", added=False)
        feedback = await records.suggestions.list_feedback(suggestion_id)
    assert [(f.member_id, f.emoji, f.added) for f in feedback] == [
        ("bob", "👍", True),
        ("bob", "👍", False),
    ]
