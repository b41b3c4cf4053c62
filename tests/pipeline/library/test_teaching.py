"""What the library teaches the next suggestion: examples, titles to avoid, the watchlist."""

from __future__ import annotations

from bot.pipeline.events import Finished, PicksUpdated, Retrieved, SuggestionEvent
from bot.pipeline.pipeline import Pipeline
from tests.fakes.exports import letterboxd_row, letterboxd_zip
from tests.fakes.ollama_server import DEFAULT_PICKS, MORE_PICKS, FakeOllama


async def collect(pipeline: Pipeline, count: int = 2) -> list[SuggestionEvent]:
    return [event async for event in pipeline.suggest("alice", "thoughtful sci-fi", count)]


def shown(events: list[SuggestionEvent]) -> list[str]:
    last = events[-1]
    assert isinstance(last, Finished)
    return [pick.title for pick in last.picks]


def ever_shown(events: list[SuggestionEvent]) -> set[str]:
    return {pick.title for e in events if isinstance(e, PicksUpdated) for pick in e.picks}


def prompt_of(fake: FakeOllama) -> str:
    return str(fake.chat_requests[-1].body["messages"][-1]["content"])


async def import_history(pipeline: Pipeline) -> None:
    export = letterboxd_zip(
        {
            "ratings.csv": [letterboxd_row("Arrival", 2016, 5), letterboxd_row("Moon", 2009, 1)],
            "watched.csv": [letterboxd_row("Dark", 2017)],
            "watchlist.csv": [letterboxd_row("The Leftovers", 2014)],
        }
    )
    parsed = pipeline.library.read_import(export, "letterboxd.zip")
    await pipeline.library.store_import("alice", parsed)


async def test_after_an_import_the_prompt_learns_from_it(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    await import_history(pipeline)

    events = await collect(pipeline)

    prompt = prompt_of(fake_ollama)
    liked = prompt.index('- "Arrival (2016)')
    disliked = prompt.index('- "Moon (2009)"', prompt.index("not for me"))
    not_again = prompt.index("Do not suggest these again")
    assert liked < disliked < not_again
    assert '- "Dark (2017)"' in prompt[not_again:]
    assert '- "The Leftovers (2014)"' in prompt[not_again:]
    retrieved = events[0]
    assert isinstance(retrieved, Retrieved)
    assert retrieved.liked_examples == ("Arrival (2016)",)


async def test_imported_and_watchlisted_titles_the_model_suggests_anyway_are_left_out(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    await import_history(pipeline)
    fake_ollama.picks = [*DEFAULT_PICKS, *MORE_PICKS]

    events = await collect(pipeline, count=2)

    assert shown(events) == ["Annihilation", "Severance"]
    assert not ever_shown(events) & {"Arrival", "Moon", "Dark", "The Leftovers"}


async def test_a_title_saved_to_the_watchlist_is_not_offered_again(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    first = await collect(pipeline, count=2)
    last = first[-1]
    assert isinstance(last, Finished) and last.suggestion_id is not None
    saved = await pipeline.library.save_pick("bob", last.suggestion_id, 2)
    assert saved.title == "The Leftovers"
    fake_ollama.picks = [*DEFAULT_PICKS, *MORE_PICKS]

    bobs = [event async for event in pipeline.suggest("bob", "thoughtful sci-fi", 3)]

    assert shown(bobs) == ["Arrival", "Moon", "Dark"]


async def test_the_prompt_names_at_most_max_avoided_of_ten_thousand_titles(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    rows = [letterboxd_row(f"Film {n}", 1950 + n % 70, 3) for n in range(10_000)]
    export = letterboxd_zip({"ratings.csv": rows})
    await pipeline.library.store_import("alice", pipeline.library.read_import(export, "x.zip"))

    await collect(pipeline)

    prompt = prompt_of(fake_ollama)
    named = prompt.count('- "Film ')
    assert named == pipeline.settings.max_avoided_in_prompt


async def test_of_many_titles_the_prompt_names_those_most_similar_to_the_request(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    rows = [letterboxd_row("Thoughtful Sci-Fi Night", 2001, 3)]
    rows += [letterboxd_row(f"Film {n}", 1950 + n % 70, 3) for n in range(200)]
    export = letterboxd_zip({"ratings.csv": rows})
    await pipeline.library.store_import("alice", pipeline.library.read_import(export, "x.zip"))
    await collect(pipeline)
    assert "Thoughtful Sci-Fi Night" not in prompt_of(fake_ollama)  # the oldest: cut off

    assert await pipeline.library.embed_titles("alice") == 201
    await collect(pipeline)

    assert '- "Thoughtful Sci-Fi Night (2001)"' in prompt_of(fake_ollama)
