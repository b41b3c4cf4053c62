"""/suggest end to end: acknowledgement, throttled streaming, overflow, Stop, limits, faults."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from bot.discord_bot import layout as render
from bot.discord_bot.client import ShutsDownCleanly
from bot.discord_bot.exts.library import SAVE_CUSTOM_ID
from bot.discord_bot.streaming import STILL_WRITING_MARK
from bot.errors import RecordsError, SuggestWatchError, VectorStoreError
from bot.pipeline.domain import SuggestionStatus, SuggestionTimings
from bot.pipeline.events import Failed
from bot.pipeline.pipeline import Pipeline
from bot.pipeline.records import OpenReply
from bot.settings import DiscordSettings
from tests.discord_bot.conftest import (
    ALICE,
    ALL_PICKS,
    BOB,
    EDIT_INTERVAL,
    Harness,
    assert_within_budget,
    is_written,
    make_settings,
    open_records,
    rate_limited,
    running_bot,
    words,
)
from tests.fakes.discord_server import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.ollama_server import (
    DEFAULT_ANSWER,
    DEFAULT_PICKS,
    FakeOllama,
    Fault,
    FaultKind,
    unused_port,
)

MARK = STILL_WRITING_MARK.strip()
# asyncio may wake a timer a clock tick early; nothing coarser is tolerated.
CLOCK_SLACK = 0.002


async def suggest(
    harness: Harness, query: str = "space adventures", user: int = ALICE, **options: object
) -> FakeInteraction:
    """Run /suggest and wait until the bot's handler has finished."""
    return await harness.slash("suggest", {"query": query, **options}, user=user)


async def start_suggest(
    harness: Harness, query: str = "space adventures", user: int = ALICE
) -> tuple[FakeInteraction, FakeMessage]:
    """Dispatch /suggest and wait until its streaming has shown some of the answer."""
    interaction = await harness.fake.dispatch_slash("suggest", {"query": query}, user_id=user)
    original = await harness.fake.wait_for(lambda: harness.fake.original(interaction.token))
    await harness.fake.wait_for(lambda: "Arrival" in original.content)
    return interaction, original


async def no_last_edit() -> None:
    """In place of `Suggest.shut_down`: a killed bot makes no last edit."""


async def nothing_left_open(self: Pipeline) -> list[OpenReply]:
    return []


def stop_button(message: FakeMessage) -> str:
    [custom_id] = message.custom_ids
    return custom_id


async def suggestion_status(harness: Harness, suggestion_id: int = 1) -> SuggestionStatus:
    async with open_records(harness.settings) as records:
        record = await records.suggestions.get_suggestion(suggestion_id)
    assert record is not None
    return record.status


# -- acknowledgement and rendering ---------------------------------------------------------


async def test_suggest_is_acknowledged_before_a_slow_model_answers(harness: Harness) -> None:
    harness.fake.ack_deadline = 1.0  # Discord's 3 s, scaled down with the model's delay
    harness.ollama.embed_latency = 1.5

    interaction = await suggest(harness)

    assert interaction.is_acknowledged
    assert interaction.callback_type == 5  # deferred: "suggest.watch is thinking…"
    assert is_written(harness.fake.original(interaction.token))


async def test_the_reply_shows_the_matched_tastes_with_their_similarity(harness: Harness) -> None:
    await harness.pipeline.prefer(str(ALICE), "space opera with big battles")

    interaction = await suggest(harness, "space opera")

    header = harness.fake.original(interaction.token).content
    assert "Matched 1 of your tastes" in header
    assert re.search(r"`[01]\.\d\d` space opera with big battles", header)


async def test_a_member_without_tastes_is_told_how_to_add_some(harness: Harness) -> None:
    interaction = await suggest(harness)
    assert "/prefer" in harness.fake.original(interaction.token).content


