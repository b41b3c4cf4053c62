"""OpenAICompatClient against the fake OpenAI-compatible server over real HTTP, and
against canned responses where one exact byte stream is the point."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable

import httpx
import pytest

from bot.errors import (
    ModelNotFound,
    ModelServerBusy,
    ModelServerCut,
    ModelServerError,
    ModelServerRefused,
    ModelServerResponseError,
    ModelServerStalled,
    ModelServerUnreachable,
)
from bot.pipeline.model_client import ChatChunk
from bot.pipeline.openai_compat import EMBED_BATCH_SIZE, OpenAICompatClient, ResponseFormat
from bot.pipeline.picks import answer_schema
from tests.fakes.ollama_server import (
    DEFAULT_ANSWER,
    DEFAULT_PICKS,
    fake_embedding,
    picks_answer,
    split_tokens,
    unused_port,
)
from tests.fakes.openai_server import FakeOpenAI, Fault, FaultKind, FormatSupport, Quirks

EMBED_MODEL = "bge-large"
CHAT_MODEL = "llama3.1:8b"
MESSAGES = [{"role": "user", "content": "Something like Arrival, please. Answer in JSON."}]
STALL_LIMIT = 0.3  # small: a stall test waits this long, and only this long, on purpose
OLLAMA_OPTIONS = {
    "temperature": 0.7,
    "top_p": 0.9,
    "top_k": 40,
    "num_predict": 800,
    "seed": 7,
    "num_ctx": 4096,
    "repeat_penalty": 1.1,
    "presence_penalty": 0.5,
    "frequency_penalty": 0.25,
}


@pytest.fixture
async def fake() -> AsyncIterator[FakeOpenAI]:
    async with FakeOpenAI(embed_dim=64) as server:
        yield server


@pytest.fixture
async def client(fake: FakeOpenAI) -> AsyncIterator[OpenAICompatClient]:
    async with OpenAICompatClient(fake.url) as opened:
        yield opened


def canned(
    handler: Callable[[httpx.Request], httpx.Response], **kwargs: float
) -> OpenAICompatClient:
    """A client whose every request is answered by `handler`, no server involved."""
    return OpenAICompatClient(
        "http://llm.test/v1", transport=httpx.MockTransport(handler), **kwargs
    )


def sse(*payloads: object) -> bytes:
    return b"".join(
        f"data: {p if isinstance(p, str) else json.dumps(p)}\n\n".encode() for p in payloads
    )


def delta(text: str, finish: str | None = None) -> dict[str, object]:
    return {"choices": [{"index": 0, "delta": {"content": text}, "finish_reason": finish}]}


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


# -- streamed text -----------------------------------------------------------------------


async def test_the_answer_streams_and_ends_with_usage(client: OpenAICompatClient) -> None:
    chunks = await collect(client.chat_stream(CHAT_MODEL, MESSAGES))

    assert text_of(chunks) == DEFAULT_ANSWER
    assert len(chunks) > 10
    stats = chunks[-1].stats
    assert stats is not None and all(chunk.stats is None for chunk in chunks[:-1])
    assert stats.completion_tokens == len(split_tokens(DEFAULT_ANSWER))
    assert stats.prompt_tokens > 0
    assert stats.done_reason == "stop"


async def test_only_the_settings_openai_servers_know_are_sent(
    fake: FakeOpenAI, client: OpenAICompatClient
) -> None:
    await collect(client.chat_stream(CHAT_MODEL, MESSAGES, options=OLLAMA_OPTIONS))
    body = fake.chat_requests[-1].body

    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 800
    assert {key: body[key] for key in ("temperature", "top_p", "seed")} == {
        "temperature": 0.7,
        "top_p": 0.9,
        "seed": 7,
    }
    assert (body["presence_penalty"], body["frequency_penalty"]) == (0.5, 0.25)
    assert not {"top_k", "num_ctx", "repeat_penalty", "num_predict", "options"} & body.keys()


async def test_the_length_limit_ends_with_the_same_cut_reason_as_ollama(
    client: OpenAICompatClient,
) -> None:
    chunks = await collect(client.chat_stream(CHAT_MODEL, MESSAGES, options={"num_predict": 5}))

    assert chunks[-1].stats is not None
    assert chunks[-1].stats.done_reason == "length"
    assert text_of(chunks) == "".join(split_tokens(DEFAULT_ANSWER)[:5])


@pytest.mark.parametrize(
    "quirks",
    [
        Quirks(comments=True),
        Quirks(crlf=True),
        Quirks(multiline_data=True),
        Quirks(split_every=7),
        Quirks(comments=True, crlf=True, multiline_data=True, split_every=3),
    ],
    ids=["comments", "crlf", "multiline", "split", "all"],
)
async def test_sse_quirks_give_the_same_answer(
    fake: FakeOpenAI, client: OpenAICompatClient, quirks: Quirks
) -> None:
    fake.quirks = quirks
    chunks = await collect(client.chat_stream(CHAT_MODEL, MESSAGES, format=answer_schema()))

    assert json.loads(text_of(chunks)) == {"picks": list(DEFAULT_PICKS)}
    assert chunks[-1].stats is not None


async def test_closing_the_stream_early_closes_the_connection(
    fake: FakeOpenAI, client: OpenAICompatClient
) -> None:
    fake.tokens_per_second = 200
    stream = client.chat_stream(CHAT_MODEL, MESSAGES)
    first = await anext(stream)
    while not first.text:
        first = await anext(stream)
    await stream.aclose()

    await fake.wait_for(lambda: fake.streams_closed_early == 1)
    assert fake.streams_finished == 0


async def test_a_stream_without_done_but_with_a_finish_reason_is_complete() -> None:
    body = sse(delta("Hi"), delta("", "stop"))
    async with canned(lambda request: httpx.Response(200, content=body)) as client:
        chunks = await collect(client.chat_stream(CHAT_MODEL, MESSAGES))

    assert text_of(chunks) == "Hi"
    assert chunks[-1].stats is not None and chunks[-1].stats.done_reason == "stop"


async def test_a_stream_that_just_ends_is_cut_with_its_text_kept() -> None:
    body = sse(delta("Half an "), delta("answer"))
    chunks: list[ChatChunk] = []
    async with canned(lambda request: httpx.Response(200, content=body)) as client:
        with pytest.raises(ModelServerCut, match="cut before it finished"):
            await collect(client.chat_stream(CHAT_MODEL, MESSAGES), chunks)

    assert text_of(chunks) == "Half an answer"


# -- structured picks and the format fallback ---------------------------------------------


async def test_picks_are_asked_with_a_strict_json_schema(
    fake: FakeOpenAI, client: OpenAICompatClient
) -> None:
    chunks = await collect(client.chat_stream(CHAT_MODEL, MESSAGES, format=answer_schema()))
    wanted = fake.chat_requests[-1].body["response_format"]

    assert json.loads(text_of(chunks)) == {"picks": list(DEFAULT_PICKS)}
    assert wanted["type"] == "json_schema"
    assert wanted["json_schema"]["strict"] is True
    assert wanted["json_schema"]["schema"]["additionalProperties"] is False
    assert "maxLength" not in json.dumps(wanted)


async def test_a_server_that_ignores_the_format_gives_text_without_retrying(
    fake: FakeOpenAI, client: OpenAICompatClient
) -> None:
    fake.formats = FormatSupport.IGNORE
    chunks = await collect(client.chat_stream(CHAT_MODEL, MESSAGES, format=answer_schema()))

    assert text_of(chunks) == DEFAULT_ANSWER
    assert len(fake.chat_requests) == 1


@pytest.mark.parametrize(
    ("support", "tried", "settled", "answer"),
    [
        (
            FormatSupport.REJECT,
            ["json_schema", "json_object", None],
            ResponseFormat.NONE,
            DEFAULT_ANSWER,
        ),
        (
            FormatSupport.REJECT_SCHEMA,
            ["json_schema", "json_object"],
            ResponseFormat.JSON_OBJECT,
            picks_answer(DEFAULT_PICKS),
        ),
        (
            FormatSupport.LLAMA_CPP_PYTHON,
            ["json_schema", "json_object"],
            ResponseFormat.JSON_OBJECT,
            picks_answer(DEFAULT_PICKS),
        ),
    ],
)
async def test_a_refused_format_falls_back_and_is_remembered(
    fake: FakeOpenAI,
    client: OpenAICompatClient,
    support: FormatSupport,
    tried: list[str | None],
    settled: ResponseFormat,
    answer: str,
) -> None:
    fake.formats = support
    first = await collect(client.chat_stream(CHAT_MODEL, MESSAGES, format=answer_schema()))
    asked = [(r.body.get("response_format") or {}).get("type") for r in fake.chat_requests]
    second = await collect(client.chat_stream(CHAT_MODEL, MESSAGES, format=answer_schema()))

    assert asked == tried
    assert text_of(first) == text_of(second) == answer
    assert client.format_for(CHAT_MODEL) is settled
    assert len(fake.chat_requests) == len(tried) + 1  # the second asked right at once


async def test_a_format_refusal_inside_the_stream_falls_back_too() -> None:
    asked: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        asked.append(body.get("response_format", {}).get("type"))
        if "response_format" in body:
            return httpx.Response(200, content=sse({"error": {"message": "bad json_schema"}}))
        return httpx.Response(200, content=sse(delta("text", "stop"), "[DONE]"))

    async with canned(handler) as client:
        chunks = await collect(client.chat_stream(CHAT_MODEL, MESSAGES, format=answer_schema()))

    assert asked == ["json_schema", "json_object", None]
    assert text_of(chunks) == "text"


async def test_a_format_is_remembered_per_model(
    fake: FakeOpenAI, client: OpenAICompatClient
) -> None:
    fake.formats = FormatSupport.REJECT
    fake.models.add("other")
    await collect(client.chat_stream(CHAT_MODEL, MESSAGES, format=answer_schema()))

    assert client.format_for("other") is ResponseFormat.JSON_SCHEMA


# -- errors --------------------------------------------------------------------------------


async def test_the_key_is_sent_as_a_bearer_header(fake: FakeOpenAI) -> None:
    fake.api_key = "sk-secret"
    async with OpenAICompatClient(fake.url, api_key="sk-secret") as client:
        chunks = await collect(client.chat_stream(CHAT_MODEL, MESSAGES))
        await client.embed(EMBED_MODEL, ["noir"])

    assert text_of(chunks) == DEFAULT_ANSWER
    assert {r.headers["authorization"] for r in fake.requests} == {"Bearer sk-secret"}


@pytest.mark.parametrize("key", [None, "sk-wrong"])
async def test_a_refused_key_names_the_setting_and_not_the_key(
    fake: FakeOpenAI, key: str | None
) -> None:
    fake.api_key = "sk-secret"
    async with OpenAICompatClient(fake.url, api_key=key) as client:
        with pytest.raises(ModelServerRefused, match="LLM_API_KEY") as refused:
            await collect(client.chat_stream(CHAT_MODEL, MESSAGES))
        with pytest.raises(ModelServerRefused):
            await client.embed(EMBED_MODEL, ["noir"])

    assert "sk-wrong" not in str(refused.value)
    assert "401" in str(refused.value)


async def test_an_unknown_model_is_named(client: OpenAICompatClient) -> None:
    with pytest.raises(ModelNotFound, match="'gpt-9'") as chat:
        await collect(client.chat_stream("gpt-9", MESSAGES))
    with pytest.raises(ModelNotFound, match="'embed-9'"):
        await client.embed("embed-9", ["noir"])

    assert chat.value.model == "gpt-9"
    assert "ollama pull" not in str(chat.value)


async def test_a_base_url_without_v1_is_pointed_out(fake: FakeOpenAI) -> None:
    async with OpenAICompatClient(fake.url.removesuffix("/v1")) as client:
        with pytest.raises(ModelServerResponseError, match=r"LLM_URLS.*/v1") as error:
            await collect(client.chat_stream(CHAT_MODEL, MESSAGES))

    assert error.value.status == 404


@pytest.mark.parametrize(
    ("status", "error_type"),
    [(429, ModelServerBusy), (500, ModelServerResponseError), (503, ModelServerResponseError)],
)
async def test_http_errors_keep_their_status(
    fake: FakeOpenAI, client: OpenAICompatClient, status: int, error_type: type[Exception]
) -> None:
    fake.fault = Fault(FaultKind.HTTP_ERROR, status=status, message="overloaded")

    with pytest.raises(error_type, match="overloaded") as error:
        await collect(client.chat_stream(CHAT_MODEL, MESSAGES, format=answer_schema()))

    assert isinstance(error.value, ModelServerResponseError) and error.value.status == status
    assert len(fake.chat_requests) == 1  # not a format refusal: no fallback


async def test_a_server_that_is_down_is_unreachable_and_names_the_setting() -> None:
    async with OpenAICompatClient(f"http://127.0.0.1:{unused_port()}/v1") as client:
        with pytest.raises(ModelServerUnreachable, match="LLM_URLS"):
            await collect(client.chat_stream(CHAT_MODEL, MESSAGES))
        with pytest.raises(ModelServerUnreachable):
            await client.embed(EMBED_MODEL, ["noir"])


async def test_no_first_token_in_time_is_a_stall(fake: FakeOpenAI) -> None:
    fake.fault = Fault(FaultKind.STALL, after_tokens=0)
    async with OpenAICompatClient(fake.url, first_token_timeout=STALL_LIMIT) as client:
        with pytest.raises(ModelServerStalled, match="MODEL_FIRST_TOKEN_TIMEOUT"):
            await collect(client.chat_stream(CHAT_MODEL, MESSAGES))

    await fake.wait_for(lambda: fake.streams_closed_early == 1)


async def test_keep_alive_comments_alone_are_not_progress() -> None:
    async def comments() -> AsyncIterator[bytes]:
        while True:
            yield b": OPENROUTER PROCESSING\n\n"
            await asyncio.sleep(0.01)

    async with canned(
        lambda request: httpx.Response(200, content=comments()), first_token_timeout=STALL_LIMIT
    ) as client:
        with pytest.raises(ModelServerStalled, match="no answer within"):
            await collect(client.chat_stream(CHAT_MODEL, MESSAGES))


async def test_a_stall_mid_answer_keeps_the_text(fake: FakeOpenAI) -> None:
    fake.fault = Fault(FaultKind.STALL, after_tokens=4)
    chunks: list[ChatChunk] = []
    async with OpenAICompatClient(fake.url, idle_timeout=STALL_LIMIT) as client:
        with pytest.raises(ModelServerStalled, match="mid-answer"):
            await collect(client.chat_stream(CHAT_MODEL, MESSAGES), chunks)

    assert text_of(chunks) == "".join(split_tokens(DEFAULT_ANSWER)[:4])


async def test_a_cut_connection_keeps_the_text(
    fake: FakeOpenAI, client: OpenAICompatClient
) -> None:
    fake.fault = Fault(FaultKind.CUT, after_tokens=3)
    chunks: list[ChatChunk] = []

    with pytest.raises(ModelServerCut):
        await collect(client.chat_stream(CHAT_MODEL, MESSAGES), chunks)

    assert text_of(chunks) == "".join(split_tokens(DEFAULT_ANSWER)[:3])


async def test_an_error_object_in_the_stream_keeps_the_text(
    fake: FakeOpenAI, client: OpenAICompatClient
) -> None:
    fake.fault = Fault(FaultKind.ERROR_EVENT, after_tokens=2, message="upstream fell over")
    chunks: list[ChatChunk] = []

    with pytest.raises(ModelServerResponseError, match="mid-answer: upstream fell over"):
        await collect(client.chat_stream(CHAT_MODEL, MESSAGES), chunks)

    assert text_of(chunks) == "".join(split_tokens(DEFAULT_ANSWER)[:2])


async def test_credentials_in_the_url_are_never_shown() -> None:
    async with OpenAICompatClient(f"http://user:pw@127.0.0.1:{unused_port()}/v1") as client:
        with pytest.raises(ModelServerError) as error:
            await client.list_models()

    assert "pw" not in str(error.value)


# -- embeddings and models -----------------------------------------------------------------


async def test_embeddings_are_batched_and_kept_in_order(
    fake: FakeOpenAI, client: OpenAICompatClient
) -> None:
    fake.quirks = Quirks(embeddings_out_of_order=True)
    texts = [f"taste number {index}" for index in range(EMBED_BATCH_SIZE * 2 + 3)]

    vectors = await client.embed(EMBED_MODEL, texts)

    assert vectors == [fake_embedding(text, 64) for text in texts]
    assert [len(r.body["input"]) for r in fake.embed_requests] == [32, 32, 3]


async def test_the_embedding_size_is_measured_once(
    fake: FakeOpenAI, client: OpenAICompatClient
) -> None:
    assert await client.embedding_dimension(EMBED_MODEL) == 64
    assert await client.embedding_dimension(EMBED_MODEL) == 64
    assert len(fake.embed_requests) == 1


async def test_too_few_embeddings_ask_whether_it_is_an_embedding_model() -> None:
    body = {"object": "list", "data": []}
    async with canned(lambda request: httpx.Response(200, json=body)) as client:
        with pytest.raises(ModelServerResponseError, match="is it an embedding model"):
            await client.embed(EMBED_MODEL, ["noir"])


async def test_models_are_listed_and_checked(client: OpenAICompatClient) -> None:
    assert set(await client.list_models()) == {EMBED_MODEL, CHAT_MODEL}
    await client.check_model(CHAT_MODEL)
    with pytest.raises(ModelNotFound, match=r"It lists: bge-large, llama3\.1:8b"):
        await client.check_model("gpt-9")
