"""The library through Discord: saving from a reply, /watchlist, /import, and what it teaches."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.discord_bot.exts.library import SAVE_CUSTOM_ID
from bot.discord_bot.reactions import RATING_EMOJIS
from bot.settings import DiscordSettings
from tests.discord_bot.conftest import ALICE, BOB, Harness, make_settings, running_bot
from tests.fakes.discord_server import FakeDiscord, FakeInteraction, FakeMessage
from tests.fakes.exports import (
    imdb_csv,
    imdb_row,
    letterboxd_csv,
    letterboxd_row,
    letterboxd_zip,
)
from tests.fakes.ollama_server import DEFAULT_PICKS, MORE_PICKS, FakeOllama


async def suggest(
    harness: Harness, user: int = ALICE, count: int = 4
) -> tuple[FakeInteraction, FakeMessage]:
    """A finished /suggest; returns its first message, where the save select sits."""
    interaction = await harness.slash("suggest", {"query": "space", "count": count}, user=user)
    await harness.fake.wait_for(
        lambda: len(harness.fake.replies(interaction.token)[-1].reactions) == len(RATING_EMOJIS)
    )
    original = harness.fake.original(interaction.token)
    assert original is not None
    return interaction, original


async def choose(
    harness: Harness, message: FakeMessage, custom_id: str, value: str, user: int = ALICE
) -> str:
    """Pick `value` from a select as `user`; the private answer's text."""
    chosen = await harness.fake.dispatch_select(message.id, custom_id, [value], user_id=user)
    answer = await harness.fake.wait_for(lambda: harness.fake.original(chosen.token))
    return answer.content


async def press(harness: Harness, message: FakeMessage, label: str) -> FakeMessage:
    """Press the button labelled `label` on an ephemeral message; it is updated in place."""
    [custom_id] = [
        component["custom_id"]
        for row in message.components
        for component in row["components"]
        if component.get("label") == label
    ]
    before = len(message.edited_at)
    await harness.fake.dispatch_component(custom_id, message.id, user_id=ALICE)
    await harness.fake.wait_for(lambda: len(message.edited_at) > before)
    return message


async def choose_title(harness: Harness, message: FakeMessage, title: str) -> None:
    """Choose a title from the /watchlist message's select; wait for the message to update."""
    [(custom_id, menu)] = [
        (custom_id, menu)
        for custom_id in message.custom_ids
        if (menu := message.select_menu(custom_id)) is not None
    ]
    [value] = [option["value"] for option in menu["options"] if title in option["label"]]
    edits = len(message.edited_at)
    await harness.fake.dispatch_select(message.id, custom_id, [value], user_id=ALICE)
    await harness.fake.wait_for(lambda: len(message.edited_at) > edits)


async def import_file(
    harness: Harness, name: str, data: bytes, user: int = ALICE
) -> FakeInteraction:
    upload = harness.fake.upload(name, data)
    return await harness.slash("import", {"file": upload}, user=user)


def history_zip() -> bytes:
    return letterboxd_zip(
        {
            "ratings.csv": [letterboxd_row("Arrival", 2016, 5), letterboxd_row("Moon", 2009, 1)],
            "watched.csv": [letterboxd_row("Dark", 2017)],
            "watchlist.csv": [letterboxd_row("Stalker", 1979)],
        }
    )


# -- saving from a reply -------------------------------------------------------------------


async def test_the_asker_and_another_member_save_a_pick_each_to_their_own_list(
    harness: Harness,
) -> None:
    _, reply = await suggest(harness)
    save = SAVE_CUSTOM_ID.format(suggestion_id=1)
    menu = reply.select_menu(save)
    assert menu is not None
    assert [option["label"] for option in menu["options"]][:2] == [
        "1. Arrival (2016)",
        "2. The Leftovers (2014)",
    ]

    assert "Saved **The Leftovers (2014)** to your watchlist" in await choose(
        harness, reply, save, "2"
    )
    assert "Saved **Moon (2009)**" in await choose(harness, reply, save, "3", user=BOB)
    assert "already on your watchlist" in await choose(harness, reply, save, "2")

    alices = await harness.pipeline.library.watchlist_page(str(ALICE))
    bobs = await harness.pipeline.library.watchlist_page(str(BOB))
    assert [entry.title for entry in alices.entries] == ["The Leftovers"]
    assert [entry.title for entry in bobs.entries] == ["Moon"]


