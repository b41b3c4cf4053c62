"""The fakes, served from a child process so their work never lands on the bot's
event loop or in its CPU time.

The child runs the fake Ollama and the fake OpenAI-compatible server (both timed: they
log when each request arrived, when its first and last token were written and when it
ended) and, if asked, the fake Discord. The parent drives them over a pipe::

    async with RemoteFakes(tokens_per_second=12, with_discord=True) as fakes:
        fakes.ollama_url, fakes.openai_url, fakes.discord_url
        await fakes.call("dispatch_slash", "suggest", {"query": "..."}, user_id)
        served = await fakes.call("ollama_log")

Times are `time.monotonic()`, which on Linux is one clock for every process, so the
parent can set them against its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import multiprocessing
import re
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Self

from aiohttp import web

from tests.fakes.discord_server import FakeDiscord
from tests.fakes.ollama_server import FakeOllama
from tests.fakes.openai_server import BODY, FakeOpenAI, FormatSupport

TAG = re.compile(r"bench-(\d+)")  # the marker a benchmark puts into a request's text
START_TIMEOUT = 30.0


def tag_of(text: str) -> int | None:
    found = TAG.search(text)
    return int(found.group(1)) if found else None


@dataclass
class Served:
    """One request the fake Ollama answered, timed on its side."""

    kind: str  # "embed" or "chat"
    tag: int | None  # the `bench-N` marker in its text, if any
    started: float  # the request arrived (before its body was read)
    ended: float  # the last byte was handed to the socket
    first_token: float | None = None  # chat: the first text chunk was written
    last_token: float | None = None  # chat: the last text chunk was written
    done: float | None = None  # chat: the final `done: true` chunk was written
    tokens: int = 0

    @property
    def seconds(self) -> float:
        return self.ended - self.started


_current: contextvars.ContextVar[Served | None] = contextvars.ContextVar(
    "current_request", default=None
)


class TimedFakeOllama(FakeOllama):
    """The fake Ollama, logging each embed and chat request with its own timings."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.served: list[Served] = []

    async def _embed(self, request: web.Request) -> web.Response:
        served = Served("embed", None, time.monotonic(), 0.0)
        _current.set(served)  # each aiohttp handler runs in its own task and context
        response = await super()._embed(request)
        served.ended = time.monotonic()
        self.served.append(served)
        return response

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        served = Served("chat", None, time.monotonic(), 0.0)
        _current.set(served)
        response = await super()._chat(request)
        served.ended = time.monotonic()
        self.served.append(served)
        return response

    async def _record(self, request: web.Request) -> Any:
        """Every handler reads its body here first: note the request's `bench-N` tag."""
        body = await super()._record(request)
        served = _current.get()
        if served is not None and isinstance(body, dict):
            if served.kind == "embed":
                texts = body.get("input") or []
                text = " ".join(texts) if isinstance(texts, list) else str(texts)
            else:
                text = " ".join(
                    str(message.get("content", ""))
                    for message in body.get("messages", [])
                    if message.get("role") == "user"
                )
            served.tag = tag_of(text)
        return body

    async def _write_line(self, response: web.StreamResponse, chunk: dict[str, Any]) -> None:  # type: ignore[override]
        await FakeOllama._write_line(response, chunk)
        served = _current.get()
        if served is None:
            return
        now = time.monotonic()
        if chunk.get("done"):
            served.done = now
            return
        if not chunk.get("message", {}).get("content"):
            return
        if served.first_token is None:
            served.first_token = now
        served.last_token = now
        served.tokens += 1


class TimedFakeOpenAI(FakeOpenAI):
    """The fake OpenAI-compatible server, logging requests as `TimedFakeOllama` does."""

    def __init__(self, **options: Any) -> None:
        # The fake Ollama's options that mean the same here.
        shared = ("embed_dim", "embed_latency", "tokens_per_second", "first_token_delay")
        super().__init__(**{name: options[name] for name in shared if name in options})
        self.served: list[Served] = []

    async def _embeddings(self, request: web.Request) -> web.Response:
        texts = request[BODY].get("input") or []
        text = " ".join(texts) if isinstance(texts, list) else str(texts)
        return await self._timed("embed", text, super()._embeddings(request))

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        text = " ".join(
            str(message.get("content", ""))
            for message in request[BODY].get("messages", [])
            if message.get("role") == "user"
        )
        return await self._timed("chat", text, super()._chat(request))

    async def _timed(self, kind: str, text: str, handling: Any) -> Any:
        served = Served(kind, tag_of(text), time.monotonic(), 0.0)
        _current.set(served)
        response = await handling
        served.ended = time.monotonic()
        self.served.append(served)
        return response

    def wrote_event(self, data: dict[str, Any] | None) -> None:
        served = _current.get()
        if served is None:
            return
        now = time.monotonic()
        if data is None:
            served.done = now
            return
        choices = data.get("choices") or [{}]
        if not (choices[0].get("delta") or {}).get("content"):
            return
        if served.first_token is None:
            served.first_token = now
        served.last_token = now
        served.tokens += 1


class SlowFakeDiscord(FakeDiscord):
    """The fake Discord with a network round trip on every REST request: half on the way
    in (before the request is recorded and handled), half on the way back."""

    def __init__(self, round_trip: float) -> None:
        super().__init__()
        self.round_trip = round_trip

    async def _rest(self, request: web.Request) -> web.Response:
        await asyncio.sleep(self.round_trip / 2)
        response = await super()._rest(request)
        await asyncio.sleep(self.round_trip / 2)
        return response


