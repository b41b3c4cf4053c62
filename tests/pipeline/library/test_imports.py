"""Reading Letterboxd and IMDb exports: what each row becomes, and every refusal."""

from __future__ import annotations

import io
import re
import time
import zipfile

import pytest

from bot.errors import (
    ImportRefused,
    ImportTooLarge,
    InputError,
    MissingColumns,
    NoKnownFile,
    NotAnExport,
    TooManyRows,
)
from bot.pipeline.domain import Rating
from bot.pipeline.library.imports import (
    ExportSource,
    ImportedTitle,
    ImportLimits,
    ParsedExport,
    read_export,
)
from tests.fakes.exports import (
    LETTERBOXD_COLUMNS,
    csv_bytes,
    diary_row,
    imdb_csv,
    imdb_row,
    letterboxd_csv,
    letterboxd_row,
    letterboxd_zip,
)


def by_title(parsed: ParsedExport) -> dict[str, ImportedTitle]:
    return {title.title: title for title in parsed.titles}


def ratings_of(parsed: ParsedExport) -> dict[str, Rating | None]:
    return {title.title: title.rating for title in parsed.titles}


# ------------------------------------------------------------------ Letterboxd


def test_letterboxd_stars_become_liked_not_for_me_or_seen() -> None:
    rows = [
        letterboxd_row("Five", 2001, 5),
        letterboxd_row("Four", 2002, 4),
        letterboxd_row("Three and a half", 2003, 3.5),
        letterboxd_row("Two and a half", 2004, 2.5),
        letterboxd_row("Two", 2005, 2),
        letterboxd_row("Half", 2006, 0.5),
    ]
    parsed = read_export(letterboxd_csv("ratings.csv", rows), "ratings.csv")

    assert parsed.source is ExportSource.LETTERBOXD
    assert ratings_of(parsed) == {
        "Five": Rating.LIKED,
        "Four": Rating.LIKED,
        "Three and a half": Rating.SEEN,
        "Two and a half": Rating.SEEN,
        "Two": Rating.NOT_FOR_ME,
        "Half": Rating.NOT_FOR_ME,
    }


def test_a_letterboxd_zip_reads_every_history_file_and_nothing_else() -> None:
    export = letterboxd_zip(
        {
            "ratings.csv": [letterboxd_row("Alien", 1979, 4.5), letterboxd_row("Cats", 2019, 1)],
            "diary.csv": [diary_row("Alien", 1979, 4.5), diary_row("Heat", 1995, None)],
            "watched.csv": [letterboxd_row("Alien", 1979), letterboxd_row("Ran", 1985)],
            "likes/films.csv": [letterboxd_row("Paddington 2", 2017)],
            "watchlist.csv": [letterboxd_row("Stalker", 1979)],
        }
    )
    parsed = read_export(export, "letterboxd-someone-2024-01-05-utc.zip")

    assert ratings_of(parsed) == {
        "Alien": Rating.LIKED,
        "Cats": Rating.NOT_FOR_ME,
        "Heat": Rating.SEEN,
        "Ran": Rating.SEEN,
        "Paddington 2": Rating.LIKED,
        "Stalker": None,
    }
    assert [title.title for title in parsed.titles if title.is_on_watchlist] == ["Stalker"]
    assert (parsed.count(Rating.LIKED), parsed.count(Rating.NOT_FOR_ME)) == (2, 1)
    assert (parsed.count(Rating.SEEN), parsed.on_watchlist) == (2, 1)
    # The deleted diary entry and the member's own list are not their history.
    assert "Deleted Film" not in by_title(parsed)
    assert "deleted/diary.csv" not in parsed.file_names
    assert parsed.broken_rows == ()


def test_ratings_csv_wins_over_the_diary_for_a_titles_rating() -> None:
    export = letterboxd_zip(
        {
            "diary.csv": [diary_row("Heat", 1995, 5, watched="2024-06-01")],
            "ratings.csv": [letterboxd_row("Heat", 1995, 2, date="2020-01-01")],
        }
    )
    assert ratings_of(read_export(export, "export.zip")) == {"Heat": Rating.NOT_FOR_ME}


def test_the_latest_diary_entry_gives_the_rating_when_ratings_csv_has_none() -> None:
    rows = [
        diary_row("Heat", 1995, 1, watched="2023-01-01"),
        diary_row("Heat", 1995, 4, watched="2024-01-01"),
        diary_row("Heat", 1995, 2, watched="2022-01-01"),
    ]
    parsed = read_export(letterboxd_csv("diary.csv", rows), "diary.csv")
    assert ratings_of(parsed) == {"Heat": Rating.LIKED}


