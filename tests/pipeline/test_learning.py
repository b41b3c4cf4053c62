"""Picks that learn: ratings per pick, the next prompt, repeats left out, history."""

from __future__ import annotations

import math

import pytest

from bot.errors import InputError
from bot.pipeline.domain import Rating
from bot.pipeline.events import Finished, PicksUpdated, Retrieved, SuggestionEvent
from bot.pipeline.learning import cosine_scores
from bot.pipeline.picks import LeftOut
from bot.pipeline.pipeline import Pipeline, open_pipeline
from bot.settings import Settings
from tests.fakes.ollama_server import DEFAULT_PICKS, MORE_PICKS, FakeOllama
from tests.pipeline.helpers import stored_picks

DARK = DEFAULT_PICKS[3]


async def collect(
    pipeline: Pipeline, member: str = "alice", count: int = 4
) -> list[SuggestionEvent]:
    return [event async for event in pipeline.suggest(member, "thoughtful sci-fi", count)]


async def finished(pipeline: Pipeline, member: str = "alice", count: int = 4) -> Finished:
    last = (await collect(pipeline, member, count))[-1]
    assert isinstance(last, Finished)
    return last


def prompt_of(fake: FakeOllama) -> str:
    return fake.chat_requests[-1].body["messages"][-1]["content"]


def shown_titles(events: list[SuggestionEvent]) -> set[str]:
    """Every title that was ever shown while the answer streamed."""
    return {pick.title for e in events if isinstance(e, PicksUpdated) for pick in e.picks}


async def test_rating_a_whole_suggestion_rates_every_pick_and_undo_takes_it_back(
    pipeline: Pipeline,
) -> None:
    first = await finished(pipeline)

    rated = await pipeline.rate("alice", first.suggestion_id, Rating.LIKED, source="👍")
    assert [pick.rating for pick in rated] == [Rating.LIKED] * 4

    await pipeline.unrate("alice", first.suggestion_id, Rating.LIKED, source="👍")
    assert [pick.rating for pick in await pipeline.picks("alice", first.suggestion_id)] == [
        None
    ] * 4


async def test_rating_one_pick_changes_only_that_pick(pipeline: Pipeline) -> None:
    first = await finished(pipeline)

    await pipeline.rate("alice", first.suggestion_id, Rating.SEEN, position=2)

    ratings = [pick.rating for pick in await pipeline.picks("alice", first.suggestion_id)]
    assert ratings == [None, Rating.SEEN, None, None]
    await pipeline.rate("alice", first.suggestion_id, None, position=2)
    assert (await pipeline.picks("alice", first.suggestion_id))[1].rating is None


async def test_only_the_member_who_asked_can_rate(pipeline: Pipeline) -> None:
    first = await finished(pipeline)

    with pytest.raises(InputError, match=f"no suggestion #{first.suggestion_id}"):
        await pipeline.rate("bob", first.suggestion_id, Rating.NOT_FOR_ME)
    with pytest.raises(InputError, match="picks 1 to 4, not 7"):
        await pipeline.rate("alice", first.suggestion_id, Rating.LIKED, position=7)
    assert all(p.rating is None for p in await pipeline.picks("alice", first.suggestion_id))


