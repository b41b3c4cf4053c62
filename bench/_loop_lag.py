"""How late the event loop runs while other work goes on: the lag a member would feel.

A ticker asks to wake every `INTERVAL`; each wake-up records how much later than asked
it came. Run on the loop beside the work, it sees every stretch the loop could not run:
a long call holding the GIL on a worker thread shows up here even though the loop
itself never blocks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import TypeVar

INTERVAL = 0.001
T = TypeVar("T")


async def lag_during(work: Awaitable[T], interval: float = INTERVAL) -> tuple[T, list[float]]:
    """Await `work` while measuring the loop's lag; returns its result and the lags (s)."""
    lags: list[float] = []
    finished = asyncio.Event()

    async def tick() -> None:
        while not finished.is_set():
            asked = time.perf_counter()
            await asyncio.sleep(interval)
            lags.append(max(0.0, time.perf_counter() - asked - interval))

    ticker = asyncio.create_task(tick(), name="loop-lag ticker")
    try:
        result = await work
    finally:
        finished.set()
        await ticker
    return result, lags
