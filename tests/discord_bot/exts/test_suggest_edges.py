"""/suggest at Discord's edges: token expiry, the queue limit, honest endings, early links."""

from __future__ import annotations

from pathlib import Path

from bot.discord_bot import layout as render
from bot.discord_bot.exts.library import SAVE_CUSTOM_ID
from bot.discord_bot.reactions import RATING_EMOJIS
from bot.discord_bot.streaming import STILL_WRITING_MARK
from bot.pipeline.domain import SuggestionStatus
from bot.settings import DiscordSettings
from tests.discord_bot.conftest import (
    ALICE,
    ALL_PICKS,
    BOB,
    Harness,
    assert_within_budget,
    is_written,
    make_settings,
    open_records,
    rate_limited,
    running_bot,
    words,
)
from tests.discord_bot.exts.test_feedback import wait_for_feedback
from tests.discord_bot.exts.test_suggest import start_suggest, stop_button, suggest
from tests.fakes.discord_server import FakeDiscord, FakeMessage
from tests.fakes.ollama_server import FakeOllama

MARK = STILL_WRITING_MARK.strip()
NOTHING = FakeMessage(0, 0, 0)


def channel_messages(fake: FakeDiscord) -> list[FakeMessage]:
    """Messages the bot sent through the channel with its own token (no interaction)."""
    return [m for m in fake.messages.values() if m.interaction_token is None and not m.is_deleted]


async def status_of(settings: DiscordSettings, suggestion_id: int = 1) -> SuggestionStatus:
    async with open_records(settings) as records:
        record = await records.suggestions.get_suggestion(suggestion_id)
    assert record is not None
    return record.status


# -- the interaction token expires mid-answer ------------------------------------------------


async def test_an_answer_outliving_its_token_is_finished_through_the_channel(
    harness: Harness,
) -> None:
    harness.fake.token_lifetime = 0.5
    harness.ollama.tokens_per_second = 60  # about two seconds: well past the token

    interaction = await suggest(harness)

    original = harness.fake.original(interaction.token)
    assert is_written(original)
    assert ALL_PICKS in original.content
    assert "Rate every pick with 👍 or 👎" in original.content
    # The Stop button went with the closing edit; "Save to watchlist…" took its place.
    assert original.custom_ids == [SAVE_CUSTOM_ID.format(suggestion_id=1)]
    refused = [r for r in harness.fake.requests if r.status == 401]
    assert refused, "the token should have expired mid-answer"
    by_channel = harness.fake.requests_matching("PATCH", rf"/channels/\d+/messages/{original.id}")
    assert by_channel and all(r.status == 200 for r in by_channel)
    assert_within_budget(harness.fake, original.id)
    assert {emoji for emoji, _ in original.reactions} == set(RATING_EMOJIS)


async def test_follow_ups_after_the_token_expired_are_sent_to_the_channel(
    harness: Harness,
) -> None:
    harness.fake.token_lifetime = 0.3
    harness.ollama.tokens_per_second = 400
    harness.ollama.answer = "\n".join(
        f"{n}. **Film number {n}** — " + "a fine film worth your evening " * 4 for n in range(40)
    )

    interaction = await suggest(harness)

    original = harness.fake.original(interaction.token)
    more = harness.fake.followups(interaction.token) + channel_messages(harness.fake)
    assert channel_messages(harness.fake), "follow-ups after expiry go through the channel"
    shown = words("\n".join(m.content for m in [original, *sorted(more, key=lambda m: m.id)]))
    answer = words(harness.ollama.answer)
    start = shown.index(answer[0])
    assert shown[start : start + len(answer)] == answer
    assert all(MARK not in message.content for message in [original, *more])
    assert rate_limited(harness.fake) == []


# -- the queue ------------------------------------------------------------------------------


