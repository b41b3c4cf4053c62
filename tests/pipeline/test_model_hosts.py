"""ModelHosts over two fake servers: spreading, limits, failover and hosts coming back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.errors import (
    ModelNotFound,
    ModelServerCut,
    ModelServerRefused,
    ModelServerResponseError,
    ModelServerUnreachable,
)
from bot.pipeline.model_client import ChatChunk
from bot.pipeline.model_hosts import MAX_BACKOFF, ModelHosts, is_host_fault
from bot.pipeline.ollama import OllamaClient
from bot.pipeline.openai_compat import OpenAICompatClient
from tests.fakes.ollama_server import DEFAULT_ANSWER, FakeOllama, split_tokens, unused_port
from tests.fakes.openai_server import FakeOpenAI, Fault, FaultKind

CHAT_MODEL = "llama3.1:8b"
EMBED_MODEL = "bge-large"
MESSAGES = [{"role": "user", "content": "Something like Arrival, please."}]


class FakeClock:
    """Time that moves only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeOpenAI, FakeOpenAI]]:
    async with FakeOpenAI(embed_dim=16) as first, FakeOpenAI(embed_dim=16) as second:
        yield first, second


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def pool_of(*urls: str, parallel: int | None = 2, clock: FakeClock | None = None) -> ModelHosts:
    clients = [OpenAICompatClient(url) for url in urls]
    if clock is None:
        return ModelHosts(clients, parallel=parallel)
    return ModelHosts(clients, parallel=parallel, clock=clock)


async def answer(pool: ModelHosts) -> str:
    return "".join([chunk.text async for chunk in pool.chat_stream(CHAT_MODEL, MESSAGES)])


async def first_text(stream: AsyncIterator[ChatChunk]) -> str:
    """Read until the first text, so the stream is surely in flight on its host."""
    async for chunk in stream:
        if chunk.text:
            return chunk.text
    raise AssertionError("the stream ended without text")


async def test_four_answers_over_two_hosts_run_two_on_each(
    fakes: tuple[FakeOpenAI, FakeOpenAI],
) -> None:
    for fake in fakes:
        fake.tokens_per_second = 50
    async with pool_of(*(fake.url for fake in fakes)) as pool:
        streams = [pool.chat_stream(CHAT_MODEL, MESSAGES) for _ in range(4)]
        await asyncio.gather(*(first_text(stream) for stream in streams))

        assert [fake.active_streams for fake in fakes] == [2, 2]
        assert [host.in_flight for host in pool.hosts] == [2, 2]
        for stream in streams:
            await stream.aclose()  # type: ignore[attr-defined]

    assert [host.in_flight for host in pool.hosts] == [0, 0]


async def test_beyond_the_limit_a_request_waits_for_a_place(
    fakes: tuple[FakeOpenAI, FakeOpenAI],
) -> None:
    for fake in fakes:
        fake.tokens_per_second = 50
    one_waits = asyncio.Event()
    clients = [OpenAICompatClient(fake.url) for fake in fakes]
    on_waiting = lambda count: one_waits.set() if count == 1 else None  # noqa: E731
    async with ModelHosts(clients, parallel=1, on_waiting=on_waiting) as pool:
        running = [pool.chat_stream(CHAT_MODEL, MESSAGES) for _ in range(2)]
        await asyncio.gather(*(first_text(stream) for stream in running))
        waiting = asyncio.create_task(first_text(pool.chat_stream(CHAT_MODEL, MESSAGES)))
        async with asyncio.timeout(5):
            await one_waits.wait()

        assert sum(len(fake.chat_requests) for fake in fakes) == 2
        await running[0].aclose()  # type: ignore[attr-defined]
        assert await waiting
        assert sum(len(fake.chat_requests) for fake in fakes) == 3
        assert pool.waiting == 0
        await running[1].aclose()  # type: ignore[attr-defined]


async def test_ties_are_taken_in_turn(fakes: tuple[FakeOpenAI, FakeOpenAI]) -> None:
    async with pool_of(*(fake.url for fake in fakes)) as pool:
        for _ in range(4):
            assert await answer(pool) == DEFAULT_ANSWER

    assert [len(fake.chat_requests) for fake in fakes] == [2, 2]


async def test_a_refusing_host_is_skipped_without_error_or_repeats(
    fakes: tuple[FakeOpenAI, FakeOpenAI], clock: FakeClock
) -> None:
    dead = f"http://127.0.0.1:{unused_port()}/v1"
    async with pool_of(dead, fakes[1].url, clock=clock) as pool:
        answers = [await answer(pool) for _ in range(3)]

        assert answers == [DEFAULT_ANSWER] * 3
        assert not pool.is_up(pool.hosts[0])
        assert pool.hosts[0].served == 1  # tried once, then left alone while down
    assert len(fakes[1].chat_requests) == 3


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_a_host_answering_an_error_before_any_text_is_failed_over(
    fakes: tuple[FakeOpenAI, FakeOpenAI], status: int
) -> None:
    fakes[0].fault = Fault(FaultKind.HTTP_ERROR, status=status)
    async with pool_of(*(fake.url for fake in fakes)) as pool:
        assert await answer(pool) == DEFAULT_ANSWER

        assert not pool.is_up(pool.hosts[0])
    assert [len(fake.chat_requests) for fake in fakes] == [1, 1]