def test_a_liked_film_without_stars_is_liked_over_watched() -> None:
    export = letterboxd_zip(
        {
            "watched.csv": [letterboxd_row("Ran", 1985)],
            "likes/films.csv": [letterboxd_row("Ran", 1985)],
        },
        extra=False,
    )
    assert ratings_of(read_export(export, "export.zip")) == {"Ran": Rating.LIKED}


def test_a_title_is_recognised_by_normalised_title_and_year() -> None:
    rows = [letterboxd_row("The Thing", 1982, 4), letterboxd_row("Thing", 1982, 4)]
    parsed = read_export(letterboxd_csv("ratings.csv", rows), "ratings.csv")
    assert [(title.title, title.key) for title in parsed.titles] == [("The Thing", "thing|1982")]


def test_a_second_download_of_the_same_file_keeps_its_meaning() -> None:
    rows = [letterboxd_row("Stalker", 1979)]
    parsed = read_export(letterboxd_csv("watchlist.csv", rows), "watchlist (1).csv")
    assert by_title(parsed)["Stalker"].is_on_watchlist


def test_watched_csv_under_another_name_is_refused_as_ambiguous() -> None:
    rows = [letterboxd_row("Stalker", 1979)]
    with pytest.raises(NotAnExport, match=re.escape("watched.csv or watchlist.csv")):
        read_export(letterboxd_csv("watched.csv", rows), "my-films.csv")


def test_a_ratings_csv_under_another_name_is_known_by_its_columns() -> None:
    rows = [letterboxd_row("Alien", 1979, 4)]
    parsed = read_export(letterboxd_csv("ratings.csv", rows), "export.csv")
    assert ratings_of(parsed) == {"Alien": Rating.LIKED}


# ------------------------------------------------------------------ IMDb


def test_imdb_scores_become_liked_not_for_me_or_seen() -> None:
    rows = [
        imdb_row(f"tt{score:07d}", f"Score {score}", 2000 + score, score) for score in range(1, 11)
    ]
    parsed = read_export(imdb_csv(rows), "ratings.csv")

    assert parsed.source is ExportSource.IMDB
    ratings = ratings_of(parsed)
    assert [score for score in range(1, 11) if ratings[f"Score {score}"] is Rating.LIKED] == [
        8,
        9,
        10,
    ]
    assert [score for score in range(1, 11) if ratings[f"Score {score}"] is Rating.NOT_FOR_ME] == [
        1,
        2,
        3,
        4,
    ]
    assert [score for score in range(1, 11) if ratings[f"Score {score}"] is Rating.SEEN] == [
        5,
        6,
        7,
    ]
    assert by_title(parsed)["Score 9"].imdb_id == "tt0000009"


def test_imdb_takes_movies_and_series_and_counts_the_other_types() -> None:
    rows = [
        imdb_row("tt0000001", "A Movie", 2001, 8, title_type="Movie"),
        imdb_row("tt0000002", "A TV Movie", 2002, 8, title_type="TV Movie"),
        imdb_row("tt0000003", "A Series", 2003, 8, title_type="TV Series"),
        imdb_row("tt0000004", "A Mini Series", 2004, 8, title_type="TV Mini Series"),
        imdb_row("tt0000005", "Old Style", 2005, 8, title_type="tvSeries"),
        imdb_row("tt0000006", "An Episode", 2006, 8, title_type="TV Episode"),
        imdb_row("tt0000007", "A Game", 2007, 8, title_type="Video Game"),
        imdb_row("tt0000008", "A Short", 2008, 8, title_type="Short"),
    ]
    parsed = read_export(imdb_csv(rows), "ratings.csv")

    kinds = {title.title: title.kind for title in parsed.titles}
    assert kinds == {
        "A Movie": "movie",
        "A TV Movie": "movie",
        "A Series": "show",
        "A Mini Series": "show",
        "Old Style": "show",
    }
    assert parsed.skipped_types == 3
    assert parsed.rows == 8


def test_imdbs_watchlist_export_goes_to_the_watchlist() -> None:
    rows = [imdb_row("tt0000042", "Stalker", 1979), imdb_row("tt0000043", "Ran", 1985)]
    parsed = read_export(imdb_csv(rows, watchlist=True), "WATCHLIST.csv")

    assert [(title.title, title.rating, title.is_on_watchlist) for title in parsed.titles] == [
        ("Stalker", None, True),
        ("Ran", None, True),
    ]
    assert parsed.on_watchlist == 2


def test_two_imdb_titles_with_the_same_name_and_year_stay_two() -> None:
    rows = [imdb_row("tt0000001", "Twin", 2000, 9), imdb_row("tt0000002", "Twin", 2000, 2)]
    parsed = read_export(imdb_csv(rows), "ratings.csv")
    assert [title.imdb_id for title in parsed.titles] == ["tt0000001", "tt0000002"]


