"""Looking picks up: found, corrected, not found, not checked; cached; within a deadline."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.pipeline.catalogue import (
    Catalogue,
    CatalogueCache,
    CheckState,
    Deadline,
    FilmFacts,
    FilmLinks,
    WikidataClient,
)
from tests.fakes.wikidata_server import FakeWikidata, Fault, FaultKind, unused_port


async def test_a_real_pick_is_verified_with_its_facts_and_links(catalogue: Catalogue) -> None:
    found = await catalogue.lookup("Arrival", 2016, "movie")

    assert found.state is CheckState.VERIFIED
    assert found.qid == "Q9000001"
    assert found.facts == FilmFacts(
        title="Arrival",
        year=2016,
        kind="movie",
        genres=("science fiction film", "drama film"),
        runtime_minutes=116,
        directors=("Mara Quill",),
    )
    assert found.links == FilmLinks(
        wikidata="https://www.wikidata.org/wiki/Q9000001",
        wikipedia="https://en.wikipedia.org/wiki/Arrival_(film)",
        imdb="https://www.imdb.com/title/tt9000001/",
        letterboxd="https://letterboxd.com/film/arrival-2016/",
        justwatch="https://www.justwatch.com/uk/search?q=Arrival",
    )


async def test_a_lookup_costs_one_search_and_two_batched_entity_calls(
    catalogue: Catalogue, fake_wikidata: FakeWikidata
) -> None:
    await catalogue.lookup("Moon", 2009, "movie")

    search, items, labels = fake_wikidata.requests
    assert search.action == "wbsearchentities"
    assert items.ids == ["Q9300001", "Q9000003"]  # the satellite is "Moon" too
    assert labels.ids == ["Q9100001", "Q9200002"]


async def test_only_exact_names_from_the_search_are_fetched(
    catalogue: Catalogue, fake_wikidata: FakeWikidata
) -> None:
    await catalogue.lookup("Moon", 2009, "movie")

    (search,) = fake_wikidata.requests_for("wbsearchentities")
    (fetched, _) = fake_wikidata.requests_for("wbgetentities")
    # The search matched "Moonfall Express" too, from the start of its name: not fetched.
    assert "Q9000111" not in fetched.ids
    assert search.params["search"] == "Moon"


async def test_a_wrong_year_is_corrected(catalogue: Catalogue) -> None:
    found = await catalogue.lookup("Arrival", 2017, "movie")

    assert found.state is CheckState.CORRECTED
    assert found.facts is not None
    assert found.facts.year == 2016


async def test_an_invented_pick_is_not_found(catalogue: Catalogue) -> None:
    assert (await catalogue.lookup("Zorblax Rising", 2001, "movie")).state is CheckState.NOT_FOUND


async def test_a_novel_of_the_same_title_is_not_found(catalogue: Catalogue) -> None:
    missing = await catalogue.lookup("The Glass Orchard", 2011, "movie")

    assert missing.state is CheckState.NOT_FOUND
    assert missing.qid is None


async def test_the_catalogues_language_chooses_title_and_article(
    client: WikidataClient, cache: CatalogueCache
) -> None:
    german = Catalogue(client, cache, language="de", watch_region="de")

    found = await german.lookup("Lanternfall", 2020, "movie")

    assert found.facts is not None
    assert found.facts.title == "Laternenfall"
    assert found.facts.genres == ("Science-Fiction-Film",)
    assert found.links is not None
    assert found.links.wikipedia == "https://de.wikipedia.org/wiki/Lanternfall"
    assert found.links.justwatch == "https://www.justwatch.com/de/search?q=Laternenfall"


async def test_the_same_titles_again_make_no_request(
    catalogue: Catalogue, fake_wikidata: FakeWikidata
) -> None:
    picks = [("Arrival", 2016, "movie"), ("Dark", 2017, "show"), ("Zorblax", 2001, "movie")]
    first = [await catalogue.lookup(*pick) for pick in picks]  # type: ignore[arg-type]
    made = len(fake_wikidata.requests)

    again = [await catalogue.lookup(*pick) for pick in picks]  # type: ignore[arg-type]

    assert made > 0
    assert len(fake_wikidata.requests) == made
    assert again == first


async def test_the_cache_survives_a_restart(
    fake_wikidata: FakeWikidata, client: WikidataClient, cache_path: Path
) -> None:
    async with CatalogueCache(cache_path) as cache:
        await Catalogue(client, cache).lookup("Severance", 2022, "show")
    made = len(fake_wikidata.requests)

    async with CatalogueCache(cache_path) as reopened:
        found = await Catalogue(client, reopened).lookup("Severance", 2022, "show")

    assert found.state is CheckState.VERIFIED
    assert len(fake_wikidata.requests) == made


async def test_a_catalogue_that_is_down_gives_not_checked(cache: CatalogueCache) -> None:
    async with WikidataClient(f"http://127.0.0.1:{unused_port()}/w/api.php") as client:
        found = await Catalogue(client, cache).lookup("Arrival", 2016, "movie")

    assert found.state is CheckState.NOT_CHECKED


@pytest.mark.parametrize("kind", [FaultKind.SERVER_ERROR, FaultKind.MAXLAG])
async def test_a_failing_catalogue_gives_not_checked(
    catalogue: Catalogue, fake_wikidata: FakeWikidata, kind: FaultKind
) -> None:
    fake_wikidata.fault = Fault(kind, retry_after=30)  # longer than the client's limit

    assert (await catalogue.lookup("Arrival", 2016, "movie")).state is CheckState.NOT_CHECKED


async def test_a_failure_is_not_cached(catalogue: Catalogue, fake_wikidata: FakeWikidata) -> None:
    fake_wikidata.fault = Fault(FaultKind.SERVER_ERROR, times=1)
    await catalogue.lookup("Arrival", 2016, "movie")

    assert (await catalogue.lookup("Arrival", 2016, "movie")).state is CheckState.VERIFIED


async def test_a_found_pick_stays_found_when_only_its_labels_fail(
    catalogue: Catalogue, fake_wikidata: FakeWikidata
) -> None:
    fake_wikidata.fault = Fault(FaultKind.SERVER_ERROR, after=2)  # the search and items work

    found = await catalogue.lookup("Arrival", 2016, "movie")

    assert found.state is CheckState.VERIFIED
    assert found.facts is not None
    assert found.facts.runtime_minutes == 116
    assert found.facts.genres == ()
    assert found.facts.directors == ()


async def test_the_deadline_can_be_set_after_lookups_started(
    catalogue: Catalogue, fake_wikidata: FakeWikidata
) -> None:
    fake_wikidata.fault = Fault(FaultKind.RATE_LIMITED, retry_after=3)
    deadline = Deadline()
    lookups = [
        asyncio.create_task(catalogue.lookup(title, year, "movie", deadline=deadline))
        for title, year in (("Arrival", 2016), ("Moon", 2009))
    ]
    await fake_wikidata.wait_for(lambda: len(fake_wikidata.requests) >= 1)
    started = time.monotonic()

    deadline.expire_in(0.2)
    results = await asyncio.gather(*lookups)

    assert [result.state for result in results] == [CheckState.NOT_CHECKED] * 2
    assert time.monotonic() - started < 1.5


async def test_a_lookup_within_its_deadline_is_unaffected(catalogue: Catalogue) -> None:
    deadline = Deadline()
    deadline.expire_in(5)

    found = await catalogue.lookup("Dark", 2017, "show", deadline=deadline)

    assert found.state is CheckState.VERIFIED


async def test_check_tells_a_working_catalogue_from_a_broken_one(
    catalogue: Catalogue, cache: CatalogueCache
) -> None:
    async with WikidataClient(f"http://127.0.0.1:{unused_port()}/w/api.php") as down:
        trouble = await Catalogue(down, cache).check()

    assert await catalogue.check() is None
    assert trouble is not None and "Cannot reach Wikidata" in trouble


async def test_a_title_with_many_namesakes_is_found_among_screen_works(
    catalogue: Catalogue, fake_wikidata: FakeWikidata
) -> None:
    found = await catalogue.lookup("Harbor", 2019, "movie")

    assert found.state is CheckState.VERIFIED
    assert found.qid == "Q9000112"
    (full_text,) = fake_wikidata.requests_for("query")
    assert "haswbstatement:P31=Q11424|" in full_text.params["srsearch"]
    assert fake_wikidata.requests_for("wbgetentities")[-1].ids == ["Q9000112"]


async def test_a_pick_found_by_its_label_needs_no_full_text_search(
    catalogue: Catalogue, fake_wikidata: FakeWikidata
) -> None:
    await catalogue.lookup("Arrival", 2016, "movie")

    assert fake_wikidata.requests_for("query") == []
