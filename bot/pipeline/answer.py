"""The model's answer to one suggestion: streamed as events, saved as it goes, recorded.

`AnswerReader` turns the answer's pieces into events: the shown picks while it is our
JSON (`picks.py` decides which are shown), plain text otherwise. `AnswerRun` owns one
answer's stream, text, picks and timings: it yields `Retrieved`, then the reader's
events, saves the text every CHECKPOINT_SECONDS, stops the model once every pick to
show is complete, and ends with the `Finished` or `Failed` it has recorded. Closed
early or cancelled, it records the suggestion as cancelled with the text so far.

With a film catalogue (`catalogue/grounding.py`), each shown pick carries its check:
lookups run beside the stream and never hold its text back; the model keeps writing
while a shown pick is not known to be real (so spares exist); once the answer ends,
the catalogue's last answers are shown as they come, until CATALOGUE_DEADLINE.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing

from bot.errors import ModelServerError, SuggestWatchError
from bot.pipeline.catalogue.grounding import (
    Grounding,
    grounded_decisions,
    grounded_shown,
    picks_seen,
)
from bot.pipeline.domain import GenerationStats, PickDraft, SuggestionStatus, SuggestionTimings
from bot.pipeline.events import (
    Failed,
    Finished,
    PicksUpdated,
    Retrieved,
    SuggestionEvent,
    TextDelta,
)
from bot.pipeline.model_client import ModelClient
from bot.pipeline.picks import (
    AnswerMode,
    LeftOut,
    PickDecision,
    PickSelector,
    PickStream,
    answer_schema,
)
from bot.pipeline.prompt import ChatMessage
from bot.pipeline.records import PickRecords, SuggestionRecords
from bot.settings import Settings

log = logging.getLogger(__name__)

# A streaming suggestion's text is saved to its record at most this often, so a kill
# or a full disk loses at most the last few seconds of it.
CHECKPOINT_SECONDS = 2.0


class AnswerReader:
    """Turns the model's streamed answer into events: picks while it is our JSON,
    plain text otherwise."""

    def __init__(
        self, count: int, avoid: dict[str, LeftOut], grounding: Grounding | None = None
    ) -> None:
        """`grounding`: the catalogue's checks of this answer; None without a catalogue."""
        self._stream = PickStream()
        self._selector = PickSelector(count, avoid)
        self._grounding = grounding
        self._shown: tuple[PickDraft, ...] = ()
        self._text_sent = 0

    @property
    def text(self) -> str:
        """The whole answer so far, as the model wrote it."""
        return self._stream.text

    @property
    def shown(self) -> tuple[PickDraft, ...]:
        """The picks shown so far, in shown order."""
        return self._shown

    @property
    def is_structured(self) -> bool:
        """The answer is our JSON (so far)."""
        return self._stream.mode is AnswerMode.STRUCTURED

    @property
    def has_enough(self) -> bool:
        """A spare has started, and every shown pick is found in the catalogue (if one is
        used): the rest of the answer is not needed."""
        decisions = self._selector.decisions(self._stream.drafts)
        has_spare = any(decision.left_out is LeftOut.SPARE for decision in decisions)
        return has_spare and (self._grounding is None or not self._grounding.wants_more_answer)

    @property
    def left_out_count(self) -> int:
        """How many picks of the answer were not shown because they repeated a film."""
        not_repeats = (None, LeftOut.SPARE, LeftOut.NOT_FOUND)
        return sum(1 for decision in self.decisions() if decision.left_out not in not_repeats)

    def read(self, piece: str) -> list[SuggestionEvent]:
        """The events the next piece of the answer makes."""
        self._stream.feed(piece)
        return self._events()

    def finish(self) -> list[SuggestionEvent]:
        """The events the end of the answer makes (the last pick is complete)."""
        self._stream.finish()
        return self._events()

    def refresh(self) -> list[SuggestionEvent]:
        """The events the catalogue's answers since the last call make."""
        return self._events()

    def decisions(self) -> list[PickDecision]:
        """What became of every pick of the answer so far: shown, or left out and why."""
        decisions = self._selector.decisions(self._stream.drafts)
        if self._grounding is None or not self.is_structured:
            return decisions
        return grounded_decisions(decisions, self._grounding)

    def _events(self) -> list[SuggestionEvent]:
        if self._stream.mode is AnswerMode.TEXT:
            unsent = self._stream.text[self._text_sent :]
            self._text_sent = len(self._stream.text)
            return [TextDelta(unsent)] if unsent else []
        if self._stream.mode is AnswerMode.STRUCTURED:
            shown = self._shown_now()
            if shown != self._shown:
                self._shown = shown
                return [PicksUpdated(shown)]
        return []

    def _shown_now(self) -> tuple[PickDraft, ...]:
        drafts = self._stream.drafts
        shown = self._selector.update(drafts)
        if self._grounding is None:
            return shown
        self._grounding.see(picks_seen(self._selector.decisions(drafts)))
        return grounded_shown(drafts, self._grounding)


