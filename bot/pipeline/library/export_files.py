"""The files of a Letterboxd or IMDb export: which one a CSV is, and what its rows mean.

Letterboxd's ZIP holds `ratings.csv` (`Date,Name,Year,Letterboxd URI,Rating`),
`diary.csv` (the same plus `Rewatch,Tags,Watched Date`), `watched.csv`,
`watchlist.csv` and `likes/films.csv` (`Date,Name,Year,Letterboxd URI`). IMDb exports
one CSV per list: ratings (`Const,Your Rating,Date Rated,Title,...,Title Type,...,Year`)
and the watchlist (the same shape with `Position`).

What a row means: Letterboxd 4 to 5 stars is liked, 0.5 to 2 not for me, the rest
seen; IMDb 8 to 10 liked, 1 to 4 not for me, the rest seen. Watched and diary entries
are seen, likes liked, watchlist rows go to the watchlist. When several files speak of
one title, the strongest file's word counts (`RATING_PRECEDENCE`: ratings.csv over
likes over diary over watched), and among diary entries the latest.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.pipeline.domain import Rating

MAX_TITLE_CHARS = 200  # as long as a pick's title may be
EARLIEST_YEAR = 1870
LATEST_YEAR = 2100
IMDB_ID = re.compile(r"tt\d{7,10}")
IMDB_TITLE_URL = "https://www.imdb.com/title/{}/"
# IMDb's title types we take, written without spaces and case-folded ("TV Series" and
# "tvSeries" alike), and whether each is a movie or a show.
IMDB_KINDS = {"movie": "movie", "tvmovie": "movie", "tvseries": "show", "tvminiseries": "show"}


class ExportFile(StrEnum):
    """One kind of export file; the value is how a member would name it."""

    LETTERBOXD_RATINGS = "ratings.csv"
    LETTERBOXD_DIARY = "diary.csv"
    LETTERBOXD_WATCHED = "watched.csv"
    LETTERBOXD_WATCHLIST = "watchlist.csv"
    LETTERBOXD_LIKES = "likes/films.csv"
    IMDB_RATINGS = "IMDb ratings"
    IMDB_WATCHLIST = "IMDb watchlist"

    @property
    def is_imdb(self) -> bool:
        return self in (ExportFile.IMDB_RATINGS, ExportFile.IMDB_WATCHLIST)


LETTERBOXD_FILES = tuple(kind for kind in ExportFile if not kind.is_imdb)

REQUIRED_COLUMNS: dict[ExportFile, tuple[str, ...]] = {
    ExportFile.LETTERBOXD_RATINGS: ("Name", "Year", "Rating"),
    ExportFile.LETTERBOXD_DIARY: ("Name", "Year", "Rating"),
    ExportFile.LETTERBOXD_WATCHED: ("Name", "Year"),
    ExportFile.LETTERBOXD_WATCHLIST: ("Name", "Year"),
    ExportFile.LETTERBOXD_LIKES: ("Name", "Year"),
    ExportFile.IMDB_RATINGS: ("Const", "Your Rating", "Title", "Title Type", "Year"),
    ExportFile.IMDB_WATCHLIST: ("Const", "Title", "Title Type", "Year"),
}

# How strongly a file's word on a title's rating counts against another file's.
RATING_PRECEDENCE: dict[ExportFile, int] = {
    ExportFile.LETTERBOXD_RATINGS: 4,
    ExportFile.IMDB_RATINGS: 4,
    ExportFile.LETTERBOXD_LIKES: 3,
    ExportFile.LETTERBOXD_DIARY: 2,
    ExportFile.LETTERBOXD_WATCHED: 1,
}

# A row's field by column name, stripped; "" when the file has no such column.
_Field = Callable[[str], str]

# `ratings (1).csv`: how a browser names a second download of the same file.
_DOWNLOAD_COPY = re.compile(r"\s*\(\d+\)(?=\.csv$)")


class RowRefused(Exception):
    """One row that cannot be read; the message says why, for the import's summary."""


@dataclass(frozen=True, slots=True)
class ExportRow:
    """What one row of an export says about one title."""

    title: str
    year: int | None
    kind: str | None  # "movie" or "show" when the export says
    imdb_id: str | None
    link: str | None  # the title on the site it came from
    rating: Rating | None  # None: the row only puts it on the watchlist
    is_on_watchlist: bool
    date: str  # the row's date (ISO), so the latest diary entry wins


def is_history_path(path: str) -> bool:
    """Whether a path in a ZIP may hold history: deleted and orphaned entries, the
    member's own lists and a Mac's resource forks do not."""
    folders = path.replace("\\", "/").casefold().split("/")[:-1]
    return not {"deleted", "orphaned", "lists", "__macosx"} & set(folders)


