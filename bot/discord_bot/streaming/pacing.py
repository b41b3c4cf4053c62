"""Pacing writes by Discord's budget: at most so many writes per message in a window.

`WriteBudget` is the rule (5 writes in any 5 s for one message); `WriteWindow` shares
one budget between several messages (one channel's, on the bot's own token).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class WriteBudget:
    """How many writes Discord accepts for one message within a sliding window."""

    writes: int = 5
    window: float = 5.0

    def routine_gap(self, interval: float) -> float:
        """The smallest gap between routine writes: the interval, and slow enough that
        routine writes alone never fill the window (one slot stays for urgent writes)."""
        return max(interval, self.window / max(self.writes - 1, 1))


DISCORD_WRITE_BUDGET = WriteBudget()


class WriteWindow:
    """Discord's budget for writes shared by several messages (one channel's, on the bot's
    own token): a write waits for a slot; a slot counts from when its write completed."""

    def __init__(self, budget: WriteBudget, clock: Callable[[], float] = time.monotonic) -> None:
        self._budget = budget
        self._clock = clock
        self._done: deque[float] = deque()
        self._in_flight = 0
        self._freed = asyncio.Condition()

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one write's place in the window for the duration of the write."""
        async with self._freed:
            while (delay := self._wait_needed()) is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._freed.wait(), delay)
            self._in_flight += 1
        try:
            yield
        finally:
            async with self._freed:
                self._in_flight -= 1
                self._done.append(self._clock())
                self._freed.notify_all()

    def _wait_needed(self) -> float | None:
        """None if a write may start now, else how long until the oldest slot frees."""
        now = self._clock()
        while self._done and self._done[0] <= now - self._budget.window:
            self._done.popleft()
        if len(self._done) + self._in_flight < self._budget.writes:
            return None
        if not self._done:
            return self._budget.window  # all slots in flight: woken when one completes
        return self._done[0] + self._budget.window - now