def test_an_imdb_export_inside_a_zip_is_read() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("ratings.csv", imdb_csv([imdb_row("tt0000001", "Heat", 1995, 9)]))
    parsed = read_export(buffer.getvalue(), "imdb.zip")
    assert parsed.source is ExportSource.IMDB
    assert ratings_of(parsed) == {"Heat": Rating.LIKED}


# ------------------------------------------------------------------ text and rows


def test_a_byte_order_mark_and_quoted_commas_are_read() -> None:
    rows = [letterboxd_row("Crouching Tiger, Hidden Dragon", 2000, 4.5)]
    data = csv_bytes(LETTERBOXD_COLUMNS["ratings.csv"], rows, bom=True)
    parsed = read_export(data, "ratings.csv")
    assert ratings_of(parsed) == {"Crouching Tiger, Hidden Dragon": Rating.LIKED}


def test_a_file_saved_as_windows_1252_is_read() -> None:
    text = "Date,Name,Year,Letterboxd URI,Rating\n2024-01-01,Amélie,2001,x,4\n"
    parsed = read_export(text.encode("cp1252"), "ratings.csv")
    assert ratings_of(parsed) == {"Amélie": Rating.LIKED}


def test_a_utf16_file_with_its_mark_is_read() -> None:
    text = "Date,Name,Year,Letterboxd URI,Rating\n2024-01-01,Léon,1994,x,5\n"
    parsed = read_export(text.encode("utf-16"), "ratings.csv")
    assert ratings_of(parsed) == {"Léon": Rating.LIKED}


def test_a_broken_row_is_named_skipped_and_counted() -> None:
    columns = LETTERBOXD_COLUMNS["ratings.csv"]
    rows = [
        ("2024-01-01", "Alien", 1979, "x", 4),
        ("2024-01-01", "", 1980, "x", 4),
        ("2024-01-01", "Heat", "nineteen", "x", 4),
        ("2024-01-01", "Ran", 1985, "x", 7),
        ("2024-01-01", "Cut", 1985, "x"),
        ("2024-01-01", "Stalker", 1979, "x", 1),
    ]
    parsed = read_export(csv_bytes(columns, rows), "ratings.csv")

    assert ratings_of(parsed) == {"Alien": Rating.LIKED, "Stalker": Rating.NOT_FOR_ME}
    assert [row.describe() for row in parsed.broken_rows] == [
        "ratings.csv line 3 has no title",
        "ratings.csv line 4 has 'nineteen' where the year goes",
        "ratings.csv line 5 has the rating '7', not 0.5 to 5 stars",
        "ratings.csv line 6 has 4 fields where the header has 5",
    ]
    assert parsed.rows == 6


def test_an_unreadable_record_is_broken_and_the_rest_read() -> None:
    huge = "x" * 200_000  # past the csv module's field limit
    text = f'Date,Name,Year,Letterboxd URI,Rating\n2024,"{huge}",1990,x,3\n2024,Heat,1995,x,4\n'
    parsed = read_export(text.encode(), "ratings.csv")
    assert ratings_of(parsed) == {"Heat": Rating.LIKED}
    assert "cannot be read" in parsed.broken_rows[0].reason


def test_control_characters_in_a_title_are_dropped() -> None:
    rows = [letterboxd_row("Al\u202eien\x07", 1979, 4)]
    parsed = read_export(letterboxd_csv("ratings.csv", rows), "ratings.csv")
    assert [title.title for title in parsed.titles] == ["Alien"]


def test_ten_thousand_rows_parse_in_well_under_a_second() -> None:
    rows = [letterboxd_row(f"Film {n}", 1950 + n % 70, (n % 10 + 1) / 2) for n in range(10_000)]
    data = letterboxd_csv("ratings.csv", rows)

    started = time.process_time()  # this process's CPU time: other load on the machine aside
    parsed = read_export(data, "ratings.csv")
    spent = time.process_time() - started

    assert len(parsed.titles) == 10_000
    assert spent < 0.5


# ------------------------------------------------------------------ refusals


def test_every_refusal_is_an_input_error_of_one_line() -> None:
    with pytest.raises(ImportRefused) as refused:
        read_export(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "poster.png")
    assert isinstance(refused.value, InputError)
    assert "\n" not in str(refused.value)


def test_a_file_over_the_size_limit_is_refused() -> None:
    data = letterboxd_csv("ratings.csv", [letterboxd_row("Alien", 1979, 4)])
    with pytest.raises(ImportTooLarge, match=re.escape("at most 0.0 MB")):
        read_export(data, "ratings.csv", ImportLimits(max_bytes=len(data) - 1))
    assert read_export(data, "ratings.csv", ImportLimits(max_bytes=len(data))).titles


