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
import math
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, aclosing, asynccontextmanager, suppress
from dataclasses import dataclass, replace

from bot.errors import (
    DimensionMismatch,
    DuplicateTaste,
    InputError,
    ModelNotFound,
    OllamaError,
    SuggestWatchError,
    TasteLimitReached,
    TasteNotFound,
    VectorStoreError,
)
from bot.pipeline.data_dir import check_writable, low_space_warning
from bot.pipeline.events import (
    Failed,
    Finished,
    GenerationStats,
    HistoryPick,
    MatchedTaste,
    PickDraft,
    PicksUpdated,
    Rating,
    Retrieved,
    SuggestionEvent,
    SuggestionStatus,
    SuggestionTimings,
    Taste,
    TextDelta,
)
from bot.pipeline.locks import MemberLocks, finish_even_if_cancelled
from bot.pipeline.ollama import OllamaClient
from bot.pipeline.owners import ProcessOwner, remove_files_of_gone_owners
from bot.pipeline.picks import (
    AnswerMode,
    LeftOut,
    PickDecision,
    PickSelector,
    PickStream,
    answer_schema,
)
from bot.pipeline.prompt import Learned, build_messages
from bot.pipeline.records import OpenReply, PickRecord, Records
from bot.pipeline.text import clean_text
from bot.pipeline.vectors import (
    MemberTastes,
    QdrantServer,
    TastePoint,
    TasteVectors,
    VectorLayout,
    open_taste_vectors,
)
from bot.settings import Settings

log = logging.getLogger(__name__)

MIN_COUNT = 1
MAX_COUNT = 10
DEFAULT_COUNT = 4
# Picks asked for beyond the count, so it still holds when a repeat is left out.
SPARE_PICKS = 2
# Liked picks compared with a request: the member's most recently liked.
LIKED_CANDIDATES = 100
# Titles to avoid named in one prompt, the most recent first; a reply leaves out
# repeats of up to RATED_TO_AVOID of them.
MAX_AVOIDED_IN_PROMPT = 40
RATED_TO_AVOID = 5000
HISTORY_LIMIT = 20
# How a rating made outside reactions is recorded (a reaction's source is its emoji).
CHOICE_SOURCE = "choice"
# A streaming suggestion's text is saved to its record at most this often, so a kill
# or a full disk loses at most the last few seconds of it.
CHECKPOINT_SECONDS = 2.0
# Pending tastes are retried with pauses doubling up to a few minutes while Ollama is away.
RECONCILE_FIRST_PAUSE = 1.0
RECONCILE_MAX_PAUSE = 300.0
# How long `doctor` waits for the start-up reconcile before reporting what is left.
HEALTH_SETTLE_WAIT = 5.0


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One line of `doctor`: what was checked, whether it is fine, and what to do if not."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class _History:
    """What the member's ratings and recent picks mean for the next suggestion."""

    learned: Learned
    avoid: dict[str, LeftOut]  # pick keys to leave out of the reply, and why


class _AnswerReader:
    """Turns the model's streamed answer into events: picks while it is our JSON,
    plain text otherwise."""

    def __init__(self, count: int, avoid: dict[str, LeftOut]) -> None:
        self.stream = PickStream()
        self.selector = PickSelector(count, avoid)
        self.shown: tuple[PickDraft, ...] = ()
        self._text_sent = 0

    @property
    def is_structured(self) -> bool:
        return self.stream.mode is AnswerMode.STRUCTURED

    @property
    def has_enough(self) -> bool:
        """A spare has started: every pick to show is complete, the rest is not needed."""
        return any(decision.left_out is LeftOut.SPARE for decision in self.decisions())

    def read(self, piece: str) -> list[SuggestionEvent]:
        """The events the next piece of the answer makes."""
        self.stream.feed(piece)
        return self._events()

    def finish(self) -> list[SuggestionEvent]:
        """The events the end of the answer makes (the last pick is complete)."""
        self.stream.finish()
        return self._events()

    def decisions(self) -> list[PickDecision]:
        return self.selector.decisions(self.stream.drafts)

    @property
    def left_out(self) -> int:
        return sum(
            1 for decision in self.decisions() if decision.left_out not in (None, LeftOut.SPARE)
        )

    def _events(self) -> list[SuggestionEvent]:
        if self.stream.mode is AnswerMode.TEXT:
            unsent = self.stream.text[self._text_sent :]
            self._text_sent = len(self.stream.text)
            return [TextDelta(unsent)] if unsent else []
        if self.stream.mode is AnswerMode.STRUCTURED:
            shown = self.selector.update(self.stream.drafts)
            if shown != self.shown:
                self.shown = shown
                return [PicksUpdated(shown)]
        return []


