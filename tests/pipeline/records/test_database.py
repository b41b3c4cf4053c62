"""The connection: write-ahead logging, sqlite errors translated, and transactions that
never see or disturb each other."""

import asyncio
import sqlite3
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from bot.errors import DuplicateTaste, RecordsError
from bot.pipeline.domain import PickDraft, Rating, SuggestionTimings
from bot.pipeline.picks import PickDecision
from bot.pipeline.records import Records
from bot.pipeline.records.database import Database, Transaction, Written
from bot.pipeline.records.schema import migrate


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


async def test_a_failed_transaction_leaves_none_of_its_writes(db_path: Path) -> None:
    async with Database.open(db_path, busy_timeout_ms=1000) as database:
        await migrate(database)
        with pytest.raises(RecordsError, match="Could not store two tastes"):
            async with database.transaction("store two tastes") as transaction:
                await transaction.execute(
                    "INSERT INTO tastes (member_id, text, key, created_at) "
                    "VALUES ('alice', 'noir', 'noir', '2026-01-01')"
                )
                await transaction.execute("INSERT INTO nowhere VALUES (1)")
        records = Records(database)
        assert await records.tastes.list_tastes("alice") == []
        await records.tastes.add_taste("alice", "noir", limit=10)  # the connection still works


# -- coroutines interleaved -------------------------------------------------------------


class PausingDatabase(Database):
    """A `Database` that pauses one kind of transaction after some writes, and tells when
    a transaction is asked for (before it waits its turn for the connection)."""

    def __init__(self, connection: aiosqlite.Connection) -> None:
        super().__init__(connection)
        self.pause_doing = ""
        self.pause_after_writes = 0
        self.paused = asyncio.Event()
        self.resume = asyncio.Event()
        self.asked: defaultdict[str, asyncio.Event] = defaultdict(asyncio.Event)

    @asynccontextmanager
    async def transaction(self, doing: str) -> AsyncIterator[Transaction]:
        self.asked[doing].set()
        async with super().transaction(doing) as transaction:
            if doing == self.pause_doing:
                yield PausingTransaction(transaction, self)
            else:
                yield transaction


class PausingTransaction:
    """Passes writes on to a transaction, and waits for `resume` after the n-th."""

    def __init__(self, transaction: Transaction, database: PausingDatabase) -> None:
        self.transaction = transaction
        self.database = database
        self.writes = 0

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Written:
        written = await self.transaction.execute(sql, parameters)
        self.writes += 1
        if self.writes == self.database.pause_after_writes:
            self.database.paused.set()
            await self.database.resume.wait()
        return written


async def test_an_erase_half_done_keeps_its_guarantees_and_so_do_the_others(
    db_path: Path,
) -> None:
    async with PausingDatabase.open(db_path, busy_timeout_ms=1000) as database:
        await migrate(database)
        records = Records(database)
        mine = await records.suggestions.start_suggestion(
            "alice", "space", 1, (), "m", SuggestionTimings()
        )
        await records.picks.add_picks(
            mine, "alice", [PickDecision(PickDraft("Arrival", 2016, "movie"), 1, None)]
        )
        [arrival] = await records.picks.list_picks("alice", mine)
        await records.picks.rate_pick("alice", arrival.id, "message", Rating.LIKED)
        await records.picks.store_pick_vectors("bge-large", {arrival.id: [1.0]})
        await records.suggestions.link_message(mine, 111, 9)
        await records.suggestions.add_feedback("alice", mine, 111, "👍", added=True)
        noir = await records.tastes.add_taste("bob", "noir", limit=10)
        running = await records.suggestions.start_suggestion(
            "carol", "heists", 1, (), "m", SuggestionTimings()
        )
        # Alice's erase stops after its first two DELETEs (pick vectors and ratings).
        database.pause_doing, database.pause_after_writes = "erase the suggestions", 2

        erase = asyncio.create_task(records.picks.erase_member_suggestions("alice"))
        await database.paused.wait()
        refuse = asyncio.create_task(records.tastes.add_taste("bob", "NOIR", limit=10))
        checkpoint = asyncio.create_task(
            records.suggestions.checkpoint_suggestion(running, "1. **Heat (1995)**")
        )
        # Both have asked for a transaction while the erase is half done.
        await database.asked["store the taste"].wait()
        await database.asked["save the suggestion's text so far"].wait()
        database.resume.set()

        assert await erase == 1
        with pytest.raises(DuplicateTaste) as refused:
            await refuse
        await checkpoint

    async with Records.open(db_path) as reopened:  # what was committed, nothing more
        assert refused.value.taste_id == noir.id
        assert await reopened.tastes.count_tastes("bob") == 1
        assert await reopened.suggestions.get_suggestion(mine) is None
        assert await reopened.suggestions.list_feedback(mine) == []
        assert await reopened.suggestions.suggestion_for_message(111) is None
        assert await reopened.picks.list_picks("alice", mine) == []
        assert await reopened.picks.pick_vectors([arrival.id], "bge-large") == {}
        stored = await reopened.suggestions.get_suggestion(running)
        assert stored is not None
        assert stored.text == "1. **Heat (1995)**"