async def test_the_final_text_is_complete_without_the_mark_or_the_button(
    harness: Harness,
) -> None:
    harness.ollama.tokens_per_second = 200

    interaction = await suggest(harness)

    original = harness.fake.original(interaction.token)
    assert ALL_PICKS in original.content
    assert MARK not in original.content
    # The Stop button went; the "Save to watchlist…" select took its place.
    assert original.custom_ids == [SAVE_CUSTOM_ID.format(suggestion_id=1)]
    assert "Rate every pick with 👍 or 👎" in original.content


async def test_the_header_and_the_rating_hint_count_the_picks_shown(harness: Harness) -> None:
    harness.ollama.picks = [DEFAULT_PICKS[0]]  # asked for three, the model wrote one

    interaction = await suggest(harness, "space opera", count=3)

    content = harness.fake.original(interaction.token).content
    assert content.startswith("🎬 **1 pick for “space opera”**")
    assert "3 picks" not in content
    assert "like one with its number (1️⃣)," in content
    assert "1️⃣–" not in content


async def test_the_rating_hint_names_the_range_of_several_picks(harness: Harness) -> None:
    interaction = await suggest(harness, "space opera", count=2)

    content = harness.fake.original(interaction.token).content
    assert content.startswith("🎬 **2 picks for “space opera”**")
    assert "like one with its number (1️⃣–2️⃣)," in content


async def test_edits_keep_the_budget_and_show_the_mark_meanwhile(harness: Harness) -> None:
    harness.ollama.tokens_per_second = 60  # about two seconds of streaming

    interaction = await suggest(harness)

    original = harness.fake.original(interaction.token)
    edits = [r for r in harness.fake.message_writes(original.id) if r.method == "PATCH"]
    assert len(edits) >= 4, "the answer should arrive in several batches"
    assert rate_limited(harness.fake) == [], "normal streaming never meets a 429"
    assert_within_budget(harness.fake, original.id)
    assert all(MARK in edit.json["content"] for edit in edits[:-1])
    assert MARK not in edits[-1].json["content"]
    # Coalesced: far fewer edits than tokens.
    assert len(edits) < len(DEFAULT_ANSWER.split()) / 3


async def test_routine_edits_keep_the_interval_between_the_urgent_ones(harness: Harness) -> None:
    harness.ollama.tokens_per_second = 60

    interaction = await suggest(harness)

    original = harness.fake.original(interaction.token)
    edits = [r for r in harness.fake.message_writes(original.id) if r.method == "PATCH"]
    first_text = next(i for i, edit in enumerate(edits) if "Arrival" in edit.json["content"])
    routine = [edit.time for edit in edits[first_text:-1]]  # after the first text, before the end
    gaps = [later - earlier for earlier, later in itertools.pairwise(routine)]
    assert gaps, "the answer should take several routine edits"
    assert min(gaps) >= EDIT_INTERVAL - CLOCK_SLACK


async def test_a_long_answer_continues_in_follow_ups_with_nothing_cut(harness: Harness) -> None:
    lines = [
        f"{n}. **Film number {n}** — " + "a fine film worth your evening " * 4 for n in range(40)
    ]
    harness.ollama.answer = "\n".join(lines)

    interaction = await suggest(harness)

    messages = harness.fake.replies(interaction.token)
    assert len(messages) >= 3
    assert all(len(message.content) <= 2000 for message in messages)
    assert not any(message.is_ephemeral for message in messages)
    shown = words(harness.answer_of(interaction))
    answer = words(harness.ollama.answer)
    start = shown.index(answer[0])
    assert shown[start : start + len(answer)] == answer
    for message in messages:
        assert_within_budget(harness.fake, message.id)
    assert rate_limited(harness.fake) == []


