"""The events of one suggestion, as `Pipeline.suggest` yields them to a front end.

In order: one `Retrieved`, any number of `PicksUpdated` (the structured picks so far)
or `TextDelta` (plain text, when the model's answer is not structured), then exactly
one `Finished` or `Failed`. A front end renders them as they come and never needs to
know how they were made. What they carry (tastes, picks, timings) is in `domain.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.errors import SuggestWatchError
from bot.pipeline.domain import (
    GenerationStats,
    MatchedTaste,
    PickDraft,
    SuggestionStatus,
    SuggestionTimings,
)


@dataclass(frozen=True, slots=True)
class Retrieved:
    """Retrieval is done: these tastes will shape the prompt."""

    suggestion_id: int
    query: str
    count: int
    matches: tuple[MatchedTaste, ...]
    has_tastes: bool  # False: the member has stated no tastes at all yet
    embed_seconds: float
    search_seconds: float
    # Liked picks given to the model as examples, one line each: `Title (Year): description`.
    liked_examples: tuple[str, ...] = ()
    avoided_count: int = 0  # titles the model was told not to suggest (disliked, seen, recent)


@dataclass(frozen=True, slots=True)
class PicksUpdated:
    """The picks shown so far, numbered from 1 in order; each may still be growing."""

    picks: tuple[PickDraft, ...]


@dataclass(frozen=True, slots=True)
class TextDelta:
    """The next piece of the model's answer."""

    text: str


@dataclass(frozen=True, slots=True)
class Finished:
    """The answer ended (complete, or cut by the length limit) and is recorded."""

    suggestion_id: int
    text: str
    timings: SuggestionTimings
    stats: GenerationStats | None
    status: SuggestionStatus = SuggestionStatus.COMPLETE  # or CUT
    picks: tuple[PickDraft, ...] = ()  # the picks shown; empty when the answer was plain text
    is_structured: bool = False
    left_out_count: int = 0  # picks of the answer not shown because they repeated a title

    @property
    def is_cut(self) -> bool:
        """The answer stopped at the length limit, not where the model meant to end."""
        return self.status is SuggestionStatus.CUT


@dataclass(frozen=True, slots=True)
class Failed:
    """The suggestion could not be completed; `text` holds whatever arrived first."""

    suggestion_id: int | None  # None when it failed before it could be recorded
    text: str
    status: SuggestionStatus
    error: SuggestWatchError
    timings: SuggestionTimings
    picks: tuple[PickDraft, ...] = ()  # the picks shown before the fault


SuggestionEvent = Retrieved | PicksUpdated | TextDelta | Finished | Failed
