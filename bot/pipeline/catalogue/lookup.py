"""Looking a pick up in the catalogue: what the pipeline calls for each pick.

`Catalogue.lookup(title, year, kind)` answers with a `Lookup`: its `state` (verified,
corrected: found a year off, not found, or not checked: the catalogue failed or the
deadline came first), and for a found pick its QID, facts and links. It never raises
for the catalogue's faults: those are logged and the pick is "not checked".

A lookup costs three requests, each cached: the search for the title, the candidates'
entities in one batched call, and the labels of the match's genres and directors in one
more. When none of the search's items is the pick, a full-text search among films and
series only (`haswbstatement:P31=...`) and its entities are asked too, so a common title
with many namesakes is still found. The same title again, within the cache's time to
live, costs none.

A `Deadline` is shared by the lookups of one answer and can be set after they start
(the deadline is counted from the end of the answer, which is not known when the first
pick is looked up).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import quote, quote_plus

from bot.errors import CatalogueError
from bot.pipeline.catalogue.cache import CatalogueCache
from bot.pipeline.catalogue.client import WikidataClient
from bot.pipeline.catalogue.items import (
    SCREEN_CLASSES,
    CatalogueItem,
    Kind,
    item_from_entity,
    labels_from_entity,
)
from bot.pipeline.catalogue.matching import find_match, normalise_title

log = logging.getLogger(__name__)

ITEM_PROPS = "labels|aliases|claims|sitelinks/urls"
SEARCH_LIMIT = 10
KNOWN_ITEM = "Q11424"  # "film": always there, so `check` can tell a working catalogue
DEFAULT_ITEM_TTL_DAYS = 30.0
DEFAULT_SEARCH_TTL_DAYS = 7.0


class CheckState(StrEnum):
    """What the catalogue said about a pick."""

    VERIFIED = "verified"  # found, title and year as the model wrote them
    CORRECTED = "corrected"  # found, a year off: the catalogue's year is shown
    NOT_FOUND = "not_found"  # the catalogue has no such film or show
    NOT_CHECKED = "not_checked"  # the catalogue failed or the deadline came first
    CHECKING = "checking"  # asked, no answer yet (never a lookup's result)


@dataclass(frozen=True, slots=True)
class FilmFacts:
    """What the catalogue says about a found film or show."""

    title: str
    year: int | None
    kind: Kind
    genres: tuple[str, ...] = ()
    runtime_minutes: int | None = None
    directors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FilmLinks:
    """Links taken from the matched item only (JustWatch is a search for its title)."""

    wikidata: str
    wikipedia: str | None = None
    imdb: str | None = None
    letterboxd: str | None = None
    justwatch: str | None = None


@dataclass(frozen=True, slots=True)
class Lookup:
    """The catalogue's answer for one pick."""

    state: CheckState
    qid: str | None = None
    facts: FilmFacts | None = None
    links: FilmLinks | None = None

    @property
    def is_found(self) -> bool:
        """Whether the pick is a real film or show the catalogue knows."""
        return self.state in (CheckState.VERIFIED, CheckState.CORRECTED)


NOT_FOUND = Lookup(CheckState.NOT_FOUND)
NOT_CHECKED = Lookup(CheckState.NOT_CHECKED)
CHECKING = Lookup(CheckState.CHECKING)


class Deadline:
    """A deadline for many lookups, which may be set (or moved) after they have started."""

    def __init__(self) -> None:
        self._at: float | None = None
        self._timeouts: set[asyncio.Timeout] = set()

    def expire_in(self, seconds: float) -> None:
        """Give every lookup, running or still to come, `seconds` more from now."""
        self._at = asyncio.get_running_loop().time() + seconds
        for timeout in self._timeouts:
            timeout.reschedule(self._at)

    def attach(self, timeout: asyncio.Timeout) -> None:
        """Make `timeout` follow this deadline until `detach`."""
        self._timeouts.add(timeout)
        timeout.reschedule(self._at)

    def detach(self, timeout: asyncio.Timeout) -> None:
        """Stop `timeout` following this deadline."""
        self._timeouts.discard(timeout)