async def test_a_rate_limited_edit_is_retried_and_the_final_text_still_arrives(
    harness: Harness,
) -> None:
    harness.ollama.tokens_per_second = 150
    harness.fake.rate_limit(
        "PATCH", r"/webhooks/\d+/[^/]+/messages/@original", times=2, retry_after=0.3
    )

    interaction = await suggest(harness)

    original = harness.fake.original(interaction.token)
    edits = harness.fake.requests_matching("PATCH", r"/webhooks/\d+/[^/]+/messages/@original")
    assert [edit.status for edit in edits].count(429) == 2
    assert ALL_PICKS in original.content
    assert MARK not in original.content
    assert_within_budget(harness.fake, original.id)


# -- Stop ------------------------------------------------------------------------------


async def test_the_asker_can_stop_and_keeps_the_text_so_far(harness: Harness) -> None:
    harness.ollama.tokens_per_second = 20

    interaction, original = await start_suggest(harness)
    await harness.press(stop_button(original), original, user=ALICE)
    await harness.until_done(interaction)

    await harness.ollama.wait_for(lambda: harness.ollama.streams_closed_early == 1)
    assert render.STOPPED in original.content
    assert "Arrival" in original.content
    assert MARK not in original.content
    assert original.components == []
    assert await suggestion_status(harness) is SuggestionStatus.CANCELLED


async def test_nobody_else_can_press_stop(harness: Harness) -> None:
    harness.ollama.tokens_per_second = 100

    interaction, original = await start_suggest(harness)
    pressed = await harness.press(stop_button(original), original, user=BOB)
    await harness.until_done(interaction)

    assert pressed.callback_type == 4
    assert pressed.callback_data["flags"] & 64  # only Bob sees the refusal
    assert render.ONLY_THE_ASKER in pressed.callback_data["content"]
    assert ALL_PICKS in original.content
    assert harness.ollama.streams_closed_early == 0
    assert await suggestion_status(harness) is SuggestionStatus.COMPLETE


# -- limits ----------------------------------------------------------------------------


async def test_a_member_gets_one_generation_at_a_time(harness: Harness) -> None:
    harness.ollama.tokens_per_second = 20

    first, original = await start_suggest(harness)
    second = await suggest(harness)

    assert render.ALREADY_RUNNING in harness.private_reply(second)
    assert harness.ollama.streams_started == 1
    await harness.press(stop_button(original), original)
    await harness.until_done(first)


