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
(`split_message`: markdown-aware, nothing lost). Earlier messages never change their
split point as text grows: a split depends only on the text before it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import re
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

import discord

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 2000  # characters of content in one Discord message
STILL_WRITING_MARK = "\n\n✍️ *still writing…*"
# A message Discord keeps refusing (deleted, no permission) is given up after this many
# tries, so the reply still finishes; the full text is in the records regardless.
MAX_WRITE_ATTEMPTS = 3
# A write that took longer than this most likely hid a 429 and its retry inside
# discord.py, so it reached Discord only near its end: count it from then.
SLOW_WRITE_SECONDS = 0.25


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


class SentMessage(Protocol):
    """What the reply needs of a message it wrote: its id (the rest is the caller's)."""

    @property
    def id(self) -> int: ...


EditableMessage = SentMessage  # the name front ends used before
MessageT = TypeVar("MessageT", bound=SentMessage)

# Edit the first message (the interaction's original response) with this content and view.
EditFirst = Callable[[str, discord.ui.View | None], Awaitable[MessageT]]
# Send a follow-up message with this content; returns it for later edits.
SendMore = Callable[[str], Awaitable[MessageT]]
# Edit a follow-up message sent earlier.
EditMore = Callable[[MessageT, str], Awaitable[object]]


# -- splitting ---------------------------------------------------------------------------

FENCE = "```"
_FENCE_LINE = re.compile(r"^\s*```(\S*)")
_LIST_LINE = re.compile(r"^\s*(?:\d+[.)]|[-*•])\s")
# Inline markers, longest first; a single `*` at the start of a line is a bullet.
_INLINE_MARKER = re.compile(r"`|\*\*|__|~~|\*")
# Room kept in every piece for the markers a split adds (a closing fence, closed spans).
_SPLIT_RESERVE = 10


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split `text` into pieces of at most `limit` characters without breaking markdown.

    A split goes at a line break, else at a space outside any bold, italic, struck or
    code span; a line of a list is only split if it alone is too long, and a message is
    kept at least half full when a split inside a long paragraph allows it. A code block
    that crosses a split is closed at the end of one piece and reopened, with its
    language, at the start of the next; a span that must be cut is closed and reopened
    the same way. The separator at a split (one newline or space) becomes the message
    boundary; nothing else is dropped, and nothing is repeated except that markup.
    """
    pieces: list[str] = []
    rest = text
    carried = _Markup()
    while len(carried.opener()) + len(rest) > limit:
        opener = carried.opener()
        room = limit - len(opener) - _SPLIT_RESERVE
        if room < 1:  # a tiny limit: no room for markup, plain hard cuts
            opener, carried, room = "", _Markup(), limit
        cut, separator = _choose_cut(rest, room)
        piece = rest[:cut]
        ending = carried.after(piece)
        if limit - len(opener) - cut >= _SPLIT_RESERVE:
            pieces.append(opener + piece + ending.closer())
            carried = ending
        else:
            pieces.append(opener + piece)
            carried = _Markup()
        rest = rest[cut + separator :]
    pieces.append(carried.opener() + rest)
    return pieces


def _choose_cut(text: str, room: int) -> tuple[int, int]:
    """Where to end the next piece (index) and how many separator characters to drop."""
    window = text[: room + 1]
    line_break = window.rfind("\n")
    line_start = line_break + 1
    last_line = window[line_start:]
    space = -1 if _LIST_LINE.match(last_line) else _last_free_space(last_line)
    space = space + line_start if space >= 0 else -1
    half = room // 2
    if line_break >= half:
        return line_break, 1
    if space >= half:
        return space, 1
    if line_break > 0:
        return line_break, 1
    if space > 0:
        return space, 1
    any_space = window.rfind(" ")
    if any_space > 0:
        return any_space, 1
    return room, 0


def _last_free_space(line: str) -> int:
    """The last space in `line` outside any inline span, or -1."""
    for index in range(len(line) - 1, 0, -1):
        if line[index] == " " and not _open_spans(line[:index]):
            return index
    return -1


def _open_spans(line_prefix: str) -> list[str]:
    """The inline markers still open at the end of `line_prefix`, outermost first."""
    open_markers: list[str] = []
    in_code = False
    for match in _INLINE_MARKER.finditer(line_prefix):
        marker = match.group()
        if marker == "`":
            in_code = not in_code
            continue
        if in_code:
            continue
        if marker == "*" and not line_prefix[: match.start()].strip():
            continue  # a bullet, not emphasis
        if marker in open_markers:
            del open_markers[open_markers.index(marker) :]
        else:
            open_markers.append(marker)
    if in_code:
        open_markers.append("`")
    return open_markers


@dataclass(frozen=True, slots=True)
class _Markup:
    """What is open where a piece ends: a code block (its language) and inline spans."""

    fence: str | None = None  # the language of an open code block ("" for none given)
    spans: tuple[str, ...] = ()

    def after(self, piece: str) -> _Markup:
        """What is open at the end of `piece`, which starts with this markup open."""
        fence = self.fence
        for line in piece.split("\n"):
            found = _FENCE_LINE.match(line)
            if found:
                fence = None if fence is not None else found.group(1)
        if fence is not None:
            return _Markup(fence=fence)
        last_line = piece.rsplit("\n", 1)[-1]
        prefix = "".join(self.spans) if "\n" not in piece else ""
        return _Markup(spans=tuple(_open_spans(prefix + last_line)))

    def closer(self) -> str:
        if self.fence is not None:
            return "\n" + FENCE
        return "".join(reversed(self.spans))

    def opener(self) -> str:
        if self.fence is not None:
            return f"{FENCE}{self.fence}\n"
        return "".join(self.spans)


# -- the reply ----------------------------------------------------------------------------


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

    def start(self) -> None:
        """Start the writer; the first write goes out at once."""
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_until_finished())
            self._wake()

    async def finish(self, footer: str = "") -> list[MessageT]:
        """Close the reply: drop the mark and the view, add `footer`, and wait until
        every message shows its complete text. Returns the messages."""
        self._footer = footer
        self._view = None
        self._is_writing = False
        self._is_finished = True
        self.start()
        self._wake()
        assert self._writer is not None
        await self._writer
        return self.messages

    async def abandon(self) -> None:
        """Stop writing without a final edit (the bot is shutting down)."""
        if self._writer is not None:
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)

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
