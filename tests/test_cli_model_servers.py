"""The terminal front end over an OpenAI-compatible model server and over several hosts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli import EXIT_OK
from bot.settings import Settings
from tests.cli.session import Session
from tests.fakes.ollama_server import DEFAULT_ANSWER, DEFAULT_PICKS, unused_port
from tests.fakes.openai_server import FakeOpenAI, Fault, FaultKind, FormatSupport, Quirks

KEY = "sk-cli-key"


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(embed_dim=32, api_key=KEY) as server:
        yield server


def session(tmp_path: Path, *urls: str, **overrides: object) -> Session:
    return Session(
        Settings(  # type: ignore[call-arg]
            llm_provider="openai",
            llm_urls=",".join(urls),
            llm_api_key=KEY,
            data_dir=tmp_path,
            min_taste_similarity=-1.0,
            model_connect_timeout=0.5,
            _env_file=None,
            **overrides,
        )
    )


async def test_suggest_shows_the_picks_from_an_openai_compatible_server(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    cli = session(tmp_path, fake.url)
    assert await cli("--member", "alice", "prefer", "slow sci-fi like Arrival") == EXIT_OK

    assert await cli("--member", "alice", "suggest", "thoughtful", "sci-fi", "-n", "3") == EXIT_OK

    assert "Matched 1 of your tastes" in cli.out
    assert f"1. {DEFAULT_PICKS[0]['title']} · 2016 · movie" in cli.out
    assert {r.headers["authorization"] for r in fake.requests} == {f"Bearer {KEY}"}


async def test_sse_quirks_and_the_format_fallback_through_the_terminal(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.quirks = Quirks(comments=True, crlf=True, split_every=3)
    fake.formats = FormatSupport.REJECT
    cli = session(tmp_path, fake.url)

    assert await cli("suggest", "noir") == EXIT_OK

    assert DEFAULT_ANSWER in cli.out
    asked = [(r.body.get("response_format") or {}).get("type") for r in fake.chat_requests]
    assert asked == ["json_schema", "json_object", None]


async def test_a_refused_key_names_the_setting_for_the_owner(
    fake: FakeOpenAI, tmp_path: Path
) -> None:
    fake.api_key = "sk-other"
    cli = session(tmp_path, fake.url)

    assert await cli("suggest", "noir") != EXIT_OK

    assert "LLM_API_KEY" in cli.err + cli.out
    assert KEY not in cli.err + cli.out


async def test_an_error_mid_stream_keeps_the_text(fake: FakeOpenAI, tmp_path: Path) -> None:
    fake.fault = Fault(FaultKind.ERROR_EVENT, after_tokens=20)
    cli = session(tmp_path, fake.url)

    await cli("suggest", "noir")

    assert "Arrival" in cli.out
    assert "mid-answer" in cli.err + cli.out


async def test_a_refusing_first_host_is_passed_over(fake: FakeOpenAI, tmp_path: Path) -> None:
    cli = session(tmp_path, f"http://127.0.0.1:{unused_port()}/v1", fake.url)

    assert await cli("suggest", "noir") == EXIT_OK

    assert "1. Arrival · 2016 · movie" in cli.out
    assert "reach" not in cli.err + cli.out
    assert len(fake.chat_requests) == 1


async def test_doctor_lists_every_host(fake: FakeOpenAI, tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{unused_port()}/v1"
    cli = session(tmp_path, fake.url, dead)

    await cli("doctor")

    assert f"Model host {fake.url} (chat and embeddings)" in cli.out
    assert "starts a one-word answer in" in cli.out
    assert f"Model host {dead}" in cli.out
    assert KEY not in cli.out