async def test_a_member_whose_turn_does_not_come_in_time_is_told_and_nothing_runs(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    settings = make_settings(
        fake_ollama,
        fake_discord,
        tmp_path / "data",
        max_concurrent_generations=1,
        suggest_queue_timeout=1.0,
    )
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        fake_ollama.tokens_per_second = 15  # Alice's answer takes longer than Bob may wait
        alices, _ = await start_suggest(harness, user=ALICE)

        bobs = await fake_discord.dispatch_slash("suggest", {"query": "musicals"}, user_id=BOB)
        await fake_discord.wait_for(
            lambda: "you are next" in (fake_discord.original(bobs.token) or NOTHING).content
        )
        await harness.until_done(bobs)

        bobs_reply = fake_discord.original(bobs.token).content
        assert "did not come in time" in bobs_reply
        assert "Waiting for a free slot" not in bobs_reply  # the waiting header went
        assert "musicals" in bobs_reply
        assert MARK not in bobs_reply
        assert fake_ollama.streams_started == 1, "nothing ran for Bob"
        fake_ollama.tokens_per_second = None
        await harness.until_done(alices)


async def test_waiting_members_see_their_place_move_up(
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
            lambda: "you are next" in (fake_discord.original(bobs.token) or NOTHING).content
        )
        carols = await fake_discord.dispatch_slash("suggest", {"query": "westerns"}, user_id=333)
        await fake_discord.wait_for(
            lambda: "number 2 in line" in (fake_discord.original(carols.token) or NOTHING).content
        )

        # Bob gives up while waiting: Carol moves up, and Bob's waiting header goes.
        bobs_message = fake_discord.original(bobs.token)
        await harness.press(stop_button(bobs_message), bobs_message, user=BOB)
        await fake_discord.wait_for(
            lambda: "you are next" in (fake_discord.original(carols.token) or NOTHING).content
        )
        await harness.until_done(bobs)
        assert "Waiting for a free slot" not in bobs_message.content
        assert render.STOPPED in bobs_message.content

        fake_ollama.tokens_per_second = None
        await harness.until_done(alices)
        await harness.until_done(carols)
        assert fake_ollama.streams_started == 2  # Alice and Carol; Bob never ran


async def test_a_retrieval_failure_replaces_the_waiting_header(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    settings = make_settings(
        fake_ollama, fake_discord, tmp_path / "data", max_concurrent_generations=1
    )
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        fake_ollama.tokens_per_second = 20
        alices, _ = await start_suggest(harness, user=ALICE)
        bobs = await fake_discord.dispatch_slash("suggest", {"query": "heists"}, user_id=BOB)
        await fake_discord.wait_for(
            lambda: "you are next" in (fake_discord.original(bobs.token) or NOTHING).content
        )
        fake_ollama.models = {"llama3.1:8b"}  # the embedding model is gone: retrieval fails
        fake_ollama.tokens_per_second = None
        await harness.until_done(alices)
        await harness.until_done(bobs)

        content = fake_discord.original(bobs.token).content
        assert "Waiting for a free slot" not in content
        assert "heists" in content
        assert "isn't installed" in content
        assert MARK not in content


# -- honest endings ----------------------------------------------------------------------------


async def test_an_answer_cut_by_the_length_limit_says_so_and_is_recorded_as_cut(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    settings = make_settings(fake_ollama, fake_discord, tmp_path / "data", gen_num_predict=16)
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        interaction = await suggest(harness)

        content = fake_discord.original(interaction.token).content
        assert render.CUT_BY_LENGTH in content
        assert "**1. Arrival**" in content  # the first 16 tokens: the first title
        assert "Leftovers" not in content
        assert await status_of(settings) is SuggestionStatus.CUT


async def test_a_complete_answer_does_not_claim_to_be_cut(harness: Harness) -> None:
    interaction = await suggest(harness)

    assert render.CUT_BY_LENGTH not in harness.fake.original(interaction.token).content
    assert await status_of(harness.settings) is SuggestionStatus.COMPLETE


# -- small defects ----------------------------------------------------------------------------


async def test_a_rating_made_while_the_answer_streams_counts(harness: Harness) -> None:
    harness.ollama.tokens_per_second = 20

    interaction, original = await start_suggest(harness)
    assert MARK in original.content  # still streaming
    await harness.fake.dispatch_reaction_add(ALICE, original.id, emoji="👍")

    [rating] = await wait_for_feedback(harness, 1)
    assert rating.member_id == str(ALICE)
    harness.ollama.tokens_per_second = None
    await harness.until_done(interaction)


async def test_the_stop_after_a_restart_edit_fits_in_one_message(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, settings: DiscordSettings
) -> None:
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        # A message left full by a restart: 2,000 characters with the mark and the button.
        message = FakeMessage(
            id=fake_discord.new_id(),
            channel_id=fake_discord.channel_id,
            guild_id=fake_discord.guild_id,
            content="x" * (2000 - len(STILL_WRITING_MARK)) + STILL_WRITING_MARK,
            components=[
                {"type": 1, "components": [{"type": 2, "style": 4, "custom_id": "suggest:stop"}]}
            ],
        )
        fake_discord.messages[message.id] = message

        await harness.press("suggest:stop", message, user=BOB)

    assert len(message.content) <= 2000
    assert message.content.endswith(render.CUT_BY_RESTART)
