"""The fake Ollama itself: it must speak the real wire format, or the client tests prove nothing."""

from __future__ import annotations

import asyncio
import json
import math
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.pipeline.picks import answer_schema
from tests.fakes.ollama_server import (
    DEFAULT_ANSWER,
    DEFAULT_PICKS,
    NDJSON,
    FakeOllama,
    Fault,
    FaultKind,
    fake_embedding,
    split_tokens,
    unused_port,
)

CHAT_MODEL = "llama3.1:8b"
MESSAGES = [{"role": "user", "content": "something dark and clever"}]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.fixture
async def http(fake_ollama: FakeOllama) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=fake_ollama.url, timeout=5) as client:
        yield client


def test_texts_sharing_words_are_closer_than_texts_sharing_none() -> None:
    query = fake_embedding("a slow dark sci-fi thriller", 256)
    related = fake_embedding("Dark sci-fi in deep space", 256)
    unrelated = fake_embedding("romantic comedy in Paris", 256)

    assert cosine(query, related) > cosine(query, unrelated)
    assert cosine(query, related) > 0.3


def test_embeddings_are_unit_length_and_stable() -> None:
    vector = fake_embedding("Space opera with found family", 64)

    assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0)
    assert vector == fake_embedding("space OPERA with found family", 64)


def test_text_without_words_gets_one_fixed_unit_vector() -> None:
    assert fake_embedding("", 16) == fake_embedding("?!", 16)
    assert math.isclose(sum(v * v for v in fake_embedding("", 16)), 1.0)


def test_tokens_join_back_into_the_answer() -> None:
    assert "".join(split_tokens(DEFAULT_ANSWER)) == DEFAULT_ANSWER


async def test_embed_accepts_one_string_or_a_list(http: httpx.AsyncClient) -> None:
    single = (await http.post("/api/embed", json={"model": "bge-large", "input": "noir"})).json()
    batch = (await http.post("/api/embed", json={"model": "bge-large", "input": ["a", "b"]})).json()

    assert single["model"] == "bge-large"
    assert len(single["embeddings"]) == 1
    assert len(single["embeddings"][0]) == 1024
    assert len(batch["embeddings"]) == 2
    assert {"total_duration", "load_duration", "prompt_eval_count"} <= batch.keys()


async def test_stream_is_ndjson_with_a_final_done_chunk(http: httpx.AsyncClient) -> None:
    async with http.stream(
        "POST", "/api/chat", json={"model": CHAT_MODEL, "messages": MESSAGES}
    ) as response:
        content_type = response.headers["content-type"]
        lines = [json.loads(line) async for line in response.aiter_lines() if line]

    assert content_type == NDJSON
    *tokens, final = lines
    assert all(line["done"] is False for line in tokens)
    assert all(line["message"]["role"] == "assistant" for line in lines)
    assert all({"model", "created_at"} <= line.keys() for line in lines)
    assert "".join(line["message"]["content"] for line in tokens) == DEFAULT_ANSWER
    assert final["done"] is True
    assert final["done_reason"] == "stop"
    assert final["message"] == {"role": "assistant", "content": ""}
    assert final["eval_count"] == len(tokens)
    for field in (
        "total_duration",
        "load_duration",
        "prompt_eval_count",
        "prompt_eval_duration",
        "eval_duration",
    ):
        assert isinstance(final[field], int), field


async def streamed_pieces(http: httpx.AsyncClient, **request: object) -> list[str]:
    body = {"model": CHAT_MODEL, "messages": MESSAGES, **request}
    async with http.stream("POST", "/api/chat", json=body) as response:
        lines = [json.loads(line) async for line in response.aiter_lines() if line]
    return [line["message"]["content"] for line in lines if not line["done"]]


async def test_a_schema_as_format_gets_the_picks_as_json_in_small_tokens(
    http: httpx.AsyncClient,
) -> None:
    pieces = await streamed_pieces(http, format=answer_schema())

    assert json.loads("".join(pieces)) == {"picks": list(DEFAULT_PICKS)}
    assert len(pieces) > 100
    assert max(len(piece.strip()) for piece in pieces) < 20  # words, not whole fields


