"""OllamaClient against the fake Ollama over real HTTP, and against canned responses."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from bot.errors import (
    ModelNotFound,
    OllamaError,
    OllamaResponseError,
    OllamaStalled,
    OllamaUnreachable,
)
from bot.pipeline.domain import GenerationStats
from bot.pipeline.ollama import EMBED_BATCH_SIZE, ChatChunk, OllamaClient
from tests.fakes.ollama_server import (
    DEFAULT_ANSWER,
    FakeOllama,
    Fault,
    FaultKind,
    fake_embedding,
    split_tokens,
    unused_port,
)

EMBED_MODEL = "bge-large"
CHAT_MODEL = "llama3.1:8b"
MESSAGES = [{"role": "user", "content": "Something like Arrival, please."}]
STALL_LIMIT = 0.3  # small: a stall test waits this long, and only this long, on purpose


@pytest.fixture
async def client(fake_ollama: FakeOllama) -> AsyncIterator[OllamaClient]:
    async with OllamaClient(fake_ollama.url) as ollama:
        yield ollama


def canned(handler: Callable[[httpx.Request], httpx.Response]) -> OllamaClient:
    """A client whose every request is answered by `handler`, no server involved."""
    return OllamaClient("http://ollama.test", transport=httpx.MockTransport(handler))


async def collect(
    stream: AsyncIterator[ChatChunk], into: list[ChatChunk] | None = None
) -> list[ChatChunk]:
    """Read a whole stream; `into` keeps what arrived even when the stream then raises."""
    chunks = into if into is not None else []
    async for chunk in stream:
        chunks.append(chunk)
    return chunks


def text_of(chunks: list[ChatChunk]) -> str:
    return "".join(chunk.text for chunk in chunks)


def first_tokens(count: int) -> str:
    return "".join(split_tokens(DEFAULT_ANSWER)[:count])


# -- plain requests --------------------------------------------------------------------


async def test_version_and_models(client: OllamaClient) -> None:
    assert await client.version() == "0.6.2"
    assert sorted(await client.list_models()) == ["bge-large:latest", CHAT_MODEL]


async def test_show_returns_model_info(client: OllamaClient) -> None:
    info = await client.show(CHAT_MODEL)

    assert info["model_info"]["general.architecture"] == "llama"


async def test_show_of_a_missing_model_says_how_to_pull_it(client: OllamaClient) -> None:
    with pytest.raises(ModelNotFound, match="ollama pull mistral") as caught:
        await client.show("mistral")

    assert caught.value.model == "mistral"


async def test_embedding_dimension_comes_from_show_and_is_cached(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.embed_dim = 384

    assert await client.embedding_dimension(EMBED_MODEL) == 384
    assert await client.embedding_dimension(EMBED_MODEL) == 384
    assert [r.path for r in fake_ollama.requests] == ["/api/show"]


async def test_embedding_dimension_falls_back_to_a_probe() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/show":
            return httpx.Response(200, json={"model_info": {"general.architecture": "odd"}})
        return httpx.Response(200, json={"embeddings": [[0.1] * 7]})

    async with canned(handler) as ollama:
        assert await ollama.embedding_dimension(EMBED_MODEL) == 7


async def test_embed_batches_and_keeps_order(client: OllamaClient, fake_ollama: FakeOllama) -> None:
    fake_ollama.embed_dim = 32
    texts = [f"taste number {index}" for index in range(EMBED_BATCH_SIZE * 2 + 5)]

    vectors = await client.embed(EMBED_MODEL, texts)

    assert vectors == [fake_embedding(text, 32) for text in texts]
    batch_sizes = [len(r.body["input"]) for r in fake_ollama.embed_requests]
    assert batch_sizes == [EMBED_BATCH_SIZE, EMBED_BATCH_SIZE, 5]


async def test_embed_nothing_sends_nothing(client: OllamaClient, fake_ollama: FakeOllama) -> None:
    assert await client.embed(EMBED_MODEL, []) == []
    assert fake_ollama.requests == []


async def test_embed_refuses_a_bare_string(client: OllamaClient) -> None:
    with pytest.raises(TypeError):
        await client.embed(EMBED_MODEL, "one text")


async def test_embed_count_mismatch_is_an_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"embeddings": [[0.1, 0.2]]})

    async with canned(handler) as ollama:
        with pytest.raises(OllamaResponseError, match="1 embeddings for 2 texts"):
            await ollama.embed(EMBED_MODEL, ["one", "two"])


async def test_embed_with_a_missing_model(client: OllamaClient) -> None:
    with pytest.raises(ModelNotFound, match="ollama pull nomic-embed-text"):
        await client.embed("nomic-embed-text", ["x"])


async def test_embed_error_carries_ollamas_text(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.fault = Fault(FaultKind.EMBED_ERROR, message="input too long")

    with pytest.raises(OllamaResponseError, match=r"HTTP 500.*input too long"):
        await client.embed(EMBED_MODEL, ["x"])


async def test_404_without_a_model_error_is_not_model_not_found() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="404 page not found")

    async with canned(handler) as ollama:
        with pytest.raises(OllamaResponseError, match="404 page not found"):
            await ollama.embed(EMBED_MODEL, ["x"])


async def test_plain_request_read_timeout_is_a_stall() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with canned(handler) as ollama:
        with pytest.raises(OllamaStalled, match="/api/version"):
            await ollama.version()


# -- unreachable -----------------------------------------------------------------------


async def test_nothing_listening_is_unreachable() -> None:
    url = f"http://127.0.0.1:{unused_port()}"
    async with OllamaClient(url, connect_timeout=2) as ollama:
        with pytest.raises(OllamaUnreachable, match="OLLAMA_URL") as caught:
            await ollama.version()

    assert url in str(caught.value)


async def test_unreachable_while_streaming() -> None:
    async with OllamaClient(f"http://127.0.0.1:{unused_port()}", connect_timeout=2) as ollama:
        with pytest.raises(OllamaUnreachable):
            await collect(ollama.chat_stream(CHAT_MODEL, MESSAGES))


async def test_connect_timeout_is_unreachable() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    async with canned(handler) as ollama:
        with pytest.raises(OllamaUnreachable, match="Is it running"):
            await ollama.list_models()


async def test_error_messages_never_show_url_credentials() -> None:
    url = f"http://admin:s3cret@127.0.0.1:{unused_port()}"
    async with OllamaClient(url, connect_timeout=2) as ollama:
        with pytest.raises(OllamaUnreachable) as caught:
            await ollama.version()

    assert "s3cret" not in str(caught.value)


# -- streaming -------------------------------------------------------------------------


async def test_stream_yields_the_answer_in_order_then_stats(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    chunks = await collect(client.chat_stream(CHAT_MODEL, MESSAGES, options={"seed": 7}))

    assert text_of(chunks) == DEFAULT_ANSWER
    assert [chunk.stats is not None for chunk in chunks] == [False] * (len(chunks) - 1) + [True]
    stats = chunks[-1].stats
    assert stats is not None
    assert stats.completion_tokens == len(split_tokens(DEFAULT_ANSWER))
    assert stats.done_reason == "stop"
    assert 0 < stats.eval_seconds <= stats.total_seconds < 60
    body = fake_ollama.chat_requests[0].body
    assert body == {
        "model": CHAT_MODEL,
        "messages": MESSAGES,
        "stream": True,
        "options": {"seed": 7},
    }


async def test_final_chunk_durations_become_seconds() -> None:
    final = {
        "model": CHAT_MODEL,
        "message": {"role": "assistant", "content": ""},
        "done": True,
        "done_reason": "length",
        "total_duration": 3_000_000_000,
        "load_duration": 500_000_000,
        "prompt_eval_count": 120,
        "prompt_eval_duration": 250_000_000,
        "eval_count": 24,
        "eval_duration": 2_000_000_000,
    }
    token = {"model": CHAT_MODEL, "message": {"role": "assistant", "content": "Hi"}, "done": False}
    body = "\n".join(json.dumps(line) for line in (token, final)) + "\n"

    async with canned(lambda request: httpx.Response(200, text=body)) as ollama:
        chunks = await collect(ollama.chat_stream(CHAT_MODEL, MESSAGES))

    assert chunks[-1].stats == GenerationStats(
        prompt_tokens=120,
        completion_tokens=24,
        total_seconds=3.0,
        load_seconds=0.5,
        prompt_eval_seconds=0.25,
        eval_seconds=2.0,
        done_reason="length",
    )
    assert chunks[-1].stats.tokens_per_second == 12


async def test_stream_of_a_missing_model(client: OllamaClient) -> None:
    with pytest.raises(ModelNotFound, match="ollama pull mistral"):
        await collect(client.chat_stream("mistral", MESSAGES))


async def test_http_error_before_the_stream(client: OllamaClient, fake_ollama: FakeOllama) -> None:
    fake_ollama.fault = Fault(FaultKind.HTTP_ERROR, message="out of memory")
    chunks: list[ChatChunk] = []

    with pytest.raises(OllamaResponseError, match=r"HTTP 500.*out of memory"):
        await collect(client.chat_stream(CHAT_MODEL, MESSAGES), chunks)

    assert chunks == []


async def test_error_line_mid_stream_after_partial_text(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.fault = Fault(FaultKind.ERROR_LINE, after_tokens=3, message="runner crashed")
    chunks: list[ChatChunk] = []

    with pytest.raises(OllamaResponseError, match="mid-answer: runner crashed"):
        await collect(client.chat_stream(CHAT_MODEL, MESSAGES), chunks)

    assert text_of(chunks) == first_tokens(3)


async def test_malformed_line_is_logged_and_skipped(
    client: OllamaClient, fake_ollama: FakeOllama, caplog: pytest.LogCaptureFixture
) -> None:
    fake_ollama.fault = Fault(FaultKind.MALFORMED_LINE, after_tokens=4)

    with caplog.at_level(logging.WARNING, logger="bot.pipeline.ollama"):
        chunks = await collect(client.chat_stream(CHAT_MODEL, MESSAGES))

    assert text_of(chunks) == DEFAULT_ANSWER
    assert chunks[-1].stats is not None
    assert [r.message for r in caplog.records if "malformed" in r.message]


async def test_cut_connection_after_partial_text(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.fault = Fault(FaultKind.CUT, after_tokens=5)
    chunks: list[ChatChunk] = []

    with pytest.raises(OllamaResponseError, match="cut"):
        await collect(client.chat_stream(CHAT_MODEL, MESSAGES), chunks)

    assert text_of(chunks) == first_tokens(5)


async def test_stream_ending_without_done_is_cut() -> None:
    token = {
        "model": CHAT_MODEL,
        "message": {"role": "assistant", "content": "Half"},
        "done": False,
    }
    chunks: list[ChatChunk] = []

    async with canned(lambda request: httpx.Response(200, text=json.dumps(token))) as ollama:
        with pytest.raises(OllamaResponseError, match="cut before it finished"):
            await collect(ollama.chat_stream(CHAT_MODEL, MESSAGES), chunks)

    assert text_of(chunks) == "Half"


async def test_no_first_token_in_time_is_a_stall(fake_ollama: FakeOllama) -> None:
    fake_ollama.first_token_delay = 30
    chunks: list[ChatChunk] = []

    async with OllamaClient(fake_ollama.url, first_token_timeout=STALL_LIMIT) as ollama:
        with pytest.raises(OllamaStalled, match=r"no answer within 0\.3s"):
            await collect(ollama.chat_stream(CHAT_MODEL, MESSAGES), chunks)

    assert chunks == []


async def test_silence_mid_stream_is_a_stall_and_closes_the_stream(
    fake_ollama: FakeOllama,
) -> None:
    fake_ollama.fault = Fault(FaultKind.STALL, after_tokens=2)
    chunks: list[ChatChunk] = []

    async with OllamaClient(fake_ollama.url, idle_timeout=STALL_LIMIT) as ollama:
        with pytest.raises(OllamaStalled, match=r"nothing for 0\.3s"):
            await collect(ollama.chat_stream(CHAT_MODEL, MESSAGES), chunks)

    assert text_of(chunks) == first_tokens(2)
    await fake_ollama.wait_for(lambda: fake_ollama.streams_closed_early == 1)


async def test_slow_but_steady_stream_is_not_a_stall(fake_ollama: FakeOllama) -> None:
    # Each gap is well under the idle limit while the whole answer takes longer than it.
    fake_ollama.answer = " ".join(["word"] * 16)
    fake_ollama.tokens_per_second = 20

    async with OllamaClient(fake_ollama.url, idle_timeout=0.5) as ollama:
        chunks = await collect(ollama.chat_stream(CHAT_MODEL, MESSAGES))

    assert text_of(chunks) == fake_ollama.answer


async def test_closing_the_stream_early_closes_it_on_the_server(
    client: OllamaClient, fake_ollama: FakeOllama
) -> None:
    fake_ollama.tokens_per_second = 20  # the answer would take seconds to finish
    stream = client.chat_stream(CHAT_MODEL, MESSAGES)

    first = [await anext(stream), await anext(stream)]
    await stream.aclose()

    assert text_of(first) == first_tokens(2)
    await fake_ollama.wait_for(lambda: fake_ollama.streams_closed_early == 1)
    assert fake_ollama.streams_finished == 0


async def test_every_ollama_failure_is_an_ollama_error() -> None:
    # Front ends catch OllamaError; nothing from httpx may leak past the client.
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.UnsupportedProtocol("weird", request=request)

    async with canned(handler) as ollama:
        with pytest.raises(OllamaError):
            await ollama.version()
