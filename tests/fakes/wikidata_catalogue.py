"""The fake Wikidata's catalogue: a few invented films and shows, rendered as real entities.

Every QID here is invented (Q9xxxxxx), and so are most titles. The fake Ollama's default
picks (Arrival, The Leftovers, Moon, Dark, Annihilation, Severance) are here too, with
invented ids and data, so a suggestion through both fakes finds every pick.

Traps the matching must not fall into, each on purpose:

- `The Glass Orchard`: a novel (2011) and the film made from it (2014).
- `Juniper Vale`: a person and a film (2019) with the same name.
- `Night Ferry`: a film (1978) and its remake (2012).
- `Saltwater Hymn`: a film (25 sitelinks) and a television film (2 sitelinks), both 2017.
- `Moon`: the natural satellite (many sitelinks) and the film (2009); `Moonfall Express`
  (2011) starts with the same word.
- `Lanternfall`: English alias `Lantern Fall`, French alias `La Chute des lanternes`,
  German label `Laternenfall`, title (P1476) `Lanternfall: The Last Light`.
- `Quiet Meridian`: two publication dates, 2021 (festival) and 2022 (release): year 2021.
- `Copper Tide`: a series with start time (P580) 2015 and no publication date.
- `Harbor`: a film (2019) with twelve better-known namesakes, more than a label search
  returns: found only by the full-text search among screen works.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Instance-of (P31) classes; the screen ones are those the issue accepts.
FILM = "Q11424"
FEATURE_FILM = "Q24869"
ANIMATED_FILM = "Q202866"
TELEVISION_FILM = "Q506240"
TELEVISION_SERIES = "Q5398426"
MINISERIES = "Q1259759"
NOVEL = "Q8261"
HUMAN = "Q5"
NATURAL_SATELLITE = "Q2537"
GENRE = "Q201658"
MINUTE = "Q7727"

ENTITY_URI = "http://www.wikidata.org/entity/"
GREGORIAN = f"{ENTITY_URI}Q1985727"


@dataclass(frozen=True, slots=True)
class FakeItem:
    """One item as the fake stores it; `entity()` renders it as wbgetentities does."""

    qid: str
    label: str  # English label
    instance_of: str
    description: str = ""
    labels: dict[str, str] = field(default_factory=dict)  # other languages
    aliases: dict[str, tuple[str, ...]] = field(default_factory=dict)
    title: str | None = None  # P1476, monolingual text in English
    published: tuple[str, ...] = ()  # P577 dates, `YYYY-MM-DD`
    started: str | None = None  # P580, `YYYY-MM-DD`
    genres: tuple[str, ...] = ()  # P136 QIDs
    directors: tuple[str, ...] = ()  # P57 QIDs
    runtime_minutes: int | None = None  # P2047
    imdb: str | None = None  # P345
    letterboxd: str | None = None  # P6127
    sitelinks: dict[str, str] = field(default_factory=dict)  # site -> page title

    def all_labels(self) -> dict[str, str]:
        """The label in every language, English included."""
        return {"en": self.label, **self.labels}

    def entity(self, props: set[str], languages: set[str] | None) -> dict[str, Any]:
        """The item as wbgetentities renders it for these `props` and `languages`."""

        def wanted(language: str) -> bool:
            return languages is None or language in languages

        entity: dict[str, Any] = {"type": "item", "id": self.qid}
        if "labels" in props:
            entity["labels"] = {
                lang: {"language": lang, "value": value}
                for lang, value in self.all_labels().items()
                if wanted(lang)
            }
        if "descriptions" in props:
            entity["descriptions"] = (
                {"en": {"language": "en", "value": self.description}}
                if self.description and wanted("en")
                else {}
            )
        if "aliases" in props:
            entity["aliases"] = {
                lang: [{"language": lang, "value": value} for value in values]
                for lang, values in self.aliases.items()
                if wanted(lang)
            }
        if "claims" in props:
            entity["claims"] = self._claims()
        if "sitelinks" in props or "sitelinks/urls" in props:
            entity["sitelinks"] = {
                site: _sitelink(site, title, with_url="sitelinks/urls" in props)
                for site, title in self.sitelinks.items()
            }
        return entity

    def _claims(self) -> dict[str, list[dict[str, Any]]]:
        claims: dict[str, list[dict[str, Any]]] = {}

        def add(prop: str, datatype: str, value_type: str, value: Any) -> None:
            statements = claims.setdefault(prop, [])
            statements.append(
                _statement(self.qid, prop, len(statements), datatype, value_type, value)
            )

        add("P31", "wikibase-item", "wikibase-entityid", _entity_value(self.instance_of))
        if self.title:
            add(
                "P1476",
                "monolingualtext",
                "monolingualtext",
                {"text": self.title, "language": "en"},
            )
        for date in self.published:
            add("P577", "time", "time", _time_value(date))
        if self.started:
            add("P580", "time", "time", _time_value(self.started))
        for genre in self.genres:
            add("P136", "wikibase-item", "wikibase-entityid", _entity_value(genre))
        for director in self.directors:
            add("P57", "wikibase-item", "wikibase-entityid", _entity_value(director))
        if self.runtime_minutes is not None:
            amount = {"amount": f"+{self.runtime_minutes}", "unit": f"{ENTITY_URI}{MINUTE}"}
            add("P2047", "quantity", "quantity", amount)
        if self.imdb:
            add("P345", "external-id", "string", self.imdb)
        if self.letterboxd:
            add("P6127", "external-id", "string", self.letterboxd)
        return claims


def _statement(
    qid: str, prop: str, index: int, datatype: str, value_type: str, value: Any
) -> dict[str, Any]:
    return {
        "mainsnak": {
            "snaktype": "value",
            "property": prop,
            "datavalue": {"value": value, "type": value_type},
            "datatype": datatype,
        },
        "type": "statement",
        "id": f"{qid}${prop}-{index:04d}-FAKE",
        "rank": "normal",
    }


def _entity_value(qid: str) -> dict[str, Any]:
    return {"entity-type": "item", "numeric-id": int(qid[1:]), "id": qid}


def _time_value(date: str) -> dict[str, Any]:
    return {
        "time": f"+{date}T00:00:00Z",
        "timezone": 0,
        "before": 0,
        "after": 0,
        "precision": 11,  # day
        "calendarmodel": GREGORIAN,
    }


def _sitelink(site: str, title: str, *, with_url: bool) -> dict[str, Any]:
    link: dict[str, Any] = {"site": site, "title": title, "badges": []}
    if with_url:
        language = site.removesuffix("wiki")
        link["url"] = f"https://{language}.wikipedia.org/wiki/{title.replace(' ', '_')}"
    return link


def _wikis(title: str, count: int) -> dict[str, str]:
    """`count` Wikipedia sitelinks for `title`, English and German first."""
    languages = ["en", "de", "fr", "es", "it", "nl", "pl", "sv", "ja", "pt", "ru", "fi"]
    languages += [f"x{index}" for index in range(max(0, count - len(languages)))]
    return {f"{language}wiki": title for language in languages[:count]}


SCIENCE_FICTION = "Q9100001"
DRAMA = "Q9100002"
THRILLER = "Q9100003"
MYSTERY = "Q9100004"

PEOPLE_AND_GENRES: tuple[FakeItem, ...] = (
    # The class itself: what `doctor` asks for as a known item.
    FakeItem(FILM, "film", "Q4502142", "sequence of images that give the impression of movement"),
    FakeItem(SCIENCE_FICTION, "science fiction film", GENRE, labels={"de": "Science-Fiction-Film"}),
    FakeItem(DRAMA, "drama film", GENRE, labels={"de": "Filmdrama"}),
    FakeItem(THRILLER, "thriller film", GENRE, labels={"de": "Thriller"}),
    FakeItem(MYSTERY, "mystery television series", GENRE),
    FakeItem("Q9200001", "Mara Quill", HUMAN, "film director"),
    FakeItem("Q9200002", "Tobias Renn", HUMAN, "film director"),
    FakeItem("Q9200003", "Ines Okafor", HUMAN, "film director"),
    FakeItem("Q9200004", "Juniper Vale", HUMAN, "singer", sitelinks=_wikis("Juniper Vale", 9)),
)

# The fake Ollama's default picks, with invented ids and data.
DEFAULT_PICK_ITEMS: tuple[FakeItem, ...] = (
    FakeItem(
        "Q9000001",
        "Arrival",
        FILM,
        "2016 film",
        aliases={"en": ("Arrival: First Contact",)},
        published=("2016-09-01", "2016-11-11"),
        genres=(SCIENCE_FICTION, DRAMA),
        directors=("Q9200001",),
        runtime_minutes=116,
        imdb="tt9000001",
        letterboxd="arrival-2016",
        sitelinks=_wikis("Arrival (film)", 12),
    ),
    FakeItem(
        "Q9000002",
        "The Leftovers",
        TELEVISION_SERIES,
        "television series",
        started="2014-06-29",
        genres=(DRAMA, MYSTERY),
        imdb="tt9000002",
        sitelinks=_wikis("The Leftovers (TV series)", 8),
    ),
    FakeItem(
        "Q9000003",
        "Moon",
        FILM,
        "2009 film",
        published=("2009-06-12",),
        genres=(SCIENCE_FICTION,),
        directors=("Q9200002",),
        runtime_minutes=97,
        imdb="tt9000003",
        letterboxd="moon",
        sitelinks=_wikis("Moon (film)", 10),
    ),
    FakeItem(
        "Q9000004",
        "Dark",
        TELEVISION_SERIES,
        "German television series",
        started="2017-12-01",
        genres=(SCIENCE_FICTION, MYSTERY),
        imdb="tt9000004",
        sitelinks=_wikis("Dark (TV series)", 11),
    ),
    FakeItem(
        "Q9000005",
        "Annihilation",
        FILM,
        "2018 film",
        published=("2018-02-23",),
        genres=(SCIENCE_FICTION, THRILLER),
        directors=("Q9200003",),
        runtime_minutes=115,
        imdb="tt9000005",
        letterboxd="annihilation",
        sitelinks=_wikis("Annihilation (film)", 9),
    ),
    FakeItem(
        "Q9000006",
        "Severance",
        TELEVISION_SERIES,
        "television series",
        started="2022-02-18",
        genres=(THRILLER, MYSTERY),
        imdb="tt9000006",
        sitelinks=_wikis("Severance (TV series)", 7),
    ),
)

INVENTED_ITEMS: tuple[FakeItem, ...] = (
    FakeItem(
        "Q9300001", "Moon", NATURAL_SATELLITE, "natural satellite", sitelinks=_wikis("Moon", 40)
    ),
    FakeItem(
        "Q9000101",
        "The Glass Orchard",
        NOVEL,
        "2011 novel",
        published=("2011-04-02",),
        sitelinks=_wikis("The Glass Orchard (novel)", 6),
    ),
    FakeItem(
        "Q9000102",
        "The Glass Orchard",
        FILM,
        "2014 film",
        published=("2014-10-03",),
        genres=(DRAMA,),
        directors=("Q9200002",),
        runtime_minutes=104,
        imdb="tt9000102",
        letterboxd="the-glass-orchard",
        sitelinks=_wikis("The Glass Orchard (film)", 3),
    ),
    FakeItem(
        "Q9000103",
        "Juniper Vale",
        FEATURE_FILM,
        "2019 film",
        published=("2019-05-17",),
        genres=(DRAMA,),
        runtime_minutes=92,
        imdb="tt9000103",
        sitelinks=_wikis("Juniper Vale (film)", 2),
    ),
    FakeItem(
        "Q9000104",
        "Night Ferry",
        FILM,
        "1978 film",
        published=("1978-03-09",),
        genres=(THRILLER,),
        runtime_minutes=101,
        imdb="tt9000104",
        sitelinks=_wikis("Night Ferry (1978 film)", 5),
    ),
    FakeItem(
        "Q9000105",
        "Night Ferry",
        FILM,
        "2012 film",
        published=("2012-08-24",),
        genres=(THRILLER,),
        runtime_minutes=109,
        imdb="tt9000105",
        sitelinks=_wikis("Night Ferry (2012 film)", 4),
    ),
    FakeItem(
        "Q9000106",
        "Saltwater Hymn",
        FILM,
        "2017 film",
        published=("2017-07-14",),
        genres=(DRAMA,),
        directors=("Q9200003",),
        runtime_minutes=121,
        imdb="tt9000106",
        letterboxd="saltwater-hymn",
        sitelinks=_wikis("Saltwater Hymn", 25),
    ),
    FakeItem(
        "Q9000107",
        "Saltwater Hymn",
        TELEVISION_FILM,
        "2017 television film",
        published=("2017-11-02",),
        runtime_minutes=88,
        sitelinks=_wikis("Saltwater Hymn (TV film)", 2),
    ),
    FakeItem(
        "Q9000108",
        "Lanternfall",
        ANIMATED_FILM,
        "2020 animated film",
        published=("2020-12-04",),
        labels={"de": "Laternenfall"},
        aliases={"en": ("Lantern Fall",), "fr": ("La Chute des lanternes",)},
        title="Lanternfall: The Last Light",
        genres=(SCIENCE_FICTION,),
        directors=("Q9200001",),
        runtime_minutes=95,
        imdb="tt9000108",
        letterboxd="lanternfall",
        sitelinks=_wikis("Lanternfall", 6),
    ),
    FakeItem(
        "Q9000109",
        "Quiet Meridian",
        FILM,
        "2021 film",
        published=("2022-03-11", "2021-09-05"),
        genres=(DRAMA,),
        runtime_minutes=112,
        imdb="tt9000109",
        sitelinks=_wikis("Quiet Meridian", 4),
    ),
    FakeItem(
        "Q9000111",
        "Moonfall Express",
        FILM,
        "2011 film",
        published=("2011-02-18",),
        runtime_minutes=99,
        sitelinks=_wikis("Moonfall Express", 2),
    ),
    FakeItem(
        "Q9000110",
        "Copper Tide",
        MINISERIES,
        "miniseries",
        started="2015-01-08",
        genres=(MYSTERY,),
        imdb="tt9000110",
        sitelinks=_wikis("Copper Tide", 3),
    ),
)

SETTLEMENT = "Q486972"
# More namesakes than a label search returns, all better known than the film.
HARBOR_NAMESAKES: tuple[FakeItem, ...] = tuple(
    FakeItem(
        f"Q93001{number:02d}",
        "Harbor",
        SETTLEMENT,
        "human settlement",
        sitelinks=_wikis("Harbor", 20),
    )
    for number in range(12)
)
HARBOR_FILM = FakeItem(
    "Q9000112",
    "Harbor",
    FILM,
    "2019 film",
    published=("2019-03-01",),
    runtime_minutes=101,
    sitelinks=_wikis("Harbor (film)", 2),
)

DEFAULT_CATALOGUE: tuple[FakeItem, ...] = (
    PEOPLE_AND_GENRES + DEFAULT_PICK_ITEMS + INVENTED_ITEMS + HARBOR_NAMESAKES + (HARBOR_FILM,)
)
