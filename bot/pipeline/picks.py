"""Structured picks: the JSON schema the model must follow, read while it streams.

The chat request passes `PickList`'s JSON schema as Ollama's `format` (an OpenAI-compatible
server gets it as `response_format`, see `strict_schema`), so the model
answers `{"picks": [{"title": ..., "year": ..., ...}, ...]}`. `PickStream` is fed the
answer piece by piece and parses the text so far with pydantic-core's partial JSON
parser, so a pick's title can be shown as soon as its string is closed, and the rest
as it arrives. It also tells when the answer is not our JSON at all (a server that
ignores `format`, or JSON that breaks), so the caller can fall back to plain text.

`PickSelector` decides, in answer order, which picks are shown: a pick that repeats a
title to avoid (disliked, seen, suggested lately, or twice in one answer) is left out,
and picks beyond the count asked for are spares. `pick_key` is how "the same film" is
recognised: title and year, case, accents, punctuation and a leading article ignored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field
from pydantic_core import from_json

from bot.pipeline.domain import PickDraft
from bot.pipeline.text import normalise_title

_FENCE = re.compile(r"^```[a-zA-Z]*\s*")
_NUMBER_END = re.compile(r"[:,\[]\s*-?[0-9][0-9.eE+-]*$")


class Pick(BaseModel):
    """One recommended movie or show, as the model must write it."""

    title: str = Field(min_length=1, max_length=200, description="The exact original title")
    year: int = Field(ge=1880, le=2100, description="Year of release (first season for a show)")
    kind: Literal["movie", "show"]
    description: str = Field(description="One or two sentences about it, without spoilers")
    reasoning: str = Field(description="Why it fits this member, by what they said")
    confidence: float = Field(ge=0, le=1, description="How well it fits, from 0 to 1")


class PickList(BaseModel):
    """The whole answer: the picks, best first."""

    picks: list[Pick]


def answer_schema() -> dict[str, Any]:
    """The JSON schema of the answer (Ollama's `format`, OpenAI's `response_format`)."""
    return PickList.model_json_schema()


def pick_key(title: str, year: int | None) -> str:
    """The key that recognises one film or show later: `matrix|1999`."""
    return f"{normalise_title(title)}|{year if year is not None else ''}"


def split_key(key: str) -> tuple[str, int | None]:
    """The normalised title and year of a `pick_key`."""
    title, _, year = key.rpartition("|")
    return title, int(year) if year.isdigit() else None


class AnswerMode(StrEnum):
    UNDECIDED = "undecided"  # only whitespace (or an opening code fence) so far
    STRUCTURED = "structured"  # our JSON, as far as it goes
    TEXT = "text"  # not JSON, or JSON that is not ours: show it as text


class PickStream:
    """The model's answer so far, read as picks while it is structured JSON."""

    def __init__(self) -> None:
        self.text = ""
        self.mode = AnswerMode.UNDECIDED
        self.is_broken = False  # the JSON stopped parsing after it had started
        self._start = 0  # where the JSON starts (after a code fence)
        self._drafts: list[PickDraft] = []

    @property
    def drafts(self) -> list[PickDraft]:
        """Every pick of the answer so far, in answer order (titles complete)."""
        return list(self._drafts)

    def feed(self, piece: str) -> None:
        """Add the next piece of the answer and re-read it."""
        self.text += piece
        if self.mode is AnswerMode.UNDECIDED:
            self._decide_mode()
        if self.mode is AnswerMode.STRUCTURED and not self.is_broken:
            self._parse(is_final=False)

    def finish(self) -> None:
        """The answer is complete: every pick in it is complete too."""
        if self.mode is AnswerMode.UNDECIDED and self.text.strip():
            self.mode = AnswerMode.TEXT
        if self.mode is AnswerMode.STRUCTURED and not self.is_broken:
            self._parse(is_final=True)
        self._drafts = [replace(draft, is_complete=True) for draft in self._drafts]

    def _decide_mode(self) -> None:
        stripped = self.text.lstrip()
        if not stripped:
            return
        if stripped.startswith("`"):
            # Some models wrap JSON in a ```json fence when the server ignores `format`.
            fence = _FENCE.match(stripped)
            if fence is None or fence.end() == len(stripped):
                if "\n" not in stripped and len(stripped) < 16:
                    return  # wait: the fence's first line is not complete yet
                self.mode = AnswerMode.TEXT
                return
            rest = stripped[fence.end() :]
            self._start = len(self.text) - len(rest)
            stripped = rest
        self.mode = AnswerMode.STRUCTURED if stripped.startswith("{") else AnswerMode.TEXT

    def _parse(self, *, is_final: bool) -> None:
        text = self.text[self._start :].rstrip().removesuffix("```")
        try:
            settled = from_json(text, allow_partial=True)
            growing = from_json(text, allow_partial="trailing-strings")
        except ValueError:
            self.is_broken = True
            if not self._drafts:
                self.mode = AnswerMode.TEXT
            return
        picks = _picks_of(settled)
        if picks is None:
            if isinstance(settled, dict) and not settled:
                return  # `{` or `{"pi`: not decided yet
            self.mode = AnswerMode.TEXT if not self._drafts else self.mode
            self.is_broken = bool(self._drafts)
            return
        growing_picks = _picks_of(growing) or []
        is_closed = is_final or _is_complete_json(text)
        # Only the very end of the text can be a number still being written.
        ends_in_number = _NUMBER_END.search(text) is not None
        drafts = []
        for index, fields in enumerate(picks):
            is_last = index == len(picks) - 1
            is_complete = is_closed or not is_last
            grown = growing_picks[index] if index < len(growing_picks) else fields
            growing_field = next(reversed(fields), None) if is_last and ends_in_number else None
            draft = _draft(fields, grown, is_complete=is_complete, growing_field=growing_field)
            if draft is None:
                break  # no complete title yet: nothing of this pick can be shown
            drafts.append(draft)
        self._drafts = drafts


