"""Library titles in the film catalogue (grounding's `Catalogue`): matching, and details.

A title is looked up by its title, year and kind, as a pick is. A title imported from
IMDb carries its `tt` id: the item found must carry the same IMDb id (P345), or the
title counts as not found rather than matched to another film of the same name.
Lookups go through the catalogue's cache, so showing a watchlist again asks Wikidata
nothing.
"""

from __future__ import annotations

from bot.pipeline.catalogue.grounding import PickLookups
from bot.pipeline.catalogue.items import Kind
from bot.pipeline.catalogue.lookup import CheckState, Lookup
from bot.pipeline.library.service import MatchState


class CatalogueMatcher:
    """A `TitleMatcher` over the catalogue, which also gives a found title's details."""

    def __init__(self, catalogue: PickLookups) -> None:
        self._catalogue = catalogue

    async def match(
        self, title: str, year: int | None, kind: str | None, imdb_id: str | None
    ) -> tuple[MatchState, str | None]:
        """Matched with its QID, not found, or not checked (the catalogue failed)."""
        found = await self._catalogue.lookup(title, year, _kind(kind))
        if found.state is CheckState.NOT_CHECKED:
            return MatchState.NOT_CHECKED, None
        if not found.is_found or found.qid is None:
            return MatchState.NOT_FOUND, None
        imdb_link = found.links.imdb if found.links is not None else None
        if imdb_id is not None and imdb_link is not None and imdb_id not in imdb_link:
            return MatchState.NOT_FOUND, None  # another film of that name
        return MatchState.MATCHED, found.qid

    async def details(self, title: str, year: int | None, kind: str | None) -> Lookup | None:
        """The catalogue's facts and links for a title, or None when it is not found."""
        found = await self._catalogue.lookup(title, year, _kind(kind))
        return found if found.is_found else None


def _kind(kind: str | None) -> Kind | None:
    if kind == "movie":
        return "movie"
    if kind == "show":
        return "show"
    return None
