"""A cache of catalogue answers in its own SQLite file, kept across restarts.

Everything here can be fetched again, so the cache is disposable: it lives in its own
file (`Settings.catalogue_cache_path`, in DATA_DIR), needs no migration of the records, and
a cache that fails (locked, corrupt, disk full) is logged and treated as empty: a
lookup then asks the catalogue, never fails for it. A file that is not a database
is replaced on open.

One table of entries, each a key (`search:en:arrival`, `item:Q42`, `label:en:Q5`), a
JSON value, when it was stored and when it expires. Reads skip expired entries; every
write also drops expired ones and the oldest beyond `max_entries`, in one transaction.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Self

import aiosqlite

log = logging.getLogger(__name__)

_SECONDS_PER_DAY = 86_400
_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    stored_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_by_age ON entries (stored_at);
"""
_MAX_VARIABLES = 500  # below SQLite's limit on `?` in one statement


class CatalogueCache:
    """Cached catalogue answers by key, each with its own time to live; `async with` opens it."""

    def __init__(
        self,
        path: Path,
        *,
        max_entries: int = 100_000,
        busy_timeout_ms: int = 5000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._path = path
        self._max_entries = max_entries
        self._busy_timeout_ms = busy_timeout_ms
        self._clock = clock
        self._db: aiosqlite.Connection | None = None
        # One transaction at a time on the one connection: a transaction is a scope.
        self._transaction = asyncio.Lock()

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Open the file, creating it; a file that is not a usable database is replaced."""
        try:
            self._db = await self._connect()
        except sqlite3.DatabaseError as exc:
            log.warning(
                "The catalogue cache %s is unusable (%s); starting a new one", self._path, exc
            )
            self._path.unlink(missing_ok=True)
            self._db = await self._connect()

    async def _connect(self) -> aiosqlite.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = await aiosqlite.connect(self._path, isolation_level=None)
        try:
            await db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            await db.executescript(_SCHEMA)
        except sqlite3.DatabaseError:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        """Close the file."""
        if self._db is not None:
            await self._db.close()
            self._db = None

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The fresh values stored under `keys`; a missing, expired or unreadable one is absent."""
        wanted = list(dict.fromkeys(keys))
        found: dict[str, Any] = {}
        if self._db is None or not wanted:
            return found
        now = self._clock()
        try:
            async with self._transaction:
                for start in range(0, len(wanted), _MAX_VARIABLES):
                    batch = wanted[start : start + _MAX_VARIABLES]
                    marks = ",".join("?" * len(batch))
                    async with self._db.execute(
                        f"SELECT key, value FROM entries WHERE key IN ({marks}) AND expires_at > ?",
                        (*batch, now),
                    ) as cursor:
                        rows = list(await cursor.fetchall())
                    found.update((str(key), json.loads(value)) for key, value in rows)
        except (sqlite3.Error, ValueError) as exc:
            log.warning("Reading the catalogue cache failed (%s); asking the catalogue", exc)
        return found

    async def get(self, key: str) -> Any | None:
        """The fresh value stored under `key`, or None."""
        return (await self.get_many([key])).get(key)

    async def put_many(self, values: Mapping[str, Any], *, ttl_days: float) -> None:
        """Store `values` by key for `ttl_days`, then drop expired and the oldest beyond the max."""
        if self._db is None or not values:
            return
        now = self._clock()
        rows = [
            (key, json.dumps(value, ensure_ascii=False), now, now + ttl_days * _SECONDS_PER_DAY)
            for key, value in values.items()
        ]
        try:
            async with self._transaction:
                await self._db.execute("BEGIN IMMEDIATE")
                try:
                    await self._db.executemany(
                        "INSERT OR REPLACE INTO entries (key, value, stored_at, expires_at) "
                        "VALUES (?, ?, ?, ?)",
                        rows,
                    )
                    await self._db.execute("DELETE FROM entries WHERE expires_at <= ?", (now,))
                    await self._db.execute(
                        "DELETE FROM entries WHERE key IN (SELECT key FROM entries "
                        "ORDER BY stored_at DESC LIMIT -1 OFFSET ?)",
                        (self._max_entries,),
                    )
                    await self._db.commit()
                except BaseException:
                    # rollback(), unlike a ROLLBACK statement, does nothing when no
                    # transaction is left (a COMMIT that ran before a cancel, or failed):
                    # the error (or cancellation) that got us here is what propagates.
                    await self._db.rollback()
                    raise
        except sqlite3.Error as exc:
            log.warning("Writing the catalogue cache failed (%s); nothing lost but time", exc)

    async def put(self, key: str, value: Any, *, ttl_days: float) -> None:
        """Store one value for `ttl_days`."""
        await self.put_many({key: value}, ttl_days=ttl_days)

    async def clear(self) -> None:
        """Drop every entry (the next lookups ask the catalogue again)."""
        if self._db is None:
            return
        try:
            async with self._transaction:
                await self._db.execute("DELETE FROM entries")
        except sqlite3.Error as exc:
            log.warning("Clearing the catalogue cache failed: %s", exc)

    async def count(self) -> int:
        """How many entries the file holds, expired ones included."""
        if self._db is None:
            return 0
        async with self._transaction, self._db.execute("SELECT COUNT(*) FROM entries") as cursor:
            row = await cursor.fetchone()
        return int(row[0]) if row else 0