async def test_the_next_prompt_holds_liked_avoided_and_already_suggested_titles(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    first = await finished(pipeline)
    await pipeline.rate("alice", first.suggestion_id, Rating.LIKED, position=1)  # Arrival
    await pipeline.rate("alice", first.suggestion_id, Rating.NOT_FOR_ME, position=3)  # Moon
    await pipeline.rate("alice", first.suggestion_id, Rating.SEEN, position=4)  # Dark

    events = await collect(pipeline)

    prompt = prompt_of(fake_ollama)
    liked = prompt.index('"Arrival (2016): A linguist races')
    avoided = prompt.index('- "Moon (2009)"', prompt.index("not for me"))
    not_again = prompt.index("Do not suggest these again")
    assert liked < avoided < not_again
    assert '- "The Leftovers (2014)"' in prompt[not_again:]  # suggested last time
    assert '- "Dark (2017)"' in prompt[not_again:]  # seen
    retrieved = events[0]
    assert isinstance(retrieved, Retrieved)
    assert retrieved.liked_examples == ("Arrival (2016): " + DEFAULT_PICKS[0]["description"],)
    assert retrieved.avoided_count == 3  # Moon; Leftovers and Dark


async def test_other_members_ratings_never_reach_the_prompt(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    bobs = await finished(pipeline, "bob")
    await pipeline.rate("bob", bobs.suggestion_id, Rating.NOT_FOR_ME)

    await collect(pipeline, "alice")

    assert "Arrival" not in prompt_of(fake_ollama)


async def test_a_repeat_of_a_disliked_or_suggested_title_is_never_shown_and_the_count_holds(
    pipeline: Pipeline, settings: Settings, fake_ollama: FakeOllama
) -> None:
    fake_ollama.picks = [DEFAULT_PICKS[0], DEFAULT_PICKS[1]]
    first = await finished(pipeline, count=2)
    await pipeline.rate("alice", first.suggestion_id, Rating.NOT_FOR_ME, position=2)
    # The model repeats both anyway (one re-spelt), then writes new ones.
    fake_ollama.picks = [
        dict(DEFAULT_PICKS[1], title="the leftovers"),
        DEFAULT_PICKS[0],
        DEFAULT_PICKS[2],
        *MORE_PICKS,
    ]

    events = await collect(pipeline, count=2)

    assert shown_titles(events) == {"Moon", "Annihilation"}
    last = events[-1]
    assert isinstance(last, Finished)
    assert [pick.title for pick in last.picks] == ["Moon", "Annihilation"]
    assert last.left_out_count == 2
    stored = await stored_picks(settings, "alice", last.suggestion_id)
    assert [(p.title, p.shown_position, p.left_out) for p in stored] == [
        ("the leftovers", None, LeftOut.DISLIKED),
        ("Arrival", None, LeftOut.SUGGESTED),
        ("Moon", 1, None),
        ("Annihilation", 2, None),
        ("Severance", None, LeftOut.SPARE),
    ]


async def test_the_model_is_stopped_once_a_spare_starts(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    fake_ollama.picks = [*DEFAULT_PICKS, *MORE_PICKS]
    fake_ollama.tokens_per_second = 400  # so the rest is still unsent when it stops

    last = await finished(pipeline, count=2)

    assert [pick.title for pick in last.picks] == ["Arrival", "The Leftovers"]
    await fake_ollama.wait_for(lambda: fake_ollama.streams_closed_early == 1)
    assert "Dark" not in last.text  # never generated


async def test_the_no_repeat_window_is_a_setting(
    settings: Settings, fake_ollama: FakeOllama
) -> None:
    async with open_pipeline(settings.model_copy(update={"no_repeat_window": 0})) as pipeline:
        await finished(pipeline)
        events = await collect(pipeline)
    assert "suggested lately" not in prompt_of(fake_ollama)
    assert shown_titles(events) == {pick["title"] for pick in DEFAULT_PICKS}


async def test_the_liked_picks_most_similar_to_the_request_are_the_examples(
    settings: Settings, fake_ollama: FakeOllama
) -> None:
    fake_ollama.picks = [
        dict(DEFAULT_PICKS[0], description="thoughtful sci-fi about language"),
        dict(DEFAULT_PICKS[1], description="a grim small-town drama"),
    ]
    async with open_pipeline(settings.model_copy(update={"liked_examples": 1})) as pipeline:
        first = await finished(pipeline, count=2)
        await pipeline.rate("alice", first.suggestion_id, Rating.LIKED)
        embeds_before = len(fake_ollama.embed_requests)
        await collect(pipeline)
        await collect(pipeline)

    prompt = prompt_of(fake_ollama)
    assert '"Arrival (2016): thoughtful sci-fi about language"' in prompt
    assert "grim small-town drama" not in prompt
    # Liked picks are embedded once and kept; later requests embed only the query.
    assert len(fake_ollama.embed_requests) - embeds_before == 3


async def test_history_lists_shown_picks_newest_first_with_ratings(pipeline: Pipeline) -> None:
    fake_ollama_picks = [p["title"] for p in DEFAULT_PICKS]
    first = await finished(pipeline)
    await pipeline.rate("alice", first.suggestion_id, Rating.LIKED, position=1)

    history = await pipeline.past_picks("alice")

    assert [pick.title for pick in history] == fake_ollama_picks
    assert [pick.rating for pick in history] == [Rating.LIKED, None, None, None]
    assert history[0].query == "thoughtful sci-fi"
    assert await pipeline.past_picks("bob") == []


async def test_forgetting_history_erases_picks_and_ratings_and_learning(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    first = await finished(pipeline)
    await pipeline.rate("alice", first.suggestion_id, Rating.NOT_FOR_ME)
    await finished(pipeline, "bob")

    assert await pipeline.erase_suggestions("alice") == 1

    assert await pipeline.past_picks("alice") == []
    assert len(await pipeline.past_picks("bob")) == 4
    await collect(pipeline)
    assert "Arrival" not in prompt_of(fake_ollama)


def test_cosine_scores_are_each_vectors_similarity_to_the_query() -> None:
    scores = cosine_scores([1.0, 0.0], [[2.0, 0.0], [0.0, 3.0], [1.0, 1.0], [0.0, 0.0]])

    assert scores == pytest.approx([1.0, 0.0, 1 / math.sqrt(2), 0.0])
    assert cosine_scores([0.0, 0.0], [[1.0, 0.0]]) == [0.0]
    assert cosine_scores([1.0, 0.0], []) == []
