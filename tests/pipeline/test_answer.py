"""One answer run on its own: a fake chat model and fake records passed in, no servers."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from contextlib import aclosing
from pathlib import Path
from typing import Any

import pytest

from bot.errors import OllamaResponseError, RecordsError
from bot.pipeline.answer import AnswerReader, AnswerRun
from bot.pipeline.domain import GenerationStats, SuggestionStatus
from bot.pipeline.events import (
    Failed,
    Finished,
    PicksUpdated,
    Retrieved,
    SuggestionEvent,
    TextDelta,
)
from bot.pipeline.ollama import ChatChunk
from bot.pipeline.picks import LeftOut, PickDecision, pick_key
from bot.settings import Settings
from tests.fakes.ollama_server import DEFAULT_PICKS, picks_answer, split_json_tokens

SUGGESTION_ID = 7
PLAIN_ANSWER = ["Try ", "Arrival, ", "then ", "Moon."]


class FakeChat:
    """Streams the given pieces as Ollama would; fails after them if told to."""

    def __init__(self, pieces: Sequence[str], error: Exception | None = None) -> None:
        self.pieces = pieces
        self.error = error
        self.sent = 0
        self.closed_early = False

    async def chat_stream(
        self, model: str, messages: list[dict[str, str]], **_: Any
    ) -> AsyncGenerator[ChatChunk, None]:
        try:
            for piece in self.pieces:
                self.sent += 1
                yield ChatChunk(piece)
            if self.error is not None:
                raise self.error
            yield ChatChunk("", GenerationStats(completion_tokens=len(self.pieces)))
        except GeneratorExit:
            self.closed_early = True
            raise


class FakeRecords:
    """Keeps what the run writes: its checkpoints, its outcome and its picks."""

    def __init__(self, failing: bool = False) -> None:
        self.failing = failing
        self.outcomes: list[dict[str, Any]] = []
        self.picks: list[list[PickDecision]] = []

    async def checkpoint_suggestion(self, suggestion_id: int, text: str) -> None:
        pass

    async def finish_suggestion(self, suggestion_id: int, **outcome: Any) -> None:
        if self.failing:
            raise RecordsError("database or disk is full")
        self.outcomes.append(outcome)

    async def add_picks(
        self, suggestion_id: int, member_id: str, decisions: list[PickDecision]
    ) -> None:
        self.picks.append(decisions)


def run_of(
    chat: FakeChat,
    records: FakeRecords,
    tmp_path: Path,
    count: int = 4,
    avoid: dict[str, LeftOut] | None = None,
) -> AnswerRun:
    retrieved = Retrieved(SUGGESTION_ID, "sci-fi", count, (), False, 0.0, 0.0)
    settings = Settings(data_dir=tmp_path, _env_file=None)
    return AnswerRun(
        settings,
        chat,  # type: ignore[arg-type]
        records,  # type: ignore[arg-type]
        records,  # type: ignore[arg-type]
        member_id="alice",
        retrieved=retrieved,
        messages=[],
        avoid=avoid or {},
    )


async def events_of(run: AnswerRun) -> list[SuggestionEvent]:
    return [event async for event in run.events()]


def json_pieces(picks: Sequence[dict[str, Any]] = DEFAULT_PICKS) -> list[str]:
    return split_json_tokens(picks_answer(picks))


async def test_a_structured_answer_grows_picks_and_ends_recorded_complete(
    tmp_path: Path,
) -> None:
    records = FakeRecords()
    events = await events_of(run_of(FakeChat(json_pieces()), records, tmp_path))

    assert isinstance(events[0], Retrieved)
    assert any(isinstance(event, PicksUpdated) for event in events[1:-1])
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.is_structured
    assert [pick.title for pick in finished.picks] == [pick["title"] for pick in DEFAULT_PICKS]
    [outcome] = records.outcomes
    assert outcome["status"] is SuggestionStatus.COMPLETE
    assert outcome["text"] == picks_answer(DEFAULT_PICKS)
    assert [decision.shown_position for decision in records.picks[0]] == [1, 2, 3, 4]


async def test_a_plain_answer_streams_as_text_and_records_no_picks(tmp_path: Path) -> None:
    records = FakeRecords()
    events = await events_of(run_of(FakeChat(PLAIN_ANSWER), records, tmp_path))

    deltas = [event.text for event in events if isinstance(event, TextDelta)]
    assert "".join(deltas) == "".join(PLAIN_ANSWER)
    finished = events[-1]
    assert isinstance(finished, Finished) and not finished.is_structured
    assert records.outcomes[0]["is_structured"] is False
    assert records.picks == []


async def test_a_model_error_mid_answer_ends_failed_and_recorded_with_the_text_so_far(
    tmp_path: Path,
) -> None:
    records = FakeRecords()
    chat = FakeChat(PLAIN_ANSWER[:2], error=OllamaResponseError("the runner crashed"))
    events = await events_of(run_of(chat, records, tmp_path))

    failed = events[-1]
    assert isinstance(failed, Failed)
    assert failed.status is SuggestionStatus.INTERRUPTED
    assert failed.text == "".join(PLAIN_ANSWER[:2])
    [outcome] = records.outcomes
    assert outcome["status"] is SuggestionStatus.INTERRUPTED
    assert outcome["error"] == "the runner crashed"


async def test_closing_the_run_early_stops_the_model_and_records_it_cancelled(
    tmp_path: Path,
) -> None:
    records = FakeRecords()
    chat = FakeChat(PLAIN_ANSWER)
    received: list[str] = []
    async with aclosing(run_of(chat, records, tmp_path).events()) as events:
        async for event in events:
            if isinstance(event, TextDelta):
                received.append(event.text)
                if len(received) == 2:
                    break  # the member pressed Stop

    assert chat.closed_early
    [outcome] = records.outcomes
    assert outcome["status"] is SuggestionStatus.CANCELLED
    assert outcome["text"] == "".join(received)


async def test_the_model_is_stopped_once_a_spare_starts(tmp_path: Path) -> None:
    chat = FakeChat(json_pieces())
    events = await events_of(run_of(chat, FakeRecords(), tmp_path, count=2))

    finished = events[-1]
    assert isinstance(finished, Finished)
    assert [pick.title for pick in finished.picks] == ["Arrival", "The Leftovers"]
    assert chat.closed_early and chat.sent < len(json_pieces())


async def test_a_failed_final_write_still_ends_the_answer(tmp_path: Path) -> None:
    events = await events_of(run_of(FakeChat(json_pieces()), FakeRecords(failing=True), tmp_path))

    finished = events[-1]
    assert isinstance(finished, Finished) and len(finished.picks) == len(DEFAULT_PICKS)


@pytest.mark.parametrize("reason", [LeftOut.DISLIKED, LeftOut.SEEN, LeftOut.SUGGESTED])
async def test_a_repeat_is_left_out_and_counted_on_finished(
    tmp_path: Path, reason: LeftOut
) -> None:
    moon = DEFAULT_PICKS[2]
    avoid = {pick_key(moon["title"], moon["year"]): reason}
    events = await events_of(run_of(FakeChat(json_pieces()), FakeRecords(), tmp_path, avoid=avoid))

    finished = events[-1]
    assert isinstance(finished, Finished)
    assert "Moon" not in [pick.title for pick in finished.picks]
    assert finished.left_out_count == 1


def test_the_reader_counts_repeats_but_not_spares() -> None:
    arrival = DEFAULT_PICKS[0]
    reader = AnswerReader(2, {pick_key(arrival["title"], arrival["year"]): LeftOut.SEEN})
    for piece in json_pieces():
        reader.read(piece)
    reader.finish()

    reasons = [decision.left_out for decision in reader.decisions()]
    assert reasons == [LeftOut.SEEN, None, None, LeftOut.SPARE]
    assert reader.left_out_count == 1
