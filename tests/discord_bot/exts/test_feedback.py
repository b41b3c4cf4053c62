"""Reactions on a suggestion's messages become ratings in the records, also after a restart."""

from __future__ import annotations

import asyncio

from bot.discord_bot.reactions import RATING_EMOJIS
from bot.pipeline.records import FeedbackRecord
from bot.settings import DiscordSettings
from tests.discord_bot.conftest import ALICE, BOB, Harness, open_records, running_bot
from tests.fakes.discord_server import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.ollama_server import FakeOllama, Fault, FaultKind

REACTION = r"/channels/\d+/messages/\d+/reactions/.+/@me"
RECHECK_SECONDS = 0.02


async def finished_suggestion(harness: Harness) -> tuple[FakeInteraction, FakeMessage]:
    """A finished /suggest, with the bot's rating prompt in place."""
    interaction = await harness.slash("suggest", {"query": "heist films"}, user=ALICE)
    await harness.fake.wait_for_request("PUT", REACTION, count=len(RATING_EMOJIS))
    return interaction, harness.fake.replies(interaction.token)[-1]


async def feedback_of(settings: DiscordSettings, suggestion_id: int = 1) -> list[FeedbackRecord]:
    async with open_records(settings) as records:
        return await records.suggestions.list_feedback(suggestion_id)


async def wait_for_feedback(
    harness: Harness,
    count: int,
    suggestion_id: int = 1,
    timeout: float = 5.0,  # noqa: ASYNC109
) -> list[FeedbackRecord]:
    """Wait until the records hold `count` ratings of the suggestion (and no more)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await feedback_of(harness.settings, suggestion_id)
        if len(found) >= count or asyncio.get_running_loop().time() > deadline:
            return found
        # The records are the bot's own state, with no request to wake us: re-check often.
        await asyncio.sleep(RECHECK_SECONDS)


async def test_a_finished_suggestion_gets_the_rating_prompt(harness: Harness) -> None:
    _, message = await finished_suggestion(harness)

    assert {emoji for emoji, user in message.reactions} == set(RATING_EMOJIS)
    assert all(user == harness.fake.bot_user_id for _, user in message.reactions)


async def test_the_bots_own_reactions_are_not_ratings(harness: Harness) -> None:
    _, message = await finished_suggestion(harness)
    # The fake echoes the bot's reactions over the gateway, as Discord does. A member's
    # reaction after them proves the echoes were handled (and ignored) first.
    await harness.fake.dispatch_reaction_add(ALICE, message.id)

    [rating] = await wait_for_feedback(harness, 1)
    assert rating.member_id == str(ALICE)


async def test_reactions_added_and_removed_are_recorded(harness: Harness) -> None:
    _, message = await finished_suggestion(harness)

    await harness.fake.dispatch_reaction_add(BOB, message.id, emoji="👍")
    await harness.fake.dispatch_reaction_add(ALICE, message.id, emoji="🍿")
    await harness.fake.dispatch_reaction_remove(BOB, message.id, emoji="👍")

    ratings = await wait_for_feedback(harness, 3)
    assert [(r.member_id, r.emoji, r.added) for r in ratings] == [
        (str(BOB), "👍", True),
        (str(ALICE), "🍿", True),
        (str(BOB), "👍", False),
    ]
    assert all(r.message_id == message.id for r in ratings)


async def test_reactions_on_other_messages_are_not_recorded(harness: Harness) -> None:
    _, message = await finished_suggestion(harness)

    await harness.fake.dispatch_reaction_add(ALICE, harness.fake.new_id(), emoji="👍")
    await harness.fake.dispatch_reaction_add(ALICE, message.id, emoji="👎")

    [rating] = await wait_for_feedback(harness, 1)
    assert rating.emoji == "👎"


async def test_an_interrupted_answer_can_still_be_rated(harness: Harness) -> None:
    harness.ollama.fault = Fault(FaultKind.ERROR_LINE, after_tokens=5)
    interaction = await harness.slash("suggest", {"query": "heist films"})
    original = harness.fake.original(interaction.token)

    await harness.fake.dispatch_reaction_add(BOB, original.id, emoji="👎")

    [rating] = await wait_for_feedback(harness, 1)
    assert rating.member_id == str(BOB)
    assert original.reactions == set()  # no prompt on an answer that broke off


async def test_a_reaction_after_a_restart_is_recorded(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, settings: DiscordSettings
) -> None:
    async with running_bot(fake_discord, fake_ollama, settings) as before:
        _, message = await finished_suggestion(before)

    async with running_bot(fake_discord, fake_ollama, settings) as after:
        await fake_discord.dispatch_reaction_add(BOB, message.id, emoji="👍")
        [rating] = await wait_for_feedback(after, 1)

    assert rating.member_id == str(BOB)
    assert rating.message_id == message.id
    assert len(fake_discord.identify_payloads) == 2
