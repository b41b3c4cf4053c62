"""The terminal's library verbs: import, watchlist (add, list, remove, watched), erase."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.cli import EXIT_FAILED, EXIT_OK
from bot.settings import Settings
from tests.cli.session import Session
from tests.fakes.exports import imdb_csv, imdb_row, letterboxd_row, letterboxd_zip
from tests.fakes.ollama_server import DEFAULT_PICKS, MORE_PICKS, FakeOllama
from tests.fakes.wikidata_server import FakeWikidata


def settings_for(fake_ollama: FakeOllama, tmp_path: Path, **overrides: object) -> Settings:
    return Settings(
        ollama_url=fake_ollama.url,
        data_dir=tmp_path / "data",
        min_taste_similarity=-1.0,
        _env_file=None,
        **overrides,  # type: ignore[arg-type]
    )


def number_of(title: str, listing: str) -> str:
    """The number `watchlist` shows before a title."""
    found = re.search(rf"#(\d+) {re.escape(title)}", listing)
    assert found is not None, listing
    return found[1]


@pytest.fixture
def cli(fake_ollama: FakeOllama, tmp_path: Path) -> Session:
    return Session(settings_for(fake_ollama, tmp_path))


@pytest.fixture
def letterboxd(tmp_path: Path) -> Path:
    path = tmp_path / "letterboxd-alice-2024-01-05-utc.zip"
    path.write_bytes(
        letterboxd_zip(
            {
                "ratings.csv": [
                    letterboxd_row("Arrival", 2016, 5),
                    letterboxd_row("Moon", 2009, 1),
                    letterboxd_row("Gattaca", 1997, 3),
                ],
                "watched.csv": [letterboxd_row("Dark", 2017)],
                "watchlist.csv": [letterboxd_row("Stalker", 1979)],
            }
        )
    )
    return path


async def test_a_letterboxd_zip_is_imported_with_its_counts_and_a_second_time_changes_nothing(
    cli: Session, letterboxd: Path
) -> None:
    assert await cli("--member", "alice", "import", str(letterboxd)) == EXIT_OK
    assert (
        "Imported 5 films from Letterboxd: 1 liked, 1 not for me, 2 seen, 1 to your watchlist."
        in cli.out
    )

    assert await cli("--member", "alice", "import", str(letterboxd)) == EXIT_OK
    assert "Nothing changed: you had imported all of it before." in cli.out

    await cli("--member", "alice", "watchlist")
    assert "Stalker (1979)" in cli.out


async def test_an_imdb_csv_is_imported_and_other_title_types_counted(
    cli: Session, tmp_path: Path
) -> None:
    path = tmp_path / "ratings.csv"
    path.write_bytes(
        imdb_csv(
            [
                imdb_row("tt0000001", "Heat", 1995, 9),
                imdb_row("tt0000002", "Dark", 2017, 6, title_type="TV Series"),
                imdb_row("tt0000003", "Pilot", 2017, 2, title_type="TV Episode"),
            ]
        )
    )
    assert await cli("import", str(path)) == EXIT_OK
    assert "Imported 2 films from IMDb: 1 liked, 0 not for me, 1 seen" in cli.out
    assert "Skipped 1 title that is not a film or series" in cli.out


async def test_the_next_suggestion_after_an_import_leaves_out_what_was_seen(
    cli: Session, letterboxd: Path, fake_ollama: FakeOllama
) -> None:
    await cli("--member", "alice", "import", str(letterboxd))
    fake_ollama.picks = [*DEFAULT_PICKS, *MORE_PICKS]

    assert await cli("--member", "alice", "suggest", "sci-fi", "-n", "2") == EXIT_OK

    assert "1. The Leftovers" in cli.out and "2. Annihilation" in cli.out
    for title in ("Arrival", "Moon", "Dark"):
        assert f". {title}" not in cli.out
    prompt = fake_ollama.chat_requests[-1].body["messages"][-1]["content"]
    assert prompt.index('- "Arrival (2016)"') < prompt.index("not for me")  # an example
    assert '- "Dark (2017)"' in prompt[prompt.index("Do not suggest these again") :]


@pytest.mark.parametrize(
    ("content", "name", "expected"),
    [
        (b"Account,Amount\n1,2\n", "bank.csv", "is not a Letterboxd or IMDb export"),
        (b"\x00\x01\x02", "film.mp4", "is not a CSV or ZIP file"),
        (b"Date,Name,Letterboxd URI\n2024,Alien,x\n", "ratings.csv", "missing the columns"),
        (letterboxd_zip({}, extra=True), "empty.zip", "holds none of the files an export has"),
    ],
)
async def test_a_file_that_is_not_an_export_is_one_clear_line(
    cli: Session, tmp_path: Path, content: bytes, name: str, expected: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    assert await cli("import", str(path)) == EXIT_FAILED
    assert expected in cli.err
    assert cli.err.count("\n") == 1


async def test_the_size_and_row_limits_refuse_an_import(
    fake_ollama: FakeOllama, tmp_path: Path, letterboxd: Path
) -> None:
    small = Session(settings_for(fake_ollama, tmp_path, import_max_bytes=1024))
    assert await small("import", str(letterboxd)) == EXIT_FAILED
    assert "an import can be at most 1.0 MB" not in small.err  # 1 KB, said in MB
    assert "an import can be at most" in small.err

    few = Session(settings_for(fake_ollama, tmp_path, import_max_rows=3))
    assert await few("import", str(letterboxd)) == EXIT_FAILED
    assert "more than 3 rows" in few.err
    assert await few("watchlist") == EXIT_OK
    assert "Your watchlist is empty" in few.out  # nothing half-imported


async def test_save_a_pick_list_remove_and_mark_watched(cli: Session) -> None:
    await cli("--member", "alice", "suggest", "sci-fi", "-n", "3")

    assert await cli("--member", "alice", "watchlist", "add", "1", "--pick", "1") == EXIT_OK
    assert "Saved Arrival (2016) to your watchlist." in cli.out
    assert await cli("--member", "bob", "watchlist", "add", "1", "--pick", "3") == EXIT_OK
    assert "Saved Moon (2009)" in cli.out
    await cli("--member", "bob", "watchlist", "add", "1", "--pick", "3")
    assert "Moon (2009) is already on your watchlist." in cli.out
    await cli("--member", "alice", "watchlist", "add", "1", "--pick", "2")

    await cli("--member", "alice", "watchlist")
    assert "Your watchlist: 2 titles" in cli.out
    assert "#1 Arrival (2016 · movie)" in cli.out
    assert "Moon" not in cli.out  # Bob's

    leftovers = number_of("The Leftovers", cli.out)

    assert await cli("--member", "alice", "watchlist", "remove", leftovers) == EXIT_OK
    assert "Took The Leftovers (2014) off your watchlist." in cli.out
    assert await cli("--member", "alice", "watchlist", "watched", "1", stdin="liked\n") == EXIT_OK
    assert "Marked Arrival (2016) watched: liked." in cli.out
    await cli("--member", "alice", "watchlist")
    assert "Your watchlist is empty" in cli.out


async def test_a_title_not_on_ones_own_watchlist_cannot_be_removed(cli: Session) -> None:
    await cli("--member", "alice", "suggest", "sci-fi", "-n", "2")
    await cli("--member", "alice", "watchlist", "add", "1", "--pick", "1")
    assert await cli("--member", "bob", "watchlist", "remove", "1") == EXIT_FAILED
    assert "#1 is not on your watchlist" in cli.err


async def test_erasing_imports_keeps_the_members_own_saves(cli: Session, letterboxd: Path) -> None:
    await cli("--member", "alice", "import", str(letterboxd))
    await cli("--member", "alice", "suggest", "sci-fi", "-n", "2")
    await cli("--member", "alice", "watchlist", "add", "1", "--pick", "1")  # The Leftovers

    assert await cli("--member", "alice", "import", "--erase", "--yes") == EXIT_OK
    assert "Erased 5 imported titles." in cli.out
    await cli("--member", "alice", "watchlist")
    assert "The Leftovers" in cli.out and "Stalker" not in cli.out


async def test_forget_all_with_its_history_erases_the_library_too(
    cli: Session, letterboxd: Path
) -> None:
    await cli("--member", "alice", "prefer", "slow sci-fi")
    await cli("--member", "alice", "import", str(letterboxd))

    assert await cli("--member", "alice", "forget", "--all", stdin="y\ny\n") == EXIT_OK
    assert "your library of 5 titles (watchlist and imports)" in cli.out
    assert "and your library of 5 titles." in cli.out
    await cli("--member", "alice", "watchlist")
    assert "Your watchlist is empty" in cli.out


async def test_a_title_saved_to_the_watchlist_is_left_out_of_new_picks(
    cli: Session, fake_ollama: FakeOllama
) -> None:
    await cli("--member", "alice", "suggest", "sci-fi", "-n", "2")
    await cli("--member", "bob", "watchlist", "add", "1", "--pick", "1")  # Arrival
    fake_ollama.picks = [*DEFAULT_PICKS, *MORE_PICKS]

    await cli("--member", "bob", "suggest", "sci-fi", "-n", "2")

    assert "1. The Leftovers" in cli.out and "2. Moon" in cli.out
    assert "Arrival" not in cli.out.split("Done in")[0].split("picks for")[-1]


@pytest.fixture
def cli_with_catalogue(
    fake_ollama: FakeOllama, fake_wikidata: FakeWikidata, tmp_path: Path
) -> Session:
    return Session(
        settings_for(
            fake_ollama,
            tmp_path,
            catalogue="wikidata",
            wikidata_api_url=fake_wikidata.api_url,
            catalogue_contact="owner@example.org",
        )
    )


async def test_with_the_catalogue_an_import_is_matched_and_the_unmatched_listed(
    cli_with_catalogue: Session, tmp_path: Path
) -> None:
    path = tmp_path / "ratings.csv"
    path.write_bytes(
        imdb_csv(
            [
                imdb_row("tt9000001", "Arrival", 2016, 9),
                imdb_row("tt0000042", "Moon", 2009, 3),  # the catalogue's Moon has another id
                imdb_row("tt0000043", "Stalker", 1979, 10),  # not in the catalogue
            ]
        )
    )

    assert await cli_with_catalogue("import", str(path)) == EXIT_OK

    out = cli_with_catalogue.out
    assert "Matched 1 of 3 titles to the film catalogue; 2 not matched" in out
    listed = out[out.index("Not found in the film catalogue") :]
    assert "Moon (2009)" in listed and "Stalker (1979)" in listed and "Arrival" not in listed


async def test_with_the_catalogue_the_watchlist_shows_facts_and_links(
    cli_with_catalogue: Session,
) -> None:
    await cli_with_catalogue("suggest", "sci-fi", "-n", "2")
    await cli_with_catalogue("watchlist", "add", "1", "--pick", "1")

    assert await cli_with_catalogue("watchlist") == EXIT_OK

    assert "film · 116 min · science fiction, drama · directed by Mara Quill" in (
        cli_with_catalogue.out
    )
    assert "IMDb: https://www.imdb.com/title/tt9000001/" in cli_with_catalogue.out
