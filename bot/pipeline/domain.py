"""The things the pipeline and its front ends talk about: tastes, picks and ratings, and
a suggestion's status, timings and the model's counts.

Plain frozen values with no behaviour beyond a derived property; the records store
them and the events of a suggestion (`events.py`) carry them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.pipeline.catalogue.lookup import Lookup


@dataclass(frozen=True, slots=True)
class Taste:
    """One thing a member said they like."""

    id: int
    member_id: str
    text: str
    created_at: datetime
    # Its vector is not known to be written yet (a crash, or the model server down): not searchable
    # until the pipeline finishes it, which it does at start and when it is stated again.
    is_pending: bool = False


@dataclass(frozen=True, slots=True)
class MatchedTaste:
    """A taste found similar to a request, with its cosine similarity (-1..1)."""

    taste_id: int
    text: str
    score: float


class Rating(StrEnum):
    """What a member said of one pick."""

    LIKED = "liked"
    NOT_FOR_ME = "not_for_me"
    SEEN = "seen"


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
    # What the film catalogue says of it: None when no catalogue is used (CATALOGUE=off);
    # a CHECKING lookup until it answers. A found pick shows the catalogue's title and year.
    check: Lookup | None = None


@dataclass(frozen=True, slots=True)
class PastPick:
    """One pick shown to a member in the past, with their current rating of it."""

    suggestion_id: int
    position: int
    title: str
    year: int | None
    kind: str | None
    query: str
    rating: Rating | None
    created_at: datetime


class SuggestionStatus(StrEnum):
    RUNNING = "running"
    COMPLETE = "complete"
    CUT = "cut"  # the model stopped at the length limit (GEN_NUM_PREDICT) mid-answer
    INTERRUPTED = "interrupted"  # the stream broke after some text arrived
    FAILED = "failed"  # nothing usable arrived
    CANCELLED = "cancelled"  # the member (or shutdown) stopped it


@dataclass(frozen=True, slots=True)
class GenerationStats:
    """Counts and durations of an answer (seconds): from Ollama's final `done: true`
    chunk, or an OpenAI-compatible server's usage and our own clock."""

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


class Titled(Protocol):
    """Anything with a title and maybe a year: a pick being written, shown or recorded."""

    @property
    def title(self) -> str: ...

    @property
    def year(self) -> int | None: ...


def label(pick: Titled) -> str:
    """A pick as a person writes it: `Arrival (2016)`."""
    return f"{pick.title} ({pick.year})" if pick.year else pick.title