class Catalogue:
    """Finds picks in Wikidata, through a cache; see the module docstring."""

    def __init__(
        self,
        client: WikidataClient,
        cache: CatalogueCache,
        *,
        language: str = "en",
        watch_region: str = "us",
        item_ttl_days: float = DEFAULT_ITEM_TTL_DAYS,
        search_ttl_days: float = DEFAULT_SEARCH_TTL_DAYS,
    ) -> None:
        self._client = client
        self._cache = cache
        self._language = language
        self._watch_region = watch_region
        self._item_ttl_days = item_ttl_days
        self._search_ttl_days = search_ttl_days

    async def lookup(
        self, title: str, year: int | None, kind: Kind | None, *, deadline: Deadline | None = None
    ) -> Lookup:
        """The catalogue's answer for one pick; `NOT_CHECKED` on a fault or at the deadline."""
        timeout = asyncio.timeout(None)
        try:
            async with timeout:
                if deadline is not None:
                    deadline.attach(timeout)
                try:
                    return await self._lookup(title, year, kind)
                except CatalogueError as exc:
                    log.info("Could not check %r (%s) in the catalogue: %s", title, year, exc)
                    return NOT_CHECKED
                finally:
                    if deadline is not None:
                        deadline.detach(timeout)
        except TimeoutError:
            if not timeout.expired():
                raise
            log.info("The deadline came before %r (%s) was checked", title, year)
            return NOT_CHECKED

    async def check(self) -> str | None:
        """None when the catalogue answers for a known item (film, Q11424); else the trouble."""
        try:
            entities = await self._client.get_entities([KNOWN_ITEM], props="labels", languages="en")
        except CatalogueError as exc:
            return str(exc)
        if KNOWN_ITEM not in entities:
            return f"Wikidata did not return the known item {KNOWN_ITEM} (film)."
        return None

    async def _lookup(self, title: str, year: int | None, kind: Kind | None) -> Lookup:
        candidate_ids = await self._search(title)
        match = find_match(title, year, kind, await self._items(candidate_ids))
        if match is None:
            # A common title ("Dark", "Moon") may have more than SEARCH_LIMIT namesakes
            # ranked above the film: ask again among screen works only.
            more_ids = [
                qid for qid in await self._search_screen_works(title) if qid not in candidate_ids
            ]
            match = find_match(title, year, kind, await self._items(more_ids))
        if match is None:
            return NOT_FOUND
        item = match.item
        labels = await self._labels([*item.genres, *item.directors])
        facts = FilmFacts(
            title=item.label(self._language) or title,
            year=match.year,
            kind=item.kind or kind or "movie",
            genres=tuple(labels[qid] for qid in item.genres if qid in labels),
            runtime_minutes=item.runtime_minutes,
            directors=tuple(labels[qid] for qid in item.directors if qid in labels),
        )
        state = CheckState.CORRECTED if match.is_year_corrected else CheckState.VERIFIED
        return Lookup(state, item.qid, facts, self._links(item, facts.title))

    async def _search(self, title: str) -> list[str]:
        """QIDs of the items whose label or alias is the title (normalised), cached."""
        key = f"search:{self._language}:{normalise_title(title)}"
        cached = await self._cache.get(key)
        if isinstance(cached, list):
            return [str(qid) for qid in cached]
        hits = await self._client.search(title, language=self._language, limit=SEARCH_LIMIT)
        # The search matches prefixes ("Moon" finds "Moonlight"): keep only exact names,
        # so the entities fetched next are few.
        wanted = normalise_title(title)
        qids = [
            hit.qid
            for hit in hits
            if wanted in (normalise_title(hit.matched_text), normalise_title(hit.label))
        ]
        await self._cache.put(key, qids, ttl_days=self._search_ttl_days)
        return qids

    async def _search_screen_works(self, title: str) -> list[str]:
        """QIDs of films and series the full-text search finds for the title, cached."""
        key = f"screen:{normalise_title(title)}"
        cached = await self._cache.get(key)
        if isinstance(cached, list):
            return [str(qid) for qid in cached]
        statements = [f"P31={qid}" for qid in SCREEN_CLASSES]
        qids = await self._client.search_statements(
            title, statements=statements, limit=SEARCH_LIMIT
        )
        await self._cache.put(key, qids, ttl_days=self._search_ttl_days)
        return qids

    async def _items(self, qids: list[str]) -> list[CatalogueItem]:
        """The items for `qids`, from the cache or one batched request for the rest."""
        if not qids:
            return []
        cached = await self._cache.get_many(f"item:{qid}" for qid in qids)
        items = {
            qid: CatalogueItem.from_json(cached[f"item:{qid}"])
            for qid in qids
            if f"item:{qid}" in cached
        }
        missing = [qid for qid in qids if qid not in items]
        if missing:
            entities = await self._client.get_entities(missing, props=ITEM_PROPS)
            fetched = {qid: item_from_entity(entity) for qid, entity in entities.items()}
            await self._cache.put_many(
                {f"item:{qid}": item.to_json() for qid, item in fetched.items()},
                ttl_days=self._item_ttl_days,
            )
            items.update(fetched)
        return [items[qid] for qid in qids if qid in items]

    async def _labels(self, qids: list[str]) -> dict[str, str]:
        """Labels of genres and directors in the catalogue's language; absent ones left out."""
        if not qids:
            return {}
        keys = {qid: f"label:{self._language}:{qid}" for qid in qids}
        cached = await self._cache.get_many(keys.values())
        labels = {qid: str(cached[key]) for qid, key in keys.items() if key in cached}
        missing = [qid for qid in qids if qid not in labels]
        if not missing:
            return labels
        try:
            entities = await self._client.get_entities(
                missing, props="labels", languages=f"{self._language}|mul|en"
            )
        except CatalogueError as exc:
            # The pick is found; its genres and director are a nicety worth no "not checked".
            log.info("Could not fetch genre and director names: %s", exc)
            return labels
        fetched = {}
        for qid, entity in entities.items():
            by_language = labels_from_entity(entity)
            label = next(
                (
                    by_language[lang]
                    for lang in (self._language, "mul", "en")
                    if lang in by_language
                ),
                None,
            )
            if label:
                fetched[qid] = label
        await self._cache.put_many(
            {keys[qid]: label for qid, label in fetched.items()}, ttl_days=self._item_ttl_days
        )
        return labels | fetched

    def _links(self, item: CatalogueItem, title: str) -> FilmLinks:
        """Links from the matched item; JustWatch's search for the title in WATCH_REGION."""
        return FilmLinks(
            wikidata=f"https://www.wikidata.org/wiki/{item.qid}",
            wikipedia=item.wikipedia.get(self._language),
            imdb=f"https://www.imdb.com/title/{quote(item.imdb_id)}/" if item.imdb_id else None,
            letterboxd=(
                f"https://letterboxd.com/film/{quote(item.letterboxd_id)}/"
                if item.letterboxd_id
                else None
            ),
            justwatch=f"https://www.justwatch.com/{self._watch_region}/search?q={quote_plus(title)}",
        )


__all__ = [
    "CHECKING",
    "NOT_CHECKED",
    "NOT_FOUND",
    "Catalogue",
    "CheckState",
    "Deadline",
    "FilmFacts",
    "FilmLinks",
    "Lookup",
]
