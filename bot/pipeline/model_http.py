"""What both model clients do alike over httpx, whichever API they speak.

`ModelHttpClient` owns the connection pool (a Bearer key when one is set, explicit
per-phase timeouts, `async with` closes it) and the waits of a streamed answer;
`translate_errors` turns httpx's errors into our tree. Each message names the server
in its provider's words (`ServerNames`): "Ollama", or "the model server at <url>".

httpx error                                   -> ours
- ConnectError / ConnectTimeout / PoolTimeout -> `ModelServerUnreachable`
- any other TimeoutException                  -> `ModelServerStalled`
- RemoteProtocolError / ReadError             -> `ModelServerCut`
- any other HTTPError                         -> `ModelServerError`

Streams have no total time limit on purpose (a long answer at a slow pace is healthy):
`first_token_timeout` bounds the wait for the first text (a cold model may need to
load), `idle_timeout` the gap between pieces.
"""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Iterator, Sequence
from dataclasses import dataclass
from typing import Self, TypeVar

import httpx

from bot.errors import (
    ModelServerCut,
    ModelServerError,
    ModelServerStalled,
    ModelServerUnreachable,
)

T = TypeVar("T")

# Servers accept many inputs per embedding call; batches keep one request (and its
# memory on the server) bounded when a member re-indexes hundreds of tastes.
EMBED_BATCH_SIZE = 32


@dataclass(frozen=True, slots=True)
class ServerNames:
    """How messages name one server: its words, its address, the settings that fix it."""

    url: str
    url_setting: str = "LLM_URLS"
    key_setting: str = "LLM_API_KEY"
    name: str = "the model server"
    # Whether sentences about the server give its address ("the model server at <url>");
    # a server with a name of its own ("Ollama") is named without it.
    says_url: bool = True

    @property
    def about(self) -> str:
        """The server mid-sentence: "the model server at <url>" or "Ollama"."""
        return f"{self.name} at {self.url}" if self.says_url else self.name

    @property
    def where(self) -> str:
        """The server as a sentence's subject: "The model server at <url>" or "Ollama"."""
        return self.about[:1].upper() + self.about[1:]

    @property
    def suspect(self) -> str:
        """Who may have crashed, without saying the address again."""
        return "The server" if self.says_url else self.name


def shown_url(base_url: str, setting: str) -> str:
    """The URL to show in messages: never a user:password it may carry."""
    try:
        return str(httpx.URL(base_url).copy_with(username=None, password=None)).rstrip("/")
    except (httpx.InvalidURL, TypeError):
        return f"the URL in {setting}"


@contextlib.contextmanager
def translate_errors(path: str, names: ServerNames) -> Iterator[None]:
    """Turn httpx's errors into ours; our own pass through untouched."""
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise ModelServerUnreachable(
            f"Cannot reach {names.name} at {names.url} ({type(exc).__name__}). "
            f"Is it running? Check {names.url_setting}."
        ) from None
    except httpx.TimeoutException as exc:
        raise ModelServerStalled(
            f"{names.where} did not answer {path} in time ({type(exc).__name__}); it may be "
            "busy or loading a model. Try again shortly."
        ) from None
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise ModelServerCut(
            f"The connection to {names.about} was cut during {path} ({exc}). "
            f"{names.suspect} may have crashed or restarted; check its logs."
        ) from None
    except httpx.HTTPError as exc:
        raise ModelServerError(f"Talking to {names.name} at {names.url} failed: {exc}") from None


class ModelHttpClient(ABC):
    """The httpx pool, batching and stream waits of one model server; `async with` it."""

    def __init__(
        self,
        base_url: str,
        names: ServerNames,
        *,
        api_key: str | None,
        connect_timeout: float,
        request_timeout: float,
        first_token_timeout: float,
        idle_timeout: float,
        transport: httpx.AsyncBaseTransport | None,
    ) -> None:
        self._names = names
        self._url = names.url
        self._first_token_timeout = first_token_timeout
        self._idle_timeout = idle_timeout
        # Plain requests get one overall read limit; streams read without one, because
        # first-token and idle limits are enforced per piece in `_within`.
        self._stream_timeout = httpx.Timeout(
            connect=connect_timeout, read=None, write=request_timeout, pool=connect_timeout
        )
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            # For a hosted API, or an Ollama behind a proxy that checks a key.
            headers={"Authorization": f"Bearer {api_key}"} if api_key else None,
            timeout=httpx.Timeout(request_timeout, connect=connect_timeout, pool=connect_timeout),
            transport=transport,
        )

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

    async def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        """One embedding per text, in order, fetched in batches of `EMBED_BATCH_SIZE`."""
        if isinstance(texts, str):
            # A str is a Sequence[str]: it would be embedded one character at a time.
            raise TypeError("embed() takes a sequence of texts, not one str")
        embeddings: list[list[float]] = []
        for start in range(0, len(texts), EMBED_BATCH_SIZE):
            batch = list(texts[start : start + EMBED_BATCH_SIZE])
            embeddings.extend(await self._embed_batch(model, batch))
        return embeddings

    @abstractmethod
    async def _embed_batch(self, model: str, batch: list[str]) -> list[list[float]]:
        """One embedding per text of `batch`, in order, from one request."""

    async def _within(self, deadline: float, has_text: bool, awaitable: Awaitable[T]) -> T:
        """Await `awaitable` until `deadline`, turning a timeout into `ModelServerStalled`."""
        try:
            async with asyncio.timeout_at(deadline):
                return await awaitable
        except TimeoutError:
            if has_text:
                raise ModelServerStalled(
                    f"{self._names.where} stopped sending mid-answer: nothing for "
                    f"{self._idle_timeout:g}s. The server may be overloaded or stuck; try again."
                ) from None
            raise ModelServerStalled(
                f"{self._names.where} sent no answer within {self._first_token_timeout:g}s. "
                "The model may still be loading or the server may be overloaded; try again "
                "shortly, or raise MODEL_FIRST_TOKEN_TIMEOUT."
            ) from None

    def _stream_cut(self, model: str) -> ModelServerCut:
        """The error of an answer stream that ended before its last piece."""
        return ModelServerCut(
            f"The answer stream from {self._names.about} ({model}) was cut before it "
            f"finished. {self._names.suspect} may have crashed or restarted; check its logs."
        )
