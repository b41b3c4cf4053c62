"""The library part of the pipeline: watchlist, marking watched, importing an export.

Front ends call `read_import` first (pure, fast: a refusal comes before anything is
stored), then `store_import` (one transaction: all of the export or none of it), then
run `match_titles` in the background when a catalogue is on: each imported title is
looked up and its QID kept, a batch at a time, so a crash loses at most one batch of
lookups and the next run takes up where this one stopped. A member saves any shown
pick to their own watchlist by its suggestion and number, whoever asked for it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from bot.errors import ImportTooLarge, InputError
from bot.pipeline.catalogue.lookup import Lookup
from bot.pipeline.domain import Rating
from bot.pipeline.library.imports import ImportLimits, ParsedExport, read_export
from bot.pipeline.library.lessons import entry_text
from bot.pipeline.records.library import ImportCounts, LibraryEntry, LibraryRecords, NewTitle

log = logging.getLogger(__name__)

WATCHLIST_PAGE_SIZE = 10
MATCH_BATCH = 25
EMBED_BATCH = 64


class MatchState(StrEnum):
    """What the catalogue said of one library title."""

    MATCHED = "matched"
    NOT_FOUND = "not_found"
    NOT_CHECKED = "not_checked"  # the catalogue failed: ask again another time


class Embedder(Protocol):
    """Embeds texts with a model (the pipeline's model client)."""

    async def embed(self, model: str, texts: list[str]) -> list[list[float]]: ...


class TitleMatcher(Protocol):
    """Finds a library title in the catalogue (an IMDb id, when known, must agree)."""

    async def match(
        self, title: str, year: int | None, kind: str | None, imdb_id: str | None
    ) -> tuple[MatchState, str | None]: ...

    async def details(self, title: str, year: int | None, kind: str | None) -> Lookup | None: ...


@dataclass(frozen=True, slots=True)
class StoredImport:
    """An export read and stored: what it held, and what storing it changed."""

    parsed: ParsedExport
    counts: ImportCounts


@dataclass(frozen=True, slots=True)
class MatchProgress:
    """How far matching a member's titles to the catalogue has come."""

    checked: int
    total: int
    not_found: int
    is_done: bool = False
    is_interrupted: bool = False  # the catalogue failed; the rest is checked next time


@dataclass(frozen=True, slots=True)
class SavedPick:
    """A pick saved to a watchlist, or found on it already."""

    entry: LibraryEntry | None  # None: it was on the watchlist already
    title: str
    year: int | None

    @property
    def was_there(self) -> bool:
        return self.entry is None


@dataclass(frozen=True, slots=True)
class WatchlistPage:
    """One page of a member's watchlist."""

    entries: tuple[LibraryEntry, ...]
    page: int  # from 1
    pages: int
    total: int


class Library:
    """Each member's watchlist, marked-watched titles and imports."""

    def __init__(
        self,
        records: LibraryRecords,
        limits: ImportLimits,
        matcher: TitleMatcher | None = None,
        *,
        embedder: Embedder | None = None,
        embed_model: str = "",
        page_size: int = WATCHLIST_PAGE_SIZE,
    ) -> None:
        self._records = records
        self._limits = limits
        self._matcher = matcher
        self._embedder = embedder
        self._embed_model = embed_model
        self._page_size = page_size

    @property
    def is_matching(self) -> bool:
        """Whether imported titles are matched to a catalogue."""
        return self._matcher is not None

    def check_upload_size(self, size: int) -> None:
        """Refuse a file too large to import before it is downloaded or read."""
        if size > self._limits.max_bytes:
            mb = 1024 * 1024
            raise ImportTooLarge(
                f"That file is {size / mb:.1f} MB; an import can be at most "
                f"{self._limits.max_bytes / mb:.1f} MB."
            )

    def read_import(self, data: bytes, file_name: str) -> ParsedExport:
        """The export's titles, or `ImportRefused` saying in one line why not."""
        return read_export(data, file_name, self._limits)

    async def store_import(self, member_id: str, parsed: ParsedExport) -> StoredImport:
        """Store what an export holds, all of it or none; the same export twice changes
        nothing, and a rating the member gave in the bot is never overwritten."""
        titles = [
            NewTitle(
                key=title.key,
                title=title.title,
                year=title.year,
                kind=title.kind,
                link=title.link,
                imdb_id=title.imdb_id,
                imported_rating=title.rating,
                is_on_watchlist=title.is_on_watchlist,
            )
            for title in parsed.titles
        ]
        counts = await self._records.store_import(member_id, titles)
        return StoredImport(parsed, counts)

    async def match_titles(
        self,
        member_id: str,
        on_progress: Callable[[MatchProgress], Awaitable[None]] | None = None,
    ) -> MatchProgress:
        """Look up the member's unchecked titles in the catalogue (kept a batch at a time,
        so a crash or a failing catalogue loses at most one batch); `on_progress` hears
        of every title."""
        matcher = self._matcher
        progress = MatchProgress(0, await self._records.count_unchecked(member_id), 0)
        while matcher is not None:
            batch = await self._records.unchecked(member_id, MATCH_BATCH)
            if not batch:
                break
            found: dict[int, str | None] = {}
            for entry in batch:
                state, qid = await matcher.match(entry.title, entry.year, entry.kind, entry.imdb_id)
                if state is MatchState.NOT_CHECKED:
                    await self._records.set_matches(found)
                    log.info("Matching %s's titles stopped: the catalogue failed", member_id)
                    return replace(progress, is_interrupted=True)
                found[entry.id] = qid
                progress = replace(
                    progress,
                    checked=progress.checked + 1,
                    not_found=progress.not_found + (state is MatchState.NOT_FOUND),
                )
                if on_progress is not None:
                    await on_progress(progress)
            await self._records.set_matches(found)
        return replace(progress, is_done=True)

    async def embed_titles(self, member_id: str) -> int:
        """Embed the member's titles that have no vector yet, a batch at a time, so the
        prompt can name the ones most similar to a request; returns how many."""
        embedder, model = self._embedder, self._embed_model
        embedded = 0
        if embedder is None:
            return embedded
        while batch := await self._records.without_vectors(member_id, model, EMBED_BATCH):
            vectors = await embedder.embed(model, [entry_text(entry) for entry in batch])
            await self._records.store_vectors(
                model, {entry.id: vector for entry, vector in zip(batch, vectors, strict=True)}
            )
            embedded += len(batch)
        return embedded

    async def not_found(self, member_id: str) -> list[LibraryEntry]:
        """The member's titles the catalogue did not find."""
        return await self._records.not_found(member_id)

    async def save_pick(self, member_id: str, suggestion_id: int, position: int) -> SavedPick:
        """Save pick `position` (from 1) of a suggestion to the member's own watchlist."""
        picks = await self._records.shown_picks(suggestion_id)
        if not 1 <= position <= len(picks):
            raise InputError(
                f"Suggestion #{suggestion_id} has no pick {position}"
                + (f" (it has {len(picks)})." if picks else ".")
            )
        pick = picks[position - 1]
        entry = await self._records.add_to_watchlist(member_id, pick)
        return SavedPick(entry, pick.title, pick.year)

    async def watchlist_page(self, member_id: str, page: int = 1) -> WatchlistPage:
        """Page `page` (from 1; kept within the pages there are) of the member's watchlist."""
        total = await self._records.count_watchlist(member_id)
        pages = max(1, math.ceil(total / self._page_size))
        page = min(max(1, page), pages)
        entries = await self._records.watchlist(
            member_id, (page - 1) * self._page_size, self._page_size
        )
        return WatchlistPage(tuple(entries), page, pages, total)

    async def details(self, entries: Sequence[LibraryEntry]) -> dict[int, Lookup]:
        """The catalogue's facts and links for the titles it knows (none without one)."""
        if self._matcher is None:
            return {}
        found: dict[int, Lookup] = {}
        for entry in entries:
            details = await self._matcher.details(entry.title, entry.year, entry.kind)
            if details is not None:
                found[entry.id] = details
        return found

    async def remove(self, member_id: str, entry_id: int) -> LibraryEntry:
        """Take a title off the member's watchlist."""
        entry = await self._watchlisted(member_id, entry_id)
        await self._records.remove_from_watchlist(member_id, entry_id)
        return entry

    async def mark_watched(self, member_id: str, entry_id: int, rating: Rating) -> LibraryEntry:
        """The member watched a title on their watchlist: rate it and take it off."""
        entry = await self._watchlisted(member_id, entry_id)
        await self._records.mark_watched(member_id, entry_id, rating)
        return entry

    async def count_titles(self, member_id: str) -> int:
        """How many titles the member's library holds (for the erase-history question)."""
        return await self._records.count_titles(member_id)

    async def erase_imports(self, member_id: str) -> int:
        """Erase what the member imported (their own ratings and saves stay)."""
        return await self._records.erase_imports(member_id)

    async def _watchlisted(self, member_id: str, entry_id: int) -> LibraryEntry:
        entry = await self._records.entry(member_id, entry_id)
        if entry is None or not entry.is_on_watchlist:
            raise InputError(f"#{entry_id} is not on your watchlist: see the list's numbers.")
        return entry
