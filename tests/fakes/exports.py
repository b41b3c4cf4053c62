"""Letterboxd and IMDb exports as the sites write them, built in memory for tests.

`letterboxd_zip(...)` makes the ZIP a member downloads from Letterboxd (files at the
root, `likes/films.csv`, lists and deleted entries beside them); `letterboxd_csv`
one of its CSVs; `imdb_csv` IMDb's ratings or watchlist export. Rows are given as
short tuples and written with every column the real export has.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence

LETTERBOXD_COLUMNS = {
    "ratings.csv": ("Date", "Name", "Year", "Letterboxd URI", "Rating"),
    "diary.csv": (
        "Date",
        "Name",
        "Year",
        "Letterboxd URI",
        "Rating",
        "Rewatch",
        "Tags",
        "Watched Date",
    ),
    "watched.csv": ("Date", "Name", "Year", "Letterboxd URI"),
    "watchlist.csv": ("Date", "Name", "Year", "Letterboxd URI"),
    "likes/films.csv": ("Date", "Name", "Year", "Letterboxd URI"),
}
IMDB_RATINGS_COLUMNS = (
    "Const",
    "Your Rating",
    "Date Rated",
    "Title",
    "Original Title",
    "URL",
    "Title Type",
    "IMDb Rating",
    "Runtime (mins)",
    "Year",
    "Genres",
    "Num Votes",
    "Release Date",
    "Directors",
)
IMDB_WATCHLIST_COLUMNS = (
    "Position",
    "Const",
    "Created",
    "Modified",
    "Description",
    "Title",
    "Original Title",
    "URL",
    "Title Type",
    "IMDb Rating",
    "Runtime (mins)",
    "Year",
    "Genres",
    "Num Votes",
    "Release Date",
    "Directors",
    "Your Rating",
    "Date Rated",
)


def csv_bytes(
    columns: Sequence[str], rows: Iterable[Sequence[object]], *, bom: bool = False
) -> bytes:
    """A CSV as the sites write it: a header, then the rows, quoted where needed."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if value is None else value for value in row])
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


def letterboxd_row(
    name: str, year: int | None, rating: float | None = None, *, date: str = "2024-01-05"
) -> tuple[object, ...]:
    """A row of ratings.csv (with a rating) or watched/watchlist/likes (without)."""
    uri = f"https://boxd.it/{abs(hash((name, year))) % 10**6:x}"
    if rating is None:
        return (date, name, year, uri)
    return (date, name, year, uri, rating)


def diary_row(
    name: str, year: int | None, rating: float | None, *, watched: str = "2024-01-04"
) -> tuple[object, ...]:
    """A row of diary.csv."""
    uri = f"https://boxd.it/{abs(hash((name, year, watched))) % 10**6:x}"
    return (watched, name, year, uri, rating, "", "", watched)


def letterboxd_csv(file_name: str, rows: Iterable[Sequence[object]]) -> bytes:
    """One Letterboxd CSV, by its name in the ZIP."""
    return csv_bytes(LETTERBOXD_COLUMNS[file_name], rows)


def letterboxd_zip(files: dict[str, Iterable[Sequence[object]]], *, extra: bool = True) -> bytes:
    """The ZIP Letterboxd gives, with `files` (name -> rows) and, unless `extra` is
    False, the files that are not history (profile, a list, a deleted diary entry)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, rows in files.items():
            archive.writestr(name, letterboxd_csv(name, rows))
        if extra:
            archive.writestr("profile.csv", "Date Joined,Username\n2020-01-01,someone\n")
            archive.writestr(
                "lists/favourites.csv",
                "Letterboxd list export v7\nDate,Name\n\nPosition,Name,Year,URL\n"
                "1,Stalker,1979,x\n",
            )
            archive.writestr(
                "deleted/diary.csv",
                letterboxd_csv("diary.csv", [diary_row("Deleted Film", 2001, 1)]),
            )
    return buffer.getvalue()


def imdb_row(
    const: str,
    title: str,
    year: int | None,
    rating: int | None = None,
    *,
    title_type: str = "Movie",
) -> dict[str, object]:
    """A row of IMDb's ratings or watchlist export, by column (each export takes its own)."""
    return {
        "Position": 1,
        "Const": const,
        "Created": "2024-02-01",
        "Modified": "2024-02-01",
        "Your Rating": rating,
        "Date Rated": "2024-02-01" if rating is not None else "",
        "Title": title,
        "Original Title": title,
        "URL": f"https://www.imdb.com/title/{const}/",
        "Title Type": title_type,
        "IMDb Rating": 7.5,
        "Runtime (mins)": 120,
        "Year": year,
        "Genres": "Drama, Sci-Fi",
        "Num Votes": 1000,
        "Release Date": f"{year}-01-01" if year else "",
        "Directors": "Someone, Else",
    }


def imdb_csv(rows: Iterable[dict[str, object]], *, watchlist: bool = False) -> bytes:
    """IMDb's ratings export, or (`watchlist`) its watchlist export."""
    columns = IMDB_WATCHLIST_COLUMNS if watchlist else IMDB_RATINGS_COLUMNS
    return csv_bytes(columns, [[row.get(column) for column in columns] for row in rows])