@dataclass(frozen=True, slots=True)
class ReindexReport:
    """What `reindex` did: members and tastes written, in which size and layout."""

    members: int
    tastes: int
    dimension: int | None
    removed_members: int
    layout: str


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
        self._locks = MemberLocks()
        self._reconciler: asyncio.Task[None] | None = None
        self._reconcile_wanted = asyncio.Event()
        self._settled = asyncio.Event()
        self._first_pass_done = asyncio.Event()

    # -- tastes ---------------------------------------------------------------------------

    def check_taste(self, text: str) -> str:
        """The taste as it would be stored, or `InputError` saying why it cannot be."""
        return clean_text(text, max_chars=self.settings.taste_max_chars, what="A taste")

    async def prefer(self, member_id: str, text: str) -> Taste:
        """Store a taste for the member: the row, then its vector, then the row says so.

        A crash in between leaves the row pending, which start-up (or stating the same
        taste again) finishes. A vector store failure takes the row back.
        """
        text = self.check_taste(text)
        async with self._locks.member(member_id):
            existing = await self._records.tastes.find_taste(member_id, text)
            if existing and not existing.is_pending:
                raise DuplicateTaste(existing.id)
            limit = self.settings.max_tastes_per_member
            if existing is None and await self._records.tastes.count_tastes(member_id) >= limit:
                raise TasteLimitReached(limit)
            # Embed before writing anything: with Ollama down, nothing is stored.
            [vector] = await self._ollama.embed(self.settings.embed_model, [text])
            taste = await finish_even_if_cancelled(self._store_taste(member_id, text, vector))
        log.info("Member %s stored taste #%d", member_id, taste.id)
        return taste

    async def _store_taste(self, member_id: str, text: str, vector: Sequence[float]) -> Taste:
        existing = await self._records.tastes.find_taste(member_id, text)
        if existing is None:
            taste = await self._records.tastes.add_taste(
                member_id, text, limit=self.settings.max_tastes_per_member
            )
        else:
            taste = existing  # pending: a crash (or a fault) left it half stored
        try:
            await self._vectors.store(member_id, [TastePoint(taste.id, vector)])
        except VectorStoreError:
            # Take the record back so no taste exists in one store only.
            await self._erase(member_id, [taste.id], restore_on_failure=False)
            raise
        await self._records.tastes.mark_stored(member_id, [taste.id])
        return replace(taste, is_pending=False)

    async def tastes(self, member_id: str) -> list[Taste]:
        """The member's tastes, oldest first."""
        return await self._records.tastes.list_tastes(member_id)

    async def forget(self, member_id: str, taste_id: int) -> Taste:
        """Erase one of the member's own tastes from the records and the vector store."""
        async with self._locks.member(member_id):
            found = await self._records.tastes.get_tastes(member_id, [taste_id])
            if taste_id not in found:
                raise TasteNotFound(
                    f"You have no taste #{taste_id}. See your tastes for their numbers."
                )
            await finish_even_if_cancelled(self._erase(member_id, [taste_id]))
        log.info("Member %s forgot taste #%d", member_id, taste_id)
        return found[taste_id]

    async def forget_all(self, member_id: str) -> int:
        """Erase all of the member's tastes; returns how many there were."""
        async with self._locks.member(member_id):
            removed = await finish_even_if_cancelled(self._erase(member_id, None))
        log.info("Member %s forgot all %d tastes", member_id, removed)
        return removed

    async def _erase(
        self, member_id: str, taste_ids: Sequence[int] | None, *, restore_on_failure: bool = True
    ) -> int:
        """Mark the rows, erase the vectors, remove the rows: a crash anywhere is finished
        at start, since a row marked 'deleting' is gone for the member already."""
        ids = await self._records.tastes.mark_deleting(member_id, taste_ids)
        try:
            if taste_ids is None:
                await self._vectors.delete_member(member_id)
            else:
                await self._vectors.delete(member_id, ids)
        except VectorStoreError:
            if restore_on_failure:
                # Nothing erased for certain: the tastes stay, and are written again.
                await self._records.tastes.restore(member_id, ids)
            self._reconcile_wanted.set()
            raise
        return await self._records.tastes.delete_tastes(member_id, ids)

    # -- keeping the two stores together ------------------------------------------------

    async def reconcile_at_start(self) -> None:
        """Finish what a crash left between the stores; called once the stores are open.

        Quick, blocking work first: drop half-built indexes of a killed reindex and
        finish erasing forgotten tastes. Writing pending tastes' vectors needs Ollama,
        so it runs in a background task that retries until Ollama answers.
        """
        await self._vectors.tidy()
        for unsettled in await self._records.tastes.unsettled():
            if not unsettled.deleting:
                continue
            try:
                async with self._locks.member(unsettled.member_id):
                    await self._erase(
                        unsettled.member_id, unsettled.deleting, restore_on_failure=False
                    )
            except VectorStoreError as exc:  # the background task tries again
                log.warning("Could not yet erase forgotten tastes: %s", exc)
                continue
            log.warning(
                "Finished erasing %d forgotten taste(s) of member %s",
                len(unsettled.deleting),
                unsettled.member_id,
            )
        self._reconciler = asyncio.create_task(
            self._keep_reconciled(), name="reconcile pending tastes"
        )

    async def wait_until_settled(self) -> None:
        """Wait until no taste is waiting for its vector (use with a timeout)."""
        await self._settled.wait()

    async def reconcile(self) -> int:
        """Write the vectors of pending tastes and erase forgotten ones; returns how many
        tastes are still unsettled (Ollama or the vector store failed)."""
        left = 0
        for unsettled in await self._records.tastes.unsettled():
            try:
                async with self._locks.member(unsettled.member_id):
                    await self._settle_member(unsettled.member_id)
            except SuggestWatchError as exc:
                log.warning("Tastes of member %s still unsettled: %s", unsettled.member_id, exc)
                left += len(unsettled.pending) + len(unsettled.deleting)
        return left

    async def _settle_member(self, member_id: str) -> None:
        # Read again under the lock: a writer may have settled them meanwhile.
        for unsettled in await self._records.tastes.unsettled(member_id):
            if unsettled.deleting:
                await self._erase(member_id, unsettled.deleting, restore_on_failure=False)
            if unsettled.pending:
                texts = [taste.text for taste in unsettled.pending]
                vectors = await self._ollama.embed(self.settings.embed_model, texts)
                points = [
                    TastePoint(taste.id, vector)
                    for taste, vector in zip(unsettled.pending, vectors, strict=True)
                ]
                await self._vectors.store(member_id, points)
                await self._records.tastes.mark_stored(member_id, [p.taste_id for p in points])
                log.info("Wrote the vectors of %d pending taste(s) of %s", len(points), member_id)

    async def _keep_reconciled(self) -> None:
        """Reconcile now, again on request, and with growing pauses while it fails."""
        pause = RECONCILE_FIRST_PAUSE
        while True:
            try:
                left = await self.reconcile()
            except SuggestWatchError as exc:
                log.warning("Could not reconcile the tastes: %s", exc)
                left = 1
            self._first_pass_done.set()
            if left:
                self._settled.clear()
                log.info("%d taste(s) unsettled; trying again in %.0f s", left, pause)
            else:
                self._settled.set()
                pause = RECONCILE_FIRST_PAUSE
            try:
                await asyncio.wait_for(self._reconcile_wanted.wait(), None if not left else pause)
            except TimeoutError:
                pause = min(pause * 2, RECONCILE_MAX_PAUSE)
            self._reconcile_wanted.clear()

    async def close(self) -> None:
        """Stop the background reconcile (what it left is finished at the next start)."""
        if self._reconciler is not None:
            self._reconciler.cancel()
            with suppress(asyncio.CancelledError):
                await self._reconciler

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
        """Stream one suggestion: `Retrieved`, `PicksUpdated`s (or `TextDelta`s when the
        answer is not structured), then `Finished` or `Failed`.

        Raises `InputError` before any event for a bad request (see `check_request`).
        Closing the generator early (`aclose()`) closes the model's stream and records the
        suggestion as cancelled with the text so far. The suggestion is recorded whatever
        happens; an answer stopped by the length limit is recorded as cut. While it
        streams, its text is saved every `CHECKPOINT_SECONDS`.
        """
        query = self.check_request(query, count)

        try:
            retrieved, history = await self._retrieve(member_id, query, count)
        except SuggestWatchError as exc:
            yield await self._failed_before_generation(member_id, query, count, exc)
            return

        messages = build_messages(
            system_prompt=self.settings.system_prompt,
            query=query,
            matches=retrieved.matches,
            count=count + SPARE_PICKS,
            learned=history.learned,
        )
        reader = _AnswerReader(count, history.avoid)
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
                await self._records.suggestions.finish_suggestion(
                    retrieved.suggestion_id,
                    text="".join(parts),
                    status=status,
                    timings=timings(),
                    stats=stats,
                    error=error,
                    is_structured=reader.is_structured,
                )
                if reader.is_structured:
                    await self._records.picks.add_picks(
                        retrieved.suggestion_id, member_id, reader.decisions()
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
                self.settings.chat_model,
                messages,
                options=self.settings.generation_options(),
                format=answer_schema(),
            )
            async with aclosing(stream):
                async for chunk in stream:
                    if chunk.stats is not None:
                        stats = chunk.stats
                    if chunk.text:
                        if first_token is None:
                            first_token = time.perf_counter() - started
                        parts.append(chunk.text)
                        for event in reader.read(chunk.text):
                            yield event
                        if time.perf_counter() - checkpointed >= CHECKPOINT_SECONDS:
                            checkpointed = time.perf_counter()
                            await self._checkpoint(retrieved.suggestion_id, "".join(parts))
                        if reader.has_enough:
                            break  # the rest would be spares: stop the model here
            for event in reader.finish():
                yield event
        except OllamaError as exc:
            status = SuggestionStatus.INTERRUPTED if parts else SuggestionStatus.FAILED
            log.warning("Suggestion #%d %s: %s", retrieved.suggestion_id, status, exc)
            for event in reader.finish():
                yield event
            await record(status, str(exc))
            yield Failed(
                retrieved.suggestion_id, "".join(parts), status, exc, timings(), reader.shown
            )
            return
        except (GeneratorExit, asyncio.CancelledError):
            # Closed by the front end (Stop) or cancelled (shutdown): keep what arrived.
            log.info(
                "Suggestion #%d cancelled after %d pieces", retrieved.suggestion_id, len(parts)
            )
            reader.stream.finish()
            reader.selector.update(reader.stream.drafts)
            await record(SuggestionStatus.CANCELLED, "Stopped before the answer was complete.")
            raise
        status = SuggestionStatus.COMPLETE
        if stats is not None and stats.done_reason == "length":
            status = SuggestionStatus.CUT
            log.info("Suggestion #%d was cut by the length limit", retrieved.suggestion_id)
        await record(status)
        if reader.left_out:
            log.info(
                "Suggestion #%d: left out %d repeated pick(s)",
                retrieved.suggestion_id,
                reader.left_out,
            )
        yield Finished(
            retrieved.suggestion_id,
            "".join(parts),
            timings(),
            stats,
            status,
            picks=reader.shown,
            is_structured=reader.is_structured,
            left_out=reader.left_out,
        )

    async def _checkpoint(self, suggestion_id: int, text: str) -> None:
        try:
            await self._records.suggestions.checkpoint_suggestion(suggestion_id, text)
        except SuggestWatchError as exc:
            # A full disk must not stop the answer; the next checkpoint tries again.
            log.warning("Could not save suggestion #%d so far: %s", suggestion_id, exc)

    async def _retrieve(self, member_id: str, query: str, count: int) -> tuple[Retrieved, _History]:
        started = time.perf_counter()
        [vector] = await self._ollama.embed(self.settings.embed_model, [query])
        embedded = time.perf_counter()
        hits = await self._vectors.search(member_id, vector, self.settings.retrieval_limit)
        # The record is the truth: a vector without its row (a crash mid-forget) is skipped.
        found = await self._records.tastes.get_tastes(member_id, [hit.taste_id for hit in hits])
        searched = time.perf_counter()
        # Only tastes close enough to the request shape the answer (MIN_TASTE_SIMILARITY).
        matches = tuple(
            MatchedTaste(hit.taste_id, found[hit.taste_id].text, hit.score)
            for hit in hits
            if hit.taste_id in found and hit.score >= self.settings.min_taste_similarity
        )
        has_tastes = bool(matches) or await self._records.tastes.count_tastes(member_id) > 0
        timings = SuggestionTimings(
            embed_seconds=embedded - started, search_seconds=searched - embedded
        )
        history = await self._history_for(member_id, vector)
        suggestion_id = await self._records.suggestions.start_suggestion(
            member_id,
            query,
            count,
            matches,
            self.settings.chat_model,
            timings,
            owner_id=self._owner_id,
        )
        retrieved = Retrieved(
            suggestion_id=suggestion_id,
            query=query,
            count=count,
            matches=matches,
            has_tastes=has_tastes,
            embed_seconds=timings.embed_seconds or 0.0,
            search_seconds=timings.search_seconds or 0.0,
            liked_titles=tuple(history.learned.liked),
            avoided_titles=len(history.learned.disliked) + len(history.learned.not_again),
        )
        return retrieved, history

    async def _history_for(self, member_id: str, query_vector: list[float]) -> _History:
        """The member's ratings and recent picks, as prompt lines and keys to leave out."""
        avoid: dict[str, LeftOut] = {}
        disliked = await self._records.picks.rated_picks(
            member_id, [Rating.NOT_FOR_ME], RATED_TO_AVOID
        )
        seen = await self._records.picks.rated_picks(member_id, [Rating.SEEN], RATED_TO_AVOID)
        recent = await self._records.picks.recently_shown(member_id, self.settings.no_repeat_window)
        liked = await self._records.picks.rated_picks(member_id, [Rating.LIKED], LIKED_CANDIDATES)
        for pick in disliked:
            avoid.setdefault(pick.key, LeftOut.DISLIKED)
        for pick in seen:
            avoid.setdefault(pick.key, LeftOut.SEEN)
        for pick in [*recent, *liked]:
            avoid.setdefault(pick.key, LeftOut.SUGGESTED)
        examples = await self._liked_examples(liked, query_vector)
        # Each title is named once in the prompt: as liked, disliked, or not to repeat.
        named = {pick.key for pick in [*disliked, *examples]}
        not_again = {pick.key: label(pick) for pick in [*seen, *recent] if pick.key not in named}
        learned = Learned(
            liked=tuple(f"{label(pick)}: {pick.description}".rstrip(": ") for pick in examples),
            disliked=tuple(dict.fromkeys(label(pick) for pick in disliked))[:MAX_AVOIDED_IN_PROMPT],
            not_again=tuple(not_again.values())[:MAX_AVOIDED_IN_PROMPT],
        )
        return _History(learned, avoid)

    async def _liked_examples(
        self, liked: list[PickRecord], query_vector: list[float]
    ) -> list[PickRecord]:
        """The liked picks most similar to the request; embedded once, when first needed."""
        if not liked or self.settings.liked_examples == 0:
            return []
        model = self.settings.embed_model
        vectors = await self._records.picks.pick_vectors([pick.id for pick in liked], model)
        missing = [pick for pick in liked if pick.id not in vectors]
        if missing:
            made = await self._ollama.embed(model, [pick_text(pick) for pick in missing])
            new = {pick.id: vector for pick, vector in zip(missing, made, strict=True)}
            await self._records.picks.store_pick_vectors(model, new)
            vectors.update(new)
        scored = [
            (cosine(query_vector, vectors[pick.id]), index, pick)
            for index, pick in enumerate(liked)
            if len(vectors[pick.id]) == len(query_vector)
        ]
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [pick for _, _, pick in scored[: self.settings.liked_examples]]

    async def _failed_before_generation(
        self, member_id: str, query: str, count: int, error: SuggestWatchError
    ) -> Failed:
        """Record a suggestion that failed during retrieval, if the records still work."""
        log.warning("Suggestion for member %s failed before generation: %s", member_id, error)
        timings = SuggestionTimings()
        suggestion_id: int | None = None
        try:
            suggestion_id = await self._records.suggestions.start_suggestion(
                member_id,
                query,
                count,
                (),
                self.settings.chat_model,
                timings,
                status=SuggestionStatus.FAILED,
            )
            await self._records.suggestions.finish_suggestion(
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
        await self._records.suggestions.link_message(suggestion_id, message_id, channel_id)

    async def close_reply(self, suggestion_id: int) -> None:
        """The front end made the reply's last edit."""
        await self._records.suggestions.close_reply(suggestion_id)

    async def open_replies(self) -> list[OpenReply]:
        """Replies a killed process left without their last edit, to finish now."""
        return await self._records.suggestions.open_replies()

    async def record_feedback(
        self, member_id: str, message_id: int, emoji: str, added: bool
    ) -> int | None:
        """Store a rating on a suggestion's message; None (nothing stored) for other messages."""
        suggestion_id = await self._records.suggestions.suggestion_for_message(message_id)
        if suggestion_id is None:
            return None
        await self._records.suggestions.add_feedback(
            member_id, suggestion_id, message_id, emoji, added
        )
        return suggestion_id

    # -- ratings and history -------------------------------------------------------------

    async def rate(
        self,
        member_id: str,
        suggestion_id: int,
        rating: Rating | None,
        position: int | None = None,
        source: str = CHOICE_SOURCE,
    ) -> list[PickRecord]:
        """Rate one shown pick (`position`, from 1) or all of a suggestion's picks.

        Only the member who asked can rate. `rating=None` takes back this source's
        rating. Returns the rated picks as they are now.
        """
        picks = await self._shown_picks(member_id, suggestion_id, position)
        for pick in picks:
            if rating is None:
                await self._records.picks.unrate_pick(member_id, pick.id, source)
            else:
                await self._records.picks.rate_pick(member_id, pick.id, source, rating)
        log.info(
            "Member %s rated %d pick(s) of suggestion #%d: %s",
            member_id,
            len(picks),
            suggestion_id,
            rating or "taken back",
        )
        return await self._shown_picks(member_id, suggestion_id, position)

    async def unrate(
        self,
        member_id: str,
        suggestion_id: int,
        rating: Rating,
        position: int | None = None,
        source: str = CHOICE_SOURCE,
    ) -> list[PickRecord]:
        """Take back a rating given from `source` (a reaction removed), if it is `rating`."""
        picks = await self._shown_picks(member_id, suggestion_id, position)
        for pick in picks:
            await self._records.picks.unrate_pick(member_id, pick.id, source, rating)
        return await self._shown_picks(member_id, suggestion_id, position)

    async def reactions_of(self, member_id: str, suggestion_id: int) -> list[str]:
        """The emoji the member has on the suggestion's messages now, from the reaction log."""
        present: dict[tuple[int, str], bool] = {}
        for feedback in await self._records.suggestions.list_feedback(suggestion_id):
            if feedback.member_id == member_id:
                present[(feedback.message_id, feedback.emoji)] = feedback.added
        return list(dict.fromkeys(emoji for (_, emoji), added in present.items() if added))

    async def picks(self, member_id: str, suggestion_id: int) -> list[PickRecord]:
        """The shown picks of one of the member's suggestions, with their ratings."""
        return await self._shown_picks(member_id, suggestion_id, None)

    async def _shown_picks(
        self, member_id: str, suggestion_id: int, position: int | None
    ) -> list[PickRecord]:
        found = await self._records.picks.list_picks(member_id, suggestion_id)
        shown = [pick for pick in found if pick.shown_position is not None]
        if not shown:
            raise InputError(f"You have no suggestion #{suggestion_id} with picks to rate.")
        if position is None:
            return shown
        chosen = [pick for pick in shown if pick.shown_position == position]
        if not chosen:
            raise InputError(
                f"Suggestion #{suggestion_id} has picks 1 to {len(shown)}, not {position}."
            )
        return chosen

    async def history(self, member_id: str, limit: int = HISTORY_LIMIT) -> list[HistoryPick]:
        """The member's most recently shown picks, newest first, with their ratings."""
        return await self._records.picks.history(member_id, limit)

    async def count_history(self, member_id: str) -> int:
        """How many suggestions of the member are recorded (to offer erasing them)."""
        return await self._records.picks.count_history(member_id)

    async def forget_history(self, member_id: str) -> int:
        """Erase the member's suggestions, picks and ratings; returns how many suggestions."""
        removed = await self._records.picks.delete_member_history(member_id)
        log.info("Member %s erased their history of %d suggestion(s)", member_id, removed)
        return removed

    # -- maintenance ----------------------------------------------------------------------

    async def reindex(self, progress: Callable[[str, int], None] | None = None) -> ReindexReport:
        """Rebuild every member's vectors from the records, in the configured layout.

        For a changed EMBED_MODEL, a lost vector store, drift, or a VECTOR_LAYOUT change.
        The new index is built beside the old one and switched to atomically, so members
        keep searchable vectors throughout; if it is killed, running it again finishes.
        Writes wait while it runs; searches do not.
        """
        dimension: int | None = None
        written: dict[str, list[int]] = {}

        async def members() -> AsyncIterator[MemberTastes]:
            nonlocal dimension
            for member_id in await self._records.tastes.members_with_tastes():
                tastes = await self._records.tastes.list_tastes(member_id)
                # The client batches the texts, so a member with hundreds of tastes is fine.
                vectors = await self._ollama.embed(
                    self.settings.embed_model, [t.text for t in tastes]
                )
                dimension = len(vectors[0])
                points = [TastePoint(t.id, v) for t, v in zip(tastes, vectors, strict=True)]
                yield MemberTastes(member_id, points)
                written[member_id] = [t.id for t in tastes]
                if progress:
                    progress(member_id, len(tastes))

        async with self._locks.everyone():
            report = await self._vectors.rebuild(members())
            for member_id, taste_ids in written.items():
                await self._records.tastes.mark_stored(member_id, taste_ids)
            # Rows mid-erase had no vector in the new index: only the rows are left.
            for unsettled in await self._records.tastes.unsettled():
                await self._records.tastes.delete_tastes(unsettled.member_id, unsettled.deleting)
        log.info(
            "Reindexed %d tastes of %d members (%s); removed %d stale member place(s)",
            report.vectors,
            report.members,
            self._vectors.layout,
            report.removed_members,
        )
        return ReindexReport(
            report.members, report.vectors, dimension, report.removed_members, self._vectors.layout
        )

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
        checks.append(await self._check_vectors())
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
        if sizes := await self._wrong_vector_sizes():
            problems.append(f"Vector store: {sizes}")
        return problems

    async def _wrong_vector_sizes(self) -> str:
        """'' unless stored vectors have another size than the embedding model's."""
        try:
            dimension = await self._ollama.embedding_dimension(self.settings.embed_model)
            census = await self._vectors.census(list(await self._records.tastes.taste_counts()))
        except SuggestWatchError:
            return ""  # the model or a store is unavailable: said when a member asks
        mismatched = sorted(m for m, size in census.dimensions.items() if size != dimension)
        if not mismatched:
            return ""
        error = DimensionMismatch(census.dimensions[mismatched[0]], dimension)
        return f"{len(mismatched)} member(s) with vectors of another size: {error}"

    async def _check_model(self, role: str, model: str) -> HealthCheck:
        try:
            await self._ollama.show(model)
        except ModelNotFound:
            return HealthCheck(role, False, f"{model} is not pulled", f"ollama pull {model}")
        except OllamaError as exc:
            return HealthCheck(role, False, f"{model}: {exc}")
        return HealthCheck(role, True, f"{model} is pulled")

    async def _check_vectors(self) -> HealthCheck:
        """Compare the records with the vectors, member by member, and their sizes."""
        name = "Vector store"
        fix = "python -m bot.cli reindex"
        with suppress(TimeoutError):  # let the start-up reconcile try once before counting
            await asyncio.wait_for(self._first_pass_done.wait(), HEALTH_SETTLE_WAIT)
        try:
            counts = await self._records.tastes.taste_counts()
            census = await self._vectors.census(list(counts))
        except SuggestWatchError as exc:
            return HealthCheck(name, False, str(exc))
        layout = f"{self._vectors.layout} layout"
        if census.other_layout:
            other = (
                "some tastes' vectors are still in the other layout (VECTOR_LAYOUT "
                "changed?); reindex moves them"
            )
            return HealthCheck(name, False, f"{layout}; {other}", fix)
        drift = describe_drift(counts, census.vectors, census.strangers)
        if drift:
            return HealthCheck(name, False, f"{layout}; drift: {drift}", fix)
        pending = sum(pending for _, pending in counts.values())
        if pending:
            return HealthCheck(
                name,
                False,
                f"{layout}; {pending} taste(s) wait for their vectors (Ollama unreachable?); "
                "they are written as soon as it answers",
                f"Start Ollama, or run: {fix}",
            )
        members = f"{layout}, {len(census.vectors)} member(s) with vectors"
        try:
            dimension = await self._ollama.embedding_dimension(self.settings.embed_model)
        except OllamaError:
            return HealthCheck(name, True, f"{members}; sizes not checked without the model")
        mismatched = sorted(m for m, size in census.dimensions.items() if size != dimension)
        if mismatched:
            error = DimensionMismatch(census.dimensions[mismatched[0]], dimension)
            wrong = f"{len(mismatched)} member(s) with vectors of another size: {error}"
            return HealthCheck(name, False, wrong, fix)
        model = self.settings.embed_model
        return HealthCheck(name, True, f"{members}; {model} gives {dimension}-d")

    async def _check_records(self) -> HealthCheck:
        try:
            version = await self._records.schema_version()
            suggestions = await self._records.suggestions.count_suggestions()
            members = await self._records.tastes.members_with_tastes()
        except SuggestWatchError as exc:
            return HealthCheck("Records", False, str(exc))
        return HealthCheck(
            "Records",
            True,
            f"{self.settings.sqlite_path}, schema v{version}, {len(members)} member(s) with "
            f"tastes, {suggestions} suggestion(s)",
        )


def label(pick: PickRecord | HistoryPick | PickDraft) -> str:
    """A pick as a person writes it: `Arrival (2016)`."""
    return f"{pick.title} ({pick.year})" if pick.year else pick.title


def pick_text(pick: PickRecord) -> str:
    """What is embedded of a liked pick, to compare it with requests."""
    return f"{label(pick)}. {pick.description}".strip()


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0


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
        vectors = await open_taste_vectors(
            VectorLayout(settings.vector_layout),
            path=settings.qdrant_path,
            server=QdrantServer(
                str(settings.qdrant_url),
                settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None,
                settings.qdrant_timeout,
            )
            if settings.qdrant_url
            else None,
        )
        stack.push_async_callback(vectors.close)
        owner = ProcessOwner.acquire(settings.data_dir)
        stack.callback(owner.release)
        records = await stack.enter_async_context(
            Records.open(settings.sqlite_path, busy_timeout_ms=settings.sqlite_busy_timeout)
        )
        await records.suggestions.close_abandoned_suggestions(owner.is_gone)
        remove_files_of_gone_owners(settings.data_dir)
        pipeline = Pipeline(settings, ollama, records, vectors, owner.id)
        stack.push_async_callback(pipeline.close)
        # Only a process that opened both stores (the vector store's lock first) gets here.
        await pipeline.reconcile_at_start()
        yield pipeline


def describe_drift(
    counts: dict[str, tuple[int, int]], vectors: dict[str, int], strangers: int
) -> str:
    """'' when every member's vectors match their tastes; else what is wrong, briefly.

    A member with `stored` tastes and `pending` ones should have between `stored`
    and `stored + pending` vectors (a pending taste's vector may be written already).
    """
    wrong = [
        f"{member_id}: {stored + pending} taste(s), {vectors.get(member_id, 0)} vector(s)"
        for member_id, (stored, pending) in sorted(counts.items())
        if not stored <= vectors.get(member_id, 0) <= stored + pending
    ]
    parts = []
    if wrong:
        examples = "; ".join(wrong[:3]) + ("; …" if len(wrong) > 3 else "")
        parts.append(f"{len(wrong)} member(s) whose vectors do not match their tastes ({examples})")
    if strangers:
        parts.append(f"vectors of {strangers} member(s) without tastes")
    return " and ".join(parts)