def _picks_of(value: object) -> list[dict[str, Any]] | None:
    """The list of pick objects in a parsed answer, or None if it is not our shape."""
    if not isinstance(value, dict) or "picks" not in value:
        return None
    picks = value["picks"]
    if not isinstance(picks, list):
        return None
    return [pick if isinstance(pick, dict) else {} for pick in picks]


def _is_complete_json(text: str) -> bool:
    if not text.endswith("}"):
        return False  # the usual case while streaming: no need to parse again
    try:
        from_json(text)
    except ValueError:
        return False
    return True


def _draft(
    settled: Mapping[str, Any],
    grown: Mapping[str, Any],
    *,
    is_complete: bool,
    growing_field: str | None,
) -> PickDraft | None:
    """What can be shown of one pick: settled values, and the text fields as they grow.

    A number at the very end of the text may still grow (`20` may become `2016`), so
    it is not shown yet; a string is settled once its closing quote has arrived.
    """
    title = settled.get("title")
    if not isinstance(title, str) or not title.strip():
        return None

    def is_settled(name: str) -> bool:
        return is_complete or name != growing_field

    year = settled.get("year")
    kind = settled.get("kind")
    confidence = settled.get("confidence")
    return PickDraft(
        title=" ".join(title.split()),
        year=year if isinstance(year, int) and is_settled("year") else None,
        kind=kind if kind in ("movie", "show") else None,
        description=_text(grown.get("description")),
        reasoning=_text(grown.get("reasoning")),
        confidence=_confidence(confidence) if is_settled("confidence") else None,
        is_complete=is_complete,
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _confidence(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if value > 1 and value <= 100:
        value = value / 100  # "90" meant 90 %
    return min(1.0, max(0.0, float(value)))


class LeftOut(StrEnum):
    """Why a pick of the answer was not shown."""

    DISLIKED = "disliked"  # the member rated it "not for me"
    SEEN = "seen"  # the member said they have seen it
    SUGGESTED = "suggested_before"  # in one of their recent suggestions
    ON_WATCHLIST = "on_watchlist"  # on the member's watchlist already
    REPEATED = "repeated_in_answer"  # the same title earlier in this answer
    SPARE = "spare"  # the count asked for was already reached
    NOT_FOUND = "not_found"  # the film catalogue does not know it (UNVERIFIED_PICKS=hide)


@dataclass(frozen=True, slots=True)
class PickDecision:
    """What became of one pick of the answer: shown at `shown_position`, or left out."""

    draft: PickDraft
    shown_position: int | None
    left_out: LeftOut | None


class PickSelector:
    """Chooses the shown picks in answer order, leaving out repeats and spares."""

    def __init__(self, count: int, avoid: Mapping[str, LeftOut]) -> None:
        self.count = count
        self._avoid_by_title: dict[str, list[tuple[int | None, LeftOut]]] = {}
        for key, reason in avoid.items():
            title, year = split_key(key)
            self._avoid_by_title.setdefault(title, []).append((year, reason))
        self._decided: list[tuple[int | None, LeftOut | None]] = []

    def update(self, drafts: list[PickDraft]) -> tuple[PickDraft, ...]:
        """Decide what the drafts so far allow; returns the picks to show now."""
        for draft in drafts[len(self._decided) :]:
            reason = self._repeat_reason(draft, drafts[: len(self._decided)])
            if isinstance(reason, _Undecided):
                break
            shown = sum(1 for position, _ in self._decided if position is not None)
            if reason is None and shown >= self.count:
                reason = LeftOut.SPARE
            self._decided.append((shown + 1 if reason is None else None, reason))
        return self.shown(drafts)

    def shown(self, drafts: list[PickDraft]) -> tuple[PickDraft, ...]:
        """The decided picks to show, with their latest content."""
        return tuple(
            draft
            for draft, (position, _) in zip(drafts, self._decided, strict=False)
            if position is not None
        )

    def decisions(self, drafts: list[PickDraft]) -> list[PickDecision]:
        """Every decided pick with what became of it (call after the last `update`)."""
        return [
            PickDecision(draft, position, reason)
            for draft, (position, reason) in zip(drafts, self._decided, strict=False)
        ]

    def _repeat_reason(
        self, draft: PickDraft, earlier: list[PickDraft]
    ) -> LeftOut | _Undecided | None:
        title = normalise_title(draft.title)
        candidates = list(self._avoid_by_title.get(title, []))
        candidates += [
            (other.year, LeftOut.REPEATED)
            for other in earlier
            if normalise_title(other.title) == title
        ]
        if not candidates:
            return None
        if draft.year is None and not draft.is_complete:
            return _UNDECIDED  # the same title; wait for the year to tell remakes apart
        for year, reason in candidates:
            if year is None or draft.year is None or year == draft.year:
                return reason
        return None


class _Undecided:
    """Marks a pick whose fate needs more of the answer."""


_UNDECIDED = _Undecided()
