"""Who may generate now: one generation per member, and a queue for a capped number of slots."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from bot.errors import QueueTimeout


@dataclass(eq=False)
class _Waiter:
    """One request waiting for a slot; told its place whenever it changes."""

    on_place: Callable[[int], None]
    granted: asyncio.Event = field(default_factory=asyncio.Event)


class GenerationSlots:
    """One suggestion in flight per member; at most `limit` generating at once, the rest
    waiting in order of arrival for at most `wait_limit` seconds."""

    def __init__(self, limit: int, wait_limit: float) -> None:
        self.limit = limit
        self.wait_limit = wait_limit
        self._members: set[str] = set()
        self._running = 0
        self._queue: list[_Waiter] = []

    @property
    def running(self) -> int:
        """How many generations hold a slot now."""
        return self._running

    @property
    def waiting(self) -> int:
        """How many requests wait for a slot now."""
        return len(self._queue)

    def claim_member(self, member_id: str) -> bool:
        """Mark the member as having a suggestion in flight; False if they already do."""
        if member_id in self._members:
            return False
        self._members.add(member_id)
        return True

    def release_member(self, member_id: str) -> None:
        self._members.discard(member_id)

    @asynccontextmanager
    async def generation(self, on_place: Callable[[int], None]) -> AsyncIterator[None]:
        """Hold one of the `limit` slots. If none is free, wait in line: `on_place(n)` is
        called with the request's place (1 = next) on joining and whenever it moves up.

        Raises `QueueTimeout` if no slot came within `wait_limit`."""
        if self._running < self.limit and not self._queue:
            self._running += 1
        else:
            await self._wait_in_line(_Waiter(on_place))
        try:
            yield
        finally:
            self._release()

    async def _wait_in_line(self, waiter: _Waiter) -> None:
        self._queue.append(waiter)
        waiter.on_place(len(self._queue))
        try:
            await asyncio.wait_for(waiter.granted.wait(), self.wait_limit)
        except TimeoutError:
            if not waiter.granted.is_set():
                raise QueueTimeout(
                    f"Your turn did not come within {self.wait_limit:g} seconds."
                ) from None
        except asyncio.CancelledError:
            if waiter.granted.is_set():  # granted in the same instant: hand the slot on
                self._release()
            raise
        finally:
            if waiter in self._queue:
                self._queue.remove(waiter)
                self._tell_places()

    def _release(self) -> None:
        self._running -= 1
        if self._queue:
            waiter = self._queue.pop(0)
            self._running += 1
            waiter.granted.set()
            self._tell_places()

    def _tell_places(self) -> None:
        for place, waiter in enumerate(self._queue, start=1):
            waiter.on_place(place)
