"""The throttled editor on its own: splitting, coalescing, one edit in flight per message."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest

from bot.discord_bot.streaming import (
    MAX_WRITE_ATTEMPTS,
    STILL_WRITING_MARK,
    StreamedReply,
    WriteBudget,
    split_message,
)

INTERVAL = 0.2


def test_short_text_is_one_piece() -> None:
    assert split_message("hello", 10) == ["hello"]


def test_text_is_split_at_the_last_line_break_that_fits() -> None:
    text = "a" * 25 + "\n" + "b" * 10 + "\n" + "c" * 10
    assert split_message(text, 40) == ["a" * 25, "b" * 10 + "\n" + "c" * 10]


def test_without_a_line_break_text_is_split_at_a_space() -> None:
    text = " ".join(f"word{n}" for n in range(20))
    pieces = split_message(text, 60)
    assert all(len(piece) <= 60 for piece in pieces)
    assert " ".join(pieces) == text


def test_only_a_word_longer_than_the_limit_is_split_inside() -> None:
    assert split_message("abcdefghij kl", 4) == ["abcd", "efgh", "ij", "kl"]


@pytest.mark.parametrize("limit", [20, 57, 100, 2000])
def test_no_piece_is_too_long_and_no_word_is_lost(limit: int) -> None:
    text = "\n".join(f"{n}. A film about {'very ' * n}long evenings" for n in range(60))
    pieces = split_message(text, limit)
    assert all(len(piece) <= limit for piece in pieces)
    assert " ".join(pieces).split() == text.split()


def test_an_earlier_split_does_not_move_as_text_grows() -> None:
    text = "word " * 100 + "\n```python\n" + "x = 1\n" * 30
    first, second = split_message(text, 64)[:2]
    for n in range(80):
        assert split_message(text + "more " * n, 64)[:2] == [first, second]


def test_a_code_block_across_the_boundary_is_closed_and_reopened() -> None:
    code = [f"print('line {n}')" for n in range(30)]
    text = "Here is how:\n```python\n" + "\n".join(code) + "\n```\nThat is all."

    pieces = split_message(text, 200)

    assert len(pieces) >= 3
    for index, piece in enumerate(pieces):
        assert len(piece) <= 200
        fences = [line for line in piece.split("\n") if line.startswith("```")]
        assert len(fences) % 2 == 0, f"piece {index} leaves a code block open"
        if index > 0:
            assert piece.startswith("```python\n"), "the block is reopened with its language"
    # Nothing lost or repeated: take away the fences the split added, and the text is whole.
    inner = [piece.removesuffix("\n```") for piece in pieces[:-1]] + [pieces[-1]]
    inner = [inner[0]] + [piece.removeprefix("```python\n") for piece in inner[1:]]
    assert "\n".join(inner) == text


def test_a_long_line_is_not_split_inside_bold() -> None:
    title = "**The Long Goodbye of Everyone Involved (1973)**"
    line = "A quiet film worth the evening, " * 4 + title + " and more words after it " * 3

    pieces = split_message(line, 150)

    assert all(piece.count("**") % 2 == 0 for piece in pieces)
    assert any(title in piece for piece in pieces)
    assert " ".join(pieces) == line


def test_a_bold_span_longer_than_a_message_is_closed_and_reopened() -> None:
    text = "**" + " ".join(f"word{n}" for n in range(60)) + "**"

    pieces = split_message(text, 120)

    assert len(pieces) >= 3
    assert all(piece.startswith("**") and piece.endswith("**") for piece in pieces)
    assert " ".join(piece.strip("*") for piece in pieces) == text.strip("*")


def test_lines_of_a_pick_list_stay_whole() -> None:
    picks = [
        f"{n}. **Film number {n} ({1990 + n})** — because you like slow, patient stories"
        for n in range(1, 11)
    ]
    text = "Here are your picks:\n" + "\n".join(picks)

    pieces = split_message(text, 300)

    assert len(pieces) >= 3
    shown_lines = [line for piece in pieces for line in piece.split("\n")]
    assert all(pick in shown_lines for pick in picks)


def test_a_split_prefers_a_full_message_to_an_early_line_break() -> None:
    text = "Short intro.\n" + " ".join(f"word{n}" for n in range(100))

    pieces = split_message(text, 200)

    assert len(pieces[0]) >= 100, "the first message should not stop after the intro"
    assert " ".join(pieces).replace("\n", " ").split() == text.split()


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
