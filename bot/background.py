"""Named background tasks that are kept, watched and stopped in one place.

`asyncio.create_task` alone keeps only a weak reference (a task can be collected
mid-run) and a task that fails is silent until someone awaits it. `BackgroundTasks`
keeps every task it starts until it ends, logs a failure with the task's name, and
`stop()` cancels and awaits them all. One owner (the pipeline, a cog) holds one
instance; nothing here is global. Modelled on python-discord's `scheduling.create_task`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class BackgroundTasks:
    """The running background tasks of one owner."""

    def __init__(self, owner: str) -> None:
        self._owner = owner
        self._tasks: set[asyncio.Task[Any]] = set()

    def start(self, coroutine: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
        """Run `coroutine` in the background as a task called `name`; kept until it ends."""
        task = asyncio.create_task(coroutine, name=f"{self._owner}: {name}")
        self._tasks.add(task)
        task.add_done_callback(self._forget)
        return task

    @property
    def running(self) -> int:
        """How many tasks have not ended yet."""
        return len(self._tasks)

    async def stop(self) -> None:
        """Cancel every task still running and wait until each has ended."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _forget(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        if (error := task.exception()) is not None:
            log.error("Background task %r failed", task.get_name(), exc_info=error)
