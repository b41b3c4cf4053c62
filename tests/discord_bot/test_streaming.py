"""The throttled editor on its own: splitting, coalescing, one edit in flight per message."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest

from bot.discord_bot.streaming import (
    MAX_WRITE_ATTEMPTS,
    STILL_WRITING_MARK,
    StreamedReply,
    split_message,
)

INTERVAL = 0.2


def test_short_text_is_one_piece() -> None:
    assert split_message("hello", 10) == ["hello"]


def test_text_is_split_at_the_last_line_break_that_fits() -> None:
    assert split_message("one two\nthree four\nfive", 18) == ["one two\nthree four", "five"]


def test_without_a_line_break_text_is_split_at_a_space() -> None:
    assert split_message("alpha beta gamma delta", 11) == ["alpha beta", "gamma delta"]


def test_only_a_word_longer_than_the_limit_is_split_inside() -> None:
    assert split_message("abcdefghij kl", 4) == ["abcd", "efgh", "ij", "kl"]


@pytest.mark.parametrize("limit", [20, 57, 100, 2000])
def test_no_piece_is_too_long_and_no_word_is_lost(limit: int) -> None:
    text = "\n".join(f"{n}. A film about {'very ' * n}long evenings" for n in range(60))
    pieces = split_message(text, limit)
    assert all(len(piece) <= limit for piece in pieces)
    assert " ".join(pieces).split() == text.split()


def test_an_earlier_split_does_not_move_as_text_grows() -> None:
    text = "word " * 100
    first = split_message(text, 64)[0]
    assert all(split_message(text + "more " * n, 64)[0] == first for n in range(50))


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

    reply = StreamedReply(edit_first=edit_first, send_more=send_more, interval=INTERVAL)
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

    reply = StreamedReply(edit_first=edit_first, send_more=send_more, interval=0.01, limit=120)
    reply.start()
    for n in range(40):
        reply.append(f"word{n} ")
    messages = await reply.finish()

    assert len(messages) == 1 + len(sent) and sent
    shown = first.edits[-1].split() + [w for m in sent for w in m.edits[-1].split()]
    assert shown == [f"word{n}" for n in range(40)]


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

    reply = StreamedReply(edit_first=edit_first, send_more=send_more, interval=0.01, limit=120)
    reply.start()
    reply.append(" ".join(f"word{n}" for n in range(40)))
    messages = await asyncio.wait_for(reply.finish(), 10)

    assert messages == [first]
    tries_per_page = Counter(attempt.split()[0] for attempt in attempts)
    assert len(tries_per_page) == 2  # two follow-ups were due
    assert set(tries_per_page.values()) == {MAX_WRITE_ATTEMPTS}
