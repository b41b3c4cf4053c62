"""A reply that grows while the model writes, edited in throttled batches.

One `StreamedReply` per answer, never shared: it owns its text, its messages and one
writer task. Text arrives with `append`; the writer edits each message at most once
per `interval`, sends whatever text arrived in between as one edit, and never has two
edits of one message in flight (it awaits each). While the answer is open the last
message ends with a "still writing" mark; `finish` removes it and returns only when
every message holds its complete text.

When the text outgrows one message it continues in follow-up messages, split at a
line break, else at a space, so nothing is cut. Earlier messages never change their
split point as text grows: a split depends only on the text before it.

Discord's rate limits need no handling here: discord.py waits out a 429 inside the
edit, while new text keeps collecting in the buffer for the next edit.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import discord

from bot.discord_bot import NO_PINGS

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 2000  # characters of content in one Discord message
STILL_WRITING_MARK = "\n\n✍️ *still writing…*"
# A message Discord keeps refusing (deleted, no permission) is given up after this many
# tries, so the reply still finishes; the full text is in the records regardless.
MAX_WRITE_ATTEMPTS = 3


class EditableMessage(Protocol):
    id: int

    async def edit(self, **fields: Any) -> Any: ...


# Edit the first message (the interaction's original response) with this content and view.
EditFirst = Callable[[str, discord.ui.View | None], Awaitable[EditableMessage]]
# Send a follow-up message with this content; returns it for later edits.
SendMore = Callable[[str], Awaitable[EditableMessage]]


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split `text` into pieces of at most `limit` characters, at a line break if there
    is one, else at a space; only a single word longer than `limit` is split inside.

    The separator at a split (one newline or space) becomes the message boundary;
    nothing else is dropped.
    """
    pieces: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[: limit + 1]
        cut = window.rfind("\n")
        if cut <= 0:
            cut = window.rfind(" ")
        if cut <= 0:
            pieces.append(rest[:limit])
            rest = rest[limit:]
            continue
        pieces.append(rest[:cut])
        rest = rest[cut + 1 :]
    pieces.append(rest)
    return pieces


@dataclass
class _Page:
    """One message of the reply, with what it shows now."""

    message: EditableMessage | None = None
    shown: str | None = None
    shown_view: discord.ui.View | None = None
    last_write: float = -math.inf
    failures: int = 0  # failed writes in a row


class StreamedReply:
    """The text of one reply, kept in sync with its Discord messages by one writer."""

    def __init__(
        self,
        *,
        edit_first: EditFirst,
        send_more: SendMore,
        interval: float,
        limit: int = MESSAGE_LIMIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._edit_first = edit_first
        self._send_more = send_more
        self._interval = interval
        # Room for the mark is kept on every page so a split never moves at the end.
        self._page_limit = limit - len(STILL_WRITING_MARK)
        self._clock = clock
        self._header = ""
        self._body = ""
        self._footer = ""
        self._view: discord.ui.View | None = None
        self._is_writing = True
        self._is_finished = False
        self._pages: list[_Page] = [_Page()]
        self._changed = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    # -- what the reply says -----------------------------------------------------------

    @property
    def body(self) -> str:
        """The streamed text so far (without header and footer)."""
        return self._body

    @property
    def messages(self) -> list[EditableMessage]:
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
        """Add streamed text; it shows with the next edit the interval allows."""
        self._body += text
        self._wake()

    def set_body(self, text: str) -> None:
        """Replace the streamed text (picks re-rendered as they grow); shown like `append`."""
        self._body = text
        self._wake()

    def start(self) -> None:
        """Start the writer; the first edit goes out at once."""
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_until_finished())
            self._wake()

    async def finish(self, footer: str = "") -> list[EditableMessage]:
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

    async def _write(self, index: int) -> None:
        """Bring page `index` up to date: send it if it is new, else edit it."""
        if index >= len(self._pages):
            self._pages.append(_Page())
        page = self._pages[index]
        wait = page.last_write + self._interval - self._clock()
        if wait > 0:
            await asyncio.sleep(wait)
        # Read the text only now: everything that arrived while waiting goes in this edit.
        wanted = self._wanted()
        content = wanted[index] if index < len(wanted) else ""
        view = self._view if index == 0 else None
        page.last_write = self._clock()
        try:
            if index == 0:
                page.message = await self._edit_first(content, view)
            elif page.message is None:
                page.message = await self._send_more(content)
            else:
                await page.message.edit(content=content, allowed_mentions=NO_PINGS)
        except discord.HTTPException as exc:
            page.failures += 1
            if page.failures < MAX_WRITE_ATTEMPTS:
                # Left stale, so it is tried again (after the interval) before any later
                # page is sent: the messages stay in order.
                log.warning(
                    "Could not write message %d of a reply (will retry): %s", index + 1, exc
                )
                page.last_write = self._clock()
                return
            log.error(
                "Giving up on message %d of a reply after %d attempts: %s",
                index + 1,
                page.failures,
                exc,
            )
        else:
            page.failures = 0
        page.shown, page.shown_view = content, view
        page.last_write = self._clock()
