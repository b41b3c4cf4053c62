"""The shared recommendation pipeline: every front end's one way in.

"Fast retrieval, slow generation": `suggest` embeds the request, takes the member's
most similar tastes, builds the prompt and streams the model's answer as events.
Tastes live in SQLite (the record) and in the vector store (derived, rebuildable by
`reindex`); a taste is in both or in neither. Every method takes the member's id and
touches only that member's data.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AsyncExitStack, aclosing, asynccontextmanager
from dataclasses import dataclass

from bot.errors import (
    DimensionMismatch,
    InputError,
    ModelNotFound,
    OllamaError,
    SuggestWatchError,
    TasteNotFound,
    VectorStoreError,
)
from bot.pipeline.data_dir import check_writable, low_space_warning
from bot.pipeline.events import (
    Failed,
    Finished,
    GenerationStats,
    MatchedTaste,
    Retrieved,
    SuggestionEvent,
    SuggestionStatus,
    SuggestionTimings,
    Taste,
    TextDelta,
)
from bot.pipeline.ollama import OllamaClient
from bot.pipeline.owners import ProcessOwner, remove_files_of_gone_owners
from bot.pipeline.prompt import build_messages
from bot.pipeline.records import OpenReply, Records
from bot.pipeline.text import clean_text
from bot.pipeline.vectors import PerMemberCollections, TastePoint, TasteVectors
from bot.settings import Settings

log = logging.getLogger(__name__)

MIN_COUNT = 1
MAX_COUNT = 10
DEFAULT_COUNT = 4
# A streaming suggestion's text is saved to its record at most this often, so a kill
# or a full disk loses at most the last few seconds of it.
CHECKPOINT_SECONDS = 2.0


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One line of `doctor`: what was checked, whether it is fine, and what to do if not."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class ReindexReport:
    members: int
    tastes: int
    dimension: int | None
    dropped_collections: int


class Pipeline:
    """Tastes in, reasoned picks out. Create with `open_pipeline(settings)`."""

    def __init__(
        self,
        settings: Settings,
        ollama: OllamaClient,
        records: Records,
        vectors: TasteVectors,
        owner_id: str | None = None,
    ) -> None:
        self.settings = settings
        self._ollama = ollama
        self._records = records
        self._vectors = vectors
        self._owner_id = owner_id

    # -- tastes ---------------------------------------------------------------------------

    def check_taste(self, text: str) -> str:
        """The taste as it would be stored, or `InputError` saying why it cannot be."""
        return clean_text(text, max_chars=self.settings.taste_max_chars, what="A taste")

    async def prefer(self, member_id: str, text: str) -> Taste:
        """Store a taste for the member, in both stores or in neither."""
        text = self.check_taste(text)
        existing = await self._records.find_taste(member_id, text)
        if existing:
            raise InputError(f"You already have that taste (#{existing.id}).")
        if await self._records.count_tastes(member_id) >= self.settings.max_tastes_per_member:
            raise InputError(
                f"You have {self.settings.max_tastes_per_member} tastes, the most allowed. "
                "Forget some before adding more."
            )
        [vector] = await self._ollama.embed(self.settings.embed_model, [text])
        taste = await self._records.add_taste(member_id, text)
        try:
            await self._vectors.upsert(member_id, TastePoint(taste.id, text, vector))
        except VectorStoreError:
            # Take the record back so no taste exists in one store only.
            await self._records.delete_taste(member_id, taste.id)
            raise
        log.info("Member %s stored taste #%d", member_id, taste.id)
        return taste

    async def tastes(self, member_id: str) -> list[Taste]:
        """The member's tastes, oldest first."""
        return await self._records.list_tastes(member_id)

    async def forget(self, member_id: str, taste_id: int) -> Taste:
        """Remove one of the member's own tastes."""
        found = await self._records.get_tastes(member_id, [taste_id])
        if taste_id not in found:
            raise TasteNotFound(
                f"You have no taste #{taste_id}. See your tastes for their numbers."
            )
        # Vector first: if it fails the taste stays whole in both stores.
        await self._vectors.delete(member_id, [taste_id])
        await self._records.delete_taste(member_id, taste_id)
        log.info("Member %s forgot taste #%d", member_id, taste_id)
        return found[taste_id]

    async def forget_all(self, member_id: str) -> int:
        """Remove all of the member's tastes; returns how many there were."""
        await self._vectors.drop_member(member_id)
        removed = await self._records.delete_member_tastes(member_id)
        log.info("Member %s forgot all %d tastes", member_id, removed)
        return removed

    # -- suggestions ----------------------------------------------------------------------

    def check_request(self, query: str, count: int = DEFAULT_COUNT) -> str:
        """Validate a suggestion request before it queues; returns the cleaned query.

        Raises `InputError` saying what is wrong (empty, too long, count out of range).
        """
        query = clean_text(query, max_chars=self.settings.query_max_chars, what="A request")
        if not MIN_COUNT <= count <= MAX_COUNT:
            raise InputError(f"Ask for {MIN_COUNT} to {MAX_COUNT} picks, not {count}.")
        return query

    async def suggest(
        self, member_id: str, query: str, count: int = DEFAULT_COUNT
    ) -> AsyncGenerator[SuggestionEvent, None]:
        """Stream one suggestion: `Retrieved`, `TextDelta`s, then `Finished` or `Failed`.

        Raises `InputError` before any event for a bad request (see `check_request`).
        Closing the generator early (`aclose()`) closes the model's stream and records the
        suggestion as cancelled with the text so far. The suggestion is recorded whatever
        happens; an answer stopped by the length limit is recorded as cut. While it
        streams, its text is saved every `CHECKPOINT_SECONDS`.
        """
        query = self.check_request(query, count)

        try:
            retrieved = await self._retrieve(member_id, query, count)
        except SuggestWatchError as exc:
            yield await self._failed_before_generation(member_id, query, count, exc)
            return

        messages = build_messages(
            system_prompt=self.settings.system_prompt,
            query=query,
            matches=retrieved.matches,
            count=count,
        )
        parts: list[str] = []
        stats: GenerationStats | None = None
        started = time.perf_counter()
        first_token: float | None = None
        checkpointed = started

        def timings() -> SuggestionTimings:
            return SuggestionTimings(
                embed_seconds=retrieved.embed_seconds,
                search_seconds=retrieved.search_seconds,
                first_token_seconds=first_token,
                generation_seconds=time.perf_counter() - started,
            )

        async def record(status: SuggestionStatus, error: str | None = None) -> None:
            try:
                await self._records.finish_suggestion(
                    retrieved.suggestion_id,
                    text="".join(parts),
                    status=status,
                    timings=timings(),
                    stats=stats,
                    error=error,
                )
            except SuggestWatchError as exc:
                # The member still gets the answer; the record keeps its last checkpoint
                # and is closed as interrupted once this process is gone.
                log.error(
                    "Could not record suggestion #%d as %s: %s",
                    retrieved.suggestion_id,
                    status,
                    exc,
                )

        try:
            yield retrieved
            stream = self._ollama.chat_stream(
                self.settings.chat_model, messages, options=self.settings.generation_options()
            )
            async with aclosing(stream):
                async for chunk in stream:
                    if chunk.stats is not None:
                        stats = chunk.stats
                    if chunk.text:
                        if first_token is None:
                            first_token = time.perf_counter() - started
                        parts.append(chunk.text)
                        yield TextDelta(chunk.text)
                        if time.perf_counter() - checkpointed >= CHECKPOINT_SECONDS:
                            checkpointed = time.perf_counter()
                            await self._checkpoint(retrieved.suggestion_id, "".join(parts))
        except OllamaError as exc:
            status = SuggestionStatus.INTERRUPTED if parts else SuggestionStatus.FAILED
            log.warning("Suggestion #%d %s: %s", retrieved.suggestion_id, status, exc)
            await record(status, str(exc))
            yield Failed(retrieved.suggestion_id, "".join(parts), status, exc, timings())
            return
        except (GeneratorExit, asyncio.CancelledError):
            # Closed by the front end (Stop) or cancelled (shutdown): keep what arrived.
            log.info(
                "Suggestion #%d cancelled after %d pieces", retrieved.suggestion_id, len(parts)
            )
            await record(SuggestionStatus.CANCELLED, "Stopped before the answer was complete.")
            raise
        status = SuggestionStatus.COMPLETE
        if stats is not None and stats.done_reason == "length":
            status = SuggestionStatus.CUT
            log.info("Suggestion #%d was cut by the length limit", retrieved.suggestion_id)
        await record(status)
        yield Finished(retrieved.suggestion_id, "".join(parts), timings(), stats, status)

    async def _checkpoint(self, suggestion_id: int, text: str) -> None:
        try:
            await self._records.checkpoint_suggestion(suggestion_id, text)
        except SuggestWatchError as exc:
            # A full disk must not stop the answer; the next checkpoint tries again.
            log.warning("Could not save suggestion #%d so far: %s", suggestion_id, exc)

    async def _retrieve(self, member_id: str, query: str, count: int) -> Retrieved:
        started = time.perf_counter()
        [vector] = await self._ollama.embed(self.settings.embed_model, [query])
        embedded = time.perf_counter()
        hits = await self._vectors.search(member_id, vector, self.settings.retrieval_limit)
        # The record is the truth: a vector without its row (a crash mid-forget) is skipped.
        found = await self._records.get_tastes(member_id, [hit.taste_id for hit in hits])
        searched = time.perf_counter()
        # Only tastes close enough to the request shape the answer (MIN_TASTE_SIMILARITY).
        matches = tuple(
            MatchedTaste(hit.taste_id, found[hit.taste_id].text, hit.score)
            for hit in hits
            if hit.taste_id in found and hit.score >= self.settings.min_taste_similarity
        )
        has_tastes = bool(matches) or await self._records.count_tastes(member_id) > 0
        timings = SuggestionTimings(
            embed_seconds=embedded - started, search_seconds=searched - embedded
        )
        suggestion_id = await self._records.start_suggestion(
            member_id,
            query,
            count,
            matches,
            self.settings.chat_model,
            timings,
            owner_id=self._owner_id,
        )
        return Retrieved(
            suggestion_id=suggestion_id,
            query=query,
            count=count,
            matches=matches,
            has_tastes=has_tastes,
            embed_seconds=timings.embed_seconds or 0.0,
            search_seconds=timings.search_seconds or 0.0,
        )

    async def _failed_before_generation(
        self, member_id: str, query: str, count: int, error: SuggestWatchError
    ) -> Failed:
        """Record a suggestion that failed during retrieval, if the records still work."""
        log.warning("Suggestion for member %s failed before generation: %s", member_id, error)
        timings = SuggestionTimings()
        suggestion_id: int | None = None
        try:
            suggestion_id = await self._records.start_suggestion(
                member_id,
                query,
                count,
                (),
                self.settings.chat_model,
                timings,
                status=SuggestionStatus.FAILED,
            )
            await self._records.finish_suggestion(
                suggestion_id,
                text="",
                status=SuggestionStatus.FAILED,
                timings=timings,
                error=str(error),
            )
        except SuggestWatchError as exc:
            log.error("Could not record the failed suggestion either: %s", exc)
        return Failed(suggestion_id, "", SuggestionStatus.FAILED, error, timings)

    # -- feedback -------------------------------------------------------------------------

    async def link_message(
        self, suggestion_id: int, message_id: int, channel_id: int | None
    ) -> None:
        """Remember that a front-end message shows this suggestion, as soon as it exists:
        for its ratings, and so a reply left mid-stream can be finished at the next start.
        The reply counts as open until `close_reply`."""
        await self._records.link_message(suggestion_id, message_id, channel_id)

    async def close_reply(self, suggestion_id: int) -> None:
        """The front end made the reply's last edit."""
        await self._records.close_reply(suggestion_id)

    async def open_replies(self) -> list[OpenReply]:
        """Replies a killed process left without their last edit, to finish now."""
        return await self._records.open_replies()

    async def record_feedback(
        self, member_id: str, message_id: int, emoji: str, added: bool
    ) -> int | None:
        """Store a rating on a suggestion's message; None (nothing stored) for other messages."""
        suggestion_id = await self._records.suggestion_for_message(message_id)
        if suggestion_id is None:
            return None
        await self._records.add_feedback(member_id, suggestion_id, message_id, emoji, added)
        return suggestion_id

    # -- maintenance ----------------------------------------------------------------------

    async def reindex(self, progress: Callable[[str, int], None] | None = None) -> ReindexReport:
        """Rebuild every member's vectors from the records (after EMBED_MODEL changes)."""
        members = await self._records.members_with_tastes()
        dimension: int | None = None
        total = 0
        for member_id in members:
            tastes = await self._records.list_tastes(member_id)
            # The client batches the texts, so one member with hundreds of tastes is fine.
            vectors = await self._ollama.embed(self.settings.embed_model, [t.text for t in tastes])
            dimension = len(vectors[0])
            points = [TastePoint(t.id, t.text, v) for t, v in zip(tastes, vectors, strict=True)]
            await self._vectors.rebuild_member(member_id, dimension, points)
            total += len(tastes)
            if progress:
                progress(member_id, len(tastes))
        dropped = await self._vectors.drop_members_except(members)
        log.info(
            "Reindexed %d tastes of %d members; dropped %d stale collections",
            total,
            len(members),
            dropped,
        )
        return ReindexReport(len(members), total, dimension, dropped)

    async def health(self) -> list[HealthCheck]:
        """Check every part the pipeline depends on; never raises for a failed part."""
        checks: list[HealthCheck] = []
        try:
            version = await self._ollama.version()
        except OllamaError as exc:
            checks.append(HealthCheck("Ollama", False, str(exc), "Start Ollama or fix OLLAMA_URL."))
        else:
            checks.append(HealthCheck("Ollama", True, f"reachable, version {version}"))
            checks.append(await self._check_model("Embedding model", self.settings.embed_model))
            checks.append(await self._check_model("Chat model", self.settings.chat_model))
            checks.append(await self._check_dimension())
        checks.append(await self._check_records())
        return checks

    async def start_up_problems(self) -> list[str]:
        """What a front end should tell the owner at start, one line each (vectors of
        the wrong size, a nearly full disk); never raises."""
        problems: list[str] = []
        if warning := low_space_warning(self.settings.data_dir):
            problems.append(warning)
        try:
            await self._ollama.version()
        except OllamaError:
            return problems  # said when a member asks; Ollama may start after the bot
        dimension = await self._check_dimension()
        if not dimension.ok:
            problems.append(f"{dimension.name}: {dimension.detail}")
        return problems

    async def _check_model(self, role: str, model: str) -> HealthCheck:
        try:
            await self._ollama.show(model)
        except ModelNotFound:
            return HealthCheck(role, False, f"{model} is not pulled", f"ollama pull {model}")
        except OllamaError as exc:
            return HealthCheck(role, False, f"{model}: {exc}")
        return HealthCheck(role, True, f"{model} is pulled")

    async def _check_dimension(self) -> HealthCheck:
        name = "Vector store"
        try:
            stored = await self._vectors.dimensions()
        except SuggestWatchError as exc:
            return HealthCheck(name, False, str(exc))
        collections = f"{len(stored)} member collection(s)"
        try:
            dimension = await self._ollama.embedding_dimension(self.settings.embed_model)
        except OllamaError:
            return HealthCheck(name, True, f"{collections}; sizes not checked without the model")
        mismatched = sorted(n for n, size in stored.items() if size != dimension)
        if mismatched:
            error = DimensionMismatch(mismatched[0], stored[mismatched[0]], dimension)
            return HealthCheck(
                name,
                False,
                f"{len(mismatched)} collection(s) of the wrong size: {error}",
                "python -m bot.cli reindex",
            )
        return HealthCheck(
            name, True, f"{collections}; {self.settings.embed_model} gives {dimension}-d"
        )

    async def _check_records(self) -> HealthCheck:
        try:
            version = await self._records.schema_version()
            suggestions = await self._records.count_suggestions()
            members = await self._records.members_with_tastes()
        except SuggestWatchError as exc:
            return HealthCheck("Records", False, str(exc))
        return HealthCheck(
            "Records",
            True,
            f"{self.settings.sqlite_path}, schema v{version}, {len(members)} member(s) with "
            f"tastes, {suggestions} suggestion(s)",
        )


