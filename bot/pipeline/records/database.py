"""The one SQLite connection of a process, and the only way to use it: a scope.

Every coroutine shares one aiosqlite connection, so a statement must never run while
another coroutine's transaction is half done: its commit or rollback would take ours
with it. `Database.transaction()` holds a lock for the transaction's whole life
(`BEGIN IMMEDIATE` … `COMMIT`, or `ROLLBACK` on any error); `Database.read()` holds the
same lock so a read never sees another coroutine's uncommitted rows. The lock is not
re-entrant: inside a scope, use its reader, never another records method. sqlite errors
become `RecordsError` here, naming what was being done.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from bot.errors import RecordsError
from bot.pipeline.text import taste_key

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Written:
    """What one write statement did."""

    rowcount: int
    lastrowid: int | None


class Reader:
    """Reads inside a scope of `Database.read()` or `Database.transaction()`."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection

    async def fetch_all(self, sql: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Every row the query returns."""
        async with self._connection.execute(sql, parameters) as cursor:
            return list(await cursor.fetchall())

    async def fetch_one(self, sql: str, parameters: Sequence[Any] = ()) -> sqlite3.Row:
        """The first row of a query that always returns one (a COUNT, a PRAGMA)."""
        rows = await self.fetch_all(sql, parameters)
        return rows[0]


class Transaction(Reader):
    """Reads and writes inside one `Database.transaction()`: all of them or none."""

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Written:
        """Run one write statement."""
        async with self._connection.execute(sql, parameters) as cursor:
            return Written(cursor.rowcount, cursor.lastrowid)

    async def execute_many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one write statement once per row."""
        await self._connection.executemany(sql, rows)


class Database:
    """The records database's connection; open with `Database.open(path, ...)`."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        # Held for a whole transaction or read, so no scope ever sees another half done.
        self._lock = asyncio.Lock()

    @classmethod
    @asynccontextmanager
    async def open(cls, path: Path, *, busy_timeout_ms: int) -> AsyncIterator[Database]:
        """Open the database at `path` (creating it), in WAL mode with foreign keys on."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: no implicit BEGIN; each scope says BEGIN and COMMIT.
            connection = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise RecordsError(f"Cannot open the records database at {path}: {exc}") from exc
        try:
            database = cls(connection)
            async with database._translated("prepare the database"):
                connection.row_factory = sqlite3.Row
                await connection.create_function("taste_key", 1, taste_key, deterministic=True)
                await connection.execute("PRAGMA journal_mode = WAL")
                await connection.execute("PRAGMA foreign_keys = ON")
                # Wait this long for a lock held by another process (the terminal front end).
                await connection.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            yield database
        finally:
            await connection.close()

    @asynccontextmanager
    async def transaction(self, doing: str) -> AsyncIterator[Transaction]:
        """A write transaction owning the connection until it commits or rolls back.

        `doing` names the work for the error a failure raises ("store the taste").
        """
        async with self._lock, self._translated(doing):
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield Transaction(self._connection)
                await self._connection.commit()
            except BaseException:
                await self._roll_back()
                raise

    @asynccontextmanager
    async def read(self, doing: str) -> AsyncIterator[Reader]:
        """A read that waits for any transaction in progress to finish first."""
        async with self._lock, self._translated(doing):
            yield Reader(self._connection)

    async def run_script(self, doing: str, script: str) -> None:
        """Run a script that holds its own BEGIN … COMMIT (a migration); undone on error."""
        async with self._lock, self._translated(doing):
            try:
                await self._connection.executescript(script)
            except BaseException:
                await self._roll_back()
                raise

    async def _roll_back(self) -> None:
        try:
            await self._connection.rollback()
        except (sqlite3.Error, ValueError) as exc:  # the original error matters more
            log.error("SQLite could not roll back: %s", exc)

    @asynccontextmanager
    async def _translated(self, doing: str) -> AsyncIterator[None]:
        try:
            yield
        except (sqlite3.Error, ValueError) as exc:
            # ValueError: aiosqlite's "no active connection" after close.
            log.error("SQLite failed to %s: %s", doing, exc)
            raise RecordsError(f"Could not {doing}: the records database failed ({exc}).") from exc
