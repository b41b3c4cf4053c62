"""The aiohttp plumbing our fake HTTP servers share (Ollama, OpenAI-compatible, Wikidata).

`HttpFake` listens on `host:port` while `async with`-ed (port 0 picks a free one), lets
tests `wait_for` a condition that is checked whenever the fake calls `notify`, and
releases a stalled handler (`until_stopped`) when it stops. A subclass says only what
it serves, in `_application`.
"""

from __future__ import annotations

import asyncio
import json
import socket
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Self

from aiohttp import web


def unused_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now: the address of a server that is down."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def read_body(request: web.Request) -> Any:
    """The request's body as JSON, else as text (None without one)."""
    if not request.can_read_body:
        return None
    raw = await request.read()
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")


class HttpFake(ABC):
    """An aiohttp server on `host:port` for tests; `async with` starts and stops it."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._changed: asyncio.Condition | None = None
        self._shutting_down: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None

    @abstractmethod
    def _application(self) -> web.Application:
        """The aiohttp application with this fake's routes."""

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on `host:port` (port 0 picks a free one; see `url`)."""
        self._changed = asyncio.Condition()
        self._shutting_down = asyncio.Event()
        # handler_cancellation: a client that hangs up cancels its handler, which is how
        # we see a stream closed early even while it is stalled and writing nothing.
        self._runner = web.AppRunner(
            self._application(), handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Release stalled handlers and stop listening."""
        if self._runner is None:
            return
        assert self._shutting_down is not None
        self._shutting_down.set()
        await self._runner.cleanup()
        self._runner = None

    @property
    def url(self) -> str:
        """The server's base URL, e.g. `http://127.0.0.1:54321`."""
        return f"http://{self.host}:{self.port}"

    # A `timeout` argument reads better in tests than wrapping every call in asyncio.timeout.
    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until `predicate()` holds; it is checked on every `notify` (each request,
        each change a fake reports).

        Raises `TimeoutError` if it still does not hold after `timeout` seconds.
        """
        assert self._changed is not None, "start the fake first"
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def notify(self) -> None:
        """Wake `wait_for` to check its predicate again (after any change)."""
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    async def until_stopped(self) -> None:
        """Return once the fake is stopping (a stalled handler waits for this)."""
        assert self._shutting_down is not None
        await self._shutting_down.wait()
