"""Who may generate now: one generation per member, and a cap across members."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class GenerationSlots:
    """One suggestion in flight per member; at most `limit` generating at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._members: set[str] = set()
        self._free = asyncio.Semaphore(limit)
        self._running = 0

    @property
    def running(self) -> int:
        """How many generations hold a slot now."""
        return self._running

    def claim_member(self, member_id: str) -> bool:
        """Mark the member as having a suggestion in flight; False if they already do."""
        if member_id in self._members:
            return False
        self._members.add(member_id)
        return True

    def release_member(self, member_id: str) -> None:
        self._members.discard(member_id)

    @asynccontextmanager
    async def generation(self, on_wait: Callable[[int], None]) -> AsyncIterator[None]:
        """Hold one of the `limit` slots; `on_wait(running)` is called first if none is free."""
        if self._free.locked():
            on_wait(self._running)
        async with self._free:
            self._running += 1
            try:
                yield
            finally:
                self._running -= 1