async def test_the_global_cap_shows_a_waiting_status_then_runs(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    settings = make_settings(
        fake_ollama, fake_discord, tmp_path / "data", max_concurrent_generations=1
    )
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        fake_ollama.tokens_per_second = 20
        alices, _ = await start_suggest(harness, user=ALICE)

        bobs = await fake_discord.dispatch_slash("suggest", {"query": "musicals"}, user_id=BOB)
        await fake_discord.wait_for(
            lambda: (
                "Waiting for a free slot"
                in (fake_discord.original(bobs.token) or FakeMessage(0, 0, 0)).content
            )
        )
        assert fake_ollama.streams_started == 1

        fake_ollama.tokens_per_second = None
        await harness.until_done(alices)
        await harness.until_done(bobs)
        assert fake_ollama.streams_started == 2
        assert ALL_PICKS in fake_discord.original(bobs.token).content


# -- pings and isolation -----------------------------------------------------------------


async def test_mentions_in_tastes_and_answers_ping_nobody(harness: Harness) -> None:
    await harness.pipeline.prefer(str(ALICE), "@everyone loves <@123456789012345678> films")
    harness.ollama.answer = "1. **@everyone** — <@&98765432109876543> and @here will love it."

    interaction = await suggest(harness, "films everyone loves")

    original = harness.fake.original(interaction.token)
    assert "@everyone" in original.content
    # assert_no_pings (at teardown) checks allowed_mentions on every send and edit; once here too:
    assert original.allowed_mentions == {"parse": []}


async def test_a_suggestion_uses_only_the_asking_members_tastes(harness: Harness) -> None:
    await harness.pipeline.prefer(str(ALICE), "Alice's secret love of noir detectives")

    interaction = await suggest(harness, "noir detectives", user=BOB)

    assert "secret" not in harness.answer_of(interaction)
    [chat] = harness.ollama.chat_requests
    assert "secret" not in str(chat.body)


# -- faults ------------------------------------------------------------------------------


async def assert_still_serving(harness: Harness) -> None:
    reply = harness.private_reply(await harness.slash("help"))
    assert "/suggest" in reply


async def test_an_unreachable_ollama_is_explained_in_the_reply(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    settings = make_settings(
        fake_ollama,
        fake_discord,
        tmp_path / "data",
        ollama_url=f"http://127.0.0.1:{unused_port()}",
        model_connect_timeout=0.5,
    )
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        interaction = await suggest(harness)

        original = fake_discord.original(interaction.token)
        assert "can't reach the AI model" in original.content
        assert is_written(original)
        await assert_still_serving(harness)


async def test_a_model_that_is_not_pulled_is_explained(harness: Harness) -> None:
    harness.ollama.models = {"bge-large"}

    interaction = await suggest(harness)

    assert "isn't installed" in harness.fake.original(interaction.token).content
    assert await suggestion_status(harness) is SuggestionStatus.FAILED
    await assert_still_serving(harness)


async def test_an_error_mid_stream_keeps_the_partial_text(harness: Harness) -> None:
    harness.ollama.fault = Fault(FaultKind.ERROR_LINE, after_tokens=20)

    interaction = await suggest(harness)

    content = harness.fake.original(interaction.token).content
    assert "Arrival" in content
    assert "ran into an error" in content
    assert "kept above" in content
    assert MARK not in content
    assert await suggestion_status(harness) is SuggestionStatus.INTERRUPTED
    await assert_still_serving(harness)


async def test_a_stall_mid_stream_is_explained(harness: Harness) -> None:
    harness.ollama.fault = Fault(FaultKind.STALL, after_tokens=20)

    interaction = await suggest(harness)

    content = harness.fake.original(interaction.token).content
    assert "stopped answering" in content
    assert "Arrival" in content
    await assert_still_serving(harness)


def failing_suggestions(error: SuggestWatchError) -> Callable[..., AsyncIterator[Failed]]:
    """In place of `Pipeline.suggest`: every suggestion fails with `error` before any
    text, as the pipeline reports a store that fails (its own tests show it does)."""

    async def suggest(*_: object, **__: object) -> AsyncIterator[Failed]:
        yield Failed(None, "", SuggestionStatus.FAILED, error, SuggestionTimings())

    return suggest


async def test_a_vector_store_fault_is_explained(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = failing_suggestions(VectorStoreError("Qdrant is down"))
    monkeypatch.setattr(harness.pipeline, "suggest", failing)

    interaction = await suggest(harness)

    assert "taste index" in harness.fake.original(interaction.token).content
    await assert_still_serving(harness)


async def test_a_records_fault_is_explained(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = failing_suggestions(RecordsError("database is locked"))
    monkeypatch.setattr(harness.pipeline, "suggest", failing)

    interaction = await suggest(harness)

    assert "records" in harness.fake.original(interaction.token).content
    await assert_still_serving(harness)


async def test_an_empty_request_is_answered_privately(harness: Harness) -> None:
    harness.ollama.requests.clear()  # the start-up checks (vector sizes) are not this request
    interaction = await suggest(harness, "   ")

    assert "empty" in harness.private_reply(interaction).lower()
    assert interaction.callback_type == 4  # answered at once, never deferred publicly
    assert harness.ollama.requests == [], "nothing ran"


async def test_an_unexpected_error_gets_an_apology_with_the_logged_error_id(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken_suggest(*_: object, **__: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(harness.pipeline, "suggest", broken_suggest)

    with caplog.at_level(logging.ERROR, logger="bot.discord_bot"):
        interaction = await suggest(harness)

    shown = harness.answer_of(interaction)
    [error_id] = re.findall(r"error id `([0-9a-f]+)`", shown)
    [logged] = [r for r in caplog.records if error_id in r.getMessage()]
    assert logged.exc_info is not None and "a bug" in str(logged.exc_info[1])
    assert render.BROKEN in harness.fake.original(interaction.token).content
    await assert_still_serving(harness)


async def test_a_stop_button_left_by_a_restart_still_answers_and_tidies_the_message(
    fake_discord: FakeDiscord,
    fake_ollama: FakeOllama,
    settings: DiscordSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A bot killed mid-answer, whose message the next start could not tidy (the Stop
    # is pressed before, or the edit failed): neither clean-up runs here.
    fake_ollama.fault = Fault(FaultKind.STALL, after_tokens=20)
    async with running_bot(fake_discord, fake_ollama, settings) as before:
        monkeypatch.setattr(before.bot.get_cog("Suggest"), "shut_down", no_last_edit)
        _, original = await start_suggest(before)
        await before.fake.wait_for(lambda: MARK in original.content)
    monkeypatch.setattr(Pipeline, "open_replies", nothing_left_open)
    assert original.custom_ids  # the bot stopped mid-answer: the button is still there
    fake_ollama.fault = None

    async with running_bot(fake_discord, fake_ollama, settings) as after:
        pressed = await after.press(stop_button(original), original, user=BOB)

    assert pressed.callback_type == 7  # the message itself was updated
    assert original.custom_ids == []
    assert MARK not in original.content
    assert "Arrival" in original.content  # what was written stays
    assert render.CUT_BY_RESTART in original.content


async def test_a_stopping_bot_gives_each_answer_its_last_edit_and_records_it_cancelled(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, settings: DiscordSettings
) -> None:
    fake_ollama.fault = Fault(FaultKind.STALL, after_tokens=6)
    fake_ollama.ignore_format = True  # the record keeps the text as it came
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        _, original = await start_suggest(harness)
    # Leaving `running_bot` closes the bot, as a SIGTERM does.
    assert MARK not in original.content
    assert original.custom_ids == []
    assert "Arrival" in original.content
    assert render.RESTARTING in original.content
    async with open_records(settings) as records:
        stored = await records.suggestions.get_suggestion(1)
    assert stored is not None
    assert stored.status is SuggestionStatus.CANCELLED
    assert stored.text.startswith("1. **Arrival")


async def test_the_next_start_finishes_a_reply_a_killed_bot_left_open(
    fake_discord: FakeDiscord,
    fake_ollama: FakeOllama,
    settings: DiscordSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake_ollama.fault = Fault(FaultKind.STALL, after_tokens=20)
    async with running_bot(fake_discord, fake_ollama, settings) as before:
        monkeypatch.setattr(before.bot.get_cog("Suggest"), "shut_down", no_last_edit)
        _, original = await start_suggest(before)
        await before.fake.wait_for(lambda: MARK in original.content)
    assert MARK in original.content and original.custom_ids
    fake_ollama.fault = None

    async with running_bot(fake_discord, fake_ollama, settings) as after:
        await after.fake.wait_for(lambda: render.CUT_BY_RESTART in original.content)

    assert MARK not in original.content
    assert original.custom_ids == []
    assert "Arrival" in original.content


async def test_shutting_down_stops_and_awaits_the_tidying_of_replies_left_open(
    fake_discord: FakeDiscord,
    fake_ollama: FakeOllama,
    settings: DiscordSettings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started, ended = asyncio.Event(), asyncio.Event()

    async def slow_open_replies(*_: object) -> list[OpenReply]:
        started.set()
        try:
            await asyncio.Event().wait()  # the records never answer
        finally:
            ended.set()
        return []

    monkeypatch.setattr(Pipeline, "open_replies", slow_open_replies)
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        await asyncio.wait_for(started.wait(), 5)
        cog = harness.bot.get_cog("Suggest")
        assert isinstance(cog, ShutsDownCleanly)

        await cog.shut_down()

        assert ended.is_set()  # cancelled and awaited, not left running
