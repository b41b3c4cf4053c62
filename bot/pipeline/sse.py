"""A server-sent events reader that holds up to what real model servers send.

It follows the WHATWG "event stream" rules: lines end in CRLF, LF or a lone CR; a line
starting with `:` is a comment (OpenRouter's `: OPENROUTER PROCESSING` keep-alives);
several `data:` lines of one event are joined with newlines; an empty line ends an
event. Bytes may arrive split anywhere, even inside a UTF-8 character or between the
CR and LF of one line end. One leniency: data still pending when the stream ends is
delivered as a last event (the rules would drop it), because a server that forgets
the final blank line has still said what it meant.
"""

from __future__ import annotations

import codecs
from collections.abc import AsyncGenerator, AsyncIterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerEvent:
    """One dispatched event: its `event` type (`message` unless named) and its data."""

    data: str
    event: str = "message"
    id: str | None = None


class EventParser:
    """Turns pieces of a byte stream into events; feed it, then call `close` at the end."""

    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._pending = ""  # text not yet ended by a line break
        self._data: list[str] = []
        self._event = ""
        self._id: str | None = None

    def feed(self, raw: bytes) -> list[ServerEvent]:
        """The events completed by these bytes, in order."""
        self._pending += self._decoder.decode(raw)
        return list(self._complete_lines())

    def close(self) -> list[ServerEvent]:
        """The stream ended: the last line and event, if anything was left pending."""
        self._pending += self._decoder.decode(b"", final=True)
        events = list(self._complete_lines(is_final=True))
        if self._pending:
            events.extend(self._line(self._pending))
            self._pending = ""
        if self._data:
            events.append(self._dispatch())
        return events

    def _complete_lines(self, *, is_final: bool = False) -> Iterator[ServerEvent]:
        start = 0
        text = self._pending
        while True:
            cr = text.find("\r", start)
            lf = text.find("\n", start)
            if cr == -1 and lf == -1:
                break
            if cr != -1 and (lf == -1 or cr < lf):
                if cr == len(text) - 1 and not is_final:
                    break  # a CR at the very end may be the first half of a CRLF
                end, after = cr, cr + 2 if text.startswith("\n", cr + 1) else cr + 1
            else:
                end, after = lf, lf + 1
            yield from self._line(text[start:end])
            start = after
        self._pending = text[start:]

    def _line(self, line: str) -> Iterator[ServerEvent]:
        if not line:
            if self._data:
                yield self._dispatch()
            else:
                self._event = ""  # an event with no data is not dispatched
            return
        if line.startswith(":"):
            return  # a comment: a keep-alive, nothing to deliver
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id" and "\0" not in value:
            self._id = value
        # `retry` and unknown fields are ignored, as the rules say.

    def _dispatch(self) -> ServerEvent:
        event = ServerEvent("\n".join(self._data), self._event or "message", self._id)
        self._data = []
        self._event = ""
        return event


async def read_events(chunks: AsyncIterable[bytes]) -> AsyncGenerator[ServerEvent, None]:
    """The events of a byte stream, each as soon as its closing blank line arrives."""
    parser = EventParser()
    async for raw in chunks:
        for event in parser.feed(raw):
            yield event
    for event in parser.close():
        yield event