@asynccontextmanager
async def open_pipeline(settings: Settings) -> AsyncIterator[Pipeline]:
    """Open Ollama, the vector store and the records; close them all on the way out.

    The vector store is opened first: an embedded store is locked to one process, and a
    process refused that lock must change nothing, so the records (migrations, closing
    suggestions whose process is gone) come after it. Suggestions of a live process
    are never touched (see `owners.py`).
    """
    check_writable(settings.data_dir)
    async with AsyncExitStack() as stack:
        ollama = await stack.enter_async_context(
            OllamaClient(
                str(settings.ollama_url),
                connect_timeout=settings.ollama_connect_timeout,
                request_timeout=settings.ollama_request_timeout,
                first_token_timeout=settings.ollama_first_token_timeout,
                idle_timeout=settings.ollama_idle_timeout,
            )
        )
        vectors = await PerMemberCollections.open(
            path=settings.qdrant_path,
            url=str(settings.qdrant_url) if settings.qdrant_url else None,
            api_key=settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None,
        )
        stack.push_async_callback(vectors.close)
        owner = ProcessOwner.acquire(settings.data_dir)
        stack.callback(owner.release)
        records = await stack.enter_async_context(Records.open(settings.sqlite_path))
        await records.close_abandoned_suggestions(owner.is_gone)
        remove_files_of_gone_owners(settings.data_dir)
        yield Pipeline(settings, ollama, records, vectors, owner.id)
