"""The library through Discord with the film catalogue: matching an import in the
background with its progress, the unmatched listed, a chosen title's facts and links."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.discord_bot.exts.library import SAVE_CUSTOM_ID
from tests.discord_bot.conftest import ALICE, Harness, grounded_settings, running_bot
from tests.discord_bot.exts.test_library import choose, choose_title, import_file
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.exports import letterboxd_row, letterboxd_zip
from tests.fakes.ollama_server import FakeOllama
from tests.fakes.wikidata_server import FakeWikidata


@pytest.fixture
async def harness(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, fake_wikidata: FakeWikidata, tmp_path: Path
) -> AsyncIterator[Harness]:
    settings = grounded_settings(fake_ollama, fake_discord, fake_wikidata, tmp_path / "data")
    async with running_bot(fake_discord, fake_ollama, settings) as running:
        yield running


def history_zip() -> bytes:
    return letterboxd_zip(
        {
            "ratings.csv": [letterboxd_row("Arrival", 2016, 5), letterboxd_row("Moon", 2009, 1)],
            "watched.csv": [letterboxd_row("Dark", 2017)],
            "watchlist.csv": [letterboxd_row("Stalker", 1979)],  # not in the fake catalogue
        }
    )


async def test_an_import_is_matched_in_the_background_with_its_progress_shown(
    harness: Harness, fake_wikidata: FakeWikidata
) -> None:
    fake_wikidata.latency = 0.25  # each title takes two requests: about two seconds in all

    interaction = await import_file(harness, "letterboxd.zip", history_zip())
    [answer] = harness.fake.replies(interaction.token)
    assert "Imported 4 films from Letterboxd" in answer.content
    assert "Matching titles to the film catalogue: 0 of 4…" in answer.content

    await harness.fake.wait_for(lambda: "not matched" in answer.content, timeout=15)

    shown = [write.json.get("content", "") for write in harness.fake.message_writes(answer.id)]
    assert any(
        f"Matching titles to the film catalogue: {n} of 4…" in text
        for text in shown
        for n in (1, 2, 3)
    ), shown
    assert "Matched 3 of 4 titles to the film catalogue; 1 not matched" in answer.content
    [listing] = answer.attachments
    assert "Stalker (1979)" in listing.text
    assert "Arrival" not in listing.text


async def test_a_chosen_watchlist_title_shows_the_catalogues_facts_and_links(
    harness: Harness,
) -> None:
    save = SAVE_CUSTOM_ID.format(suggestion_id=1)
    asked = await harness.slash("suggest", {"query": "space", "count": 2})
    reply = await harness.fake.wait_for(
        lambda: (
            (original := harness.fake.original(asked.token))
            and original.select_menu(save)
            and original
        )
    )
    await choose(harness, reply, save, "1")  # Arrival
    listing = await harness.slash("watchlist", user=ALICE)
    [message] = harness.fake.replies(listing.token)

    await choose_title(harness, message, "Arrival")

    assert "directed by Mara Quill" in message.content
    assert "[IMDb](<https://www.imdb.com/title/tt9000001/>)" in message.content
    assert "A linguist" in message.content  # the pick's own description, kept when saved
