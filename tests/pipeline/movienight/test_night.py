"""Movie nights in the pipeline: who takes part, the blended prompt, what is left out,
the vote and what it teaches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.errors import InputError
from bot.pipeline.domain import Rating
from bot.pipeline.events import Finished
from bot.pipeline.movienight import NightStarted
from bot.pipeline.movienight.privacy import word_runs
from bot.pipeline.pipeline import Pipeline
from bot.settings import Settings
from tests.fakes.ollama_server import DEFAULT_PICKS, MORE_PICKS, FakeOllama
from tests.pipeline.helpers import add_tastes, chat_prompt

ALICE_TASTES = ("slow thoughtful sci-fi like Arrival with big ideas",)
BOB_TASTES = ("heist movies with clever twists and a charming crew",)


async def night_events(pipeline: Pipeline, members: list[str], query: str = "", count: int = 3):
    nights = pipeline.movie_nights
    plan = await nights.plan("alice", members)
    return plan, [event async for event in nights.run(plan, query, count)]


async def two_members(pipeline: Pipeline) -> None:
    await add_tastes(pipeline, "alice", ALICE_TASTES)
    await add_tastes(pipeline, "bob", BOB_TASTES)


async def test_the_prompt_blends_every_participant_under_a_label(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    await two_members(pipeline)
    await pipeline.rate("bob", await _suggested(pipeline, "bob", "Moon"), Rating.NOT_FOR_ME, 3)

    _, events = await night_events(pipeline, ["bob"], "something tense")

    prompt = chat_prompt(fake_ollama)
    assert "Member A's tastes" in prompt and "Member B's tastes" in prompt
    assert ALICE_TASTES[0] in prompt and BOB_TASTES[0] in prompt
    assert "alice" not in prompt and "bob" not in prompt
    assert '"Moon (2009)"' in prompt.split("Do not suggest these:")[1]
    started = events[0]
    assert isinstance(started, NightStarted)
    assert [(m.member_id, m.label) for m in started.members] == [
        ("alice", "Member A"),
        ("bob", "Member B"),
    ]


async def test_a_pick_any_participant_disliked_never_shows(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    await two_members(pipeline)
    suggestion_id = await _suggested(pipeline, "bob", "Arrival")
    await pipeline.rate("bob", suggestion_id, Rating.NOT_FOR_ME, position=1)
    fake_ollama.picks = [DEFAULT_PICKS[0], *MORE_PICKS, {**MORE_PICKS[0], "title": "Sunshine"}]

    _, events = await night_events(pipeline, ["bob"])

    finished = events[-1]
    assert isinstance(finished, Finished)
    assert [pick.title for pick in finished.picks] == ["Annihilation", "Severance", "Sunshine"]


async def test_taste_text_quoted_by_the_model_is_not_shown(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    await two_members(pipeline)
    fake_ollama.picks = [
        {**pick, "reasoning": f"Member B loves {BOB_TASTES[0]}."} for pick in DEFAULT_PICKS
    ]

    _, events = await night_events(pipeline, ["bob"])

    finished = events[-1]
    assert isinstance(finished, Finished)
    for pick in finished.picks:
        assert not word_runs(pick.reasoning) & word_runs(BOB_TASTES[0])


async def test_members_without_tastes_or_opted_out_are_left_out(pipeline: Pipeline) -> None:
    await two_members(pipeline)
    await add_tastes(pipeline, "carol", ("musicals",))
    await pipeline.movie_nights.set_opt_out("carol", True)

    plan = await pipeline.movie_nights.plan("alice", ["bob", "carol", "dave"])

    assert plan.participants == ("alice", "bob")
    assert plan.opted_out == ("carol",)
    assert plan.without_tastes == ("dave",)


async def test_one_member_with_tastes_is_not_enough(pipeline: Pipeline) -> None:
    await add_tastes(pipeline, "alice", ALICE_TASTES)

    plan = await pipeline.movie_nights.plan("alice", ["bob"])

    assert not plan.is_enough
    with pytest.raises(InputError):
        [event async for event in pipeline.movie_nights.run(plan, "", 3)]


async def test_more_than_ten_members_are_refused(pipeline: Pipeline) -> None:
    with pytest.raises(InputError, match="at most 10"):
        await pipeline.movie_nights.plan("alice", [f"m{n}" for n in range(10)])


async def test_the_picks_count_as_suggested_to_every_participant(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    await two_members(pipeline)
    await night_events(pipeline, ["bob"])

    past = [pick.title for pick in await pipeline.past_picks("bob")]
    events = [event async for event in pipeline.suggest("bob", "anything", 2)]

    assert past == ["Arrival", "The Leftovers", "Moon"]
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert [pick.title for pick in finished.picks] == ["Dark"]  # the night's are left out
    assert "Arrival (2016)" in chat_prompt(fake_ollama)


async def test_the_winner_has_most_votes_and_a_tie_goes_to_confidence(
    pipeline: Pipeline, settings: Settings
) -> None:
    await two_members(pipeline)
    _, events = await night_events(pipeline, ["bob"])
    started = events[0]
    assert isinstance(started, NightStarted)
    nights = pipeline.movie_nights
    await nights.open_vote(started.night_id, 1, 99, datetime.now(UTC) - timedelta(seconds=1))
    [due] = await nights.due(datetime.now(UTC))

    # Arrival (0.9) and The Leftovers (0.7) tie on one vote each.
    outcome = await nights.decide(due, {1: ["alice"], 2: ["bob"]})

    assert outcome.winner.title == "Arrival" and outcome.is_tie_broken
    night = await nights.night(started.night_id)
    assert night is not None and set(night.votes) == {("alice", 1), ("bob", 2)}
    bobs = await pipeline.past_picks("bob")
    assert {pick.title: pick.rating for pick in bobs}["The Leftovers"] is Rating.LIKED


async def test_a_members_own_rating_wins_over_their_vote(pipeline: Pipeline) -> None:
    await two_members(pipeline)
    _, events = await night_events(pipeline, ["bob"])
    started = events[0]
    assert isinstance(started, NightStarted)
    night = await pipeline.movie_nights.night(started.night_id)
    assert night is not None
    bob = next(member for member in night.members if member.member_id == "bob")
    assert bob.suggestion_id is not None
    await pipeline.rate("bob", bob.suggestion_id, Rating.NOT_FOR_ME, position=2)

    await pipeline.movie_nights.decide(night, {2: ["bob"]})

    picks = await pipeline.picks("bob", bob.suggestion_id)
    assert picks[1].rating is Rating.NOT_FOR_ME


async def test_votes_and_nights_are_erased_with_a_members_history(pipeline: Pipeline) -> None:
    await two_members(pipeline)
    _, events = await night_events(pipeline, ["bob"])
    started = events[0]
    assert isinstance(started, NightStarted)
    night = await pipeline.movie_nights.night(started.night_id)
    assert night is not None
    await pipeline.movie_nights.decide(night, {1: ["bob"]})

    await pipeline.erase_suggestions("bob")

    night = await pipeline.movie_nights.night(started.night_id)
    assert night is not None
    assert [member.member_id for member in night.members] == ["alice"]
    assert night.votes == ()
    await pipeline.erase_suggestions("alice")
    assert await pipeline.movie_nights.night(started.night_id) is None


async def _suggested(pipeline: Pipeline, member: str, title: str) -> int:
    """A suggestion of `member` whose picks include `title` (the fake's defaults)."""
    events = [event async for event in pipeline.suggest(member, f"like {title}", 4)]
    finished = events[-1]
    assert isinstance(finished, Finished)
    assert title in [pick.title for pick in finished.picks]
    return finished.suggestion_id


async def test_a_watchlisted_title_is_welcome_unless_someone_avoids_it(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    await two_members(pipeline)
    await add_tastes(pipeline, "carol", ("musicals",))
    # Bob saves Arrival and Moon to his watchlist; Carol has seen Moon.
    bobs = await _suggested(pipeline, "bob", "Arrival")
    await pipeline.library.save_pick("bob", bobs, 1)
    await pipeline.library.save_pick("bob", bobs, 3)
    carols = await _suggested(pipeline, "carol", "Moon")
    await pipeline.rate("carol", carols, Rating.SEEN, position=3)
    fake_ollama.picks = [*DEFAULT_PICKS, *MORE_PICKS]

    _, events = await night_events(pipeline, ["bob", "carol"])

    prompt = chat_prompt(fake_ollama)
    welcome = prompt.split("they want to see these")[1].split("\n\n")[0]
    assert '"Arrival (2016)"' in welcome and "Moon" not in welcome
    avoided = prompt.split("Do not suggest these:")[1].split("\n\n")[0]
    assert "Arrival" not in avoided and '"Moon (2009)"' in avoided
    finished = events[-1]
    assert isinstance(finished, Finished)
    titles = [pick.title for pick in finished.picks]
    assert "Arrival" in titles and "Moon" not in titles
