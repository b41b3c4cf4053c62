"""The row types the records hand back, and how a stored row becomes one."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from bot.pipeline.catalogue.lookup import CheckState
from bot.pipeline.domain import (
    MatchedTaste,
    PastPick,
    Rating,
    SuggestionStatus,
    SuggestionTimings,
    Taste,
)
from bot.pipeline.picks import LeftOut

# A taste's `vector_state`: whether its vector is known to be written ('stored'), may not
# be yet ('pending'), or is being erased ('deleting'). See schema version 2.
# A movie-night vote is kept as a liked rating from this source; the member's own rating
# of the film, from any other source, always wins over it.
VOTE_SOURCE = "vote"

PENDING = "pending"
STORED = "stored"
DELETING = "deleting"


@dataclass(frozen=True, slots=True)
class SuggestionRecord:
    """One row of `suggestions`, as read back."""

    id: int
    member_id: str
    query: str
    count: int
    matches: tuple[MatchedTaste, ...]
    model: str
    text: str
    status: SuggestionStatus
    error: str | None
    timings: SuggestionTimings
    completion_tokens: int | None
    tokens_per_second: float | None
    created_at: datetime
    is_structured: bool = False


@dataclass(frozen=True, slots=True)
class OpenReply:
    """A suggestion whose front-end reply never got its last edit (the bot was killed)."""

    suggestion_id: int
    status: SuggestionStatus
    messages: tuple[tuple[int, int | None], ...]  # (message id, channel id), oldest first


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    """One reaction added to or removed from a suggestion's message."""

    member_id: str
    suggestion_id: int
    message_id: int
    emoji: str
    added: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PickRecord:
    """One pick of a suggestion's answer, shown or left out, with its current rating."""

    id: int
    suggestion_id: int
    member_id: str
    answer_position: int
    shown_position: int | None
    left_out: LeftOut | None
    title: str
    year: int | None
    kind: str | None
    description: str
    reasoning: str
    confidence: float | None
    key: str
    rating: Rating | None
    qid: str | None = None  # the film in the catalogue (Wikidata), when it was found
    check_state: CheckState | None = None  # None: recorded without a catalogue

    @property
    def film_key(self) -> str:
        """One identity per film: its QID when known, else its normalised title and year."""
        return f"qid:{self.qid}" if self.qid else self.key


@dataclass(frozen=True, slots=True)
class Unsettled:
    """Tastes a crash (or a fault) left between the two stores, for one member."""

    member_id: str
    pending: tuple[Taste, ...]
    deleting: tuple[int, ...]


def now() -> str:
    """The current time as stored: ISO 8601, UTC."""
    return datetime.now(UTC).isoformat()


def taste_from_row(row: sqlite3.Row) -> Taste:
    """A `tastes` row as a `Taste`."""
    return Taste(
        id=row["id"],
        member_id=row["member_id"],
        text=row["text"],
        created_at=datetime.fromisoformat(row["created_at"]),
        is_pending=row["vector_state"] == PENDING,
    )


def suggestion_from_row(row: sqlite3.Row) -> SuggestionRecord:
    """A `suggestions` row as a `SuggestionRecord`."""
    return SuggestionRecord(
        id=row["id"],
        member_id=row["member_id"],
        query=row["query"],
        count=row["count"],
        matches=tuple(MatchedTaste(**match) for match in json.loads(row["matches"])),
        model=row["model"],
        text=row["text"],
        status=SuggestionStatus(row["status"]),
        error=row["error"],
        timings=SuggestionTimings(
            embed_seconds=row["embed_seconds"],
            search_seconds=row["search_seconds"],
            first_token_seconds=row["first_token_seconds"],
            generation_seconds=row["generation_seconds"],
        ),
        completion_tokens=row["completion_tokens"],
        tokens_per_second=row["tokens_per_second"],
        created_at=datetime.fromisoformat(row["created_at"]),
        is_structured=bool(row["is_structured"]),
    )


def feedback_from_row(row: sqlite3.Row) -> FeedbackRecord:
    """A `feedback` row as a `FeedbackRecord`."""
    return FeedbackRecord(
        member_id=row["member_id"],
        suggestion_id=row["suggestion_id"],
        message_id=row["message_id"],
        emoji=row["emoji"],
        added=row["action"] == "added",
        created_at=datetime.fromisoformat(row["created_at"]),
    )


def pick_from_row(row: sqlite3.Row) -> PickRecord:
    """A `picks` row joined with its current rating as a `PickRecord`."""
    return PickRecord(
        id=row["id"],
        suggestion_id=row["suggestion_id"],
        member_id=row["member_id"],
        answer_position=row["answer_position"],
        shown_position=row["shown_position"],
        left_out=LeftOut(row["left_out"]) if row["left_out"] else None,
        title=row["title"],
        year=row["year"],
        kind=row["kind"],
        description=row["description"],
        reasoning=row["reasoning"],
        confidence=row["confidence"],
        key=row["key"],
        rating=Rating(row["rating"]) if row["rating"] else None,
        qid=row["qid"],
        check_state=CheckState(row["check_state"]) if row["check_state"] else None,
    )


def past_pick_from_row(row: sqlite3.Row) -> PastPick:
    """A shown pick joined with its suggestion's query and its rating as a `PastPick`."""
    return PastPick(
        suggestion_id=row["suggestion_id"],
        position=row["shown_position"],
        title=row["title"],
        year=row["year"],
        kind=row["kind"],
        query=row["query"],
        rating=Rating(row["rating"]) if row["rating"] else None,
        created_at=datetime.fromisoformat(row["created_at"]),
    )


# -- the library (records/library.py) ------------------------------------------------


class WatchlistSource(StrEnum):
    """How a title came onto the watchlist."""

    BOT = "bot"
    IMPORT = "import"


@dataclass(frozen=True, slots=True)
class LibraryEntry:
    """One title of a member's library."""

    id: int
    member_id: str
    key: str
    title: str
    year: int | None
    kind: str | None
    description: str
    link: str | None
    imdb_id: str | None
    qid: str | None
    is_on_watchlist: bool
    rating: Rating | None  # the bot's rating when there is one, else the imported one
    is_imported: bool  # the rating comes from an import

    @property
    def film_key(self) -> str:
        """One identity per film (as a pick's): its QID when matched, else its key."""
        return f"qid:{self.qid}" if self.qid else self.key


@dataclass(frozen=True, slots=True)
class NewTitle:
    """A title to put in the library: from a pick, or from an export."""

    key: str
    title: str
    year: int | None
    kind: str | None = None
    description: str = ""
    link: str | None = None
    imdb_id: str | None = None
    imported_rating: Rating | None = None
    is_on_watchlist: bool = False


@dataclass(frozen=True, slots=True)
class ImportCounts:
    """What storing an import changed."""

    added: int
    updated: int
    unchanged: int


def library_entry_from_row(row: sqlite3.Row) -> LibraryEntry:
    """A `library` row (read with its current rating) as a `LibraryEntry`."""
    return LibraryEntry(
        id=row["id"],
        member_id=row["member_id"],
        key=row["key"],
        title=row["title"],
        year=row["year"],
        kind=row["kind"],
        description=row["description"],
        link=row["link"],
        imdb_id=row["imdb_id"],
        qid=row["qid"],
        is_on_watchlist=row["watchlist_source"] is not None,
        rating=Rating(row["current_rating"]) if row["current_rating"] else None,
        is_imported=bool(row["is_imported"]),
    )