def test_more_rows_than_the_limit_are_refused() -> None:
    rows = [letterboxd_row(f"Film {n}", 2000, 3) for n in range(11)]
    with pytest.raises(TooManyRows, match="more than 10 rows"):
        read_export(letterboxd_csv("ratings.csv", rows), "ratings.csv", ImportLimits(max_rows=10))
    assert read_export(letterboxd_csv("ratings.csv", rows[:10]), "r.csv", ImportLimits(max_rows=10))


def test_rows_are_counted_across_the_files_of_a_zip() -> None:
    export = letterboxd_zip(
        {
            "ratings.csv": [letterboxd_row(f"Film {n}", 2000, 3) for n in range(6)],
            "watched.csv": [letterboxd_row(f"Film {n}", 2000) for n in range(6)],
        }
    )
    with pytest.raises(TooManyRows):
        read_export(export, "export.zip", ImportLimits(max_rows=10))


def test_a_zip_with_too_many_entries_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for n in range(6):
            archive.writestr(f"lists/list-{n}.csv", "x")
        archive.writestr("ratings.csv", letterboxd_csv("ratings.csv", []))
    with pytest.raises(ImportTooLarge, match="holds 7 files"):
        read_export(buffer.getvalue(), "export.zip", ImportLimits(max_zip_entries=6))


def test_a_zip_bomb_is_refused_by_its_declared_size_before_it_is_read() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        header = "Date,Name,Year,Letterboxd URI,Rating\n"
        archive.writestr("ratings.csv", header + "0" * 4 * 1024 * 1024)
    bomb = buffer.getvalue()
    assert len(bomb) < 64 * 1024  # small to upload, large to unpack

    with pytest.raises(ImportTooLarge, match=re.escape("unpacks to more than 1.0 MB")):
        read_export(bomb, "export.zip", ImportLimits(max_unzipped_bytes=1024 * 1024))


def test_a_zip_that_understates_its_size_is_not_read_past_it() -> None:
    real = letterboxd_csv("ratings.csv", [letterboxd_row(f"Film {n}", 2000, 3) for n in range(500)])
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("ratings.csv", real)
    declared = len(real).to_bytes(4, "little")
    # Rewrite the central directory's uncompressed size (what zipfile trusts) to 100.
    lying = buffer.getvalue().replace(declared, (100).to_bytes(4, "little"))

    with pytest.raises(NotAnExport, match="cannot be read") as refused:
        read_export(lying, "export.zip", ImportLimits(max_unzipped_bytes=1000))
    assert "CRC" in str(refused.value)  # read up to the declared size, then found out


def test_a_damaged_zip_is_refused() -> None:
    export = letterboxd_zip({"ratings.csv": [letterboxd_row("Alien", 1979, 4)]})
    with pytest.raises(NotAnExport, match="ZIP cannot be opened"):
        read_export(export[: len(export) // 2], "export.zip")


def test_a_zip_without_a_known_file_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("holiday.jpg", b"\xff\xd8\xff")
        archive.writestr("deleted/ratings.csv", letterboxd_csv("ratings.csv", []))
    with pytest.raises(NoKnownFile, match="none of the files an export has"):
        read_export(buffer.getvalue(), "export.zip")


def test_a_binary_file_is_not_a_csv() -> None:
    with pytest.raises(NotAnExport, match="is not a CSV or ZIP"):
        read_export(b"\x00\x01\x02\x03" * 10, "film.mp4")


def test_a_csv_of_something_else_is_not_an_export() -> None:
    with pytest.raises(NotAnExport, match="holds Account, Amount"):
        read_export(b"Account,Amount\n1,2\n", "bank.csv")


def test_a_csv_without_its_columns_names_the_missing_ones() -> None:
    data = b"Date,Name,Letterboxd URI\n2024-01-01,Alien,x\n"
    with pytest.raises(
        MissingColumns, match=re.escape("ratings.csv is missing the columns Year, Rating")
    ):
        read_export(data, "ratings.csv")


def test_an_imdb_csv_without_its_columns_names_the_missing_ones() -> None:
    data = b"Const,Title,Year\ntt0000001,Heat,1995\n"
    with pytest.raises(MissingColumns, match="missing the columns Your Rating, Title Type"):
        read_export(data, "ratings.csv")


def test_an_empty_file_is_not_an_export() -> None:
    with pytest.raises(NotAnExport, match=re.escape("ratings.csv is empty")):
        read_export(b"", "ratings.csv")