class _Controller:
    """What the parent may ask of the child: one coroutine per command."""

    def __init__(
        self, ollama: TimedFakeOllama, openai: TimedFakeOpenAI, discord: FakeDiscord | None
    ) -> None:
        self.ollama = ollama
        self.openai = openai
        self.discord = discord

    async def set_ollama(self, **attributes: Any) -> None:
        """Set attributes of both model fakes (`ignore_format` is the OpenAI's `formats`)."""
        for name, value in attributes.items():
            setattr(self.ollama, name, value)
            if name == "ignore_format":
                self.openai.formats = FormatSupport.IGNORE if value else FormatSupport.HONOUR
            else:
                setattr(self.openai, name, value)

    async def ollama_log(self, clear: bool = False) -> list[Served]:
        """What both model fakes served, in order of arrival."""
        served = sorted([*self.ollama.served, *self.openai.served], key=lambda s: s.started)
        if clear:
            self.ollama.served.clear()
            self.openai.served.clear()
        return served

    async def discord_ids(self) -> dict[str, int]:
        assert self.discord is not None
        return {"guild_id": self.discord.guild_id, "channel_id": self.discord.channel_id}

    async def dispatch_slash(self, name: str, options: dict[str, Any], user_id: int) -> Any:
        assert self.discord is not None
        return await self.discord.dispatch_slash(name, options, user_id)

    async def discord_state(self) -> dict[str, Any]:
        """Everything recorded so far: requests, messages, interactions, originals."""
        assert self.discord is not None
        return {
            "requests": list(self.discord.requests),
            "messages": dict(self.discord.messages),
            "interactions": dict(self.discord.interactions),
            "replies": {
                token: [message.id for message in self.discord.replies(token)]
                for token in self.discord.interactions
            },
        }

    async def clear_discord_log(self) -> None:
        assert self.discord is not None
        self.discord.requests.clear()


def _child_main(
    connection: Connection, ollama_options: dict[str, Any], discord: float | None
) -> None:
    asyncio.run(_serve(connection, ollama_options, discord))


async def _serve(
    connection: Connection, ollama_options: dict[str, Any], discord_round_trip: float | None
) -> None:
    loop = asyncio.get_running_loop()
    async with contextlib.AsyncExitStack() as stack:
        ollama = await stack.enter_async_context(TimedFakeOllama(**ollama_options))
        openai = await stack.enter_async_context(TimedFakeOpenAI(**ollama_options))
        discord = None
        if discord_round_trip is not None:
            discord = await stack.enter_async_context(SlowFakeDiscord(discord_round_trip))
        connection.send(
            {
                "ollama": ollama.url,
                "openai": openai.url,
                "discord": discord.url if discord else None,
            }
        )
        controller = _Controller(ollama, openai, discord)
        while True:
            message = await loop.run_in_executor(None, connection.recv)
            if message is None:
                connection.send(None)
                return
            name, args, kwargs = message
            try:
                result: Any = ("ok", await getattr(controller, name)(*args, **kwargs))
            except Exception as exc:
                result = ("error", repr(exc))
            connection.send(result)


class RemoteFakes:
    """The fake model servers (and optionally the fake Discord) in a child process."""

    def __init__(
        self,
        *,
        with_discord: bool = False,
        discord_round_trip: float = 0.0,
        **ollama_options: Any,
    ) -> None:
        # None: no fake Discord at all.
        self._discord_round_trip = discord_round_trip if with_discord else None
        self._ollama_options = ollama_options
        self._connection: Connection | None = None
        self._process: multiprocessing.process.BaseProcess | None = None
        self._lock = asyncio.Lock()
        self.ollama_url = ""
        self.openai_url = ""
        self.discord_url = ""

    async def __aenter__(self) -> Self:
        context = multiprocessing.get_context("spawn")
        parent_end, child_end = context.Pipe()
        self._process = context.Process(
            target=_child_main,
            args=(child_end, self._ollama_options, self._discord_round_trip),
            name="bench-fakes",
            daemon=True,
        )
        self._process.start()
        self._connection = parent_end
        urls = await asyncio.to_thread(self._first_message)
        self.ollama_url = urls["ollama"]
        self.openai_url = urls["openai"]
        self.discord_url = urls["discord"] or ""
        return self

    def _first_message(self) -> Any:
        """The child's URLs, or an error if it died or hung while starting."""
        assert self._process is not None and self._connection is not None
        deadline = time.monotonic() + START_TIMEOUT
        while not self._connection.poll(0.1):
            if not self._process.is_alive():
                raise RuntimeError(f"the fakes' process exited with {self._process.exitcode}")
            if time.monotonic() > deadline:
                self._process.terminate()
                raise TimeoutError(f"the fakes' process did not start in {START_TIMEOUT:g} s")
        return self._connection.recv()

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._process is not None and self._connection is not None
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._roundtrip(None), 10)
        await asyncio.to_thread(self._process.join, 10)
        if self._process.is_alive():
            self._process.terminate()
            await asyncio.to_thread(self._process.join, 5)
        self._connection.close()

    async def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Run one of the child's commands (see `_Controller`) and return its result."""
        status, result = await self._roundtrip((name, args, kwargs))
        if status == "error":
            raise RuntimeError(f"the fakes' process failed to {name}: {result}")
        return result

    async def _roundtrip(self, message: Any) -> Any:
        assert self._connection is not None
        connection = self._connection
        async with self._lock:  # one request on the pipe at a time

            def exchange() -> Any:
                connection.send(message)
                return connection.recv()

            return await asyncio.to_thread(exchange)
