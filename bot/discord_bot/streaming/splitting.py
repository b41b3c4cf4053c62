"""Splitting a reply's text into Discord messages without breaking its markdown.

`split_message` cuts at a line break, else at a space outside any span; a code block
or span that must be cut is closed and reopened. A split depends only on the text
before it, so earlier messages never change their split point as the text grows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MESSAGE_LIMIT = 2000  # characters of content in one Discord message

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
