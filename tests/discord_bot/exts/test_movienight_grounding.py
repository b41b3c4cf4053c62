"""/movienight with the film catalogue: facts and cards like /suggest's, and the poll
holds only films the catalogue found (an invented pick never reaches the vote)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.discord_bot.conftest import (
    ALICE,
    BOB,
    Harness,
    grounded_settings,
    running_bot,
)
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.ollama_server import DEFAULT_PICKS, FakeOllama
from tests.fakes.wikidata_server import FakeWikidata

INVENTED = {**DEFAULT_PICKS[0], "title": "Zorblax Rising", "year": 2001}


@pytest.fixture
async def harness(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, fake_wikidata: FakeWikidata, tmp_path: Path
) -> AsyncIterator[Harness]:
    settings = grounded_settings(
        fake_ollama, fake_discord, fake_wikidata, tmp_path / "data", catalogue_deadline=1.0
    )
    async with running_bot(fake_discord, fake_ollama, settings) as running:
        yield running


async def test_a_grounded_night_shows_facts_and_cards_and_polls_found_films(
    harness: Harness, fake_ollama: FakeOllama
) -> None:
    await harness.pipeline.prefer(str(ALICE), "slow thoughtful sci-fi")
    await harness.pipeline.prefer(str(BOB), "heist movies with twists")
    fake_ollama.picks = [INVENTED, *DEFAULT_PICKS]

    interaction = await harness.slash("movienight", {"with": f"<@{BOB}>", "count": 3})

    await harness.fake.wait_for(lambda: "Vote in the poll" in harness.answer_of(interaction))
    text = harness.answer_of(interaction)
    assert "directed by Mara Quill" in text and "Film data: Wikidata, CC0" in text
    assert "Zorblax" not in text.split("\n\n")[-1]
    titles = [embed["title"] for m in harness.fake.messages.values() for embed in m.embeds]
    assert titles == ["1. Moon (2009)", "2. Arrival (2016)", "3. The Leftovers (2014)"]
    [poll] = harness.fake.polls()
    assert poll.poll is not None
    assert list(poll.poll.answer_texts.values()) == [
        "Moon (2009)",
        "Arrival (2016)",
        "The Leftovers (2014)",
    ]
