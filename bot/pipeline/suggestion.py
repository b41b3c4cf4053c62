"""One suggestion, from the request to the recorded answer.

"Fast retrieval, slow generation": `check_request` refuses a bad request before it
queues; `suggest` embeds the request, takes the member's most similar tastes and what
their ratings teach (`learning.py`), records the suggestion as started, builds the
prompt and hands the model's answer to an `AnswerRun` (`answer.py`), which streams it
as events and records how it ended.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

from bot.background import BackgroundTasks
from bot.errors import InputError, SuggestWatchError
from bot.pipeline.answer import AnswerRun
from bot.pipeline.catalogue.grounding import (
    Grounding,
    PickLookups,
    extra_spares,
    grounding_for,
)
from bot.pipeline.domain import MatchedTaste, SuggestionStatus, SuggestionTimings
from bot.pipeline.events import Failed, Retrieved, SuggestionEvent
from bot.pipeline.learning import Learning, Lessons
from bot.pipeline.model_client import ModelClient
from bot.pipeline.prompt import build_messages
from bot.pipeline.records import PickRecords, SuggestionRecords, TasteRecords
from bot.pipeline.text import clean_text
from bot.pipeline.vectors import TasteVectors
from bot.settings import Settings

log = logging.getLogger(__name__)

MIN_COUNT = 1
MAX_COUNT = 10
DEFAULT_COUNT = 4


@dataclass(frozen=True, slots=True)
class Retrieval:
    """The request's vector and the member's tastes found close enough to it."""

    vector: list[float]
    matches: tuple[MatchedTaste, ...]
    has_tastes: bool  # False: the member has stated no tastes at all yet
    timings: SuggestionTimings


class Retriever:
    """Finds the member's tastes most similar to a request."""

    def __init__(
        self,
        settings: Settings,
        embedder: ModelClient,
        vectors: TasteVectors,
        taste_records: TasteRecords,
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self._vectors = vectors
        self._records = taste_records

    async def retrieve(self, member_id: str, query: str) -> Retrieval:
        """Embed the request and take the member's closest tastes (MIN_TASTE_SIMILARITY up)."""
        started = time.perf_counter()
        [vector] = await self._embedder.embed(self._settings.embed_model, [query])
        embedded = time.perf_counter()
        hits = await self._vectors.search(member_id, vector, self._settings.retrieval_limit)
        # The record is the truth: a vector without its row (a crash mid-forget) is skipped.
        found = await self._records.get_tastes(member_id, [hit.taste_id for hit in hits])
        searched = time.perf_counter()
        matches = tuple(
            MatchedTaste(hit.taste_id, found[hit.taste_id].text, hit.score)
            for hit in hits
            if hit.taste_id in found and hit.score >= self._settings.min_taste_similarity
        )
        has_tastes = bool(matches) or await self._records.count_tastes(member_id) > 0
        timings = SuggestionTimings(
            embed_seconds=embedded - started, search_seconds=searched - embedded
        )
        return Retrieval(vector, matches, has_tastes, timings)


class Suggester:
    """Runs suggestions: checks the request, retrieves, prompts, streams and records."""

    def __init__(
        self,
        settings: Settings,
        chat: ModelClient,
        retriever: Retriever,
        learning: Learning,
        suggestion_records: SuggestionRecords,
        pick_records: PickRecords,
        owner_id: str | None = None,
        catalogue: PickLookups | None = None,
    ) -> None:
        """`owner_id` is this process's (see `owners.py`), recorded with each suggestion;
        `catalogue` checks every pick (None: CATALOGUE=off)."""
        self._catalogue = catalogue
        self._settings = settings
        self._chat = chat
        self._retriever = retriever
        self._learning = learning
        self._suggestions = suggestion_records
        self._picks = pick_records
        self._owner_id = owner_id

    def check_request(self, query: str, count: int = DEFAULT_COUNT) -> str:
        """Validate a suggestion request before it queues; returns the cleaned query.

        Raises `InputError` saying what is wrong (empty, too long, count out of range).
        """
        query = clean_text(query, max_chars=self._settings.query_max_chars, what="A request")
        if not MIN_COUNT <= count <= MAX_COUNT:
            raise InputError(f"Ask for {MIN_COUNT} to {MAX_COUNT} picks, not {count}.")
        return query

    async def suggest(
        self, member_id: str, query: str, count: int = DEFAULT_COUNT
    ) -> AsyncGenerator[SuggestionEvent, None]:
        """Stream one suggestion: `Retrieved`, `PicksUpdated`s (or `TextDelta`s when the
        answer is not structured), then `Finished` or `Failed`.

        Raises `InputError` before any event for a bad request (see `check_request`).
        Closing the generator early (`aclose()`) closes the model's stream and records the
        suggestion as cancelled with the text so far. The suggestion is recorded whatever
        happens; an answer stopped by the length limit is recorded as cut. While it
        streams, its text is saved every few seconds (`answer.CHECKPOINT_SECONDS`).
        """
        query = self.check_request(query, count)
        try:
            retrieved, lessons = await self._retrieve(member_id, query, count)
        except SuggestWatchError as exc:
            yield await self._failed_before_generation(member_id, query, count, exc)
            return
        messages = build_messages(
            system_prompt=self._settings.system_prompt,
            query=query,
            matches=retrieved.matches,
            count=count + self._spares(lessons),
            learned=lessons.learned,
        )
        lookups = BackgroundTasks(f"catalogue lookups of suggestion #{retrieved.suggestion_id}")
        run = AnswerRun(
            self._settings,
            self._chat,
            self._suggestions,
            self._picks,
            member_id=member_id,
            retrieved=retrieved,
            messages=messages,
            avoid=lessons.avoid,
            grounding=self._grounding(lookups, lessons),
        )
        try:
            async with aclosing(run.events()) as events:
                async for event in events:
                    yield event
        finally:
            await lookups.stop()

    def _spares(self, lessons: Lessons) -> int:
        """Picks asked beyond the count: SPARE_PICKS (more with a crowded library), and
        with a catalogue more again when many titles are avoided."""
        spares = lessons.spares(self._settings.spare_picks)
        if self._catalogue is None:
            return spares
        return spares + extra_spares(lessons.avoided_count)

    def _grounding(self, lookups: BackgroundTasks, lessons: Lessons) -> Grounding | None:
        """The catalogue's checks for one answer, or None without a catalogue."""
        return grounding_for(
            self._catalogue,
            lookups,
            unverified=self._settings.unverified_picks,
            avoided_qids=lessons.avoid_films,
        )

    async def _retrieve(self, member_id: str, query: str, count: int) -> tuple[Retrieved, Lessons]:
        retrieval = await self._retriever.retrieve(member_id, query)
        lessons = await self._learning.lessons_for(member_id, retrieval.vector)
        suggestion_id = await self._suggestions.start_suggestion(
            member_id,
            query,
            count,
            retrieval.matches,
            self._settings.chat_model,
            retrieval.timings,
            owner_id=self._owner_id,
        )
        retrieved = Retrieved(
            suggestion_id=suggestion_id,
            query=query,
            count=count,
            matches=retrieval.matches,
            has_tastes=retrieval.has_tastes,
            embed_seconds=retrieval.timings.embed_seconds or 0.0,
            search_seconds=retrieval.timings.search_seconds or 0.0,
            liked_examples=lessons.learned.liked,
            avoided_count=lessons.avoided_count,
        )
        return retrieved, lessons

    async def _failed_before_generation(
        self, member_id: str, query: str, count: int, error: SuggestWatchError
    ) -> Failed:
        """Record a suggestion that failed during retrieval, if the records still work."""
        log.warning("Suggestion for member %s failed before generation: %s", member_id, error)
        timings = SuggestionTimings()
        suggestion_id: int | None = None
        try:
            suggestion_id = await self._suggestions.start_suggestion(
                member_id,
                query,
                count,
                (),
                self._settings.chat_model,
                timings,
                status=SuggestionStatus.FAILED,
            )
            await self._suggestions.finish_suggestion(
                suggestion_id,
                text="",
                status=SuggestionStatus.FAILED,
                timings=timings,
                error=str(error),
            )
        except SuggestWatchError as exc:
            log.error("Could not record the failed suggestion either: %s", exc)
        return Failed(suggestion_id, "", SuggestionStatus.FAILED, error, timings)
