"""Write locks for tastes: one member at a time, or everyone (for a reindex).

Writes of one member are serialised so the duplicate and limit checks, the row and
the vector happen as one step for that member; different members still write side
by side. `everyone()` waits for every member's writer to finish and holds new ones
off, so a rebuild sees the records and the vectors still. Searches take no lock.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from typing import TypeVar

T = TypeVar("T")


class MemberLocks:
    """Per-member write locks within one process, plus an exclusive one for all."""

    def __init__(self) -> None:
        self._locks: dict[str, asyncio.Lock] = {}
        self._users: dict[str, int] = {}  # holders and waiters, to forget idle locks
        self._writers = 0
        self._held_off = 0  # writers waiting for an `everyone()` holder to finish
        self._exclusive = False
        self._changed = asyncio.Condition()

    @asynccontextmanager
    async def member(self, member_id: str) -> AsyncIterator[None]:
        """Hold the member's write lock (after any `everyone()` holder has finished)."""
        async with self._changed:
            self._held_off += 1
            try:
                await self._changed.wait_for(lambda: not self._exclusive)
            finally:
                self._held_off -= 1
            self._writers += 1
        lock = self._locks.setdefault(member_id, asyncio.Lock())
        self._users[member_id] = self._users.get(member_id, 0) + 1
        try:
            async with lock:
                yield
        finally:
            self._users[member_id] -= 1
            if not self._users[member_id]:
                del self._users[member_id], self._locks[member_id]
            async with self._changed:
                self._writers -= 1
                self._changed.notify_all()

    @property
    def held_off(self) -> int:
        """How many writers are waiting for `everyone()` to end (for tests and logs)."""
        return self._held_off

    @asynccontextmanager
    async def everyone(self) -> AsyncIterator[None]:
        """Hold every member's write lock: waits for current writers, blocks new ones."""
        async with self._changed:
            await self._changed.wait_for(lambda: not self._exclusive)
            self._exclusive = True
            await self._changed.wait_for(lambda: self._writers == 0)
        try:
            yield
        finally:
            async with self._changed:
                self._exclusive = False
                self._changed.notify_all()


async def finish_even_if_cancelled(work: Awaitable[T]) -> T:
    """Await `work` to its end even if the caller is cancelled meanwhile, then re-raise.

    For a write across two stores: a cancel half way would leave one store written
    and the other not. A second cancel while finishing does get through (shutdown);
    the start-up reconcile then finishes the job.
    """
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        await task
        raise
