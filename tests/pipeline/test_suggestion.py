"""One suggestion end to end: retrieval, the prompt, the streamed answer and its record."""

import asyncio
from contextlib import aclosing

import pytest

from bot.errors import (
    InputError,
    ModelNotFound,
    OllamaResponseError,
    OllamaStalled,
    OllamaUnreachable,
    RecordsError,
    VectorStoreError,
)
from bot.pipeline import answer as answer_module
from bot.pipeline.domain import SuggestionStatus
from bot.pipeline.events import Failed, Finished, PicksUpdated, Retrieved, TextDelta
from bot.pipeline.owners import ProcessOwner
from bot.pipeline.picks import answer_schema
from bot.pipeline.pipeline import Backends, Pipeline, open_backends, open_pipeline
from bot.pipeline.records import Records
from bot.settings import Settings
from tests.fakes.ollama_server import (
    DEFAULT_ANSWER,
    DEFAULT_PICKS,
    FakeOllama,
    Fault,
    FaultKind,
    picks_answer,
    split_json_tokens,
    unused_port,
)
from tests.pipeline.helpers import (
    add_tastes,
    chat_prompt,
    collect,
    stored_picks,
    stored_suggestion,
)


async def test_suggest_yields_retrieved_then_growing_picks_then_finished(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    await add_tastes(pipeline, "alice")
    events = await collect(pipeline, "alice", "thoughtful sci-fi tonight")
    assert isinstance(events[0], Retrieved)
    finished = events[-1]
    assert isinstance(finished, Finished)
    updates = [e.picks for e in events[1:-1] if isinstance(e, PicksUpdated)]
    assert len(updates) == len(events) - 2 > len(DEFAULT_PICKS)
    assert [len(picks) for picks in updates] == sorted(len(picks) for picks in updates)
    assert [pick.title for pick in finished.picks] == [p["title"] for p in DEFAULT_PICKS]
    assert finished.picks == updates[-1]
    assert all(pick.is_complete for pick in finished.picks)
    assert finished.picks[0].reasoning == DEFAULT_PICKS[0]["reasoning"]
    assert finished.is_structured and finished.text == picks_answer(DEFAULT_PICKS)
    assert finished.stats is not None and finished.stats.completion_tokens > 0


async def test_a_title_is_shown_before_the_rest_of_its_pick(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    events = await collect(pipeline, "alice", "thoughtful sci-fi tonight")
    firsts = [e.picks[0] for e in events if isinstance(e, PicksUpdated)]
    assert firsts[0].title == "Arrival"
    assert firsts[0].description == "" and firsts[0].confidence is None
    descriptions = [pick.description for pick in firsts if pick.description]
    assert len(set(descriptions)) > 3  # it grows word by word, not in one piece


async def test_an_answer_that_ignores_the_schema_is_streamed_as_text(
    pipeline: Pipeline, settings: Settings, fake_ollama: FakeOllama
) -> None:
    fake_ollama.ignore_format = True
    events = await collect(pipeline, "alice", "thoughtful sci-fi tonight")
    finished = events[-1]
    assert isinstance(finished, Finished)
    deltas = [e.text for e in events[1:-1] if isinstance(e, TextDelta)]
    assert len(deltas) == len(events) - 2 > 1
    assert "".join(deltas) == finished.text == DEFAULT_ANSWER
    assert not finished.is_structured and finished.picks == ()
    stored = await stored_suggestion(settings, finished.suggestion_id)
    assert stored is not None and not stored.is_structured
    assert await stored_picks(settings, "alice", finished.suggestion_id) == []


async def test_json_that_breaks_before_any_pick_falls_back_to_its_text(
    pipeline: Pipeline, settings: Settings, fake_ollama: FakeOllama
) -> None:
    fake_ollama.answer = '{"picks": [{"title": Arrival, 2016}]} and some words'
    finished = (await collect(pipeline, "alice", "thoughtful sci-fi"))[-1]
    assert isinstance(finished, Finished)
    assert not finished.is_structured
    stored = await stored_suggestion(settings, finished.suggestion_id)
    assert stored is not None and not stored.is_structured


async def test_retrieval_takes_the_top_three_tastes_with_scores_best_first(
    pipeline: Pipeline,
) -> None:
    await add_tastes(pipeline, "alice")
    retrieved = (await collect(pipeline, "alice", "thoughtful sci-fi like Arrival"))[0]
    assert isinstance(retrieved, Retrieved)
    assert len(retrieved.matches) == 3
    assert retrieved.matches[0].text == "slow thoughtful sci-fi like Arrival"
    scores = [m.score for m in retrieved.matches]
    assert scores == sorted(scores, reverse=True)
    assert 0 < scores[0] <= 1.0001


async def test_the_prompt_holds_the_request_matched_tastes_scores_and_count(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    await add_tastes(pipeline, "alice")
    events = await collect(pipeline, "alice", "thoughtful sci-fi", count=6)
    retrieved = events[0]
    assert isinstance(retrieved, Retrieved)
    prompt = chat_prompt(fake_ollama)
    assert '"thoughtful sci-fi"' in prompt
    for match in retrieved.matches:
        assert f'"{match.text}" (similarity {match.score:.2f})' in prompt
    assert "Recommend 8 specific movies or shows" in prompt  # two spares
    body = fake_ollama.chat_requests[-1].body
    assert body["format"] == answer_schema()
    assert body["model"] == "llama3.1:8b"
    assert body["options"]["temperature"] == 0.7
    assert body["options"]["num_predict"] == 800


async def test_no_other_members_taste_reaches_the_prompt(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    await pipeline.prefer("bob", "thoughtful sci-fi secret of bob")
    await pipeline.prefer("alice", "romantic comedies")
    await collect(pipeline, "alice", "thoughtful sci-fi")
    assert "secret of bob" not in chat_prompt(fake_ollama)
    assert "romantic comedies" in chat_prompt(fake_ollama)


async def test_a_member_without_tastes_gets_picks_from_the_request_alone(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    await pipeline.prefer("bob", "sci-fi")
    events = await collect(pipeline, "alice", "sci-fi")
    retrieved = events[0]
    assert isinstance(retrieved, Retrieved)
    assert retrieved.matches == () and not retrieved.has_tastes
    assert "not told us their tastes" in chat_prompt(fake_ollama)
    assert isinstance(events[-1], Finished)


@pytest.mark.parametrize(("query", "count"), [("  ", 4), ("q" * 301, 4), ("ok", 0), ("ok", 11)])
async def test_a_bad_request_is_refused_before_anything_runs(
    pipeline: Pipeline, fake_ollama: FakeOllama, query: str, count: int
) -> None:
    with pytest.raises(InputError):
        await collect(pipeline, "alice", query, count)
    assert fake_ollama.requests == []


async def test_check_request_cleans_a_good_request_and_refuses_a_bad_one(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    assert pipeline.check_request("  a   tense thriller ", 3) == "a tense thriller"
    with pytest.raises(InputError, match="300"):
        pipeline.check_request("q" * 301)
    assert fake_ollama.requests == []


async def test_a_complete_suggestion_is_recorded_with_its_timings(
    pipeline: Pipeline, settings: Settings
) -> None:
    await add_tastes(pipeline, "alice")
    events = await collect(pipeline, "alice", "heists")
    finished = events[-1]
    assert isinstance(finished, Finished)
    stored = await stored_suggestion(settings, finished.suggestion_id)
    assert stored is not None
    assert stored.status is SuggestionStatus.COMPLETE
    assert stored.text == picks_answer(DEFAULT_PICKS)
    assert stored.is_structured
    picks = await stored_picks(settings, "alice", finished.suggestion_id)
    assert [(p.title, p.shown_position, p.key) for p in picks] == [
        ("Arrival", 1, "arrival|2016"),
        ("The Leftovers", 2, "leftovers|2014"),
        ("Moon", 3, "moon|2009"),
        ("Dark", 4, "dark|2017"),
    ]
    assert stored.query == "heists" and stored.member_id == "alice"
    assert len(stored.matches) == 3
    assert stored.timings.embed_seconds is not None
    assert stored.timings.search_seconds is not None
    assert stored.timings.first_token_seconds is not None
    assert stored.completion_tokens and stored.tokens_per_second


# -- faults during a suggestion --------------------------------------------------------


async def assert_recorded(settings: Settings, failed: Failed, status: SuggestionStatus) -> None:
    assert failed.suggestion_id is not None
    stored = await stored_suggestion(settings, failed.suggestion_id)
    assert stored is not None
    assert stored.status is status
    assert stored.text == failed.text
    assert stored.error == str(failed.error)


async def test_chat_model_not_pulled_fails_with_the_pull_command_and_is_recorded(
    pipeline: Pipeline, settings: Settings, fake_ollama: FakeOllama
) -> None:
    fake_ollama.models.discard("llama3.1:8b")
    events = await collect(pipeline, "alice", "noir")
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, ModelNotFound)
    assert "ollama pull llama3.1:8b" in str(failed.error)
    assert failed.status is SuggestionStatus.FAILED and failed.text == ""
    await assert_recorded(settings, failed, SuggestionStatus.FAILED)


async def test_an_error_mid_stream_keeps_the_partial_text(
    pipeline: Pipeline, settings: Settings, fake_ollama: FakeOllama
) -> None:
    fake_ollama.ignore_format = True
    fake_ollama.fault = Fault(FaultKind.ERROR_LINE, after_tokens=5, message="out of memory")
    events = await collect(pipeline, "alice", "noir")
    failed = events[-1]
    assert isinstance(failed, Failed)
    assert isinstance(failed.error, OllamaResponseError)
    assert "out of memory" in str(failed.error)
    streamed = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert failed.text == streamed and len(streamed) > 0
    assert failed.status is SuggestionStatus.INTERRUPTED
    await assert_recorded(settings, failed, SuggestionStatus.INTERRUPTED)


async def test_an_error_mid_json_keeps_and_records_the_picks_shown(
    pipeline: Pipeline, settings: Settings, fake_ollama: FakeOllama
) -> None:
    fake_ollama.fault = Fault(FaultKind.ERROR_LINE, after_tokens=120)
    events = await collect(pipeline, "alice", "noir")
    failed = events[-1]
    assert isinstance(failed, Failed)
    shown = [e for e in events if isinstance(e, PicksUpdated)][-1].picks
    assert failed.picks == shown and len(shown) >= 1
    await assert_recorded(settings, failed, SuggestionStatus.INTERRUPTED)
    assert failed.suggestion_id is not None
    stored = await stored_picks(settings, "alice", failed.suggestion_id)
    assert [p.title for p in stored] == [p.title for p in shown]


async def test_a_cut_stream_is_interrupted_with_its_partial_text(
    pipeline: Pipeline, settings: Settings, fake_ollama: FakeOllama
) -> None:
    fake_ollama.fault = Fault(FaultKind.CUT, after_tokens=3)
    failed = (await collect(pipeline, "alice", "noir"))[-1]
    assert isinstance(failed, Failed)
    assert failed.status is SuggestionStatus.INTERRUPTED and failed.text
    await assert_recorded(settings, failed, SuggestionStatus.INTERRUPTED)


async def test_a_stalled_stream_is_interrupted_after_the_idle_limit(
    settings: Settings, fake_ollama: FakeOllama
) -> None:
    impatient = settings.model_copy(update={"model_idle_timeout": 0.3})
    fake_ollama.fault = Fault(FaultKind.STALL, after_tokens=4)
    async with open_pipeline(impatient) as pipeline:
        failed = (await collect(pipeline, "alice", "noir"))[-1]
        assert isinstance(failed, Failed)
        assert isinstance(failed.error, OllamaStalled)
        assert failed.status is SuggestionStatus.INTERRUPTED and failed.text
        await assert_recorded(settings, failed, SuggestionStatus.INTERRUPTED)


async def test_a_malformed_line_is_skipped_and_the_answer_completes(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    fake_ollama.fault = Fault(FaultKind.MALFORMED_LINE, after_tokens=2)
    finished = (await collect(pipeline, "alice", "noir"))[-1]
    assert isinstance(finished, Finished)
    assert finished.text == picks_answer(DEFAULT_PICKS)
    assert len(finished.picks) == len(DEFAULT_PICKS)


async def test_ollama_down_fails_the_suggestion_and_records_it(settings: Settings) -> None:
    down = settings.model_copy(update={"ollama_url": f"http://127.0.0.1:{unused_port()}"})
    async with open_pipeline(down) as pipeline:
        events = await collect(pipeline, "alice", "noir")
        assert len(events) == 1
        failed = events[0]
        assert isinstance(failed, Failed) and isinstance(failed.error, OllamaUnreachable)
        await assert_recorded(settings, failed, SuggestionStatus.FAILED)


async def test_a_vector_store_error_during_retrieval_fails_cleanly(
    pipeline: Pipeline, settings: Settings, backends: Backends, monkeypatch: pytest.MonkeyPatch
) -> None:
    await pipeline.prefer("alice", "noir")

    async def broken_search(*args: object) -> list[object]:
        raise VectorStoreError("Could not search the tastes: the vector store failed.")

    monkeypatch.setattr(backends.vectors, "search", broken_search)
    failed = (await collect(pipeline, "alice", "noir"))[-1]
    assert isinstance(failed, Failed) and isinstance(failed.error, VectorStoreError)
    await assert_recorded(settings, failed, SuggestionStatus.FAILED)
    assert len(await pipeline.tastes("alice")) == 1  # nothing already stored is lost


# -- stopping, checkpoints and other processes -----------------------------------------


async def test_closing_the_stream_early_cancels_and_keeps_the_text(
    pipeline: Pipeline, settings: Settings, fake_ollama: FakeOllama
) -> None:
    fake_ollama.tokens_per_second = 200
    fake_ollama.ignore_format = True
    received: list[str] = []
    suggestion_id = None
    async with aclosing(pipeline.suggest("alice", "noir")) as events:
        async for event in events:
            if isinstance(event, Retrieved):
                suggestion_id = event.suggestion_id
            if isinstance(event, TextDelta):
                received.append(event.text)
                if len(received) == 3:
                    break  # the member pressed Stop
    await fake_ollama.wait_for(lambda: fake_ollama.streams_closed_early == 1)
    assert suggestion_id is not None
    stored = await stored_suggestion(settings, suggestion_id)
    assert stored is not None
    assert stored.status is SuggestionStatus.CANCELLED
    assert stored.text == "".join(received)


async def test_a_cancelled_task_records_the_suggestion_as_cancelled(
    pipeline: Pipeline, settings: Settings, fake_ollama: FakeOllama
) -> None:
    fake_ollama.fault = Fault(FaultKind.STALL, after_tokens=2)
    fake_ollama.ignore_format = True
    first_text = asyncio.Event()
    seen: dict[str, int] = {}

    async def consume() -> None:
        async for event in pipeline.suggest("alice", "noir"):
            if isinstance(event, Retrieved):
                seen["id"] = event.suggestion_id
            if isinstance(event, TextDelta):
                first_text.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first_text.wait(), 5)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stored = await stored_suggestion(settings, seen["id"])
    assert stored is not None and stored.status is SuggestionStatus.CANCELLED


async def test_the_text_is_checkpointed_to_the_record_while_it_streams(
    pipeline: Pipeline, settings: Settings, fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(answer_module, "CHECKPOINT_SECONDS", 0.0)
    fake_ollama.tokens_per_second = 100
    fake_ollama.ignore_format = True  # the checkpoint holds the model's text, JSON or not
    received: list[str] = []
    async with aclosing(pipeline.suggest("alice", "noir")) as events:
        async for event in events:
            if isinstance(event, Retrieved):
                suggestion_id = event.suggestion_id
            if isinstance(event, TextDelta):
                received.append(event.text)
                if len(received) == 5:
                    stored = await stored_suggestion(settings, suggestion_id)
                    break
    assert stored is not None
    assert stored.status is SuggestionStatus.RUNNING
    # Saved when the consumer asked for the next piece: everything before the last one.
    assert stored.text == "".join(received[:4])


async def test_a_failed_final_write_keeps_the_checkpoint_for_the_next_start(
    settings: Settings, fake_ollama: FakeOllama, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(answer_module, "CHECKPOINT_SECONDS", 0.0)

    async def disk_full(*args: object, **kwargs: object) -> None:
        raise RecordsError("Could not record the suggestion's outcome: database or disk is full")

    async with open_backends(settings) as backends, Pipeline(settings, backends) as pipeline:
        monkeypatch.setattr(backends.records.suggestions, "finish_suggestion", disk_full)
        events = await collect(pipeline, "alice", "noir")
    finished = events[-1]
    assert isinstance(finished, Finished)  # the member still gets the whole answer
    async with open_pipeline(settings):
        pass  # the next start closes what the gone process left running
    stored = await stored_suggestion(settings, finished.suggestion_id)
    assert stored is not None
    assert stored.status is SuggestionStatus.INTERRUPTED
    assert stored.text and finished.text.startswith(stored.text)


async def test_a_second_process_beside_a_live_suggestion_leaves_it_running(
    pipeline: Pipeline, settings: Settings, fake_ollama: FakeOllama
) -> None:
    fake_ollama.fault = Fault(FaultKind.STALL, after_tokens=2)
    events = pipeline.suggest("alice", "noir")
    retrieved = await anext(events)
    assert isinstance(retrieved, Retrieved)
    # What a second process does at start (with a Qdrant server nothing refuses it).
    other = ProcessOwner.acquire(settings.data_dir)
    try:
        async with Records.open(settings.sqlite_path) as records:
            assert await records.suggestions.close_abandoned_suggestions(other.is_gone) == 0
            stored = await records.suggestions.get_suggestion(retrieved.suggestion_id)
    finally:
        other.release()
    assert stored is not None and stored.status is SuggestionStatus.RUNNING
    await events.aclose()


async def test_a_process_refused_the_store_lock_changes_nothing(
    pipeline: Pipeline, settings: Settings, fake_ollama: FakeOllama
) -> None:
    fake_ollama.fault = Fault(FaultKind.STALL, after_tokens=2)
    events = pipeline.suggest("alice", "noir")
    retrieved = await anext(events)
    assert isinstance(retrieved, Retrieved)
    with pytest.raises(VectorStoreError):
        async with open_pipeline(settings):
            pass
    stored = await stored_suggestion(settings, retrieved.suggestion_id)
    assert stored is not None and stored.status is SuggestionStatus.RUNNING
    await events.aclose()


# -- the similarity floor and honest endings -------------------------------------------


async def test_only_tastes_at_or_above_the_similarity_floor_shape_the_answer(
    settings: Settings, fake_ollama: FakeOllama
) -> None:
    floored = settings.model_copy(update={"min_taste_similarity": 0.5})
    async with open_pipeline(floored) as pipeline:
        await pipeline.prefer("alice", "slow thoughtful sci-fi like Arrival")
        await pipeline.prefer("alice", "romantic comedies from the nineties")
        events = await collect(pipeline, "alice", "thoughtful sci-fi like Arrival")

    retrieved = events[0]
    assert isinstance(retrieved, Retrieved)
    assert [m.text for m in retrieved.matches] == ["slow thoughtful sci-fi like Arrival"]
    assert all(m.score >= 0.5 for m in retrieved.matches)
    assert "romantic comedies" not in chat_prompt(fake_ollama)


async def test_tastes_all_below_the_floor_leave_none_matched_but_the_member_has_tastes(
    settings: Settings, fake_ollama: FakeOllama
) -> None:
    floored = settings.model_copy(update={"min_taste_similarity": 0.5})
    async with open_pipeline(floored) as pipeline:
        await pipeline.prefer("alice", "romantic comedies from the nineties")
        events = await collect(pipeline, "alice", "space battles")

    retrieved = events[0]
    assert isinstance(retrieved, Retrieved)
    assert retrieved.matches == () and retrieved.has_tastes
    assert "romantic comedies" not in chat_prompt(fake_ollama)


async def test_an_answer_cut_by_the_length_limit_is_recorded_as_cut(
    settings: Settings, fake_ollama: FakeOllama
) -> None:
    short = settings.model_copy(update={"gen_num_predict": 16})
    async with open_pipeline(short) as pipeline:
        events = await collect(pipeline, "alice", "heists")
        finished = events[-1]
        assert isinstance(finished, Finished)
        assert finished.is_cut and finished.status is SuggestionStatus.CUT
        stored = await stored_suggestion(settings, finished.suggestion_id)

    assert stored is not None and stored.status is SuggestionStatus.CUT
    assert len(split_json_tokens(finished.text)) == 16
    assert [pick.title for pick in finished.picks] == ["Arrival"]  # shown as far as it got