async def test_the_save_select_works_after_a_restart(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, settings: DiscordSettings
) -> None:
    async with running_bot(fake_discord, fake_ollama, settings) as first:
        _, reply = await suggest(first)
    async with running_bot(fake_discord, fake_ollama, settings) as second:
        text = await choose(second, reply, SAVE_CUSTOM_ID.format(suggestion_id=1), "1", user=BOB)
        assert "Saved **Arrival (2016)**" in text


async def test_a_watchlisted_title_is_left_out_of_new_picks(harness: Harness) -> None:
    _, reply = await suggest(harness, count=2)
    await choose(harness, reply, SAVE_CUSTOM_ID.format(suggestion_id=1), "1", user=BOB)
    harness.ollama.picks = [*DEFAULT_PICKS, *MORE_PICKS]

    interaction, _ = await suggest(harness, user=BOB, count=2)

    answer = harness.answer_of(interaction)
    assert "Arrival" not in answer
    assert "**1. The Leftovers**" in answer and "**2. Moon**" in answer


# -- /watchlist ----------------------------------------------------------------------------


async def test_watchlist_lists_privately_then_removes_and_marks_watched(harness: Harness) -> None:
    _, reply = await suggest(harness)
    save = SAVE_CUSTOM_ID.format(suggestion_id=1)
    for value in ("1", "2", "3"):
        await choose(harness, reply, save, value)

    listing = await harness.slash("watchlist")
    [message] = harness.fake.replies(listing.token)
    assert message.is_ephemeral
    assert "Your watchlist: 3 titles" in message.content
    assert "Moon" in message.content and "Arrival" in message.content

    await choose_title(harness, message, "Moon")
    await press(harness, message, "Remove")
    assert "Took **Moon (2009)** off your watchlist." in message.content
    assert "Your watchlist: 2 titles" in message.content

    await choose_title(harness, message, "Arrival")
    await press(harness, message, "Mark watched…")
    assert "How was **Arrival (2016)**?" in message.content
    await press(harness, message, "Liked it")
    assert "Marked **Arrival (2016)** watched: 👍 liked." in message.content
    assert "Your watchlist: 1 title" in message.content


async def test_an_empty_watchlist_says_how_to_fill_it(harness: Harness) -> None:
    listing = await harness.slash("watchlist", user=BOB)
    assert "Your watchlist is empty" in harness.private_reply(listing)


# -- /import -------------------------------------------------------------------------------


async def test_a_letterboxd_zip_is_imported_privately_and_a_second_time_changes_nothing(
    harness: Harness,
) -> None:
    first = await import_file(harness, "letterboxd-alice.zip", history_zip())

    text = harness.private_reply(first)
    assert "Imported 4 films from Letterboxd: 1 liked, 1 not for me, 1 seen" in text
    assert "1 to your watchlist" in text
    assert harness.fake.downloads  # the bot fetched the attachment

    second = await import_file(harness, "letterboxd-alice.zip", history_zip())
    assert "Nothing changed" in harness.private_reply(second)


async def test_the_next_picks_after_an_import_leave_out_what_was_seen(harness: Harness) -> None:
    await import_file(harness, "letterboxd-alice.zip", history_zip())
    harness.ollama.picks = [*DEFAULT_PICKS, *MORE_PICKS]

    interaction, _ = await suggest(harness, count=2)

    answer = harness.answer_of(interaction)
    assert "**1. The Leftovers**" in answer and "**2. Annihilation**" in answer
    assert "Arrival" not in answer and "Dark" not in answer
    prompt = harness.ollama.chat_requests[-1].body["messages"][-1]["content"]
    assert '- "Arrival (2016)"' in prompt  # liked: an example


async def test_broken_rows_are_listed_in_an_attached_file(harness: Harness) -> None:
    rows = [letterboxd_row("Alien", 1979, 4), ("2024-01-01", "", 1980, "x", 4)]
    interaction = await import_file(harness, "ratings.csv", letterboxd_csv("ratings.csv", rows))

    [answer] = harness.fake.replies(interaction.token)
    assert "Skipped 1 broken row: ratings.csv line 3 has no title." in answer.content
    [attached] = answer.attachments
    assert attached.filename == "not-imported.txt"
    assert "ratings.csv line 3 has no title" in attached.text


