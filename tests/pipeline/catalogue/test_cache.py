"""The catalogue cache: kept across restarts, expiring, bounded, and never a reason to fail."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiosqlite
import pytest

from bot.pipeline.catalogue import CatalogueCache

DAY = 86_400.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_values_survive_a_restart(cache_path: Path) -> None:
    async with CatalogueCache(cache_path) as cache:
        await cache.put("item:Q1", {"qid": "Q1", "labels": {"en": "Été"}}, ttl_days=30)

    async with CatalogueCache(cache_path) as reopened:
        assert await reopened.get("item:Q1") == {"qid": "Q1", "labels": {"en": "Été"}}


async def test_a_value_expires_after_its_time_to_live(cache_path: Path) -> None:
    clock = Clock()
    async with CatalogueCache(cache_path, clock=clock) as cache:
        await cache.put("search:en:moon", ["Q9000003"], ttl_days=7)
        clock.now += 7 * DAY - 1
        kept = await cache.get("search:en:moon")
        clock.now += 2
        expired = await cache.get("search:en:moon")

    assert kept == ["Q9000003"]
    assert expired is None


async def test_the_oldest_entries_go_beyond_the_maximum(cache_path: Path) -> None:
    clock = Clock()
    async with CatalogueCache(cache_path, max_entries=3, clock=clock) as cache:
        for number in range(5):
            clock.now += 1
            await cache.put(f"item:Q{number}", number, ttl_days=30)

        found = await cache.get_many(f"item:Q{number}" for number in range(5))
        count = await cache.count()

    assert found == {"item:Q2": 2, "item:Q3": 3, "item:Q4": 4}
    assert count == 3


async def test_expired_entries_are_dropped_on_write(cache_path: Path) -> None:
    clock = Clock()
    async with CatalogueCache(cache_path, clock=clock) as cache:
        await cache.put("search:en:a", [], ttl_days=1)
        clock.now += 2 * DAY
        await cache.put("search:en:b", [], ttl_days=1)

        assert await cache.count() == 1


@pytest.fixture
def not_a_database(cache_path: Path) -> Path:
    cache_path.parent.mkdir(parents=True)
    cache_path.write_bytes(b"this is not SQLite at all, just some bytes " * 100)
    return cache_path


async def test_a_file_that_is_not_a_database_is_replaced(not_a_database: Path) -> None:
    cache_path = not_a_database

    async with CatalogueCache(cache_path) as cache:
        await cache.put("item:Q1", 1, ttl_days=1)

        assert await cache.get("item:Q1") == 1


async def test_a_closed_cache_answers_empty_and_stores_nothing(cache_path: Path) -> None:
    cache = CatalogueCache(cache_path)

    await cache.put("item:Q1", 1, ttl_days=1)

    assert await cache.get("item:Q1") is None
    assert not await asyncio.to_thread(cache_path.exists)


async def test_clear_drops_every_entry(cache_path: Path) -> None:
    async with CatalogueCache(cache_path) as cache:
        await cache.put_many({"item:Q1": 1, "search:en:a": []}, ttl_days=1)
        await cache.clear()

        assert await cache.count() == 0


async def test_a_cancel_after_the_commit_ran_stays_a_cancel_and_keeps_the_value(
    cache_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The write's COMMIT ran in aiosqlite's thread but its await was cancelled: undoing
    # must not fail for want of a transaction and swallow the cancel as a cache fault.
    real_commit = aiosqlite.Connection.commit

    async def commit_then_cancelled(connection: aiosqlite.Connection) -> None:
        await real_commit(connection)
        raise asyncio.CancelledError

    async with CatalogueCache(cache_path) as cache:
        monkeypatch.setattr(aiosqlite.Connection, "commit", commit_then_cancelled)
        with pytest.raises(asyncio.CancelledError):
            await cache.put("item:Q1", {"label": "Arrival"}, ttl_days=1)
        monkeypatch.undo()
        assert await cache.get("item:Q1") == {"label": "Arrival"}
