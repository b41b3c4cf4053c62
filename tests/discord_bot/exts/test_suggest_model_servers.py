"""/suggest through an OpenAI-compatible model server, and over several model hosts:
the same replies and the same words for every fault as with Ollama."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.discord_bot.streaming import STILL_WRITING_MARK
from bot.settings import DiscordSettings
from tests.discord_bot.conftest import (
    ALICE,
    ALL_PICKS,
    Harness,
    is_written,
    make_settings,
    running_bot,
)
from tests.fakes.discord_server import FakeDiscord, FakeInteraction
from tests.fakes.ollama_server import DEFAULT_ANSWER, FakeOllama, unused_port
from tests.fakes.openai_server import FakeOpenAI, Fault, FaultKind, FormatSupport, Quirks

MARK = STILL_WRITING_MARK.strip()
KEY = "sk-test-key"
MEMBERS = (ALICE, 222_222_222_222_222_222, 333_333_333_333_333_333, 444_444_444_444_444_444)


@pytest.fixture
async def fake_openai() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(embed_dim=32, api_key=KEY) as fake:
        yield fake


def openai_settings(
    fake_ollama: FakeOllama,
    fake_discord: FakeDiscord,
    data_dir: Path,
    *urls: str,
    **overrides: Any,
) -> DiscordSettings:
    values: dict[str, Any] = {
        "llm_provider": "openai",
        "llm_urls": ",".join(urls),
        "llm_api_key": KEY,
        "model_connect_timeout": 0.5,
        # The fakes answer every request with the same picks: none left out as repeats.
        "no_repeat_window": 0,
        **overrides,
    }
    return make_settings(fake_ollama, fake_discord, data_dir, **values)


@pytest.fixture
async def harness(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, tmp_path: Path
) -> AsyncIterator[Harness]:
    settings = openai_settings(fake_ollama, fake_discord, tmp_path / "data", fake_openai.url)
    async with running_bot(fake_discord, fake_ollama, settings) as running:
        yield running


async def suggest(harness: Harness, query: str = "space adventures", user: int = ALICE) -> str:
    interaction = await harness.slash("suggest", {"query": query}, user=user)
    original = harness.fake.original(interaction.token)
    assert is_written(original)
    return harness.answer_of(interaction)


async def test_picks_stream_from_an_openai_compatible_server(
    harness: Harness, fake_openai: FakeOpenAI, fake_ollama: FakeOllama
) -> None:
    await harness.pipeline.prefer(str(ALICE), "space opera with big battles")

    answer = await suggest(harness, "space opera")

    assert ALL_PICKS in answer
    assert "Matched 1 of your tastes" in answer
    assert fake_openai.chat_requests[-1].body["response_format"]["type"] == "json_schema"
    assert {r.headers["authorization"] for r in fake_openai.requests} == {f"Bearer {KEY}"}
    embedded = {text for r in fake_openai.embed_requests for text in r.body["input"]}
    assert {"space opera with big battles", "space opera"} <= embedded
    assert fake_ollama.requests == []


async def test_awkward_server_sent_events_give_the_same_reply(
    harness: Harness, fake_openai: FakeOpenAI
) -> None:
    fake_openai.quirks = Quirks(comments=True, crlf=True, multiline_data=True, split_every=5)

    assert ALL_PICKS in await suggest(harness)


async def test_a_refused_format_falls_back_to_plain_text(
    harness: Harness, fake_openai: FakeOpenAI
) -> None:
    fake_openai.formats = FormatSupport.REJECT

    answer = await suggest(harness)

    assert DEFAULT_ANSWER.splitlines()[0] in answer
    asked = [(r.body.get("response_format") or {}).get("type") for r in fake_openai.chat_requests]
    assert asked == ["json_schema", "json_object", None]


async def test_a_server_that_takes_only_json_object_still_gives_picks(
    harness: Harness, fake_openai: FakeOpenAI
) -> None:
    fake_openai.formats = FormatSupport.LLAMA_CPP_PYTHON

    assert ALL_PICKS in await suggest(harness)
    assert ALL_PICKS in await suggest(harness, "heists")
    assert len(fake_openai.chat_requests) == 3  # the second asked with json_object at once


@pytest.mark.parametrize(
    ("arrange", "words"),
    [
        (lambda fake: setattr(fake, "api_key", "sk-other"), "refused"),
        (lambda fake: fake.models.discard("llama3.1:8b"), "isn't installed"),
        (lambda fake: setattr(fake, "fault", Fault(FaultKind.HTTP_ERROR, status=429)), "error"),
        (lambda fake: setattr(fake, "fault", Fault(FaultKind.HTTP_ERROR, status=503)), "error"),
    ],
    ids=["401", "404", "429", "503"],
)
async def test_each_refusal_before_any_text_is_explained(
    harness: Harness, fake_openai: FakeOpenAI, arrange: Any, words: str
) -> None:
    await harness.pipeline.prefer(str(ALICE), "space opera")
    arrange(fake_openai)

    answer = await suggest(harness)

    assert words in answer
    assert "Arrival" not in answer


async def test_an_error_event_mid_stream_keeps_the_partial_text(
    harness: Harness, fake_openai: FakeOpenAI
) -> None:
    fake_openai.fault = Fault(FaultKind.ERROR_EVENT, after_tokens=20)

    answer = await suggest(harness)

    assert "Arrival" in answer
    assert "ran into an error" in answer
    assert MARK not in answer


async def test_a_stall_mid_stream_is_explained(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    settings = openai_settings(
        fake_ollama, fake_discord, tmp_path / "data", fake_openai.url, model_idle_timeout=0.3
    )
    fake_openai.fault = Fault(FaultKind.STALL, after_tokens=20)
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        answer = await suggest(harness)

    assert "stopped answering" in answer
    assert "Arrival" in answer


async def test_an_unreachable_server_is_explained(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{unused_port()}/v1"
    settings = openai_settings(fake_ollama, fake_discord, tmp_path / "data", dead)
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        answer = await suggest(harness)

    assert "can't reach the AI model" in answer


# -- several hosts ---------------------------------------------------------------------------


async def test_with_the_first_host_refusing_every_suggestion_completes_from_the_second(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    dead = f"http://127.0.0.1:{unused_port()}/v1"
    settings = openai_settings(fake_ollama, fake_discord, tmp_path / "data", dead, fake_openai.url)
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        await harness.pipeline.prefer(str(ALICE), "space opera")
        answers = [await suggest(harness, query) for query in ("space", "heists", "noir")]

    for answer in answers:
        assert ALL_PICKS in answer
        assert answer.count("Arrival") == ALL_PICKS.count("Arrival")  # nothing twice
        assert "error" not in answer and "reach" not in answer
    assert len(fake_openai.chat_requests) == 3


async def test_four_suggestions_over_two_hosts_run_two_on_each(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    async with FakeOpenAI(api_key=KEY) as first, FakeOpenAI(api_key=KEY) as second:
        for fake in (first, second):
            fake.tokens_per_second = 40
        settings = openai_settings(
            fake_ollama,
            fake_discord,
            tmp_path / "data",
            first.url,
            second.url,
            llm_parallel=2,
            max_concurrent_generations=4,
        )
        async with running_bot(fake_discord, fake_ollama, settings) as harness:
            started: list[FakeInteraction] = [
                await fake_discord.dispatch_slash("suggest", {"query": "space"}, user_id=member)
                for member in MEMBERS
            ]
            await first.wait_for(lambda: first.active_streams == 2, timeout=10)
            await second.wait_for(lambda: second.active_streams == 2, timeout=10)
            for fake in (first, second):
                fake.tokens_per_second = None
            await asyncio.gather(*(harness.until_done(i, timeout=30) for i in started))

            for interaction in started:
                assert ALL_PICKS in harness.answer_of(interaction)
        assert [fake.most_active_streams for fake in (first, second)] == [2, 2]


async def test_beyond_the_hosts_places_a_suggestion_waits_with_its_place_shown(
    fake_discord: FakeDiscord, fake_ollama: FakeOllama, fake_openai: FakeOpenAI, tmp_path: Path
) -> None:
    settings = openai_settings(
        fake_ollama,
        fake_discord,
        tmp_path / "data",
        fake_openai.url,
        llm_parallel=1,
        max_concurrent_generations=2,
    )
    fake_openai.tokens_per_second = 40
    async with running_bot(fake_discord, fake_ollama, settings) as harness:
        first = await fake_discord.dispatch_slash("suggest", {"query": "space"}, user_id=ALICE)
        await fake_openai.wait_for(lambda: fake_openai.active_streams == 1)
        second = await fake_discord.dispatch_slash(
            "suggest", {"query": "heists"}, user_id=MEMBERS[1]
        )
        await fake_discord.wait_for(
            lambda: "Waiting for a free slot" in harness.answer_of(second), timeout=10
        )
        assert fake_openai.streams_started == 1

        fake_openai.tokens_per_second = None
        await harness.until_done(first)
        await harness.until_done(second)
        assert ALL_PICKS in harness.answer_of(second)
        assert fake_openai.most_active_streams == 1
