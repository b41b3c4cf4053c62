"""Library titles in the catalogue: QIDs, IMDb ids that must agree, failures, details."""

from __future__ import annotations

from bot.pipeline.catalogue.items import Kind
from bot.pipeline.catalogue.lookup import (
    NOT_CHECKED,
    NOT_FOUND,
    CheckState,
    Deadline,
    FilmLinks,
    Lookup,
)
from bot.pipeline.library.matching import CatalogueMatcher
from bot.pipeline.library.service import MatchState

WIKIDATA = "https://www.wikidata.org/wiki/Q1"


def found(qid: str, imdb: str | None = None) -> Lookup:
    return Lookup(CheckState.VERIFIED, qid, None, FilmLinks(WIKIDATA, imdb=imdb))


class Catalogue:
    """Answers every lookup with `answer`, and keeps what it was asked."""

    def __init__(self, answer: Lookup) -> None:
        self.answer = answer
        self.asked: list[tuple[str, int | None, Kind | None]] = []

    async def lookup(
        self, title: str, year: int | None, kind: Kind | None, *, deadline: Deadline | None = None
    ) -> Lookup:
        self.asked.append((title, year, kind))
        return self.answer


async def test_a_found_title_is_matched_with_its_qid() -> None:
    catalogue = Catalogue(found("Q103569", "https://www.imdb.com/title/tt0078748/"))
    matched = await CatalogueMatcher(catalogue).match("Alien", 1979, "movie", "tt0078748")
    assert matched == (MatchState.MATCHED, "Q103569")
    assert catalogue.asked == [("Alien", 1979, "movie")]


async def test_an_imdb_title_found_with_another_imdb_id_is_not_matched() -> None:
    catalogue = Catalogue(found("Q1", "https://www.imdb.com/title/tt0000001/"))
    assert await CatalogueMatcher(catalogue).match("Alien", 1979, None, "tt0078748") == (
        MatchState.NOT_FOUND,
        None,
    )


async def test_not_found_and_not_checked_are_told_apart() -> None:
    not_found = await CatalogueMatcher(Catalogue(NOT_FOUND)).match("X", 2000, None, None)
    not_checked = await CatalogueMatcher(Catalogue(NOT_CHECKED)).match("X", 2000, None, None)
    assert not_found == (MatchState.NOT_FOUND, None)
    assert not_checked == (MatchState.NOT_CHECKED, None)


async def test_an_unknown_kind_is_not_passed_on() -> None:
    catalogue = Catalogue(NOT_FOUND)
    await CatalogueMatcher(catalogue).match("X", 2000, "podcast", None)
    assert catalogue.asked == [("X", 2000, None)]


async def test_details_are_given_only_for_a_found_title() -> None:
    answer = found("Q1")
    assert await CatalogueMatcher(Catalogue(answer)).details("Alien", 1979, None) == answer
    assert await CatalogueMatcher(Catalogue(NOT_FOUND)).details("Alien", 1979, None) is None
