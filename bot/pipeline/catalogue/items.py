"""What we keep of a Wikidata item, read from wbgetentities' JSON.

An item is kept language-independent (every label, alias and title, every Wikipedia
article's URL), so one cached copy serves any CATALOGUE_LANGUAGE. Statements of
deprecated rank are ignored; where one value is wanted (runtime, IMDb id), a
preferred-rank statement wins over a normal one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["movie", "show"]

# P31 (instance of) classes a pick may be, and which kind of pick each is.
SCREEN_CLASSES: dict[str, Kind] = {
    "Q11424": "movie",  # film
    "Q24869": "movie",  # feature film
    "Q202866": "movie",  # animated film
    "Q29168811": "movie",  # animated feature film
    "Q506240": "movie",  # television film
    "Q5398426": "show",  # television series
    "Q581714": "show",  # animated series
    "Q1259759": "show",  # miniseries
    "Q526877": "show",  # web series
}

ENTITY_URI = "http://www.wikidata.org/entity/"
# P2047 units, in minutes.
_MINUTES_PER_UNIT = {"Q7727": 1.0, "Q25235": 60.0, "Q11574": 1 / 60}
_TIME = re.compile(r"^\+(\d{1,4})-\d\d-\d\dT")
_YEAR_PRECISION = 9  # Wikidata time precision: 9 year, 10 month, 11 day
_WIKIPEDIA_SITE = re.compile(r"^([a-z_]+)wiki$")
_NOT_WIKIPEDIA = {"commonswiki", "specieswiki", "wikidatawiki", "metawiki", "mediawikiwiki"}


@dataclass(frozen=True, slots=True)
class CatalogueItem:
    """One Wikidata item, as far as matching and showing a pick need it."""

    qid: str
    labels: dict[str, str] = field(default_factory=dict)  # language -> label
    names: tuple[str, ...] = ()  # every label, alias and P1476 title, any language
    classes: tuple[str, ...] = ()  # P31 QIDs
    published_year: int | None = None  # earliest P577
    started_year: int | None = None  # earliest P580
    sitelink_count: int = 0
    wikipedia: dict[str, str] = field(default_factory=dict)  # language -> article URL
    genres: tuple[str, ...] = ()  # P136 QIDs
    directors: tuple[str, ...] = ()  # P57 QIDs
    runtime_minutes: int | None = None  # P2047
    imdb_id: str | None = None  # P345
    letterboxd_id: str | None = None  # P6127

    @property
    def kind(self) -> Kind | None:
        """`movie` or `show` when the item is a screen work we accept, else None."""
        for qid in self.classes:
            if qid in SCREEN_CLASSES:
                return SCREEN_CLASSES[qid]
        return None

    @property
    def year(self) -> int | None:
        """Its year: a series' start (P580, else P577), a film's earliest publication."""
        if self.kind == "show" and self.started_year is not None:
            return self.started_year
        return self.published_year

    def label(self, language: str) -> str | None:
        """The label in `language`, else in `mul` or English, else any; None if it has none."""
        for choice in (language, "mul", "en"):
            if choice in self.labels:
                return self.labels[choice]
        return next(iter(self.labels.values()), None)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict, for the cache."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CatalogueItem:
        """The item `to_json` wrote."""
        return cls(
            qid=data["qid"],
            labels=dict(data.get("labels") or {}),
            names=tuple(data.get("names") or ()),
            classes=tuple(data.get("classes") or ()),
            published_year=data.get("published_year"),
            started_year=data.get("started_year"),
            sitelink_count=int(data.get("sitelink_count") or 0),
            wikipedia=dict(data.get("wikipedia") or {}),
            genres=tuple(data.get("genres") or ()),
            directors=tuple(data.get("directors") or ()),
            runtime_minutes=data.get("runtime_minutes"),
            imdb_id=data.get("imdb_id"),
            letterboxd_id=data.get("letterboxd_id"),
        )


def item_from_entity(entity: dict[str, Any]) -> CatalogueItem:
    """Read a wbgetentities entity (props labels|aliases|claims|sitelinks/urls)."""
    # An empty map comes as `[]` in the API's JSON (a PHP empty array).
    raw_claims = entity.get("claims")
    claims: dict[str, Any] = raw_claims if isinstance(raw_claims, dict) else {}
    labels = {lang: term["value"] for lang, term in _terms(entity.get("labels"))}
    aliases = [
        alias["value"]
        for _, values in _dict_items(entity.get("aliases"))
        for alias in values
        if isinstance(alias, dict) and isinstance(alias.get("value"), str)
    ]
    titles = [
        value["text"]
        for value in _values(claims, "P1476")
        if isinstance(value, dict) and "text" in value
    ]
    sitelinks = entity.get("sitelinks") or {}
    return CatalogueItem(
        qid=str(entity["id"]),
        labels=labels,
        names=tuple(dict.fromkeys([*labels.values(), *aliases, *titles])),
        classes=tuple(_entity_ids(_values(claims, "P31"))),
        published_year=_earliest_year(_values(claims, "P577")),
        started_year=_earliest_year(_values(claims, "P580")),
        sitelink_count=len(sitelinks) if isinstance(sitelinks, dict) else 0,
        wikipedia=_wikipedia_urls(sitelinks),
        genres=tuple(_entity_ids(_values(claims, "P136"))),
        directors=tuple(_entity_ids(_values(claims, "P57"))),
        runtime_minutes=_runtime(_values(claims, "P2047")),
        imdb_id=_first_string(_values(claims, "P345")),
        letterboxd_id=_first_string(_values(claims, "P6127")),
    )


def labels_from_entity(entity: dict[str, Any]) -> dict[str, str]:
    """An entity's labels by language (for genres and directors)."""
    return {lang: term["value"] for lang, term in _terms(entity.get("labels"))}


