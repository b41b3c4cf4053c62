"""What the pipeline hands to front ends: tastes, and the events of one suggestion.

`Pipeline.suggest` yields, in order: one `Retrieved`, any number of `PicksUpdated`
(the structured picks so far) or `TextDelta` (plain text, when the model's answer is
not structured), then exactly one `Finished` or `Failed`. A front end renders them as
they come and never needs to know how they were made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.errors import SuggestWatchError


@dataclass(frozen=True, slots=True)
class Taste:
    """One thing a member said they like."""

    id: int
    member_id: str
    text: str
    created_at: datetime
    # Its vector is not known to be written yet (a crash, or Ollama down): not searchable
    # until the pipeline finishes it, which it does at start and when it is stated again.
    is_pending: bool = False


@dataclass(frozen=True, slots=True)
class MatchedTaste:
    """A taste found similar to a request, with its cosine similarity (-1..1)."""

    taste_id: int
    text: str
    score: float


class SuggestionStatus(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    CUT = "cut"  # the model stopped at the length limit (GEN_NUM_PREDICT) mid-answer
    INTERRUPTED = "interrupted"  # the stream broke after some text arrived
    FAILED = "failed"  # nothing usable arrived
    CANCELLED = "cancelled"  # the member (or shutdown) stopped it


@dataclass(frozen=True, slots=True)
class GenerationStats:
    """Counts and durations from Ollama's final `done: true` chunk (seconds)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_seconds: float = 0.0
    load_seconds: float = 0.0
    prompt_eval_seconds: float = 0.0
    eval_seconds: float = 0.0
    done_reason: str | None = None

    @property
    def tokens_per_second(self) -> float | None:
        if self.eval_seconds <= 0:
            return None
        return self.completion_tokens / self.eval_seconds


@dataclass(frozen=True, slots=True)
class SuggestionTimings:
    """Where the time of one suggestion went, measured by us (seconds)."""

    embed_seconds: float | None = None
    search_seconds: float | None = None
    first_token_seconds: float | None = None  # from the chat request to the first text
    generation_seconds: float | None = None  # from the chat request to the end


@dataclass(frozen=True, slots=True)
class PickDraft:
    """One pick as far as it has been written: the title first, then the rest."""

    title: str
    year: int | None = None
    kind: str | None = None  # "movie" or "show"
    description: str = ""
    reasoning: str = ""
    confidence: float | None = None  # 0..1
    is_complete: bool = False


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
    liked_titles: tuple[str, ...] = ()  # liked picks given to the model as examples
    avoided_titles: int = 0  # titles the model was told not to suggest (disliked, seen, recent)


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
    picks: tuple[PickDraft, ...] = ()  # empty when the answer was plain text
    is_structured: bool = False
    left_out: int = 0  # picks of the answer not shown because they repeated a title

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


class Rating(StrEnum):
    """What a member said of one pick."""

    LIKED = "liked"
    NOT_FOR_ME = "not_for_me"
    SEEN = "seen"


@dataclass(frozen=True, slots=True)
class HistoryPick:
    """One pick shown to a member, with their current rating of it."""

    suggestion_id: int
    position: int
    title: str
    year: int | None
    kind: str | None
    query: str
    rating: Rating | None
    created_at: datetime


SuggestionEvent = Retrieved | PicksUpdated | TextDelta | Finished | Failed
