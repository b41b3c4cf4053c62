"""/suggest with the film catalogue: facts and links in the reply, a spare in place of an
invented pick, a corrected year, "not checked" when the catalogue is down."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.pipeline.catalogue import user_agent
from bot.pipeline.domain import Rating
from tests.discord_bot.conftest import (
    ALICE,
    Harness,
    grounded_settings,
    make_settings,
    open_records,
    running_bot,
)
from tests.fakes.discord_server import FakeDiscord
from tests.fakes.ollama_server import DEFAULT_PICKS, MORE_PICKS, FakeOllama
from tests.fakes.wikidata_server import FakeWikidata, Fault, FaultKind, unused_port

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


async def answer(harness: Harness, count: int = 4) -> str:
    interaction = await harness.slash("suggest", {"query": "sci-fi", "count": count}, user=ALICE)
    return harness.answer_of(interaction)


def cards(harness: Harness) -> list[dict[str, Any]]:
    """The embeds of every message the bot wrote."""
    return [embed for message in harness.fake.messages.values() for embed in message.embeds]


async def test_a_real_pick_shows_its_facts_and_a_card_with_its_links(harness: Harness) -> None:
    text = await answer(harness, count=2)

    assert "film · 116 min · science fiction, drama · directed by Mara Quill" in text
    assert "[Film data: Wikidata, CC0](<https://www.wikidata.org/>)" in text
    assert "checking" not in text
    arrival, leftovers = cards(harness)
    assert arrival["title"] == "1. Arrival (2016)"
    assert arrival["url"] == "https://en.wikipedia.org/wiki/Arrival_(film)"
    assert "[IMDb](https://www.imdb.com/title/tt9000001/)" in arrival["description"]
    assert (
        "[Where to watch](https://www.justwatch.com/us/search?q=Arrival)"
        in (arrival["description"])
    )
    assert leftovers["title"] == "2. The Leftovers (2014)"
    assert leftovers["footer"]["text"] == "Film data: Wikidata, CC0"


async def test_the_cards_message_rates_like_the_reply(harness: Harness) -> None:
    await answer(harness, count=2)
    (message,) = [m for m in harness.fake.messages.values() if m.embeds]

    async with open_records(harness.settings) as records:
        linked = await records.suggestions.suggestion_for_message(message.id)

    assert linked == 1


async def test_an_invented_pick_is_replaced_by_a_spare_that_takes_its_number(
    harness: Harness,
) -> None:
    harness.ollama.picks = [INVENTED, *DEFAULT_PICKS[1:], *MORE_PICKS]

    text = await answer(harness)

    assert "Zorblax" not in text
    assert "**1. Annihilation**" in text
    assert "**2. The Leftovers**" in text


async def test_a_wrong_year_is_corrected(harness: Harness) -> None:
    harness.ollama.picks = [{**DEFAULT_PICKS[0], "year": 2017}, *DEFAULT_PICKS[1:]]

    text = await answer(harness, count=1)

    assert "**1. Arrival** (2016 · movie)" in text


async def test_a_catalogue_that_is_down_shows_not_checked(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    settings = make_settings(
        fake_ollama,
        fake_discord,
        tmp_path / "data",
        catalogue="wikidata",
        wikidata_api_url=f"http://127.0.0.1:{unused_port()}/w/api.php",
        catalogue_deadline=1.0,
    )
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        text = await answer(harness, count=2)

    assert "**1. Arrival** (2016 · movie) · *not checked*" in text
    assert "2 picks could not be checked against the film catalogue" in text
    assert "⚠️" not in text  # a catalogue down is never an error


async def test_a_second_suggestion_with_the_same_titles_asks_the_catalogue_nothing(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, fake_wikidata: FakeWikidata, tmp_path: Path
) -> None:
    settings = grounded_settings(
        fake_ollama,
        fake_discord,
        fake_wikidata,
        tmp_path / "data",
        no_repeat_window=0,  # the same titles again
    )
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        await answer(harness, count=2)
        asked = len(fake_wikidata.requests)
        text = await answer(harness, count=2)

    assert asked > 0
    assert len(fake_wikidata.requests) == asked
    assert "directed by Mara Quill" in text


async def test_a_slow_catalogue_does_not_delay_the_first_answer_text(
    harness: Harness, fake_wikidata: FakeWikidata
) -> None:
    fake_wikidata.latency = 2.0
    interaction = await harness.fake.dispatch_slash("suggest", {"query": "sci-fi"}, user_id=ALICE)
    original = await harness.fake.wait_for(lambda: harness.fake.original(interaction.token))

    await harness.fake.wait_for(lambda: "**1. Arrival**" in original.content, timeout=1.5)

    assert all(request.answered_at is None for request in fake_wikidata.requests)
    assert "*checking…*" in original.content
    await harness.until_done(interaction)


@pytest.mark.parametrize("kind", [FaultKind.RATE_LIMITED, FaultKind.UNAVAILABLE, FaultKind.MAXLAG])
async def test_a_busy_catalogue_is_asked_again_after_retry_after(
    harness: Harness, fake_wikidata: FakeWikidata, kind: FaultKind
) -> None:
    fake_wikidata.fault = Fault(kind, times=1, retry_after=0.3)

    text = await answer(harness, count=2)

    refused, *later = fake_wikidata.requests
    assert refused.answered_at is not None
    assert all(request.at - refused.answered_at >= 0.29 for request in later)
    assert "not checked" not in text
    assert "directed by Mara Quill" in text


async def test_one_request_at_a_time_each_with_user_agent_and_maxlag(
    harness: Harness, fake_wikidata: FakeWikidata
) -> None:
    fake_wikidata.latency = 0.02

    await answer(harness)

    assert fake_wikidata.max_in_flight == 1
    assert {request.user_agent for request in fake_wikidata.requests} == {
        user_agent("owner@example.org")
    }
    assert {request.params["maxlag"] for request in fake_wikidata.requests} == {"5"}


async def test_a_variant_title_of_a_disliked_film_never_stays(harness: Harness) -> None:
    await answer(harness, count=1)
    await harness.pipeline.rate(str(ALICE), 1, Rating.NOT_FOR_ME, position=1)
    harness.ollama.picks = [{**DEFAULT_PICKS[0], "title": "Arrival: First Contact"}, *MORE_PICKS]

    text = await answer(harness, count=1)

    assert "Arrival" not in text.split("Rate every pick")[0].split("\n", 1)[1]
    assert "**1. Annihilation**" in text
