"""An async client for the few Ollama endpoints we use, over httpx.

Every library error is translated into our own tree (`bot.errors.OllamaError` and its
subclasses) here, at the boundary, with a message a person can act on:

- connection refused / connect timeout -> `OllamaUnreachable`
- HTTP 404 "model ... not found"        -> `ModelNotFound` (says `ollama pull <model>`)
- any other non-2xx, an `{"error": ...}` line mid-stream, or a stream cut before its
  `done: true` chunk                    -> `OllamaResponseError`
- no first chunk / no next chunk within the limit, or no answer to a plain request
  within `request_timeout`              -> `OllamaStalled`

Streaming has no total time limit on purpose: an 800-token answer at 12 tokens/s takes
over a minute and is healthy. Instead, `first_token_timeout` bounds the wait for the
first chunk (a cold model may need to load) and `idle_timeout` the gap between chunks.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Iterator, Sequence
from typing import Any, Self, TypeVar, cast

import httpx

from bot.errors import (
    ModelNotFound,
    ModelServerCut,
    OllamaError,
    OllamaResponseError,
    OllamaStalled,
    OllamaUnreachable,
)
from bot.pipeline.domain import GenerationStats
from bot.pipeline.model_client import ChatChunk

log = logging.getLogger(__name__)
T = TypeVar("T")

# Ollama accepts many inputs per /api/embed call; batches keep one request (and its
# memory on the server) bounded when a member re-indexes hundreds of tastes.
EMBED_BATCH_SIZE = 32
_PROBE_TEXT = "dimension probe"
_NANOSECONDS = 1e9
_MAX_ERROR_CHARS = 300  # an HTML error page is not a message


class OllamaClient:
    """A small typed client for Ollama's HTTP API; use it with `async with`."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout: float = 5.0,
        request_timeout: float = 60.0,
        first_token_timeout: float = 180.0,
        idle_timeout: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
        api_key: str | None = None,
        url_setting: str = "OLLAMA_URL",
    ) -> None:
        self._url = _without_credentials(base_url)
        self._url_setting = url_setting
        self._first_token_timeout = first_token_timeout
        self._idle_timeout = idle_timeout
        # Plain requests get one overall read limit; streams read without one, because
        # first-token and idle limits are enforced per chunk in `chat_stream`.
        self._stream_timeout = httpx.Timeout(
            connect=connect_timeout, read=None, write=request_timeout, pool=connect_timeout
        )
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            timeout=httpx.Timeout(request_timeout, connect=connect_timeout, pool=connect_timeout),
            transport=transport,
            # For an Ollama behind a proxy that checks a key (LLM_API_KEY).
            headers={"Authorization": f"Bearer {api_key}"} if api_key else None,
        )
        self._dimensions: dict[str, int] = {}

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

    # -- plain requests ----------------------------------------------------------------

    async def version(self) -> str:
        """The Ollama server's version, e.g. `0.6.2`."""
        body = await self._request("GET", "/api/version")
        return str(body.get("version", ""))

    async def list_models(self) -> list[str]:
        """Names of the pulled models, as Ollama lists them (e.g. `bge-large:latest`)."""
        body = await self._request("GET", "/api/tags")
        return [str(model["name"]) for model in body.get("models", [])]

    async def show(self, model: str) -> dict[str, Any]:
        """Ollama's description of `model` (details, model_info, ...); `ModelNotFound` if absent."""
        return await self._request("POST", "/api/show", {"model": model}, model=model)

    async def check_model(self, model: str) -> None:
        """Return if `model` is pulled; raise `ModelNotFound` if it is not."""
        await self.show(model)

    async def embedding_dimension(self, model: str) -> int:
        """The length of `model`'s embeddings, asked once per model and then cached.

        Read from /api/show's `<architecture>.embedding_length`; if the server does not
        say, one probe text is embedded and measured.
        """
        if model not in self._dimensions:
            info = (await self.show(model)).get("model_info") or {}
            dimension = info.get(f"{info.get('general.architecture')}.embedding_length")
            if not isinstance(dimension, int) or dimension <= 0:
                log.debug("No embedding_length for %s in /api/show; probing", model)
                dimension = len((await self.embed(model, [_PROBE_TEXT]))[0])
            self._dimensions[model] = dimension
        return self._dimensions[model]

    async def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        """One embedding per text, in order, fetched in batches of `EMBED_BATCH_SIZE`."""
        if isinstance(texts, str):
            # A str is a Sequence[str]: it would be embedded one character at a time.
            raise TypeError("embed() takes a sequence of texts, not one str")
        embeddings: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH_SIZE):
            batch = list(texts[start : start + EMBED_BATCH_SIZE])
            body = await self._request(
                "POST", "/api/embed", {"model": model, "input": batch}, model=model
            )
            vectors = body.get("embeddings")
            if not isinstance(vectors, list) or len(vectors) != len(batch):
                got = len(vectors) if isinstance(vectors, list) else "no"
                raise OllamaResponseError(
                    f"Ollama returned {got} embeddings for {len(batch)} texts "
                    f"with model {model!r}; is it an embedding model?"
                )
            embeddings.extend(vectors)
        return embeddings

    async def _request(
        self, method: str, path: str, payload: dict[str, Any] | None = None, *, model: str = ""
    ) -> dict[str, Any]:
        """Send one request and return its JSON object, translating every failure."""
        with self._translate_errors(path):
            response = await self._http.request(method, path, json=payload)
            await _raise_for_status(response, path, model)
            try:
                body = response.json()
            except ValueError:
                raise OllamaResponseError(
                    f"Ollama sent something that is not JSON for {path}: "
                    f"{response.text[:_MAX_ERROR_CHARS]!r}"
                ) from None
        if not isinstance(body, dict):
            raise OllamaResponseError(f"Ollama sent an unexpected answer for {path}: {body!r:.300}")
        return body

    # -- streaming chat ----------------------------------------------------------------

    async def chat_stream(
        self,
        model: str,
        messages: list[dict[str, str]],
        *,
        options: dict[str, Any] | None = None,
        format: dict[str, Any] | None = None,  # Ollama's own name for it
    ) -> AsyncGenerator[ChatChunk, None]:
        """Stream the model's answer as it is generated.

        Every piece of text is yielded as soon as it arrives, so whatever came before a
        fault is already with the caller when the exception is raised. The last chunk
        has empty or final text and `stats`. Closing this generator early (`aclose()`,
        or breaking out of `async for`) closes the HTTP response, which makes Ollama
        stop generating. `format` is a JSON schema the answer must follow (Ollama's
        structured outputs).
        """
        payload: dict[str, Any] = {"model": model, "messages": messages, "stream": True}
        if options:
            payload["options"] = options
        if format is not None:
            payload["format"] = format
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._first_token_timeout
        has_chunk = False
        with self._translate_errors("/api/chat"):
            async with contextlib.AsyncExitStack() as stack:
                # Ollama sends no headers until the model is loaded and the first token
                # is ready, so the first-token limit covers the wait for the response.
                response = await self._within(
                    deadline,
                    has_chunk,
                    stack.enter_async_context(
                        self._http.stream(
                            "POST", "/api/chat", json=payload, timeout=self._stream_timeout
                        )
                    ),
                )
                await _raise_for_status(response, "/api/chat", model)
                # httpx types `aiter_lines` as an iterator; it is an async generator, and
                # closing it releases the response.
                raw_lines = cast("AsyncGenerator[str, None]", response.aiter_lines())
                lines = await stack.enter_async_context(contextlib.aclosing(raw_lines))
                while True:
                    line = await self._within(deadline, has_chunk, anext(lines, None))
                    if line is None:
                        break
                    has_chunk = True
                    deadline = loop.time() + self._idle_timeout
                    chunk = _parse_chat_line(line)
                    if chunk is None:
                        continue
                    yield chunk
                    if chunk.stats is not None:
                        return
        raise _stream_cut(model)

    async def _within(self, deadline: float, has_chunk: bool, awaitable: Awaitable[T]) -> T:
        """Await `awaitable` until `deadline`, turning a timeout into `OllamaStalled`."""
        try:
            async with asyncio.timeout_at(deadline):
                return await awaitable
        except TimeoutError:
            if has_chunk:
                raise OllamaStalled(
                    f"Ollama stopped sending mid-answer: nothing for {self._idle_timeout:g}s. "
                    "The server may be overloaded or stuck; try again."
                ) from None
            raise OllamaStalled(
                f"Ollama sent no answer within {self._first_token_timeout:g}s. The model may "
                "still be loading or the server may be overloaded; try again shortly, or "
                "raise MODEL_FIRST_TOKEN_TIMEOUT."
            ) from None

    # -- error translation -------------------------------------------------------------

    @contextlib.contextmanager
    def _translate_errors(self, path: str) -> Iterator[None]:
        """Turn httpx's errors into ours; our own pass through untouched."""
        try:
            yield
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise OllamaUnreachable(
                f"Cannot reach Ollama at {self._url} ({type(exc).__name__}). "
                f"Is it running? Check {self._url_setting}."
            ) from None
        except httpx.TimeoutException as exc:
            raise OllamaStalled(
                f"Ollama did not answer {path} in time ({type(exc).__name__}); "
                "it may be busy or loading a model. Try again shortly."
            ) from None
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
            raise ModelServerCut(
                f"The connection to Ollama was cut during {path} ({exc}). "
                "Ollama may have crashed or restarted; check its logs."
            ) from None
        except httpx.HTTPError as exc:
            raise OllamaError(f"Talking to Ollama at {self._url} failed: {exc}") from None


