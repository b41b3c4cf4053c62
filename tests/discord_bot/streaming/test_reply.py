"""The streamed reply on its own: coalescing, one edit in flight per message, retries,
and pacing by Discord's write budget."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.discord_bot.streaming import (
    MAX_WRITE_ATTEMPTS,
    STILL_WRITING_MARK,
    StreamedReply,
    WriteBudget,
)

INTERVAL = 0.2


@dataclass
class SlowMessage:
    """A message whose edits take a while; records how many were in flight at once."""

    id: int = 1
    edits: list[str] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    async def edit(self, **fields: Any) -> SlowMessage:
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        await asyncio.sleep(INTERVAL * 1.5)  # slower than the interval, like a 429 retry
        self.edits.append(fields["content"])
        self.in_flight -= 1
        return self


async def test_edits_never_overlap_and_text_is_coalesced() -> None:
    message = SlowMessage()

    async def edit_first(content: str, view: Any) -> SlowMessage:
        return await message.edit(content=content)

    async def send_more(content: str) -> SlowMessage:
        raise AssertionError("the text fits in one message")

    reply = StreamedReply(
        edit_first=edit_first, send_more=send_more, edit_more=edit_more, interval=INTERVAL
    )
    reply.start()
    for n in range(30):
        reply.append(f"piece{n} ")
        await asyncio.sleep(0.01)
    await reply.finish("the end")

    assert message.most_in_flight == 1
    assert len(message.edits) < 10  # 30 pieces, coalesced
    assert message.edits[-1].split() == [f"piece{n}" for n in range(30)] + ["the", "end"]
    assert all(edit.endswith(STILL_WRITING_MARK) for edit in message.edits[:-1])


async def test_a_follow_up_that_failed_to_send_is_sent_again_and_nothing_is_lost() -> None:
    first = SlowMessage(id=1)
    sent: list[SlowMessage] = []
    failures = [1]  # the first follow-up fails once, as a 5xx from Discord would

    async def edit_first(content: str, view: Any) -> SlowMessage:
        return await first.edit(content=content)

    async def send_more(content: str) -> SlowMessage:
        if failures:
            failures.pop()
            raise discord.DiscordServerError(_Response(500), "Internal Server Error")
        message = SlowMessage(id=len(sent) + 2)
        message.edits.append(content)
        sent.append(message)
        return message

    reply = StreamedReply(
        edit_first=edit_first,
        send_more=send_more,
        edit_more=edit_more,
        interval=0.01,
        limit=120,
    )
    reply.start()
    for n in range(40):
        reply.append(f"word{n} ")
    messages = await reply.finish()

    assert len(messages) == 1 + len(sent) and sent
    shown = first.edits[-1].split() + [w for m in sent for w in m.edits[-1].split()]
    assert shown == [f"word{n}" for n in range(40)]


async def edit_more(message: SlowMessage, content: str) -> None:
    await message.edit(content=content)


@dataclass
class _Response:
    """Just enough of an aiohttp response for discord.HTTPException."""

    status: int
    reason: str = "Internal Server Error"


async def test_a_message_discord_keeps_refusing_is_given_up_and_the_reply_still_finishes() -> None:
    first = SlowMessage(id=1)
    attempts: list[str] = []

    async def edit_first(content: str, view: Any) -> SlowMessage:
        return await first.edit(content=content)

    async def send_more(content: str) -> SlowMessage:
        attempts.append(content)
        raise discord.Forbidden(_Response(403, "Forbidden"), "Missing Permissions")

    reply = StreamedReply(
        edit_first=edit_first,
        send_more=send_more,
        edit_more=edit_more,
        interval=0.01,
        limit=120,
    )
    reply.start()
    reply.append(" ".join(f"word{n}" for n in range(40)))
    messages = await asyncio.wait_for(reply.finish(), 10)

    assert messages == [first]
    tries_per_page = Counter(attempt.split()[0] for attempt in attempts)
    assert len(tries_per_page) == 2  # two follow-ups were due
    assert set(tries_per_page.values()) == {MAX_WRITE_ATTEMPTS}


async def test_abandon_stops_the_write_in_flight_and_makes_no_closing_edit() -> None:
    written: list[str] = []
    write_started = asyncio.Event()
    discord_answers = asyncio.Event()  # never set: Discord does not answer
    cancelled: list[str] = []

    async def edit_first(content: str, view: Any) -> SlowMessage:
        written.append(content)
        write_started.set()
        try:
            await discord_answers.wait()
        except asyncio.CancelledError:
            cancelled.append(content)
            raise
        return SlowMessage()

    async def send_more(content: str) -> SlowMessage:
        raise AssertionError("the text fits in one message")

    reply = StreamedReply(
        edit_first=edit_first, send_more=send_more, edit_more=edit_more, interval=INTERVAL
    )
    reply.append("half an answer")
    reply.start()
    await write_started.wait()
    await reply.abandon()

    assert written == cancelled == ["half an answer" + STILL_WRITING_MARK]
    assert reply.messages == []


# -- pacing by the write budget -------------------------------------------------------------


@dataclass
class RecordingMessage:
    """A message whose writes are instant; keeps every content it was given."""

    id: int = 1
    edits: list[str] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    written: asyncio.Event = field(default_factory=asyncio.Event)

    async def edit(self, **fields: Any) -> RecordingMessage:
        self.edits.append(fields["content"])
        self.times.append(time.monotonic())
        self.written.set()
        return self


def paced_reply(message: RecordingMessage, *, interval: float, budget: WriteBudget) -> Any:
    async def edit_first(content: str, view: Any) -> RecordingMessage:
        return await message.edit(content=content)

    async def send_more(content: str) -> RecordingMessage:
        raise AssertionError("the text fits in one message")

    return StreamedReply(
        edit_first=edit_first,
        send_more=send_more,
        edit_more=edit_more,
        interval=interval,
        budget=budget,
    )


async def written_with(message: RecordingMessage, text: str) -> None:
    while not any(text in edit for edit in message.edits):
        message.written.clear()
        await message.written.wait()


async def test_the_first_text_and_the_closing_edit_do_not_wait_for_the_interval() -> None:
    message = RecordingMessage()
    # An interval far longer than the test may take: only urgent writes can go out.
    reply = paced_reply(message, interval=60, budget=WriteBudget(writes=5, window=60))
    reply.set_header("header")
    reply.start()
    await asyncio.wait_for(written_with(message, "header"), 5)

    reply.append("first words")
    await asyncio.wait_for(written_with(message, "first words"), 5)
    reply.append(" and more")  # routine: waits for the interval
    await asyncio.wait_for(reply.finish("the end"), 5)

    assert message.edits[-1] == "header\n\nfirst words and more\n\nthe end"
    assert len(message.edits) == 3  # header, first text, closing: nothing in between


async def test_no_window_ever_holds_more_writes_than_the_budget() -> None:
    message = RecordingMessage()
    budget = WriteBudget(writes=3, window=0.5)
    reply = paced_reply(message, interval=0.01, budget=budget)
    reply.start()
    for n in range(100):
        reply.append(f" word{n}")
        await asyncio.sleep(0.01)
    await asyncio.wait_for(reply.finish(), 5)

    times = message.times
    assert len(times) >= 4, "the answer should arrive in several writes"
    for index, start in enumerate(times):
        assert sum(1 for t in times[index:] if t < start + budget.window) <= budget.writes
    assert message.edits[-1].split() == [f"word{n}" for n in range(100)]
