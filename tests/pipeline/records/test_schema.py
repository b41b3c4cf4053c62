"""The records' schema: a new database, one from a newer release, and migrations from v1."""

import sqlite3
from pathlib import Path

import pytest

from bot.errors import DuplicateTaste, RecordsError
from bot.pipeline.records import MIGRATIONS, SCHEMA_VERSION, Records
from bot.pipeline.text import taste_key

LIMIT = 200


async def test_a_new_database_is_migrated_to_the_current_schema(records: Records) -> None:
    assert await records.schema_version() == SCHEMA_VERSION


async def test_a_database_from_a_newer_release_is_refused(db_path: Path) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RecordsError, match="newer than this release"):
        async with Records.open(db_path):
            pass


async def test_a_first_release_database_is_migrated_keeping_one_of_each_duplicate(
    db_path: Path,
) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
        rows = [("alice", "Noir"), ("alice", "noir "), ("alice", "heists"), ("bob", "NOIR")]
        raw.executemany(
            "INSERT INTO tastes (member_id, text, created_at) VALUES (?, ?, '2026-01-01')", rows
        )
    async with Records.open(db_path) as records:
        assert await records.schema_version() == SCHEMA_VERSION
        assert [t.text for t in await records.tastes.list_tastes("alice")] == ["Noir", "heists"]
        assert not any(t.is_pending for t in await records.tastes.list_tastes("alice"))
        assert [t.text for t in await records.tastes.list_tastes("bob")] == ["NOIR"]
        # The later duplicate is left for start-up to erase from both stores.
        [unsettled] = await records.tastes.unsettled()
        assert (unsettled.member_id, unsettled.deleting, unsettled.pending) == ("alice", (2,), ())
        with pytest.raises(DuplicateTaste, match="#1"):
            await records.tastes.add_taste("alice", "NOIR", limit=LIMIT)


async def test_a_database_of_the_first_release_keeps_its_data_when_migrated(
    db_path: Path,
) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.executescript(MIGRATIONS[0])
        raw.execute(
            "INSERT INTO suggestions (member_id, query, count, matches, model, status, "
            "created_at) VALUES ('alice', 'noir', 3, '[]', 'm', 'complete', '2026-01-01')"
        )
        raw.execute("PRAGMA user_version = 1")
    async with Records.open(db_path) as records:
        old = await records.suggestions.get_suggestion(1)
        assert old is not None and old.query == "noir" and not old.is_structured
        assert await records.picks.list_picks("alice", 1) == []


@pytest.mark.parametrize("version", range(1, SCHEMA_VERSION))
async def test_a_database_at_every_earlier_version_is_migrated_and_usable(
    db_path: Path, version: int
) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.create_function("taste_key", 1, taste_key, deterministic=True)
        for number, script in enumerate(MIGRATIONS[:version], start=1):
            raw.executescript(f"{script}\nPRAGMA user_version = {number};")
    async with Records.open(db_path) as records:
        assert await records.schema_version() == SCHEMA_VERSION
        taste = await records.tastes.add_taste("alice", "noir", limit=LIMIT)
        assert await records.tastes.list_tastes("alice") == [taste]


async def test_picks_recorded_before_the_catalogue_keep_their_data_without_a_qid(
    db_path: Path,
) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.create_function("taste_key", 1, taste_key, deterministic=True)
        for number, script in enumerate(MIGRATIONS[:4], start=1):
            raw.executescript(f"{script}\nPRAGMA user_version = {number};")
        raw.execute(
            "INSERT INTO suggestions (member_id, query, count, matches, model, status, "
            "created_at) VALUES ('alice', 'noir', 1, '[]', 'llama3.1:8b', 'complete', "
            "'2026-01-01T00:00:00+00:00')"
        )
        raw.execute(
            "INSERT INTO picks (suggestion_id, member_id, answer_position, shown_position, "
            "title, year, key, created_at) "
            "VALUES (1, 'alice', 1, 1, 'Arrival', 2016, 'arrival|2016', '2026-01-01')"
        )
    async with Records.open(db_path) as records:
        (pick,) = await records.picks.list_picks("alice", 1)

    assert (pick.title, pick.year, pick.qid, pick.check_state) == ("Arrival", 2016, None, None)
    assert pick.film_key == "arrival|2016"
