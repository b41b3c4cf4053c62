"""Which export file a path or header is."""

from __future__ import annotations

import pytest

from bot.pipeline.library.export_files import ExportFile, file_by_columns, file_by_name


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("ratings.csv", ExportFile.LETTERBOXD_RATINGS),
        ("letterboxd-someone-2024/diary.csv", ExportFile.LETTERBOXD_DIARY),
        ("Watched.CSV", ExportFile.LETTERBOXD_WATCHED),
        ("watchlist (2).csv", ExportFile.LETTERBOXD_WATCHLIST),
        ("likes/films.csv", ExportFile.LETTERBOXD_LIKES),
        ("films.csv", ExportFile.LETTERBOXD_LIKES),
        ("likes/reviews.csv", None),
        ("likes/ratings.csv", None),
        ("deleted/diary.csv", None),
        ("orphaned/ratings.csv", None),
        ("lists/watched.csv", None),
        ("__MACOSX/._ratings.csv", None),
        ("reviews.csv", None),
    ],
)
def test_a_letterboxd_file_is_known_by_its_path(path: str, expected: ExportFile | None) -> None:
    assert file_by_name(path) is expected


def test_imdb_is_known_by_its_columns_whatever_the_name() -> None:
    ratings = ["Const", "Your Rating", "Title", "Title Type", "Year"]
    assert file_by_columns(ExportFile.LETTERBOXD_RATINGS, ratings) is ExportFile.IMDB_RATINGS
    assert file_by_columns(None, ["Position", *ratings]) is ExportFile.IMDB_WATCHLIST


def test_a_letterboxd_header_without_a_name_is_only_known_when_its_columns_tell() -> None:
    watched = ["Date", "Name", "Year", "Letterboxd URI"]
    assert file_by_columns(None, watched) is None
    assert file_by_columns(None, [*watched, "Rating"]) is ExportFile.LETTERBOXD_RATINGS
    assert (
        file_by_columns(None, [*watched, "Rating", "Watched Date"]) is ExportFile.LETTERBOXD_DIARY
    )
