"""Several model servers used as one: the least busy host first, and another when one fails.

Each host is one `ModelClient` (Ollama or OpenAI-compatible). A request goes to the up
host with the fewest requests in flight (ties taken in turn), and at most `parallel`
run on one host at once; beyond that a request waits for a free place.

A fault of the host itself before any text arrived (refused or reset connection,
connect timeout, HTTP 5xx or 429; see `is_host_fault`) marks the host down for a
while, doubling from `first_backoff` up to `max_backoff` seconds, and the request moves
to another host, so nothing is shown twice. A down host is tried again once its time
is up, or at once when every host is down (one try each per request, so the member
still hears the real reason). Refusals that another host would repeat (401/403, an
unknown model, a stalled first token) are reported, not failed over. Once text has
been passed on, a failure is the caller's, as with one host: what arrived is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Self, TypeVar

from bot.errors import (
    ModelServerBusy,
    ModelServerCut,
    ModelServerError,
    ModelServerResponseError,
    ModelServerUnreachable,
)
from bot.pipeline.model_client import ChatChunk, ModelClient

log = logging.getLogger(__name__)
T = TypeVar("T")

FIRST_BACKOFF = 2.0
MAX_BACKOFF = 60.0


def is_host_fault(error: ModelServerError) -> bool:
    """Whether `error` is the host's own trouble, so another host may well succeed."""
    if isinstance(error, ModelServerUnreachable | ModelServerBusy | ModelServerCut):
        return True
    return isinstance(error, ModelServerResponseError) and (error.status or 0) >= 500


@dataclass(slots=True)
class Host:
    """One model server and what the pool knows of it now."""

    client: ModelClient
    index: int
    in_flight: int = 0
    down_until: float = 0.0  # clock time before which it is not used (0: up)
    backoff: float = 0.0  # the pause of its last fall; 0 while it is up
    served: int = 0  # requests it has taken

    @property
    def url(self) -> str:
        return self.client.url


