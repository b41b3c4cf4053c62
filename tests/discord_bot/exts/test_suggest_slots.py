"""The generation slots on their own: the cap, places in line, the wait limit, Stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from bot.discord_bot.exts.suggest import GenerationSlots
from bot.errors import QueueTimeout


async def hold(slots: GenerationSlots, places: list[int], release: asyncio.Event) -> None:
    async with slots.generation(on_place=places.append):
        await release.wait()


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Let the tasks under test run until `condition` holds (bounded)."""
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - the slots have no event to wait on
            await asyncio.sleep(0)


async def test_requests_beyond_the_cap_wait_in_order_and_see_their_place_move_up() -> None:
    slots = GenerationSlots(limit=1, wait_limit=10)
    first_done, second_done, third_done = asyncio.Event(), asyncio.Event(), asyncio.Event()
    first_places: list[int] = []
    second_places: list[int] = []
    third_places: list[int] = []
    first = asyncio.create_task(hold(slots, first_places, first_done))
    await until(lambda: slots.running == 1)
    second = asyncio.create_task(hold(slots, second_places, second_done))
    third = asyncio.create_task(hold(slots, third_places, third_done))
    await until(lambda: slots.waiting == 2)

    first_done.set()
    await first
    await until(lambda: slots.waiting == 1)

    assert first_places == []  # a free slot: no waiting at all
    assert second_places == [1]
    assert third_places == [2, 1]
    assert slots.running == 1
    second_done.set()
    third_done.set()
    await asyncio.gather(second, third)
    assert slots.running == 0


async def test_a_request_whose_turn_does_not_come_in_time_gets_queue_timeout() -> None:
    slots = GenerationSlots(limit=1, wait_limit=0.05)
    release = asyncio.Event()
    holder = asyncio.create_task(hold(slots, [], release))
    await until(lambda: slots.running == 1)

    with pytest.raises(QueueTimeout):
        await hold(slots, [], asyncio.Event())

    assert slots.waiting == 0 and slots.running == 1  # the holder is untouched
    release.set()
    await holder
    assert slots.running == 0


async def test_a_request_stopped_while_waiting_leaves_the_line() -> None:
    slots = GenerationSlots(limit=1, wait_limit=10)
    release = asyncio.Event()
    holder = asyncio.create_task(hold(slots, [], release))
    await until(lambda: slots.running == 1)
    waiter = asyncio.create_task(hold(slots, [], asyncio.Event()))
    behind: list[int] = []
    last = asyncio.create_task(hold(slots, behind, release))
    await until(lambda: slots.waiting == 2)

    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)

    assert behind == [2, 1]
    release.set()
    await asyncio.gather(holder, last)
    assert slots.running == 0 and slots.waiting == 0
