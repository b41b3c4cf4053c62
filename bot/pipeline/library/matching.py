"""Matching library titles to the film catalogue (grounding's `Catalogue`).

A title is looked up by its title, year and kind, as a pick is. A title imported from
IMDb carries its `tt` id: the item found must carry the same IMDb id (P345), or the
title counts as not found rather than matched to another film of the same name.
"""

from __future__ import annotations

from typing import Any, Literal, Protocol

from bot.pipeline.library.service import MatchState

NOT_CHECKED = "not_checked"  # grounding's CheckState.NOT_CHECKED
Kind = Literal["movie", "show"]


class FoundLinks(Protocol):
    """The links of a found item (grounding's `FilmLinks`)."""

    @property
    def imdb(self) -> str | None: ...


class FoundItem(Protocol):
    """The catalogue's answer for one title (grounding's `Lookup`)."""

    @property
    def state(self) -> str: ...

    @property
    def qid(self) -> str | None: ...

    @property
    def links(self) -> FoundLinks | None: ...

    @property
    def is_found(self) -> bool: ...


class TitleLookups(Protocol):
    """What matching needs of the catalogue (`Catalogue` is one)."""

    async def lookup(self, title: str, year: int | None, kind: Any) -> Any: ...


class CatalogueMatcher:
    """A `TitleMatcher` over the catalogue."""

    def __init__(self, catalogue: TitleLookups) -> None:
        self._catalogue = catalogue

    async def match(
        self, title: str, year: int | None, kind: str | None, imdb_id: str | None
    ) -> tuple[MatchState, str | None]:
        """Matched with its QID, not found, or not checked (the catalogue failed)."""
        found: FoundItem = await self._catalogue.lookup(title, year, _kind(kind))
        if found.state == NOT_CHECKED:
            return MatchState.NOT_CHECKED, None
        if not found.is_found or found.qid is None:
            return MatchState.NOT_FOUND, None
        imdb_link = found.links.imdb if found.links is not None else None
        if imdb_id is not None and imdb_link is not None and imdb_id not in imdb_link:
            return MatchState.NOT_FOUND, None  # another film of that name
        return MatchState.MATCHED, found.qid


def _kind(kind: str | None) -> Kind | None:
    return kind if kind in ("movie", "show") else None  # type: ignore[return-value]
