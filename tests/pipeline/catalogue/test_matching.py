"""Reading items and matching picks: the traps in the fake catalogue are the cases."""

from __future__ import annotations

import pytest

from bot.pipeline.catalogue import CatalogueItem, find_match
from bot.pipeline.catalogue.items import item_from_entity
from tests.fakes.wikidata_catalogue import DEFAULT_CATALOGUE, FakeItem

ALL_PROPS = {"labels", "aliases", "claims", "sitelinks/urls"}


def read(item: FakeItem) -> CatalogueItem:
    return item_from_entity(item.entity(ALL_PROPS, None))


CATALOGUE = [read(item) for item in DEFAULT_CATALOGUE]
BY_ID = {item.qid: item for item in CATALOGUE}


def matched(title: str, year: int | None, kind: str | None) -> str | None:
    match = find_match(title, year, kind, CATALOGUE)  # type: ignore[arg-type]
    return match.item.qid if match else None


def test_an_item_is_read_with_its_facts_and_links() -> None:
    arrival = BY_ID["Q9000001"]

    assert arrival.kind == "movie"
    assert arrival.year == 2016
    assert arrival.runtime_minutes == 116
    assert arrival.genres == ("Q9100001", "Q9100002")
    assert arrival.directors == ("Q9200001",)
    assert arrival.imdb_id == "tt9000001"
    assert arrival.letterboxd_id == "arrival-2016"
    assert arrival.sitelink_count == 12
    assert arrival.wikipedia["en"] == "https://en.wikipedia.org/wiki/Arrival_(film)"


def test_an_item_survives_the_cache_round_trip() -> None:
    lanternfall = BY_ID["Q9000108"]

    assert CatalogueItem.from_json(lanternfall.to_json()) == lanternfall


def test_the_year_is_the_earliest_publication() -> None:
    assert BY_ID["Q9000109"].year == 2021  # festival 2021 before release 2022


def test_a_series_year_is_its_start() -> None:
    assert BY_ID["Q9000110"].kind == "show"
    assert BY_ID["Q9000110"].year == 2015


def time_statement(time: str, rank: str) -> dict[str, object]:
    value = {"time": time, "precision": 11}
    return {"mainsnak": {"snaktype": "value", "datavalue": {"value": value}}, "rank": rank}


def test_deprecated_statements_are_ignored() -> None:
    raw = {
        "id": "Q1",
        "claims": {
            "P577": [
                time_statement("+1901-01-01T00:00:00Z", "deprecated"),
                time_statement("+1950-01-01T00:00:00Z", "normal"),
            ]
        },
        "labels": [],  # an empty map is `[]` in the API's JSON
        "sitelinks": [],
    }

    assert item_from_entity(raw).published_year == 1950


@pytest.mark.parametrize(
    ("title", "year", "kind", "expected"),
    [
        ("Arrival", 2016, "movie", "Q9000001"),
        ("arrival!", 2016, "movie", "Q9000001"),  # case and punctuation
        ("The Glass Orchard", 2014, "movie", "Q9000102"),
        ("Glass Orchard", 2014, "movie", "Q9000102"),  # a leading article
        ("Lantern Fall", 2020, "movie", "Q9000108"),  # an English alias
        ("La Chute des lanternes", 2020, "movie", "Q9000108"),  # a French alias
        ("Laternenfall", 2020, "movie", "Q9000108"),  # a German label
        ("Lanternfall: The Last Light", 2020, "movie", "Q9000108"),  # its title, P1476
        ("Night Ferry", 1978, "movie", "Q9000104"),  # the original
        ("Night Ferry", 2012, "movie", "Q9000105"),  # the remake
        ("Saltwater Hymn", 2017, "movie", "Q9000106"),  # the one with the most sitelinks
        ("Moon", 2009, "movie", "Q9000003"),  # not the better-known satellite
        ("Copper Tide", 2015, "show", "Q9000110"),
        ("Copper Tide", 2015, None, "Q9000110"),
    ],
)
def test_a_pick_matches_its_item(title: str, year: int, kind: str | None, expected: str) -> None:
    assert matched(title, year, kind) == expected


@pytest.mark.parametrize(
    ("title", "year", "kind"),
    [
        ("The Glass Orchard", 2011, "movie"),  # only the novel is from 2011
        ("The Glass Orchard", 2011, None),
        ("Juniper Vale", 2019, "show"),  # the film is a movie, the person is no screen work
        ("Arrival", 2019, "movie"),  # three years off
        ("Arrival", 2016, "show"),  # another kind
        ("Moon", 1969, "movie"),
        ("Arriva", 2016, "movie"),  # a prefix is not the title
        ("Zorblax Rising", 2001, "movie"),
    ],
)
def test_never_another_kind_or_year(title: str, year: int, kind: str | None) -> None:
    assert matched(title, year, kind) is None


def test_a_year_one_off_is_corrected() -> None:
    match = find_match("Arrival", 2017, "movie", CATALOGUE)

    assert match is not None
    assert match.item.qid == "Q9000001"
    assert match.year == 2016
    assert match.is_year_corrected


def test_the_exact_year_is_not_a_correction() -> None:
    match = find_match("Arrival", 2016, "movie", CATALOGUE)

    assert match is not None
    assert not match.is_year_corrected


def test_the_exact_year_wins_over_better_known_one_year_off() -> None:
    near = CatalogueItem(
        "Q1", {"en": "Echo"}, ("Echo",), ("Q11424",), published_year=2001, sitelink_count=50
    )
    exact = CatalogueItem(
        "Q2", {"en": "Echo"}, ("Echo",), ("Q11424",), published_year=2000, sitelink_count=1
    )

    match = find_match("Echo", 2000, "movie", [near, exact])

    assert match is not None
    assert match.item.qid == "Q2"
