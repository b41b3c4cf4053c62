"""An async client for OpenAI-compatible model servers (vLLM, llama.cpp's server,
LM Studio, Ollama's /v1, hosted APIs such as OpenRouter, Groq or OpenAI), over httpx.

It has the same shape as `OllamaClient` (see `bot.pipeline.model_client`), so the
pipeline uses either. Every library error is translated here into our own tree:

- connection refused / connect timeout   -> `ModelServerUnreachable` (check LLM_URLS)
- HTTP 401/403                           -> `ModelServerRefused` (check LLM_API_KEY)
- HTTP 404 naming the model              -> `ModelNotFound`
- HTTP 429                               -> `ModelServerBusy`
- any other non-2xx, or an `error` object in the stream -> `ModelServerResponseError`
- a reset, or a stream that ends before `[DONE]` or a finish reason -> `ModelServerCut`
- no first token / no next event in time -> `ModelServerStalled`

Structured picks are asked for with `response_format` of type `json_schema` (the pick
schema made strict-compatible). Servers differ: most honour it, some ignore it (the
picks reader then sees plain text), and some refuse it before any token (HTTP 400;
llama-cpp-python answers 500 "Input should be 'text' or 'json_object'"). A refusal
whose message names the format is answered by asking again with `json_object` (the
prompt already says to answer in JSON), then with no format at all; the outcome is
remembered per model for this host, so the next suggestion asks the right way first.

The timeouts are those of `OllamaClient`: no total limit on a stream, a limit on the
wait for the first text and on the gap between events. Keep-alive comments do not
count as progress: a server that only sends comments is stalled.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Sequence
from typing import Any, Self, TypeVar, cast

import httpx

from bot.errors import ModelNotFound, ModelServerCut, ModelServerResponseError, ModelServerStalled
from bot.pipeline.model_client import ChatChunk
from bot.pipeline.openai_wire import (
    DONE,
    MAX_ERROR_CHARS,
    NEXT_FORMAT,
    AnswerStats,
    FormatRefused,
    ResponseFormat,
    ServerNames,
    message_of,
    names_format,
    raise_for_status,
    request_settings,
    response_format,
    translate_errors,
)
from bot.pipeline.sse import ServerEvent, read_events

log = logging.getLogger(__name__)
T = TypeVar("T")

EMBED_BATCH_SIZE = 32
_PROBE_TEXT = "dimension probe"

__all__ = ["EMBED_BATCH_SIZE", "OpenAICompatClient", "ResponseFormat"]


class OpenAICompatClient:
    """A small typed client for the OpenAI chat API; use it with `async with`."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        connect_timeout: float = 5.0,
        request_timeout: float = 60.0,
        first_token_timeout: float = 180.0,
        idle_timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        url_setting: str = "LLM_URLS",
        key_setting: str = "LLM_API_KEY",
    ) -> None:
        self._names = ServerNames(
            _without_credentials(base_url, url_setting), url_setting, key_setting
        )
        self._url = self._names.url
        self._first_token_timeout = first_token_timeout
        self._idle_timeout = idle_timeout
        self._stream_timeout = httpx.Timeout(
            connect=connect_timeout, read=None, write=request_timeout, pool=connect_timeout
        )
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            timeout=httpx.Timeout(request_timeout, connect=connect_timeout, pool=connect_timeout),
            transport=transport,
        )
        self._dimensions: dict[str, int] = {}
        self._formats: dict[str, ResponseFormat] = {}

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    @property
    def url(self) -> str:
        """The server's address as shown to the owner (never with credentials)."""
        return self._url

    def format_for(self, model: str) -> ResponseFormat:
        """How structured picks are asked of `model` here: what worked, else json_schema."""
        return self._formats.get(model, ResponseFormat.JSON_SCHEMA)

    # -- plain requests ----------------------------------------------------------------

    async def list_models(self) -> list[str]:
        """The ids of the models the server lists at GET /models."""
        body = await self._request("GET", "/models")
        data = body.get("data")
        if not isinstance(data, list):
            raise ModelServerResponseError(
                f"The model server at {self._url} sent no model list for /models: {body!r:.300}"
            )
        return [str(model.get("id")) for model in data if isinstance(model, dict)]

    async def check_model(self, model: str) -> None:
        """Return if the server lists `model`; raise `ModelNotFound` naming the ones it has."""
        models = await self.list_models()
        if model not in models:
            listed = ", ".join(models[:10]) or "none"
            raise ModelNotFound(
                model,
                server=f"model server at {self._url}",
                fix=f"It lists: {listed}. Set the model name to one of those.",
            )

    async def embedding_dimension(self, model: str) -> int:
        """The length of `model`'s embeddings: one probe text embedded, then cached."""
        if model not in self._dimensions:
            self._dimensions[model] = len((await self.embed(model, [_PROBE_TEXT]))[0])
        return self._dimensions[model]

    async def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        """One embedding per text, in order, fetched in batches of `EMBED_BATCH_SIZE`."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one str")
        embeddings: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH_SIZE):
            batch = list(texts[start : start + EMBED_BATCH_SIZE])
            body = await self._request(
                "POST", "/embeddings", {"model": model, "input": batch}, model=model
            )
            embeddings.extend(self._vectors_of(body, model, len(batch)))
        return embeddings

    def _vectors_of(self, body: dict[str, Any], model: str, expected: int) -> list[list[float]]:
        data = body.get("data")
        items = [item for item in data if isinstance(item, dict)] if isinstance(data, list) else []
        vectors = [item.get("embedding") for item in sorted(items, key=_index)]
        if len(vectors) != expected or not all(isinstance(v, list) for v in vectors):
            raise ModelServerResponseError(
                f"The model server at {self._url} returned {len(vectors)} embeddings for "
                f"{expected} texts with model {model!r}; is it an embedding model?"
            )
        return cast("list[list[float]]", vectors)

    async def _request(
        self, method: str, path: str, payload: dict[str, Any] | None = None, *, model: str = ""
    ) -> dict[str, Any]:
        """Send one request and return its JSON object, translating every failure."""
        with translate_errors(path, self._names):
            response = await self._http.request(method, path, json=payload)
            await raise_for_status(response, path, model, self._names)
            try:
                body = response.json()
            except ValueError:
                body = None
        if not isinstance(body, dict):
            raise ModelServerResponseError(
                f"The model server at {self._url} sent an unexpected answer for {path}: "
                f"{response.text[:MAX_ERROR_CHARS]!r}"
            )
        return body

    # -- streaming chat ----------------------------------------------------------------

    async def chat_stream(
        self,
        model: str,
        messages: list[dict[str, str]],
        *,
        options: dict[str, Any] | None = None,
        format: dict[str, Any] | None = None,  # the name OllamaClient uses
    ) -> AsyncGenerator[ChatChunk, None]:
        """Stream the model's answer as it is generated (see `OllamaClient.chat_stream`).

        `options` are Ollama-named settings; only those OpenAI servers know are sent.
        `format` is the JSON schema of the answer, asked for as the module docstring says.
        """
        mode = self.format_for(model) if format is not None else ResponseFormat.NONE
        while True:
            payload = self._chat_payload(model, messages, options, mode, format or {})
            try:
                async with contextlib.aclosing(self._stream_once(model, payload)) as chunks:
                    async for chunk in chunks:
                        yield chunk
                return
            except FormatRefused as refusal:
                fallback = NEXT_FORMAT.get(mode, ResponseFormat.NONE)
                log.info(
                    "%s refused response_format %s for %s (%s); asking with %s from now on",
                    self._url,
                    mode,
                    model,
                    refusal,
                    fallback,
                )
                mode = self._formats[model] = fallback

    def _chat_payload(
        self,
        model: str,
        messages: list[dict[str, str]],
        options: dict[str, Any] | None,
        mode: ResponseFormat,
        schema: dict[str, Any],
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "stream": True,
            "stream_options": {"include_usage": True},
            **request_settings(options),
        }
        if (wanted := response_format(mode, schema)) is not None:
            payload["response_format"] = wanted
        return payload

    async def _stream_once(
        self, model: str, payload: dict[str, Any]
    ) -> AsyncGenerator[ChatChunk, None]:
        """One chat request; `FormatRefused` if the format was refused before any text."""
        may_refuse = "response_format" in payload
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._first_token_timeout
        reading = AnswerStats(time.perf_counter())
        with translate_errors("/chat/completions", self._names):
            async with contextlib.AsyncExitStack() as stack:
                response = await self._within(
                    deadline,
                    reading.has_text,
                    stack.enter_async_context(
                        self._http.stream(
                            "POST", "/chat/completions", json=payload, timeout=self._stream_timeout
                        )
                    ),
                )
                await raise_for_status(
                    response, "/chat/completions", model, self._names, may_refuse_format=may_refuse
                )
                events = await stack.enter_async_context(
                    contextlib.aclosing(read_events(response.aiter_bytes()))
                )
                while True:
                    event = await self._within(deadline, reading.has_text, anext(events, None))
                    if event is None or event.data.strip() == DONE:
                        break
                    text = self._read_event(event, reading, may_refuse and not reading.has_text)
                    if reading.has_text:
                        deadline = loop.time() + self._idle_timeout
                    if text:
                        yield ChatChunk(text)
                if event is not None or reading.finish_reason is not None:
                    yield ChatChunk("", reading.stats())
                    return
        raise ModelServerCut(
            f"The answer stream from the model server at {self._url} ({model}) was cut "
            "before it finished. The server may have crashed or restarted; check its logs."
        )

    def _read_event(self, event: ServerEvent, reading: AnswerStats, may_refuse: bool) -> str:
        """The text of one event; raises for an `error` object in the stream."""
        try:
            data = json.loads(event.data)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            log.warning("Skipping a malformed event from %s: %.200r", self._url, event.data)
            return ""
        if data.get("error") is not None or event.event == "error":
            message = message_of(data) or event.data[:MAX_ERROR_CHARS]
            if may_refuse and names_format(message):
                raise FormatRefused(message)
            raise ModelServerResponseError(
                f"The model server at {self._url} reported an error mid-answer: {message}"
            )
        return reading.read(data)

    async def _within(self, deadline: float, has_text: bool, awaitable: Awaitable[T]) -> T:
        """Await `awaitable` until `deadline`, turning a timeout into `ModelServerStalled`."""
        try:
            async with asyncio.timeout_at(deadline):
                return await awaitable
        except TimeoutError:
            if has_text:
                raise ModelServerStalled(
                    f"The model server at {self._url} stopped sending mid-answer: nothing for "
                    f"{self._idle_timeout:g}s. It may be overloaded or stuck; try again."
                ) from None
            raise ModelServerStalled(
                f"The model server at {self._url} sent no answer within "
                f"{self._first_token_timeout:g}s. The model may still be loading or the "
                "server may be overloaded; try again shortly, or raise "
                "MODEL_FIRST_TOKEN_TIMEOUT."
            ) from None

    # -- error translation -------------------------------------------------------------


def _index(item: dict[str, Any]) -> int:
    index = item.get("index")
    return index if isinstance(index, int) else 0


def _without_credentials(base_url: str, setting: str) -> str:
    """The URL to show in messages: never a user:password it may carry."""
    try:
        return str(httpx.URL(base_url).copy_with(username=None, password=None)).rstrip("/")
    except (httpx.InvalidURL, TypeError):
        return f"the URL in {setting}"