def file_by_name(path: str) -> ExportFile | None:
    """Which Letterboxd file a path inside a ZIP (or an uploaded file's name) is."""
    if not is_history_path(path):
        return None
    parts = _DOWNLOAD_COPY.sub("", path.replace("\\", "/").casefold()).split("/")
    if parts[-2:] == ["likes", "films.csv"] or parts == ["films.csv"]:
        return ExportFile.LETTERBOXD_LIKES
    if len(parts) > 1 and parts[-2] == "likes":
        return None
    for kind in LETTERBOXD_FILES:
        if parts[-1] == kind.value:
            return kind
    return None


def file_by_columns(name_kind: ExportFile | None, columns: Sequence[str]) -> ExportFile | None:
    """Which export file a CSV is, from its name's guess and its header's columns."""
    present = set(columns)
    if "Const" in present:
        return ExportFile.IMDB_WATCHLIST if "Position" in present else ExportFile.IMDB_RATINGS
    if name_kind is not None:
        return name_kind
    if "Name" not in present and "Letterboxd URI" not in present:
        return None
    if "Watched Date" in present:
        return ExportFile.LETTERBOXD_DIARY
    if "Rating" in present:
        return ExportFile.LETTERBOXD_RATINGS
    return None


def read_row(kind: ExportFile, columns: dict[str, int], fields: Sequence[str]) -> ExportRow | None:
    """The row's meaning, None for an IMDb title type we do not take; RowRefused if broken."""
    if len(fields) != len(columns):
        raise RowRefused(f"has {len(fields)} fields where the header has {len(columns)}")

    def field(name: str) -> str:
        index = columns.get(name)
        return fields[index].strip() if index is not None else ""

    if kind.is_imdb:
        return _imdb_row(kind, field)
    return _letterboxd_row(kind, field)


def _letterboxd_row(kind: ExportFile, field: _Field) -> ExportRow:
    title = _title(field("Name"))
    year = _year(field("Year"))
    rating: Rating | None = None
    if kind is ExportFile.LETTERBOXD_RATINGS or (
        kind is ExportFile.LETTERBOXD_DIARY and field("Rating")
    ):
        rating = _letterboxd_rating(field("Rating"))
    elif kind is ExportFile.LETTERBOXD_LIKES:
        rating = Rating.LIKED
    elif kind is not ExportFile.LETTERBOXD_WATCHLIST:
        rating = Rating.SEEN
    return ExportRow(
        title=title,
        year=year,
        kind=None,
        imdb_id=None,
        link=field("Letterboxd URI") or None,
        rating=rating,
        is_on_watchlist=kind is ExportFile.LETTERBOXD_WATCHLIST,
        date=field("Watched Date") or field("Date"),
    )


def _imdb_row(kind: ExportFile, field: _Field) -> ExportRow | None:
    title_type = re.sub(r"[\s_-]", "", field("Title Type")).casefold()
    film_kind = IMDB_KINDS.get(title_type)
    if film_kind is None:
        return None
    title = _title(field("Title"))
    year = _year(field("Year"))
    const = field("Const")
    imdb_id = const if IMDB_ID.fullmatch(const) else None
    is_watchlist = kind is ExportFile.IMDB_WATCHLIST
    return ExportRow(
        title=title,
        year=year,
        kind=film_kind,
        imdb_id=imdb_id,
        link=field("URL") or (IMDB_TITLE_URL.format(imdb_id) if imdb_id else None),
        rating=None if is_watchlist else _imdb_rating(field("Your Rating")),
        is_on_watchlist=is_watchlist,
        date=field("Date Rated") or field("Created"),
    )


def _title(raw: str) -> str:
    # Invisible and control characters would only confuse the prompt and the screen.
    visible = "".join(char for char in raw if unicodedata.category(char) not in ("Cc", "Cf"))
    title = " ".join(unicodedata.normalize("NFC", visible).split())
    if not title:
        raise RowRefused("has no title")
    if len(title) > MAX_TITLE_CHARS:
        raise RowRefused(f"has a title longer than {MAX_TITLE_CHARS} characters")
    return title


def _year(raw: str) -> int | None:
    if not raw:
        return None
    if raw.isdigit() and EARLIEST_YEAR <= int(raw) <= LATEST_YEAR:
        return int(raw)
    raise RowRefused(f"has {_shown(raw)} where the year goes")


def _letterboxd_rating(raw: str) -> Rating:
    try:
        stars = float(raw)
    except ValueError:
        stars = -1.0
    if not (0.5 <= stars <= 5 and (stars * 2).is_integer()):
        raise RowRefused(f"has the rating {_shown(raw)}, not 0.5 to 5 stars")
    if stars >= 4:
        return Rating.LIKED
    if stars <= 2:
        return Rating.NOT_FOR_ME
    return Rating.SEEN


def _imdb_rating(raw: str) -> Rating:
    if not (raw.isdigit() and 1 <= int(raw) <= 10):
        raise RowRefused(f"has the rating {_shown(raw)}, not 1 to 10")
    score = int(raw)
    if score >= 8:
        return Rating.LIKED
    if score <= 4:
        return Rating.NOT_FOR_ME
    return Rating.SEEN


def _shown(raw: str) -> str:
    return repr(raw[:20] + ("…" if len(raw) > 20 else "")) if raw else "nothing"