class AnswerRun:
    """One suggestion's answer, from the chat request to its record."""

    def __init__(
        self,
        settings: Settings,
        chat: ModelClient,
        suggestion_records: SuggestionRecords,
        pick_records: PickRecords,
        *,
        member_id: str,
        retrieved: Retrieved,
        messages: list[ChatMessage],
        avoid: dict[str, LeftOut],
        grounding: Grounding | None = None,
    ) -> None:
        """`avoid`: pick keys to leave out of the reply, and why (see `learning.py`);
        `grounding`: the catalogue's checks of this answer, None without a catalogue."""
        self._settings = settings
        self._chat = chat
        self._suggestions = suggestion_records
        self._picks = pick_records
        self._member_id = member_id
        self._retrieved = retrieved
        self._messages = messages
        self._grounding = grounding
        self._reader = AnswerReader(retrieved.count, avoid, grounding)
        self._started = time.perf_counter()
        self._first_token: float | None = None
        self._stats: GenerationStats | None = None

    async def events(self) -> AsyncGenerator[SuggestionEvent, None]:
        """`Retrieved`, the answer's events, then the `Finished` or `Failed` it was
        recorded as."""
        try:
            yield self._retrieved
            async with aclosing(self._answer()) as answer:
                async for event in answer:
                    yield event
            ending: list[SuggestionEvent] = [await self._finished()]
        except ModelServerError as exc:
            ending = self._reader.finish()
            ending.append(await self._failed(exc))
        except (GeneratorExit, asyncio.CancelledError):
            # Closed by the front end (Stop) or cancelled (shutdown): keep what arrived.
            log.info(
                "Suggestion #%d cancelled after %d characters",
                self._retrieved.suggestion_id,
                len(self._reader.text),
            )
            self._reader.finish()
            stopped = "Stopped before the answer was complete."
            await self._record(SuggestionStatus.CANCELLED, self._timings(), stopped)
            raise
        for event in ending:
            yield event

    async def _answer(self) -> AsyncGenerator[SuggestionEvent, None]:
        """The reader's events as the model writes; stops the model once it has enough."""
        stream = self._chat.chat_stream(
            self._settings.chat_model,
            self._messages,
            options=self._settings.generation_options(),
            format=answer_schema(),
        )
        saved_at = self._started
        async with aclosing(stream):
            async for chunk in stream:
                if chunk.stats is not None:
                    self._stats = chunk.stats
                if not chunk.text:
                    continue
                if self._first_token is None:
                    self._first_token = time.perf_counter() - self._started
                for event in self._reader.read(chunk.text):
                    yield event
                if self._grounding is not None and self._grounding.changed.is_set():
                    self._grounding.changed.clear()
                    for event in self._reader.refresh():
                        yield event
                if time.perf_counter() - saved_at >= CHECKPOINT_SECONDS:
                    saved_at = time.perf_counter()
                    await self._checkpoint()
                if self._reader.has_enough:
                    break  # the rest would be spares: stop the model here
        for event in self._reader.finish():
            yield event
        async with aclosing(self._settle()) as settling:
            async for event in settling:
                yield event

    async def _settle(self) -> AsyncGenerator[SuggestionEvent, None]:
        """The catalogue's answers still to come, until CATALOGUE_DEADLINE after the end."""
        grounding = self._grounding
        if grounding is None or not self._reader.is_structured:
            return
        grounding.answer_ended(self._settings.catalogue_deadline)
        while True:
            grounding.changed.clear()
            if grounding.is_settled:
                break
            await grounding.changed.wait()
            for event in self._reader.refresh():
                yield event
        for event in self._reader.refresh():
            yield event

    async def _finished(self) -> Finished:
        suggestion_id = self._retrieved.suggestion_id
        status = SuggestionStatus.COMPLETE
        if self._stats is not None and self._stats.done_reason == "length":
            status = SuggestionStatus.CUT
            log.info("Suggestion #%d was cut by the length limit", suggestion_id)
        timings = self._timings()
        await self._record(status, timings)
        left_out_count = self._reader.left_out_count
        if left_out_count:
            log.info("Suggestion #%d: left out %d repeated pick(s)", suggestion_id, left_out_count)
        return Finished(
            suggestion_id,
            self._reader.text,
            timings,
            self._stats,
            status,
            picks=self._reader.shown,
            is_structured=self._reader.is_structured,
            left_out_count=left_out_count,
        )

    async def _failed(self, error: ModelServerError) -> Failed:
        suggestion_id = self._retrieved.suggestion_id
        text = self._reader.text
        status = SuggestionStatus.INTERRUPTED if text else SuggestionStatus.FAILED
        log.warning("Suggestion #%d %s: %s", suggestion_id, status, error)
        timings = self._timings()
        await self._record(status, timings, str(error))
        return Failed(suggestion_id, text, status, error, timings, self._reader.shown)

    def _timings(self) -> SuggestionTimings:
        return SuggestionTimings(
            embed_seconds=self._retrieved.embed_seconds,
            search_seconds=self._retrieved.search_seconds,
            first_token_seconds=self._first_token,
            generation_seconds=time.perf_counter() - self._started,
        )

    async def _checkpoint(self) -> None:
        suggestion_id = self._retrieved.suggestion_id
        try:
            await self._suggestions.checkpoint_suggestion(suggestion_id, self._reader.text)
        except SuggestWatchError as exc:
            # A full disk must not stop the answer; the next checkpoint tries again.
            log.warning("Could not save suggestion #%d so far: %s", suggestion_id, exc)

    async def _record(
        self, status: SuggestionStatus, timings: SuggestionTimings, error: str | None = None
    ) -> None:
        suggestion_id = self._retrieved.suggestion_id
        try:
            await self._suggestions.finish_suggestion(
                suggestion_id,
                text=self._reader.text,
                status=status,
                timings=timings,
                stats=self._stats,
                error=error,
                is_structured=self._reader.is_structured,
            )
            if self._reader.is_structured:
                await self._picks.add_picks(
                    suggestion_id, self._member_id, self._reader.decisions()
                )
        except SuggestWatchError as exc:
            # The member still gets the answer; the record keeps its last checkpoint
            # and is closed as interrupted once this process is gone.
            log.error("Could not record suggestion #%d as %s: %s", suggestion_id, status, exc)