def _dict_items(value: object) -> Iterable[tuple[str, Any]]:
    return value.items() if isinstance(value, dict) else ()


def _terms(value: object) -> Iterable[tuple[str, dict[str, Any]]]:
    for lang, term in _dict_items(value):
        if isinstance(term, dict) and isinstance(term.get("value"), str):
            yield lang, term


def _values(claims: dict[str, Any], prop: str) -> list[Any]:
    """The values of `prop`'s statements: preferred ones first, deprecated ones never."""
    statements = [
        statement
        for statement in claims.get(prop) or ()
        if isinstance(statement, dict) and statement.get("rank") != "deprecated"
    ]
    statements.sort(key=lambda statement: statement.get("rank") != "preferred")
    values = []
    for statement in statements:
        snak = statement.get("mainsnak") or {}
        if snak.get("snaktype") == "value" and isinstance(snak.get("datavalue"), dict):
            values.append(snak["datavalue"].get("value"))
    return values


def _entity_ids(values: list[Any]) -> list[str]:
    return [
        value["id"]
        for value in values
        if isinstance(value, dict) and isinstance(value.get("id"), str)
    ]


def _earliest_year(values: list[Any]) -> int | None:
    years = []
    for value in values:
        if not isinstance(value, dict) or int(value.get("precision") or 0) < _YEAR_PRECISION:
            continue
        if match := _TIME.match(str(value.get("time", ""))):
            years.append(int(match.group(1)))
    return min(years, default=None)


def _runtime(values: list[Any]) -> int | None:
    for value in values:
        if not isinstance(value, dict):
            continue
        unit = str(value.get("unit", "")).removeprefix(ENTITY_URI)
        try:
            amount = float(value.get("amount", ""))
        except ValueError:
            continue
        if unit in _MINUTES_PER_UNIT and amount > 0:
            return round(amount * _MINUTES_PER_UNIT[unit])
    return None


def _first_string(values: list[Any]) -> str | None:
    return next((value for value in values if isinstance(value, str) and value), None)


def _wikipedia_urls(sitelinks: object) -> dict[str, str]:
    urls = {}
    for site, link in _dict_items(sitelinks):
        match = _WIKIPEDIA_SITE.match(site)
        if match and site not in _NOT_WIKIPEDIA and isinstance(link, dict) and link.get("url"):
            urls[match.group(1).replace("_", "-")] = str(link["url"])
    return urls