async def test_a_cut_before_any_text_is_failed_over(
    fakes: tuple[FakeOpenAI, FakeOpenAI],
) -> None:
    fakes[0].fault = Fault(FaultKind.CUT, after_tokens=0)
    async with pool_of(*(fake.url for fake in fakes)) as pool:
        assert await answer(pool) == DEFAULT_ANSWER


async def test_once_text_was_shown_a_failure_is_reported_with_the_text_kept(
    fakes: tuple[FakeOpenAI, FakeOpenAI],
) -> None:
    fakes[0].fault = Fault(FaultKind.CUT, after_tokens=3)
    received: list[str] = []
    async with pool_of(*(fake.url for fake in fakes)) as pool:
        with pytest.raises(ModelServerCut):
            async for chunk in pool.chat_stream(CHAT_MODEL, MESSAGES):
                received.append(chunk.text)

    assert "".join(received) == "".join(split_tokens(DEFAULT_ANSWER)[:3])
    assert len(fakes[1].chat_requests) == 0


async def test_a_refused_key_is_reported_not_failed_over(
    fakes: tuple[FakeOpenAI, FakeOpenAI],
) -> None:
    fakes[0].api_key = "sk-other"
    async with pool_of(*(fake.url for fake in fakes)) as pool:
        with pytest.raises(ModelServerRefused):
            await answer(pool)

        assert pool.is_up(pool.hosts[0])
    assert len(fakes[1].chat_requests) == 0


async def test_an_unknown_model_is_reported_not_failed_over(
    fakes: tuple[FakeOpenAI, FakeOpenAI],
) -> None:
    fakes[0].models.discard(CHAT_MODEL)
    async with pool_of(*(fake.url for fake in fakes)) as pool:
        with pytest.raises(ModelNotFound):
            await answer(pool)
    assert len(fakes[1].chat_requests) == 0


async def test_when_every_host_fails_the_last_reason_is_reported() -> None:
    dead = [f"http://127.0.0.1:{unused_port()}/v1" for _ in range(2)]
    async with pool_of(*dead) as pool:
        with pytest.raises(ModelServerUnreachable):
            await answer(pool)
        # Both down: the next request still tries one (the member hears the real reason).
        with pytest.raises(ModelServerUnreachable):
            await pool.embed(EMBED_MODEL, ["noir"])

        assert [host.served for host in pool.hosts] == [2, 2]


async def test_the_pause_doubles_up_to_a_minute(clock: FakeClock) -> None:
    dead = f"http://127.0.0.1:{unused_port()}/v1"
    pauses = []
    async with pool_of(dead, clock=clock) as pool:
        for _ in range(8):
            with pytest.raises(ModelServerUnreachable):
                await answer(pool)
            host = pool.hosts[0]
            pauses.append(host.backoff)
            assert host.down_until == clock.now + host.backoff

    assert pauses == [2, 4, 8, 16, 32, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]


async def test_a_host_that_comes_back_is_used_again(
    fakes: tuple[FakeOpenAI, FakeOpenAI], clock: FakeClock
) -> None:
    fakes[0].fault = Fault(FaultKind.HTTP_ERROR, status=503)
    async with pool_of(*(fake.url for fake in fakes), clock=clock) as pool:
        await answer(pool)
        fakes[0].fault = None
        await answer(pool)
        assert len(fakes[0].chat_requests) == 1  # still down: not asked

        clock.now = pool.hosts[0].down_until
        await answer(pool)
        await answer(pool)

        assert len(fakes[0].chat_requests) == 2
        assert pool.is_up(pool.hosts[0]) and pool.hosts[0].backoff == 0


async def test_embeddings_spread_and_fail_over(
    fakes: tuple[FakeOpenAI, FakeOpenAI],
) -> None:
    async with pool_of(*(fake.url for fake in fakes), parallel=None) as pool:
        for index in range(4):
            await pool.embed(EMBED_MODEL, [f"taste {index}"])
        fakes[0].fault = Fault(FaultKind.EMBED_ERROR, status=502)
        vectors = await pool.embed(EMBED_MODEL, ["noir", "space"])

        assert len(vectors) == 2
        assert await pool.embedding_dimension(EMBED_MODEL) == 16
    assert [len(fake.embed_requests) for fake in fakes] == [3, 4]


async def test_ollama_hosts_fail_over_the_same_way(fake_ollama: FakeOllama) -> None:
    dead = OllamaClient(f"http://127.0.0.1:{unused_port()}")
    async with ModelHosts([dead, OllamaClient(fake_ollama.url)], parallel=2) as pool:
        assert await answer(pool) == DEFAULT_ANSWER
        assert (await pool.embed(EMBED_MODEL, ["noir"]))[0]


def test_which_errors_are_the_hosts_own() -> None:
    assert is_host_fault(ModelServerUnreachable("down"))
    assert is_host_fault(ModelServerResponseError("boom", status=502))
    assert not is_host_fault(ModelServerResponseError("bad request", status=400))
    assert not is_host_fault(ModelServerResponseError("in the stream"))
    assert not is_host_fault(ModelServerRefused("key"))
