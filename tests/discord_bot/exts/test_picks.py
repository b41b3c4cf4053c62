"""Structured picks through Discord: progressive rendering, fallback, ratings, learning,
/rate, /history, and erasing history with the tastes."""

from __future__ import annotations

import asyncio
import sys

import pytest

from bot.discord_bot import layout as render
from bot.discord_bot.reactions import KEYCAPS, RATING_EMOJIS
from bot.pipeline.domain import Rating
from bot.pipeline.records import PickRecord
from tests.discord_bot.conftest import ALICE, BOB, Harness
from tests.fakes.discord_server import FakeInteraction, FakeMessage
from tests.fakes.ollama_server import DEFAULT_ANSWER, DEFAULT_PICKS, MORE_PICKS

REACTION = r"/channels/\d+/messages/\d+/reactions/.+/@me"
RECHECK_SECONDS = 0.02


async def suggest(
    harness: Harness, query: str = "space adventures", user: int = ALICE, count: int = 4
) -> tuple[FakeInteraction, FakeMessage]:
    """A finished /suggest with its rating prompt in place; returns its last message."""
    interaction = await harness.slash("suggest", {"query": query, "count": count}, user=user)
    await harness.fake.wait_for(
        lambda: len(harness.fake.replies(interaction.token)[-1].reactions) == len(RATING_EMOJIS)
    )
    return interaction, harness.fake.replies(interaction.token)[-1]


def every_version(harness: Harness, message: FakeMessage) -> list[str]:
    """Every content the message ever showed, in order."""
    return [
        request.json["content"]
        for request in harness.fake.message_writes(message.id)
        if request.json and "content" in request.json
    ]


async def ratings(harness: Harness, suggestion_id: int = 1) -> list[Rating | None]:
    return [pick.rating for pick in await harness.pipeline.picks(str(ALICE), suggestion_id)]


async def wait_for_ratings(
    harness: Harness,
    wanted: list[Rating | None],
    suggestion_id: int = 1,
    timeout: float = 5.0,  # noqa: ASYNC109
) -> list[PickRecord]:
    """Wait until the picks' ratings are `wanted`; reactions arrive over the gateway."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        picks = await harness.pipeline.picks(str(ALICE), suggestion_id)
        if [pick.rating for pick in picks] == wanted:
            return picks
        assert asyncio.get_running_loop().time() < deadline, [p.rating for p in picks]
        # The records are the bot's own state, with no request to wake us: re-check often.
        await asyncio.sleep(RECHECK_SECONDS)


# -- rendering -------------------------------------------------------------------------


async def test_picks_appear_title_first_and_grow_without_raw_json(harness: Harness) -> None:
    harness.ollama.tokens_per_second = 150

    interaction, _ = await suggest(harness)

    original = harness.fake.original(interaction.token)
    assert original is not None
    versions = every_version(harness, original)
    assert not any('"title"' in text or '{"picks"' in text for text in versions)
    with_title = [text for text in versions if "**1. Arrival**" in text]
    assert "linguist" not in with_title[0]  # the title showed before its description
    assert len({text for text in versions if "**1. Arrival**" in text}) > 2  # then grew
    final = original.content
    for pick in DEFAULT_PICKS:
        assert pick["description"] in final
    assert "**4. Dark** (2017 · show)" in final
    assert "*Confidence:* 90%" in final


async def test_an_answer_that_ignores_the_schema_shows_as_plain_text(harness: Harness) -> None:
    harness.ollama.ignore_format = True

    interaction, _ = await suggest(harness)

    content = harness.answer_of(interaction)
    assert DEFAULT_ANSWER.strip() in content
    assert render.RATE_PROMPT in content


# -- ratings by reaction -----------------------------------------------------------------


async def test_a_thumb_on_the_answer_rates_every_pick_and_removing_it_takes_it_back(
    harness: Harness,
) -> None:
    _, message = await suggest(harness)

    await harness.fake.dispatch_reaction_add(ALICE, message.id, emoji="👎")
    await wait_for_ratings(harness, [Rating.NOT_FOR_ME] * 4)
    await harness.fake.dispatch_reaction_remove(ALICE, message.id, emoji="👎")
    await wait_for_ratings(harness, [None] * 4)


async def test_a_number_reaction_likes_one_pick_and_removing_it_takes_it_back(
    harness: Harness,
) -> None:
    _, message = await suggest(harness)

    await harness.fake.dispatch_reaction_add(ALICE, message.id, emoji=KEYCAPS[1])
    await wait_for_ratings(harness, [None, Rating.LIKED, None, None])
    await harness.fake.dispatch_reaction_remove(ALICE, message.id, emoji=KEYCAPS[1])
    await wait_for_ratings(harness, [None] * 4)


async def test_only_the_askers_reactions_rate_the_picks(harness: Harness) -> None:
    _, message = await suggest(harness)

    await harness.fake.dispatch_reaction_add(BOB, message.id, emoji="👎")
    await harness.fake.dispatch_reaction_add(ALICE, message.id, emoji=KEYCAPS[0])

    # Alice's later reaction is handled after Bob's: Bob's changed nothing.
    await wait_for_ratings(harness, [Rating.LIKED, None, None, None])


async def test_a_reaction_added_while_the_answer_is_written_rates_it_at_the_end(
    harness: Harness,
) -> None:
    harness.ollama.tokens_per_second = 60  # about five seconds of answer
    interaction = await harness.fake.dispatch_slash(
        "suggest", {"query": "space adventures"}, user_id=ALICE
    )
    original = await harness.fake.wait_for(lambda: harness.fake.original(interaction.token))
    await harness.fake.wait_for(lambda: "**1. Arrival**" in original.content)

    await harness.fake.dispatch_reaction_add(ALICE, original.id, emoji="👍")
    await wait_for_reactions_logged(harness, 1)
    assert harness.ollama.streams_finished == 0  # it was logged while the answer streamed

    await harness.until_done(interaction)
    await wait_for_ratings(harness, [Rating.LIKED] * 4)


async def wait_for_reactions_logged(
    harness: Harness,
    count: int,
    timeout: float = 5.0,  # noqa: ASYNC109
) -> None:
    """Wait until the reaction log of suggestion #1 holds `count` entries."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(await harness.pipeline.reactions_of(str(ALICE), 1)) < count:
        assert asyncio.get_running_loop().time() < deadline, "the reaction was not logged"
        await asyncio.sleep(RECHECK_SECONDS)


