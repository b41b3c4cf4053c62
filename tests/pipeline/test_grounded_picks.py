"""Grounded picks end to end: the pipeline with the fake Ollama and the fake Wikidata."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.pipeline.catalogue import CheckState, user_agent
from bot.pipeline.domain import PickDraft, Rating
from bot.pipeline.events import Finished, PicksUpdated, SuggestionEvent
from bot.pipeline.picks import LeftOut
from bot.pipeline.pipeline import Pipeline, open_pipeline
from bot.settings import Settings
from tests.fakes.ollama_server import DEFAULT_PICKS, MORE_PICKS, FakeOllama
from tests.fakes.wikidata_server import FakeWikidata, Fault, FaultKind, unused_port
from tests.pipeline.helpers import collect, stored_picks

CONTACT = "owner@example.org"
INVENTED = {
    "title": "Zorblax Rising",
    "year": 2001,
    "kind": "movie",
    "description": "A film no catalogue knows.",
    "reasoning": "The model made it up.",
    "confidence": 0.9,
}


def pick(title: str, year: int, kind: str = "movie") -> dict[str, Any]:
    return {**INVENTED, "title": title, "year": year, "kind": kind}


@pytest.fixture
def settings(fake_ollama: FakeOllama, fake_wikidata: FakeWikidata, tmp_path: Path) -> Settings:
    return Settings(
        ollama_url=fake_ollama.url,
        data_dir=tmp_path / "data",
        min_taste_similarity=-1.0,
        catalogue="wikidata",
        wikidata_api_url=fake_wikidata.api_url,
        catalogue_contact=CONTACT,
        catalogue_deadline=2.0,
        _env_file=None,
    )


@pytest.fixture
async def pipeline(settings: Settings) -> AsyncIterator[Pipeline]:
    async with open_pipeline(settings) as opened:
        yield opened


def finished_of(events: list[SuggestionEvent]) -> Finished:
    finished = events[-1]
    assert isinstance(finished, Finished), finished
    return finished


def titles(picks: tuple[PickDraft, ...]) -> list[str]:
    return [pick.title for pick in picks]


async def test_real_picks_show_the_catalogues_facts_and_links(pipeline: Pipeline) -> None:
    finished = finished_of(await collect(pipeline, "alice", "thoughtful sci-fi"))

    assert titles(finished.picks) == [p["title"] for p in DEFAULT_PICKS]
    arrival = finished.picks[0]
    assert arrival.check is not None and arrival.check.state is CheckState.VERIFIED
    assert arrival.check.facts is not None and arrival.check.facts.directors == ("Mara Quill",)
    assert arrival.check.links is not None
    assert arrival.check.links.imdb == "https://www.imdb.com/title/tt9000001/"
    assert all(p.check is not None and p.check.is_found for p in finished.picks)


async def test_picks_are_checking_first_and_the_records_keep_qid_and_state(
    pipeline: Pipeline, settings: Settings
) -> None:
    events = await collect(pipeline, "alice", "thoughtful sci-fi")

    first = next(event for event in events if isinstance(event, PicksUpdated))
    assert first.picks[0].check is not None
    assert first.picks[0].check.state is CheckState.CHECKING
    finished = finished_of(events)
    stored = await stored_picks(settings, "alice", finished.suggestion_id)
    shown = [record for record in stored if record.shown_position is not None]
    assert [record.qid for record in shown] == ["Q9000001", "Q9000002", "Q9000003", "Q9000004"]
    assert {record.check_state for record in shown} == {CheckState.VERIFIED}


async def test_an_invented_pick_is_replaced_by_a_spare_that_takes_its_number(
    pipeline: Pipeline, settings: Settings, fake_ollama: FakeOllama
) -> None:
    fake_ollama.picks = [INVENTED, *DEFAULT_PICKS[1:], *MORE_PICKS]

    finished = finished_of(await collect(pipeline, "alice", "sci-fi"))

    assert titles(finished.picks) == ["Annihilation", "The Leftovers", "Moon", "Dark"]
    stored = await stored_picks(settings, "alice", finished.suggestion_id)
    by_title = {record.title: record for record in stored}
    assert by_title["Zorblax Rising"].left_out is LeftOut.NOT_FOUND
    assert by_title["Zorblax Rising"].check_state is CheckState.NOT_FOUND
    assert by_title["Annihilation"].shown_position == 1


async def test_with_mark_an_invented_pick_stays_marked(
    settings: Settings, fake_ollama: FakeOllama
) -> None:
    fake_ollama.picks = [INVENTED, *DEFAULT_PICKS[1:], *MORE_PICKS]
    async with open_pipeline(settings.model_copy(update={"unverified_picks": "mark"})) as marked:
        finished = finished_of(await collect(marked, "alice", "sci-fi"))

    assert titles(finished.picks) == ["Zorblax Rising", "The Leftovers", "Moon", "Dark"]
    assert finished.picks[0].check is not None
    assert finished.picks[0].check.state is CheckState.NOT_FOUND


async def test_with_no_spare_left_an_invented_pick_stays_marked(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    fake_ollama.picks = [INVENTED, *DEFAULT_PICKS[1:]]

    finished = finished_of(await collect(pipeline, "alice", "sci-fi"))

    assert finished.picks[0].title == "Zorblax Rising"
    assert finished.picks[0].check is not None
    assert finished.picks[0].check.state is CheckState.NOT_FOUND


async def test_a_wrong_year_is_corrected(pipeline: Pipeline, fake_ollama: FakeOllama) -> None:
    fake_ollama.picks = [pick("Arrival", 2017), *DEFAULT_PICKS[1:]]

    finished = finished_of(await collect(pipeline, "alice", "sci-fi"))

    assert finished.picks[0].year == 2016
    assert finished.picks[0].check is not None
    assert finished.picks[0].check.state is CheckState.CORRECTED


async def test_a_second_suggestion_with_the_same_titles_asks_the_catalogue_nothing(
    settings: Settings, fake_wikidata: FakeWikidata
) -> None:
    repeats_allowed = settings.model_copy(update={"no_repeat_window": 0})
    async with open_pipeline(repeats_allowed) as pipeline:
        await collect(pipeline, "alice", "sci-fi")
        asked = len(fake_wikidata.requests)
        finished = finished_of(await collect(pipeline, "alice", "more sci-fi"))

    assert asked > 0
    assert len(fake_wikidata.requests) == asked
    assert all(p.check is not None and p.check.is_found for p in finished.picks)


async def test_a_slow_catalogue_does_not_delay_the_first_answer_text(
    settings: Settings, fake_wikidata: FakeWikidata
) -> None:
    fake_wikidata.latency = 2.0
    quick_deadline = settings.model_copy(update={"catalogue_deadline": 0.2})
    async with open_pipeline(quick_deadline) as pipeline:
        started = time.monotonic()
        first_text_at = None
        async for event in pipeline.suggest("alice", "sci-fi"):
            if isinstance(event, PicksUpdated) and first_text_at is None:
                first_text_at = time.monotonic() - started
            if isinstance(event, Finished):
                finished = event

    assert first_text_at is not None and first_text_at < 1.0
    assert finished.picks[0].check is not None
    assert finished.picks[0].check.state is CheckState.NOT_CHECKED


async def test_a_catalogue_that_is_down_shows_not_checked(settings: Settings) -> None:
    down = settings.model_copy(
        update={"wikidata_api_url": f"http://127.0.0.1:{unused_port()}/w/api.php"}
    )
    async with open_pipeline(down) as pipeline:
        finished = finished_of(await collect(pipeline, "alice", "sci-fi"))

    assert titles(finished.picks) == [p["title"] for p in DEFAULT_PICKS]
    assert {p.check.state for p in finished.picks if p.check} == {CheckState.NOT_CHECKED}


@pytest.mark.parametrize("kind", [FaultKind.RATE_LIMITED, FaultKind.UNAVAILABLE, FaultKind.MAXLAG])
async def test_a_busy_catalogue_is_asked_again_after_retry_after(
    pipeline: Pipeline, fake_wikidata: FakeWikidata, kind: FaultKind
) -> None:
    fake_wikidata.fault = Fault(kind, times=1, retry_after=0.3)

    finished = finished_of(await collect(pipeline, "alice", "sci-fi"))

    refused, *later = fake_wikidata.requests
    assert refused.answered_at is not None
    assert all(request.at - refused.answered_at >= 0.29 for request in later)
    assert refused.params in [request.params for request in later]  # asked again
    assert all(p.check is not None and p.check.is_found for p in finished.picks)


async def test_requests_go_one_at_a_time_with_user_agent_and_maxlag(
    pipeline: Pipeline, fake_wikidata: FakeWikidata
) -> None:
    fake_wikidata.latency = 0.02

    await collect(pipeline, "alice", "sci-fi")

    assert fake_wikidata.max_in_flight == 1
    assert {request.user_agent for request in fake_wikidata.requests} == {user_agent(CONTACT)}
    assert {request.params["maxlag"] for request in fake_wikidata.requests} == {"5"}


async def test_a_variant_title_of_a_disliked_film_never_stays(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    first = finished_of(await collect(pipeline, "alice", "sci-fi"))
    await pipeline.rate("alice", first.suggestion_id, Rating.NOT_FOR_ME, position=1)
    # "Arrival: First Contact" is another name of the film the catalogue knows as Arrival.
    fake_ollama.picks = [pick("Arrival: First Contact", 2016), *MORE_PICKS]

    second = finished_of(await collect(pipeline, "alice", "sci-fi again", count=1))

    assert titles(second.picks) == ["Annihilation"]
