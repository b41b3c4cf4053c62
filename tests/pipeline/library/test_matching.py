"""Matching library titles to the catalogue: QIDs, IMDb ids that must agree, failures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.pipeline.library.matching import CatalogueMatcher
from bot.pipeline.library.service import MatchState


@dataclass(frozen=True)
class Links:
    imdb: str | None = None


@dataclass(frozen=True)
class Found:
    state: str
    qid: str | None = None
    links: Links | None = None

    @property
    def is_found(self) -> bool:
        return self.state in ("verified", "corrected")


class Catalogue:
    """Answers every lookup with `answer`, and keeps what it was asked."""

    def __init__(self, answer: Found) -> None:
        self.answer = answer
        self.asked: list[tuple[str, int | None, Any]] = []

    async def lookup(self, title: str, year: int | None, kind: Any) -> Found:
        self.asked.append((title, year, kind))
        return self.answer


async def test_a_found_title_is_matched_with_its_qid() -> None:
    catalogue = Catalogue(
        Found("verified", "Q103569", Links("https://www.imdb.com/title/tt0078748/"))
    )
    matched = await CatalogueMatcher(catalogue).match("Alien", 1979, "movie", "tt0078748")
    assert matched == (MatchState.MATCHED, "Q103569")
    assert catalogue.asked == [("Alien", 1979, "movie")]


async def test_an_imdb_title_found_with_another_imdb_id_is_not_matched() -> None:
    catalogue = Catalogue(Found("verified", "Q1", Links("https://www.imdb.com/title/tt0000001/")))
    assert await CatalogueMatcher(catalogue).match("Alien", 1979, None, "tt0078748") == (
        MatchState.NOT_FOUND,
        None,
    )


async def test_not_found_and_not_checked_are_told_apart() -> None:
    assert await CatalogueMatcher(Catalogue(Found("not_found"))).match("X", 2000, None, None) == (
        MatchState.NOT_FOUND,
        None,
    )
    assert await CatalogueMatcher(Catalogue(Found("not_checked"))).match("X", 2000, None, None) == (
        MatchState.NOT_CHECKED,
        None,
    )


async def test_an_unknown_kind_is_not_passed_on() -> None:
    catalogue = Catalogue(Found("not_found"))
    await CatalogueMatcher(catalogue).match("X", 2000, "podcast", None)
    assert catalogue.asked == [("X", 2000, None)]
