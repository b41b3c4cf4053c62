"""/prefer, /tastes and /forget, end to end; a member only ever sees their own tastes."""

from __future__ import annotations

import sys

import pytest

from bot.presentation import NOT_SEARCHABLE_YET
from tests.discord_bot.conftest import ALICE, BOB, Harness, open_records
from tests.fakes.discord_server import CALLBACK_AUTOCOMPLETE_RESULT


async def prefer(harness: Harness, text: str, user: int = ALICE) -> int:
    """Store a taste through the bot; return its id."""
    await harness.slash("prefer", {"text": text}, user=user)
    [taste] = [t for t in await harness.pipeline.tastes(str(user)) if t.text == text]
    return taste.id


async def test_prefer_stores_the_taste_and_echoes_it_privately(harness: Harness) -> None:
    interaction = await harness.slash("prefer", {"text": "slow-burn sci-fi"})

    [taste] = await harness.pipeline.tastes(str(ALICE))
    assert taste.text == "slow-burn sci-fi"
    reply = harness.private_reply(interaction)
    assert "slow-burn sci-fi" in reply
    assert f"#{taste.id}" in reply


async def test_prefer_with_empty_text_gets_a_clear_private_answer(harness: Harness) -> None:
    interaction = await harness.slash("prefer", {"text": "   "})

    assert "empty" in harness.private_reply(interaction).lower()
    assert await harness.pipeline.tastes(str(ALICE)) == []


async def test_prefer_with_too_long_text_gets_a_clear_private_answer(harness: Harness) -> None:
    interaction = await harness.slash("prefer", {"text": "x" * 301})

    reply = harness.private_reply(interaction)
    assert "300" in reply
    assert await harness.pipeline.tastes(str(ALICE)) == []


async def test_tastes_lists_the_members_tastes_numbered_and_privately(harness: Harness) -> None:
    first = await prefer(harness, "heist movies")
    second = await prefer(harness, "Studio Ghibli")

    reply = harness.private_reply(await harness.slash("tastes"))

    assert f"`#{first}` heist movies" in reply
    assert f"`#{second}` Studio Ghibli" in reply
    assert reply.index("heist movies") < reply.index("Studio Ghibli")


async def test_tastes_marks_a_taste_whose_vector_is_not_written_yet(harness: Harness) -> None:
    stored = await prefer(harness, "heist movies")
    # As a crash between the two stores leaves it: the row, no vector yet.
    async with open_records(harness.settings) as records:
        pending = await records.tastes.add_taste(str(ALICE), "film noir", limit=10)

    reply = harness.private_reply(await harness.slash("tastes"))

    assert f"`#{stored}` heist movies\n" in reply
    assert f"`#{pending.id}` film noir *{NOT_SEARCHABLE_YET}*" in reply


async def test_tastes_without_any_says_how_to_add_one(harness: Harness) -> None:
    reply = harness.private_reply(await harness.slash("tastes"))
    assert "/prefer" in reply


async def test_a_long_list_of_tastes_is_split_into_messages(harness: Harness) -> None:
    texts = [f"taste number {n} " + "long words " * 25 for n in range(10)]
    for text in texts:
        await harness.pipeline.prefer(str(ALICE), text.strip())

    interaction = await harness.slash("tastes")

    messages = harness.fake.replies(interaction.token)
    assert len(messages) >= 2
    assert all(len(message.content) <= 2000 for message in messages)
    assert all(message.is_ephemeral for message in messages)
    assert all(f"taste number {n} " in harness.private_reply(interaction) for n in range(10))


async def test_tastes_never_shows_another_members_tastes(harness: Harness) -> None:
    await prefer(harness, "Alice likes noir", user=ALICE)
    await prefer(harness, "Bob likes musicals", user=BOB)

    bobs_view = harness.private_reply(await harness.slash("tastes", user=BOB))

    assert "musicals" in bobs_view
    assert "noir" not in bobs_view


