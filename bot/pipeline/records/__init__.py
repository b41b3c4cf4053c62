"""The system of record: tastes, suggestions, picks and feedback in SQLite (aiosqlite, WAL).

The vector store is derived from these records and can always be rebuilt from them
(`reindex`); nothing here is ever derived from the vector store.

    Records                 open with `async with Records.open(path, busy_timeout_ms=...)`
    ├── .tastes             TasteRecords       tastes.py       tastes and their vector state
    ├── .suggestions        SuggestionRecords  suggestions.py  suggestions, messages, reactions
    ├── .picks              PickRecords        picks.py        picks, ratings, pick vectors, past
    ├── .library            LibraryRecords     library.py      watchlist, marked watched, imports
    ├── .nights             NightRecords       nights.py       movie nights, their votes, opt-outs
    └── .schema_version()                      schema.py       MIGRATIONS and `migrate`
    database.py   Database: the connection; every statement runs in `transaction()` or `read()`
    rows.py       the row types handed back (SuggestionRecord, PickRecord, …)
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.pipeline.records.database import Database
from bot.pipeline.records.library import LibraryRecords
from bot.pipeline.records.nights import NightMember, NightPick, NightRecord, NightRecords
from bot.pipeline.records.picks import PickRecords
from bot.pipeline.records.rows import (
    FeedbackRecord,
    OpenReply,
    PickRecord,
    SuggestionRecord,
    Unsettled,
)
from bot.pipeline.records.schema import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version
from bot.pipeline.records.suggestions import SuggestionRecords
from bot.pipeline.records.tastes import TasteRecords

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "Database",
    "FeedbackRecord",
    "LibraryRecords",
    "NightMember",
    "NightPick",
    "NightRecord",
    "NightRecords",
    "OpenReply",
    "PickRecord",
    "PickRecords",
    "Records",
    "SuggestionRecord",
    "SuggestionRecords",
    "TasteRecords",
    "Unsettled",
]

# SQLite's wait for another process's lock when no setting says otherwise (SQLITE_BUSY_TIMEOUT).
DEFAULT_BUSY_TIMEOUT_MS = 5000


class Records:
    """The records by table family, over one `Database` (already migrated)."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.tastes = TasteRecords(database)
        self.suggestions = SuggestionRecords(database)
        self.picks = PickRecords(database)
        self.library = LibraryRecords(database)
        self.nights = NightRecords(database)

    @classmethod
    @asynccontextmanager
    async def open(
        cls, path: Path, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS
    ) -> AsyncIterator[Records]:
        """Open (creating and migrating as needed) the database at `path`."""
        async with Database.open(path, busy_timeout_ms=busy_timeout_ms) as database:
            await migrate(database)
            yield cls(database)

    async def schema_version(self) -> int:
        """The schema version the database is at."""
        return await schema_version(self._database)
