"""A reply that grows while the model writes, paced by Discord's write budget.

One `StreamedReply` per answer, never shared: it owns its text, its messages and one
writer task. Text arrives with `append`; the writer brings each message up to date,
sends whatever text arrived in between as one write, and never has two writes of one
message in flight (it awaits each). While the answer is open the last message ends
with a "still writing" mark; `finish` removes it and returns only when every message
holds its complete text.

Pacing follows Discord's per-message budget (`WriteBudget`: at most 5 writes in any
5 s). Routine updates keep one write slot of the window free and come no more often
than once per `interval`; that spare slot goes where members feel it: the first
answer text is written as soon as it arrives, and the closing edit as soon as the
reply is finished, unless the budget is already spent.

When the text outgrows one message it continues in follow-up messages
(`split_message`: markdown-aware, nothing lost).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import discord

from bot.background import BackgroundTasks
from bot.discord_bot.streaming.pacing import DISCORD_WRITE_BUDGET, WriteBudget
from bot.discord_bot.streaming.splitting import MESSAGE_LIMIT, split_message

log = logging.getLogger(__name__)

STILL_WRITING_MARK = "\n\n✍️ *still writing…*"
# A message Discord keeps refusing (deleted, no permission) is given up after this many
# tries, so the reply still finishes; the full text is in the records regardless.
MAX_WRITE_ATTEMPTS = 3
# A write that took longer than this most likely hid a 429 and its retry inside
# discord.py, so it reached Discord only near its end: count it from then.
SLOW_WRITE_SECONDS = 0.25


class SentMessage(Protocol):
    """What the reply needs of a message it wrote: its id (the rest is the caller's)."""

    @property
    def id(self) -> int: ...


MessageT = TypeVar("MessageT", bound=SentMessage)

# Edit the first message (the interaction's original response) with this content and view.
EditFirst = Callable[[str, discord.ui.View | None], Awaitable[MessageT]]
# Send a follow-up message with this content; returns it for later edits.
SendMore = Callable[[str], Awaitable[MessageT]]
# Edit a follow-up message sent earlier.
EditMore = Callable[[MessageT, str], Awaitable[object]]


@dataclass
class _Page(Generic[MessageT]):
    """One message of the reply, with what it shows now and when it was written."""

    message: MessageT | None = None
    shown: str | None = None
    shown_view: discord.ui.View | None = None
    last_write: float = -math.inf
    writes: deque[float] = field(default_factory=deque)  # recent write times, oldest first
    failures: int = 0  # failed writes in a row


class StreamedReply(Generic[MessageT]):
    """The text of one reply, kept in sync with its Discord messages by one writer."""

    def __init__(
        self,
        *,
        edit_first: EditFirst[MessageT],
        send_more: SendMore[MessageT],
        edit_more: EditMore[MessageT],
        interval: float,
        budget: WriteBudget = DISCORD_WRITE_BUDGET,
        limit: int = MESSAGE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._edit_first = edit_first
        self._send_more = send_more
        self._edit_more = edit_more
        self._budget = budget
        self._routine_gap = budget.routine_gap(interval)
        # Room for the mark is kept on every page so a split never moves at the end.
        self._page_limit = limit - len(STILL_WRITING_MARK)
        self._clock = clock
        self._header = ""
        self._body = ""
        self._footer = ""
        self._view: discord.ui.View | None = None
        self._is_writing = True
        self._is_finished = False
        self._is_body_shown = False
        self._pages: list[_Page[MessageT]] = [_Page()]
        self._changed = asyncio.Event()
        self._tasks = BackgroundTasks("streamed reply")
        self._writer: asyncio.Task[None] | None = None

    # -- what the reply says -----------------------------------------------------------

    @property
    def body(self) -> str:
        """The streamed text so far (without header and footer)."""
        return self._body

    @property
    def messages(self) -> list[MessageT]:
        """The messages written so far, first to last."""
        return [page.message for page in self._pages if page.message is not None]

    def set_header(self, text: str) -> None:
        """What stands above the streamed text (status, matched tastes)."""
        self._header = text
        self._wake()

    def set_view(self, view: discord.ui.View | None) -> None:
        """The buttons under the first message (None removes them)."""
        self._view = view
        self._wake()

    def append(self, text: str) -> None:
        """Add streamed text; it shows with the next write the budget allows."""
        self._body += text
        self._wake()

    def set_body(self, text: str) -> None:
        """Replace the streamed text (picks re-rendered as they grow); shown like `append`."""
        self._body = text
        self._wake()

    def start(self) -> None:
        """Start the writer; the first write goes out at once."""
        if self._writer is None:
            self._writer = self._tasks.start(self._write_until_finished(), name="writer")
            self._wake()

    async def finish(self, footer: str = "", view: discord.ui.View | None = None) -> list[MessageT]:
        """Close the reply: drop the mark, put `view` (or none) under the first message
        in place of the Stop button, add `footer`, and wait until every message shows
        its complete text. Returns the messages."""
        self._footer = footer
        self._view = view
        self._is_writing = False
        self._is_finished = True
        self.start()
        self._wake()
        assert self._writer is not None
        await self._writer
        return self.messages

    async def abandon(self) -> None:
        """Stop writing without a final edit (the bot is shutting down)."""
        await self._tasks.stop()

    # -- the writer ------------------------------------------------------------------------

    def _wake(self) -> None:
        self._changed.set()

    def _full_text(self) -> str:
        parts = [part for part in (self._header, self._body.strip("\n")) if part]
        text = "\n\n".join(parts)
        if self._footer:
            text = f"{text}\n\n{self._footer}" if text else self._footer
        return text or "…"

    def _wanted(self) -> list[str]:
        """What every page should show now."""
        pieces = split_message(self._full_text(), self._page_limit)
        if self._is_writing:
            pieces[-1] += STILL_WRITING_MARK
        return pieces

    def _first_stale(self, wanted: list[str]) -> int | None:
        for index, content in enumerate(wanted):
            if index >= len(self._pages):
                return index
            page = self._pages[index]
            view = self._view if index == 0 else None
            if page.shown != content or page.shown_view is not view:
                return index
        return None

    async def _write_until_finished(self) -> None:
        while True:
            await self._changed.wait()
            self._changed.clear()
            while (index := self._first_stale(self._wanted())) is not None:
                await self._write(index)
            if self._is_finished and self._first_stale(self._wanted()) is None:
                return

    def _is_urgent(self) -> bool:
        """The closing edit and the first answer text go out as soon as the budget allows."""
        return self._is_finished or (bool(self._body.strip()) and not self._is_body_shown)

    def _ready_at(self, page: _Page[MessageT]) -> float:
        """When the next write of `page` fits Discord's budget and the reply's pace."""
        now = self._clock()
        while page.writes and page.writes[0] <= now - self._budget.window:
            page.writes.popleft()
        is_urgent = self._is_urgent()
        # Routine writes leave one slot of the window for the urgent ones.
        slots = self._budget.writes if is_urgent else self._budget.writes - 1
        ready = now
        if len(page.writes) >= max(slots, 1):
            ready = page.writes[-max(slots, 1)] + self._budget.window
        if not is_urgent:
            ready = max(ready, page.last_write + self._routine_gap)
        return ready

    async def _wait_for_budget(self, page: _Page[MessageT]) -> None:
        """Sleep until the page may be written; a change (e.g. `finish`) re-decides."""
        while (delay := self._ready_at(page) - self._clock()) > 0:
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), delay)

    async def _write(self, index: int) -> None:
        """Bring page `index` up to date: send it if it is new, else edit it."""
        if index >= len(self._pages):
            self._pages.append(_Page())
        page = self._pages[index]
        await self._wait_for_budget(page)
        # Read the text only now: everything that arrived while waiting goes in this write.
        wanted = self._wanted()
        content = wanted[index] if index < len(wanted) else ""
        view = self._view if index == 0 else None
        has_body = bool(self._body.strip())
        sent_at = self._clock()
        try:
            if index == 0:
                page.message = await self._edit_first(content, view)
            elif page.message is None:
                page.message = await self._send_more(content)
            else:
                await self._edit_more(page.message, content)
        except discord.HTTPException as exc:
            self._note_write(page, sent_at)
            page.failures += 1
            if page.failures < MAX_WRITE_ATTEMPTS:
                # Left stale, so it is tried again (within the budget) before any later
                # page is sent: the messages stay in order.
                log.warning(
                    "Could not write message %d of a reply (will retry): %s", index + 1, exc
                )
                return
            log.error(
                "Giving up on message %d of a reply after %d attempts: %s",
                index + 1,
                page.failures,
                exc,
            )
        else:
            self._note_write(page, sent_at)
            page.failures = 0
            self._is_body_shown = self._is_body_shown or has_body
        page.shown, page.shown_view = content, view

    def _note_write(self, page: _Page[MessageT], sent_at: float) -> None:
        done_at = self._clock()
        stamp = sent_at if done_at - sent_at <= SLOW_WRITE_SECONDS else done_at
        page.writes.append(stamp)
        page.last_write = stamp