async def test_forget_autocomplete_offers_only_the_members_own_tastes(harness: Harness) -> None:
    mine = await prefer(harness, "westerns", user=ALICE)
    await prefer(harness, "Bob's secret taste", user=BOB)

    interaction = await harness.fake.dispatch_autocomplete(
        "forget", {"taste": ""}, focused="taste", user_id=ALICE
    )
    choices = await harness.fake.wait_for(lambda: interaction.autocomplete_choices)

    assert interaction.callback_type == CALLBACK_AUTOCOMPLETE_RESULT
    assert {"name": f"#{mine} westerns", "value": str(mine)} in choices
    assert not any("Bob" in choice["name"] for choice in choices)
    assert choices[-1]["value"] == "all"


async def test_forget_autocomplete_filters_by_what_was_typed(harness: Harness) -> None:
    await prefer(harness, "westerns")
    await prefer(harness, "anime")

    interaction = await harness.fake.dispatch_autocomplete(
        "forget", {"taste": "wes"}, focused="taste", user_id=ALICE
    )
    choices = await harness.fake.wait_for(lambda: interaction.autocomplete_choices)

    assert [choice["name"].split(" ", 1)[1] for choice in choices] == ["westerns"]


async def test_forget_removes_the_chosen_taste(harness: Harness) -> None:
    kept = await prefer(harness, "heists")
    gone = await prefer(harness, "zombies")

    interaction = await harness.slash("forget", {"taste": str(gone)})

    assert "zombies" in harness.private_reply(interaction)
    assert [taste.id for taste in await harness.pipeline.tastes(str(ALICE))] == [kept]


async def test_forget_cannot_remove_another_members_taste(harness: Harness) -> None:
    alices = await prefer(harness, "Alice's taste", user=ALICE)

    interaction = await harness.slash("forget", {"taste": str(alices)}, user=BOB)

    assert "no taste" in harness.private_reply(interaction).lower()
    assert [taste.id for taste in await harness.pipeline.tastes(str(ALICE))] == [alices]


async def test_forget_all_asks_first_and_removes_everything_on_yes(harness: Harness) -> None:
    await prefer(harness, "one")
    await prefer(harness, "two")
    await prefer(harness, "Bob's", user=BOB)

    interaction = await harness.slash("forget", {"taste": "all"})
    question = harness.fake.original(interaction.token)
    assert question.is_ephemeral
    assert "2" in question.content
    assert await harness.pipeline.tastes(str(ALICE)), "nothing may go before the answer"

    yes, _cancel = question.custom_ids
    await harness.press(yes, question)
    await harness.fake.wait_for(lambda: "Forgot all 2" in question.content)

    assert await harness.pipeline.tastes(str(ALICE)) == []
    assert len(await harness.pipeline.tastes(str(BOB))) == 1
    assert question.components == []


async def test_forget_all_cancelled_keeps_the_tastes(harness: Harness) -> None:
    await prefer(harness, "one")

    interaction = await harness.slash("forget", {"taste": "all"})
    question = harness.fake.original(interaction.token)
    _yes, cancel = question.custom_ids
    await harness.press(cancel, question)

    assert "Kept" in question.content
    assert len(await harness.pipeline.tastes(str(ALICE))) == 1


async def test_help_explains_how_to_start(harness: Harness) -> None:
    reply = harness.private_reply(await harness.slash("help"))
    assert "/prefer" in reply
    assert "/suggest" in reply


async def test_an_unanswered_forget_all_confirmation_loses_its_buttons(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    # load_extension made its own module object: patch the one the bot runs.
    loaded = sys.modules["bot.discord_bot.exts.tastes"]
    monkeypatch.setattr(loaded, "CONFIRM_TIMEOUT_SECONDS", 0.3)
    await harness.pipeline.prefer(str(ALICE), "slow cinema")

    interaction = await harness.slash("forget", {"taste": "all"})
    question = harness.fake.original(interaction.token)
    assert question.custom_ids  # Yes / Cancel

    await harness.fake.wait_for(lambda: question.custom_ids == [])
    assert question.content == loaded.EXPIRED_CONFIRMATION
    assert [taste.text for taste in await harness.pipeline.tastes(str(ALICE))] == ["slow cinema"]
