"""The fake OpenAI-compatible server itself: read with plain httpx and by hand, not with
our client, so a client test against it proves something about the real format."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.fakes.ollama_server import DEFAULT_ANSWER, DEFAULT_PICKS, fake_embedding
from tests.fakes.openai_server import (
    KEEP_ALIVE,
    FakeOpenAI,
    FormatSupport,
    Quirks,
)

CHAT_MODEL = "llama3.1:8b"
MESSAGES = [{"role": "user", "content": "something dark and clever"}]
SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "x", "schema": {}, "strict": True}}


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI() as server:
        yield server


@pytest.fixture
async def http(fake: FakeOpenAI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake.url, timeout=5) as client:
        yield client


async def raw_stream(http: httpx.AsyncClient, **body: Any) -> tuple[httpx.Response, bytes]:
    payload = {"model": CHAT_MODEL, "messages": MESSAGES, "stream": True, **body}
    async with http.stream("POST", "/chat/completions", json=payload) as response:
        raw = await response.aread()
    return response, raw


def data_of(raw: bytes) -> list[str]:
    """The `data:` payloads of a plain (quirk-free) stream, in order."""
    events = raw.decode().split("\n\n")
    assert events[-1] == ""
    return [event.removeprefix("data: ") for event in events[:-1]]


async def test_a_stream_has_role_tokens_finish_usage_and_done(http: httpx.AsyncClient) -> None:
    response, raw = await raw_stream(http, stream_options={"include_usage": True})
    payloads = data_of(raw)
    chunks = [json.loads(payload) for payload in payloads[:-1]]

    assert response.headers["content-type"].startswith("text/event-stream")
    assert payloads[-1] == "[DONE]"
    assert all(chunk["object"] == "chat.completion.chunk" for chunk in chunks)
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == DEFAULT_ANSWER
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"]["completion_tokens"] == len(chunks) - 3


async def test_without_include_usage_there_is_no_usage_chunk(http: httpx.AsyncClient) -> None:
    _, raw = await raw_stream(http)
    chunks = [json.loads(payload) for payload in data_of(raw)[:-1]]

    assert all("usage" not in chunk and chunk["choices"] for chunk in chunks)


async def test_max_tokens_cuts_with_finish_reason_length(http: httpx.AsyncClient) -> None:
    _, raw = await raw_stream(http, max_tokens=5)
    chunks = [json.loads(payload) for payload in data_of(raw)[:-1]]

    assert chunks[-1]["choices"][0]["finish_reason"] == "length"
    assert sum(1 for c in chunks if c["choices"][0]["delta"].get("content")) == 5


async def test_json_schema_is_answered_with_the_picks(http: httpx.AsyncClient) -> None:
    _, raw = await raw_stream(http, response_format=SCHEMA_FORMAT)
    chunks = [json.loads(payload) for payload in data_of(raw)[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)

    assert json.loads(text) == {"picks": list(DEFAULT_PICKS)}


async def test_an_ignored_format_gets_plain_text(fake: FakeOpenAI, http: httpx.AsyncClient) -> None:
    fake.formats = FormatSupport.IGNORE
    _, raw = await raw_stream(http, response_format=SCHEMA_FORMAT)
    chunks = [json.loads(payload) for payload in data_of(raw)[:-1]]

    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == DEFAULT_ANSWER


@pytest.mark.parametrize(
    ("support", "wanted", "status", "words"),
    [
        (FormatSupport.REJECT, "json_schema", 400, "response_format"),
        (FormatSupport.REJECT, "json_object", 400, "response_format"),
        (FormatSupport.REJECT_SCHEMA, "json_schema", 400, "response_format"),
        (FormatSupport.LLAMA_CPP_PYTHON, "json_schema", 500, "'text' or 'json_object'"),
    ],
)
async def test_a_refused_format_gets_the_servers_error(
    fake: FakeOpenAI,
    http: httpx.AsyncClient,
    support: FormatSupport,
    wanted: str,
    status: int,
    words: str,
) -> None:
    fake.formats = support
    payload = {"model": CHAT_MODEL, "messages": MESSAGES, "response_format": {"type": wanted}}

    response = await http.post("/chat/completions", json=payload)

    assert response.status_code == status
    assert words in response.json()["error"]["message"]


@pytest.mark.parametrize("support", [FormatSupport.REJECT_SCHEMA, FormatSupport.LLAMA_CPP_PYTHON])
async def test_json_object_is_honoured_where_only_the_schema_is_refused(
    fake: FakeOpenAI, http: httpx.AsyncClient, support: FormatSupport
) -> None:
    fake.formats = support
    payload = {"model": CHAT_MODEL, "messages": MESSAGES}
    body = (
        await http.post("/chat/completions", json={**payload, "response_format": SCHEMA_FORMAT})
    ).json()
    answer = (
        await http.post(
            "/chat/completions", json={**payload, "response_format": {"type": "json_object"}}
        )
    ).json()

    assert "error" in body
    assert json.loads(answer["choices"][0]["message"]["content"])["picks"]


async def test_a_wrong_or_missing_key_gets_openais_401(fake: FakeOpenAI) -> None:
    fake.api_key = "sk-right"
    async with httpx.AsyncClient(base_url=fake.url) as anonymous:
        missing = await anonymous.get("/models")
    async with httpx.AsyncClient(
        base_url=fake.url, headers={"Authorization": "Bearer sk-wrong"}
    ) as wrong:
        refused = await wrong.get("/models")
    async with httpx.AsyncClient(
        base_url=fake.url, headers={"Authorization": "Bearer sk-right"}
    ) as right:
        allowed = await right.get("/models")

    assert missing.status_code == refused.status_code == 401
    assert refused.json()["error"]["code"] == "invalid_api_key"
    assert "sk-wrong" not in refused.text
    assert allowed.status_code == 200
    assert fake.requests[-1].headers["authorization"] == "Bearer sk-right"


async def test_an_unknown_model_gets_a_404_naming_it(http: httpx.AsyncClient) -> None:
    response = await http.post("/chat/completions", json={"model": "nope", "messages": MESSAGES})

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "model_not_found"
    assert "`nope`" in response.json()["error"]["message"]


async def test_models_are_listed_by_id(http: httpx.AsyncClient) -> None:
    body = (await http.get("/models")).json()

    assert body["object"] == "list"
    assert {model["id"] for model in body["data"]} == {"bge-large", CHAT_MODEL}


async def test_embeddings_are_indexed_and_may_come_out_of_order(
    fake: FakeOpenAI, http: httpx.AsyncClient
) -> None:
    fake.quirks = Quirks(embeddings_out_of_order=True)
    body = (
        await http.post("/embeddings", json={"model": "bge-large", "input": ["noir", "space"]})
    ).json()

    assert [item["index"] for item in body["data"]] == [1, 0]
    assert body["data"][1]["embedding"] == fake_embedding("noir", fake.embed_dim)


async def test_quirks_change_the_bytes_not_the_events(
    fake: FakeOpenAI, http: httpx.AsyncClient
) -> None:
    _, plain = await raw_stream(http)
    fake.quirks = Quirks(comments=True, crlf=True, multiline_data=True, split_every=7)
    _, awkward = await raw_stream(http)

    text = awkward.decode()
    assert KEEP_ALIVE in text
    assert "\r\n" in text
    assert text.count("data: ") > plain.decode().count("data: ")
    # Undo the quirks by hand: the same JSON payloads remain.
    events = [event for event in text.split("\r\n\r\n") if event and event != KEEP_ALIVE]
    payloads = ["\n".join(line.removeprefix("data: ") for line in e.split("\r\n")) for e in events]
    assert [json.loads(p)["choices"] if p != "[DONE]" else p for p in payloads] == [
        json.loads(p)["choices"] if p != "[DONE]" else p for p in data_of(plain)
    ]


def test_it_runs_from_the_command_line() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.fakes.openai_server", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0
    assert "--tokens-per-second" in result.stdout
    assert "--formats" in result.stdout