class ModelHosts:
    """A pool of model servers with the `ModelClient` methods; use it with `async with`."""

    def __init__(
        self,
        clients: Sequence[ModelClient],
        *,
        parallel: int | None = None,
        first_backoff: float = FIRST_BACKOFF,
        max_backoff: float = MAX_BACKOFF,
        clock: Callable[[], float] = time.monotonic,
        on_waiting: Callable[[int], None] | None = None,
    ) -> None:
        if not clients:
            raise ValueError("ModelHosts needs at least one client")
        self.hosts = tuple(Host(client, index) for index, client in enumerate(clients))
        self.parallel = parallel  # None: no limit per host
        self._first_backoff = first_backoff
        self._max_backoff = max_backoff
        self._clock = clock
        self._turn = 0
        self._slot_freed = asyncio.Event()
        self.waiting = 0  # requests waiting for a free place on a host
        self._on_waiting = on_waiting  # told the new count whenever it changes

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every host's connection pool."""
        for host in self.hosts:
            await host.client.aclose()

    @property
    def url(self) -> str:
        """The hosts' addresses, comma-separated."""
        return ", ".join(host.url for host in self.hosts)

    def is_up(self, host: Host) -> bool:
        """The host is not marked down, or its pause is over."""
        return host.down_until <= self._clock()

    # -- the ModelClient methods -------------------------------------------------------

    async def chat_stream(
        self,
        model: str,
        messages: list[dict[str, str]],
        *,
        options: dict[str, Any] | None = None,
        format: dict[str, Any] | None = None,
    ) -> AsyncGenerator[ChatChunk, None]:
        """Stream the answer from the least busy host, moving on if one fails before text."""
        tried: set[int] = set()
        last_error: ModelServerError | None = None
        while True:
            host = await self._acquire(tried, last_error)
            has_text = False
            try:
                stream = host.client.chat_stream(model, messages, options=options, format=format)
                async with contextlib.aclosing(stream):
                    async for chunk in stream:
                        if chunk.text and not has_text:
                            has_text = True
                            self._mark_up(host)
                        yield chunk
                self._mark_up(host)
                return
            except ModelServerError as exc:
                if has_text or not is_host_fault(exc):
                    raise
                self._mark_down(host, exc)
                tried.add(host.index)
                last_error = exc
            finally:
                self._release(host)

    async def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        """One embedding per text, from the least busy host."""
        return await self._call(lambda client: client.embed(model, texts))

    async def embedding_dimension(self, model: str) -> int:
        """The length of `model`'s embeddings, as the first host to answer says."""
        return await self._call(lambda client: client.embedding_dimension(model))

    async def list_models(self) -> list[str]:
        """The models of the first host to answer (doctor asks each host itself)."""
        return await self._call(lambda client: client.list_models())

    async def check_model(self, model: str) -> None:
        """`ModelNotFound` unless the first host to answer has `model`."""
        await self._call(lambda client: client.check_model(model))

    async def _call(self, ask: Callable[[ModelClient], Awaitable[T]]) -> T:
        tried: set[int] = set()
        last_error: ModelServerError | None = None
        while True:
            host = await self._acquire(tried, last_error)
            try:
                result = await ask(host.client)
            except ModelServerError as exc:
                if not is_host_fault(exc):
                    raise
                self._mark_down(host, exc)
                tried.add(host.index)
                last_error = exc
                continue
            finally:
                self._release(host)
            self._mark_up(host)
            return result

    # -- choosing a host ---------------------------------------------------------------

    async def _acquire(self, tried: set[int], last_error: ModelServerError | None) -> Host:
        """Take a place on the best untried host, waiting for one if all are full."""
        while True:
            untried = [host for host in self.hosts if host.index not in tried]
            if not untried:
                assert last_error is not None
                raise last_error
            up = [host for host in untried if self.is_up(host)]
            # Every untried host is down: try the one back soonest rather than fail unasked.
            candidates = up or sorted(untried, key=lambda host: host.down_until)[:1]
            free = [host for host in candidates if self._has_room(host)]
            if free:
                host = self._least_busy(free)
                host.in_flight += 1
                host.served += 1
                return host
            await self._wait_for_room(untried)

    def _has_room(self, host: Host) -> bool:
        return self.parallel is None or host.in_flight < self.parallel

    def _least_busy(self, free: list[Host]) -> Host:
        fewest = min(host.in_flight for host in free)
        tied = [host for host in free if host.in_flight == fewest]
        count = len(self.hosts)
        host = min(tied, key=lambda host: (host.index - self._turn) % count)
        self._turn = (host.index + 1) % count
        return host

    async def _wait_for_room(self, untried: list[Host]) -> None:
        """Until a place is freed, or a down host's pause is over."""
        now = self._clock()
        returns = [host.down_until - now for host in untried if host.down_until > now]
        freed = self._slot_freed
        self._count_waiting(+1)
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(min(returns) if returns else None):
                    await freed.wait()
        finally:
            self._count_waiting(-1)

    def _count_waiting(self, change: int) -> None:
        self.waiting += change
        if self._on_waiting is not None:
            self._on_waiting(self.waiting)

    def _release(self, host: Host) -> None:
        host.in_flight -= 1
        # Wake every waiter; the first to run takes the place (they wake in order).
        self._slot_freed.set()
        self._slot_freed = asyncio.Event()

    def _mark_down(self, host: Host, error: ModelServerError) -> None:
        host.backoff = min(host.backoff * 2 or self._first_backoff, self._max_backoff)
        host.down_until = self._clock() + host.backoff
        log.warning(
            "Model host %s is down (%s); trying another, and it again in %.0f s",
            host.url,
            error,
            host.backoff,
        )

    def _mark_up(self, host: Host) -> None:
        if host.backoff:
            log.info("Model host %s answers again", host.url)
        host.backoff = 0.0
        host.down_until = 0.0