async def test_scripted_picks_are_what_the_json_holds(
    http: httpx.AsyncClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.picks = [dict(DEFAULT_PICKS[3], title="Dark (again)")]

    pieces = await streamed_pieces(http, format=answer_schema())

    assert [pick["title"] for pick in json.loads("".join(pieces))["picks"]] == ["Dark (again)"]


async def test_ignore_format_answers_a_schema_in_plain_text(
    http: httpx.AsyncClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.ignore_format = True

    assert "".join(await streamed_pieces(http, format=answer_schema())) == DEFAULT_ANSWER


async def test_a_scripted_answer_is_sent_as_is_even_for_a_schema(
    http: httpx.AsyncClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.answer = '{"picks": [{"title": broken'

    assert "".join(await streamed_pieces(http, format=answer_schema())) == fake_ollama.answer


async def test_stream_false_gives_one_json_object(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/api/chat", json={"model": CHAT_MODEL, "messages": MESSAGES, "stream": False}
    )

    body = response.json()
    assert body["done"] is True
    assert body["message"]["content"] == DEFAULT_ANSWER


async def test_unknown_model_gets_ollamas_404_body(http: httpx.AsyncClient) -> None:
    response = await http.post("/api/chat", json={"model": "mistral", "messages": MESSAGES})

    assert response.status_code == 404
    assert response.json() == {"error": 'model "mistral" not found, try pulling it first'}


async def test_tags_name_untagged_models_latest(http: httpx.AsyncClient) -> None:
    names = [model["name"] for model in (await http.get("/api/tags")).json()["models"]]

    assert sorted(names) == ["bge-large:latest", "llama3.1:8b"]


async def test_show_reports_embedding_length_per_architecture(
    http: httpx.AsyncClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.embed_dim = 384
    embed_info = (await http.post("/api/show", json={"model": "bge-large"})).json()["model_info"]
    chat_info = (await http.post("/api/show", json={"model": CHAT_MODEL})).json()["model_info"]

    assert embed_info["bert.embedding_length"] == 384
    assert chat_info["llama.embedding_length"] == 4096


async def test_requests_are_recorded_with_their_bodies(
    http: httpx.AsyncClient, fake_ollama: FakeOllama
) -> None:
    await http.get("/api/version")
    await http.post("/api/chat", json={"model": CHAT_MODEL, "messages": MESSAGES})

    assert [(r.method, r.path) for r in fake_ollama.requests] == [
        ("GET", "/api/version"),
        ("POST", "/api/chat"),
    ]
    assert fake_ollama.chat_requests[0].body["messages"] == MESSAGES


async def test_malformed_line_fault_then_carries_on(
    http: httpx.AsyncClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.fault = Fault(FaultKind.MALFORMED_LINE, after_tokens=2)
    async with http.stream(
        "POST", "/api/chat", json={"model": CHAT_MODEL, "messages": MESSAGES}
    ) as response:
        lines = [line async for line in response.aiter_lines() if line]

    with pytest.raises(ValueError):
        json.loads(lines[2])
    assert json.loads(lines[-1])["done"] is True


async def test_unused_port_refuses_connections() -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{unused_port()}/api/version")


REPO = Path(__file__).resolve().parents[2]


async def test_faults_and_missing_models_can_be_switched_on_from_the_command_line() -> None:
    port = unused_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.ollama_server",
        "--port",
        str(port),
        "--fault",
        "error_line",
        "--fault-after",
        "3",
        "--fault-message",
        "CUDA out of memory",
        "--without-model",
        "bge-large",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        listening = await asyncio.wait_for(process.stdout.readline(), 30)
        assert b"listening" in listening
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as client:
            show = await client.post("/api/show", json={"model": "bge-large"})
            async with client.stream(
                "POST", "/api/chat", json={"model": CHAT_MODEL, "messages": MESSAGES}
            ) as response:
                lines = [json.loads(line) async for line in response.aiter_lines() if line]
    finally:
        process.terminate()
        await process.wait()

    assert show.status_code == 404
    assert [line.get("error") for line in lines] == [None, None, None, "CUDA out of memory"]