async def test_an_attachment_over_the_limit_is_refused_before_it_is_downloaded(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    settings = make_settings(fake_ollama, fake_discord, tmp_path / "data", import_max_bytes=1024)
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        interaction = await import_file(harness, "big.zip", b"PK\x03\x04" + b"0" * 2000)
        assert "an import can be at most" in harness.private_reply(interaction)
        assert fake_discord.downloads == []


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("poster.png", b"\x89PNG\r\n\x1a\n\x00\x00", "is not a CSV or ZIP file"),
        ("bank.csv", b"Account,Amount\n1,2\n", "is not a Letterboxd or IMDb export"),
        ("ratings.csv", b"Date,Name,Letterboxd URI\n2024,Alien,x\n", "missing the columns"),
        ("empty.zip", letterboxd_zip({}), "holds none of the files an export has"),
    ],
)
async def test_a_file_that_is_not_an_export_is_refused_in_one_line(
    harness: Harness, name: str, data: bytes, expected: str
) -> None:
    interaction = await import_file(harness, name, data)
    text = harness.private_reply(interaction)
    assert expected in text
    assert "\n" not in text.strip()
    assert (await harness.pipeline.library.watchlist_page(str(ALICE))).total == 0


async def test_an_imdb_csv_is_imported_with_its_counts(harness: Harness) -> None:
    rows = [
        imdb_row("tt0000001", "Heat", 1995, 9),
        imdb_row("tt0000002", "Cats", 2019, 2),
        imdb_row("tt0000003", "Pilot", 2017, 8, title_type="TV Episode"),
    ]
    interaction = await import_file(harness, "ratings.csv", imdb_csv(rows))
    text = harness.private_reply(interaction)
    assert "Imported 2 films from IMDb: 1 liked, 1 not for me, 0 seen" in text
    assert "Skipped 1 title that is not a film or series" in text


async def test_import_without_a_file_explains_how_to_export(harness: Harness) -> None:
    interaction = await harness.slash("import")
    assert "Letterboxd: Settings → Data" in harness.private_reply(interaction)


async def test_erasing_imports_keeps_picks_saved_in_the_bot(harness: Harness) -> None:
    await import_file(harness, "letterboxd-alice.zip", history_zip())
    _, reply = await suggest(harness, count=2)
    await choose(harness, reply, SAVE_CUSTOM_ID.format(suggestion_id=1), "1")

    erase = await harness.slash("import", {"erase": True})

    assert "Erased 4 imported titles" in harness.private_reply(erase)
    page = await harness.pipeline.library.watchlist_page(str(ALICE))
    assert [entry.title for entry in page.entries] == ["The Leftovers"]


async def test_the_watchlist_turns_its_pages(harness: Harness) -> None:
    rows = [letterboxd_row(f"Film {n}", 2000 + n) for n in range(12)]
    await import_file(harness, "watchlist.csv", letterboxd_csv("watchlist.csv", rows))

    listing = await harness.slash("watchlist")
    [message] = harness.fake.replies(listing.token)
    assert "Your watchlist: 12 titles** (page 1 of 2)" in message.content
    await press(harness, message, "Next ▶")

    assert "(page 2 of 2)" in message.content
    assert message.content.count("`#") == 2


async def test_forgetting_all_with_the_history_erases_the_library_too(harness: Harness) -> None:
    await harness.pipeline.prefer(str(ALICE), "space opera")
    await import_file(harness, "letterboxd-alice.zip", history_zip())

    interaction = await harness.slash("forget", {"taste": "all"})
    question = harness.fake.original(interaction.token)
    assert question is not None
    yes, _cancel = question.custom_ids
    await harness.press(yes, question)
    await harness.fake.wait_for(lambda: "your library of 4 titles" in question.content)
    erase, _keep = question.custom_ids
    await harness.press(erase, question)
    await harness.fake.wait_for(lambda: "and your library of 4 titles." in question.content)

    assert await harness.pipeline.library.count_titles(str(ALICE)) == 0
