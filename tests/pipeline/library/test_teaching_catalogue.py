"""With the film catalogue: an imported title matched to its QID is left out under any
of its names."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.pipeline.events import Finished
from bot.pipeline.pipeline import Pipeline, open_pipeline
from bot.settings import Settings
from tests.fakes.exports import letterboxd_row, letterboxd_zip
from tests.fakes.ollama_server import DEFAULT_PICKS, MORE_PICKS, FakeOllama
from tests.fakes.wikidata_server import FakeWikidata


@pytest.fixture
async def pipeline(
    fake_ollama: FakeOllama, fake_wikidata: FakeWikidata, tmp_path: Path
) -> AsyncIterator[Pipeline]:
    settings = Settings(
        ollama_url=fake_ollama.url,
        data_dir=tmp_path / "data",
        min_taste_similarity=-1.0,
        catalogue="wikidata",
        wikidata_api_url=fake_wikidata.api_url,
        catalogue_contact="owner@example.org",
        catalogue_deadline=2.0,
        _env_file=None,
    )
    async with open_pipeline(settings) as opened:
        yield opened


async def test_an_imported_film_matched_to_its_qid_is_left_out_under_another_name(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    export = letterboxd_zip({"ratings.csv": [letterboxd_row("Arrival", 2016, 1)]})
    await pipeline.library.store_import("alice", pipeline.library.read_import(export, "x.zip"))
    matched = await pipeline.library.match_titles("alice")
    assert (matched.checked, matched.not_found) == (1, 0)
    # "Arrival: First Contact" is another name of the film the catalogue knows as Arrival.
    fake_ollama.picks = [{**DEFAULT_PICKS[0], "title": "Arrival: First Contact"}, *MORE_PICKS]

    events = [event async for event in pipeline.suggest("alice", "sci-fi", 1)]

    finished = events[-1]
    assert isinstance(finished, Finished)
    assert [pick.title for pick in finished.picks] == ["Annihilation"]
