"""BackgroundTasks keeps its tasks, names them, logs failures and stops them all."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.background import BackgroundTasks


async def test_a_started_task_is_named_for_its_owner_and_counted_until_it_ends() -> None:
    tasks = BackgroundTasks("pipeline")
    release = asyncio.Event()
    task = tasks.start(release.wait(), name="reconcile")
    assert task.get_name() == "pipeline: reconcile"
    assert tasks.running == 1
    release.set()
    await task
    await asyncio.sleep(0)  # done callbacks run on the next turn of the loop
    assert tasks.running == 0


async def test_a_failing_task_is_logged_with_its_name(caplog: pytest.LogCaptureFixture) -> None:
    tasks = BackgroundTasks("cog")

    async def fail() -> None:
        raise RuntimeError("boom")

    task = tasks.start(fail(), name="tidy")
    with pytest.raises(RuntimeError):
        await task
    await asyncio.sleep(0)
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert [r.getMessage() for r in failures] == ["Background task 'cog: tidy' failed"]
    assert tasks.running == 0


async def test_stop_cancels_and_awaits_every_task() -> None:
    tasks = BackgroundTasks("cog")
    cleaned_up: list[str] = []

    async def wait_forever(name: str) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cleaned_up.append(name)

    first = tasks.start(wait_forever("a"), name="a")
    second = tasks.start(wait_forever("b"), name="b")
    await asyncio.sleep(0)
    await tasks.stop()
    assert first.cancelled() and second.cancelled()
    assert sorted(cleaned_up) == ["a", "b"]
    assert tasks.running == 0


async def test_a_cancelled_task_is_not_logged_as_failed(caplog: pytest.LogCaptureFixture) -> None:
    tasks = BackgroundTasks("cog")
    task = tasks.start(asyncio.Event().wait(), name="idle")
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await asyncio.sleep(0)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
