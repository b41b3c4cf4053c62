"""What the pipeline hands to front ends: tastes, and the events of one suggestion.

`Pipeline.suggest` yields, in order: one `Retrieved`, any number of `TextDelta`,
then exactly one `Finished` or `Failed`. A front end renders them as they come and
never needs to know how they were made.
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
class Retrieved:
    """Retrieval is done: these tastes will shape the prompt."""

    suggestion_id: int
    query: str
    count: int
    matches: tuple[MatchedTaste, ...]
    has_tastes: bool  # False: the member has stated no tastes at all yet
    embed_seconds: float
    search_seconds: float


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


SuggestionEvent = Retrieved | TextDelta | Finished | Failed
