"""The connection: write-ahead logging, sqlite errors translated, and transactions that
never see or disturb each other."""

import sqlite3
from pathlib import Path

import pytest

from bot.errors import RecordsError
from bot.pipeline.records import Records


async def test_the_database_uses_write_ahead_logging(records: Records, db_path: Path) -> None:
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_sqlite_errors_become_records_errors(db_path: Path) -> None:
    async with Records.open(db_path) as records:
        with sqlite3.connect(db_path) as another:  # the table goes behind the records' back
            another.execute("DROP TABLE tastes")
        with pytest.raises(RecordsError, match="Could not read the tastes"):
            await records.tastes.list_tastes("alice")


async def test_an_unopenable_path_is_a_records_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RecordsError, match="Cannot open the records database"):
        async with Records.open(blocker / "records.sqlite3"):
            pass