# -- learning ----------------------------------------------------------------------------


async def test_the_next_prompt_holds_liked_avoided_and_suggested_titles(harness: Harness) -> None:
    _, message = await suggest(harness, count=3)
    await harness.fake.dispatch_reaction_add(ALICE, message.id, emoji=KEYCAPS[0])
    await wait_for_ratings(harness, [Rating.LIKED, None, None])
    await harness.slash("rate", {"pick": "1:2", "rating": "not_for_me"})
    await harness.slash("rate", {"pick": "1:3", "rating": "seen"})

    interaction, _ = await suggest(harness, "more like that")

    prompt = harness.ollama.chat_requests[-1].body["messages"][-1]["content"]
    assert '"Arrival (2016): A linguist' in prompt
    assert '- "The Leftovers (2014)"' in prompt.split("not for me")[1]
    assert '- "Moon (2009)"' in prompt.split("Do not suggest these again")[1]
    header = harness.fake.original(interaction.token).content
    assert "Learning from your ratings: 1 liked pick as examples, 2 titles kept out." in header


async def test_a_repeat_of_a_disliked_title_never_shows(harness: Harness) -> None:
    _, message = await suggest(harness, count=2)
    await harness.fake.dispatch_reaction_add(ALICE, message.id, emoji="👎")
    await wait_for_ratings(harness, [Rating.NOT_FOR_ME] * 2)
    harness.ollama.picks = [DEFAULT_PICKS[0], *MORE_PICKS]  # Arrival again, then new ones
    harness.ollama.tokens_per_second = 150

    interaction, _ = await suggest(harness, "again please", count=2)

    original = harness.fake.original(interaction.token)
    assert original is not None
    assert not any("Arrival" in text for text in every_version(harness, original))
    assert "**1. Annihilation**" in original.content
    assert "**2. Severance**" in original.content
    assert "Left out 1 pick you disliked" in original.content


