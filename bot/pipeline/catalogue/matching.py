"""Which catalogue item, if any, is the film or show a pick names.

A candidate counts only when all of these hold:

- it is a screen work of the pick's kind (a film class for a movie, a series class for a
  show; see `SCREEN_CLASSES`): a novel or a person of the same name never counts;
- one of its names (a label or alias in any language, or its title P1476) equals the
  pick's title once both are normalised (case, accents, punctuation, a leading article);
- its year (a film's earliest publication, a series' start) is within one of the pick's.

Among several, the one of the pick's exact year wins, then the best known (the most
sitelinks), so a remake is not mistaken for its original. A match one year off is a
correction: the catalogue's year is shown.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.pipeline.catalogue.items import CatalogueItem, Kind
from bot.pipeline.text import normalise_title

YEAR_TOLERANCE = 1

__all__ = ["Match", "find_match", "names_match", "normalise_title"]


@dataclass(frozen=True, slots=True)
class Match:
    """The item a pick names, and whether the pick's year had to be corrected."""

    item: CatalogueItem
    year: int | None
    is_year_corrected: bool


def names_match(title: str, item: CatalogueItem) -> bool:
    """Whether one of the item's names is the title, normalised."""
    wanted = normalise_title(title)
    return bool(wanted) and any(normalise_title(name) == wanted for name in item.names)


def find_match(
    title: str, year: int | None, kind: Kind | None, candidates: Iterable[CatalogueItem]
) -> Match | None:
    """The candidate the pick names (see the module docstring), or None."""
    scored: list[tuple[bool, int, CatalogueItem]] = []
    for item in candidates:
        if item.kind is None or (kind is not None and item.kind != kind):
            continue
        if not names_match(title, item):
            continue
        if year is not None and (item.year is None or abs(item.year - year) > YEAR_TOLERANCE):
            continue
        is_exact_year = year is None or item.year == year
        scored.append((is_exact_year, item.sitelink_count, item))
    if not scored:
        return None
    is_exact_year, _, best = max(scored, key=lambda entry: (entry[0], entry[1]))
    return Match(best, best.year if best.year is not None else year, not is_exact_year)