async def _raise_for_status(response: httpx.Response, path: str, model: str) -> None:
    """Raise `ModelNotFound` or `OllamaResponseError` unless the response is 2xx."""
    if response.is_success:
        return
    await response.aread()
    error = _error_text(response)
    # A 404 is also what an Ollama too old for an endpoint says ("404 page not found").
    is_missing_model = "model" in error.lower() and "not found" in error.lower()
    if response.status_code == 404 and model and is_missing_model:
        raise ModelNotFound(model)
    raise OllamaResponseError(
        f"Ollama answered HTTP {response.status_code} to {path}: {error}",
        status=response.status_code,
    )


def _error_text(response: httpx.Response) -> str:
    """Ollama's own `error` text when it sent one, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    return response.text.strip()[:_MAX_ERROR_CHARS] or response.reason_phrase


def _parse_chat_line(line: str) -> ChatChunk | None:
    """One NDJSON line as a chunk; None for a blank or malformed line (which is logged)."""
    if not line.strip():
        return None
    try:
        data = json.loads(line)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        # One bad line is not worth losing the answer for; Ollama carries on after it.
        log.warning("Skipping a malformed line from Ollama's stream: %.200r", line)
        return None
    if "error" in data:
        raise OllamaResponseError(f"Ollama reported an error mid-answer: {data['error']}")
    message = data.get("message") or {}
    text = str(message.get("content") or "")
    if data.get("done"):
        return ChatChunk(text, _stats_from(data))
    return ChatChunk(text)


def _stats_from(final: dict[str, Any]) -> GenerationStats:
    """Counts and durations of the final chunk; Ollama gives durations in nanoseconds."""

    def seconds(key: str) -> float:
        return float(final.get(key) or 0) / _NANOSECONDS

    return GenerationStats(
        prompt_tokens=int(final.get("prompt_eval_count") or 0),
        completion_tokens=int(final.get("eval_count") or 0),
        total_seconds=seconds("total_duration"),
        load_seconds=seconds("load_duration"),
        prompt_eval_seconds=seconds("prompt_eval_duration"),
        eval_seconds=seconds("eval_duration"),
        done_reason=final.get("done_reason"),
    )


def _stream_cut(model: str) -> OllamaResponseError:
    return ModelServerCut(
        f"The answer stream from Ollama ({model}) was cut before it finished. "
        "Ollama may have crashed or restarted; check its logs."
    )


def _without_credentials(base_url: str) -> str:
    """The URL to show in messages: never a user:password it may carry."""
    try:
        return str(httpx.URL(base_url).copy_with(username=None, password=None))
    except (httpx.InvalidURL, TypeError):
        return "the configured OLLAMA_URL"