async def test_a_repeat_of_a_recently_suggested_title_never_shows(harness: Harness) -> None:
    await suggest(harness, count=2)  # Arrival, The Leftovers
    harness.ollama.picks = [DEFAULT_PICKS[2], DEFAULT_PICKS[1], *MORE_PICKS]

    interaction, _ = await suggest(harness, "something else", count=2)

    original = harness.fake.original(interaction.token)
    assert original is not None
    assert not any("Leftovers" in text for text in every_version(harness, original))
    assert "**1. Moon**" in original.content
    assert "**2. Annihilation**" in original.content


# -- /rate and /history -----------------------------------------------------------------


async def test_rate_offers_the_members_own_picks_and_rates_one(harness: Harness) -> None:
    await suggest(harness, count=2)
    await suggest(harness, "bob's turn", user=BOB, count=2)

    typed = await harness.fake.dispatch_autocomplete("rate", {"pick": "leftov"}, "pick", ALICE)
    await harness.fake.wait_for(lambda: typed.autocomplete_choices is not None)
    assert typed.autocomplete_choices == [{"name": "#1 · 2. The Leftovers (2014)", "value": "1:2"}]

    reply = harness.private_reply(await harness.slash("rate", {"pick": "1:2", "rating": "seen"}))
    assert "2. The Leftovers (2014): 👁️ seen it" in reply
    assert await ratings(harness) == [None, Rating.SEEN]

    refused = await harness.slash("rate", {"pick": "2:1", "rating": "liked"})  # Bob's
    assert "no suggestion #2" in harness.private_reply(refused)


async def test_history_lists_the_members_picks_with_ratings_privately(harness: Harness) -> None:
    _, message = await suggest(harness, "heists", count=2)
    await harness.fake.dispatch_reaction_add(ALICE, message.id, emoji=KEYCAPS[0])
    await wait_for_ratings(harness, [Rating.LIKED, None])
    await suggest(harness, "bob's secret", user=BOB, count=2)

    reply = harness.private_reply(await harness.slash("history"))

    assert "`#1` “heists”" in reply
    assert "1. Arrival (2016): 👍 liked" in reply
    assert "2. The Leftovers (2014): not rated" in reply
    assert "bob's secret" not in reply


async def test_forgetting_all_tastes_offers_to_erase_history_too(harness: Harness) -> None:
    await harness.pipeline.prefer(str(ALICE), "space opera")
    await suggest(harness, count=2)

    interaction = await harness.slash("forget", {"taste": "all"})
    question = harness.fake.original(interaction.token)
    assert question is not None
    yes, _cancel = question.custom_ids
    await harness.press(yes, question)
    await harness.fake.wait_for(lambda: "Also erase your history" in question.content)
    erase, _keep = question.custom_ids
    await harness.press(erase, question)
    await harness.fake.wait_for(lambda: "Erased your history of 1" in question.content)

    assert await harness.pipeline.past_picks(str(ALICE)) == []
    assert question.components == []


async def test_help_says_how_ratings_shape_future_picks(harness: Harness) -> None:
    reply = harness.private_reply(await harness.slash("help"))
    assert "Your ratings shape your next picks" in reply
    assert "/rate" in reply and "/history" in reply


async def test_an_unanswered_history_question_loses_its_buttons_and_keeps_history(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # load_extension made its own module object: patch the one the bot runs.
    loaded = sys.modules["bot.discord_bot.exts.tastes"]
    await harness.pipeline.prefer(str(ALICE), "space opera")
    await suggest(harness, count=2)

    interaction = await harness.slash("forget", {"taste": "all"})
    question = harness.fake.original(interaction.token)
    assert question is not None
    yes, _cancel = question.custom_ids
    monkeypatch.setattr(loaded, "CONFIRM_TIMEOUT_SECONDS", 0.3)  # the history question's
    await harness.press(yes, question)
    await harness.fake.wait_for(lambda: "Also erase your history" in question.content)

    await harness.fake.wait_for(lambda: question.custom_ids == [])
    assert question.content == loaded.EXPIRED_HISTORY_CONFIRMATION
    assert len(await harness.pipeline.past_picks(str(ALICE))) == 2
