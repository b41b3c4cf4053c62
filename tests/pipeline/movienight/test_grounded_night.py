"""A movie night with the film catalogue on: picks checked like a suggestion's, an
invented one replaced by a spare before the vote."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.pipeline.catalogue import CheckState
from bot.pipeline.events import Finished
from bot.pipeline.movienight import NightStarted
from bot.pipeline.pipeline import Pipeline, open_pipeline
from bot.settings import Settings
from tests.fakes.ollama_server import DEFAULT_PICKS, FakeOllama
from tests.fakes.wikidata_server import FakeWikidata
from tests.pipeline.helpers import add_tastes

INVENTED = {**DEFAULT_PICKS[0], "title": "Zorblax Rising", "year": 2001}


@pytest.fixture
def settings(fake_ollama: FakeOllama, fake_wikidata: FakeWikidata, tmp_path: Path) -> Settings:
    return Settings(
        ollama_url=fake_ollama.url,
        data_dir=tmp_path / "data",
        catalogue="wikidata",
        wikidata_api_url=fake_wikidata.api_url,
        catalogue_contact="owner@example.org",
        catalogue_deadline=2.0,
        _env_file=None,
    )


@pytest.fixture
async def pipeline(settings: Settings) -> AsyncIterator[Pipeline]:
    async with open_pipeline(settings) as opened:
        yield opened


async def test_a_nights_picks_are_checked_and_an_invented_one_is_replaced(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    await add_tastes(pipeline, "alice", ("slow thoughtful sci-fi",))
    await add_tastes(pipeline, "bob", ("heist movies with twists",))
    fake_ollama.picks = [INVENTED, *DEFAULT_PICKS]
    nights = pipeline.movie_nights
    plan = await nights.plan("alice", ["bob"])

    events = [event async for event in nights.run(plan, "", 3)]

    finished = events[-1]
    assert isinstance(finished, Finished)
    # The spare takes the number of the pick the catalogue does not know.
    assert [pick.title for pick in finished.picks] == ["Moon", "Arrival", "The Leftovers"]
    assert all(
        pick.check is not None and pick.check.state is CheckState.VERIFIED
        for pick in finished.picks
    )
    started = events[0]
    assert isinstance(started, NightStarted)
    night = await nights.night(started.night_id)
    assert night is not None
    assert [pick.title for pick in night.picks] == ["Moon", "Arrival", "The Leftovers"]
