"""Model hosts: the same suggestions over one fake host and over two, for throughput and
the wait for a free place on a host.

Each fake OpenAI-compatible host runs in its own process (`python -m
tests.fakes.openai_server`) at a set token rate, and `LLM_PARALLEL` caps the answers in
flight per host, as a GPU that serves a few at once would. All suggestions are sent at
once through the pipeline alone; a suggestion's first-token time includes its wait for
a place, so the difference from one host's unqueued first token is the queue wait.
Also run by `bench.concurrency` (its "hosts" section).

    .venv/bin/python -m bench.hosts [--quick]
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench import _common as common
from bench._harness import NO_REPEAT_WINDOW, add_tastes, members, request_text
from bot.pipeline.events import Finished
from bot.pipeline.pipeline import open_pipeline
from bot.settings import Settings
from tests.fakes.ollama_server import unused_port

TOKENS_PER_SECOND = 40.0
PARALLEL = 2
SUGGESTIONS = 8
QUICK_SUGGESTIONS = 4
TASTES = 5
EMBED_DIM = 64  # small: this measures generation, not embeddings
READY_TIMEOUT = 30.0


@dataclass
class HostRun:
    hosts: int
    wall: float
    completed: int
    tokens: int
    first_tokens: list[float]  # seconds from the chat request to the first text

    @property
    def per_minute(self) -> float:
        return self.completed / self.wall * 60


@contextlib.asynccontextmanager
async def fake_hosts(count: int) -> AsyncIterator[list[str]]:
    """`count` fake OpenAI-compatible servers, each in its own process; their URLs."""
    ports = [unused_port() for _ in range(count)]
    processes = [
        subprocess.Popen(  # noqa: ASYNC220 - started once, before anything is timed
            [
                sys.executable,
                "-m",
                "tests.fakes.openai_server",
                "--port",
                str(port),
                "--tokens-per-second",
                f"{TOKENS_PER_SECOND:g}",
                "--embed-dim",
                str(EMBED_DIM),
            ],
            stdout=subprocess.DEVNULL,
        )
        for port in ports
    ]
    urls = [f"http://127.0.0.1:{port}/v1" for port in ports]
    try:
        await asyncio.gather(*(wait_until_ready(url) for url in urls))
        yield urls
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)


async def wait_until_ready(url: str) -> None:
    async with httpx.AsyncClient(timeout=1.0) as client, asyncio.timeout(READY_TIMEOUT):
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(f"{url}/models")).is_success:
                    return
            await asyncio.sleep(0.1)


async def run(urls: Sequence[str], data_dir: Path, count: int) -> HostRun:
    settings = Settings(  # type: ignore[call-arg]
        llm_provider="openai",
        llm_urls=",".join(urls),
        llm_parallel=PARALLEL,
        data_dir=data_dir,
        no_repeat_window=NO_REPEAT_WINDOW,
        min_taste_similarity=-1.0,
        catalogue="off",  # no film catalogue: this bench is about model hosts
        _env_file=None,
    )
    async with open_pipeline(settings) as pipeline:
        ids = [str(member_id) for member_id in members(count)]
        for member_id in ids:
            await add_tastes(pipeline, member_id, TASTES)

        async def consume(tag: int, member_id: str) -> Finished | None:
            finished = None
            async for event in pipeline.suggest(member_id, request_text(tag)):
                if isinstance(event, Finished):
                    finished = event
            return finished

        started = time.monotonic()
        results = await asyncio.gather(*(consume(tag, m) for tag, m in enumerate(ids)))
        wall = time.monotonic() - started
    done = [result for result in results if result is not None]
    return HostRun(
        hosts=len(urls),
        wall=wall,
        completed=len(done),
        tokens=sum(result.stats.completion_tokens for result in done if result.stats),
        first_tokens=[
            result.timings.first_token_seconds
            for result in done
            if result.timings.first_token_seconds is not None
        ],
    )


HEADERS = (
    "hosts",
    "suggestions at once",
    "wall",
    "completed",
    "suggestions / min",
    "tokens / s (all)",
    "first token median / max",
    "throughput vs one host",
)


def row(outcome: HostRun, count: int, baseline: HostRun) -> list[object]:
    first = outcome.first_tokens
    return [
        outcome.hosts,
        count,
        f"{outcome.wall:.1f} s",
        f"{outcome.completed} / {count}",
        f"{outcome.per_minute:.1f}",
        f"{outcome.tokens / outcome.wall:.0f}",
        f"{common.ms(common.median(first))} / {common.ms(max(first, default=float('nan')))}",
        f"{outcome.per_minute / baseline.per_minute:.2f}×",
    ]


async def hosts_section(quick: bool) -> str:
    """Run one host, then two, and describe the result."""
    count = QUICK_SUGGESTIONS if quick else SUGGESTIONS
    load_before = common.load_average()
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="bench-hosts-") as tmp:
        for hosts in (1, 2):
            async with fake_hosts(hosts) as urls:
                outcomes.append(await run(urls, Path(tmp) / f"hosts-{hosts}", count))
            print(f"{hosts} host(s): {outcomes[-1]}", file=sys.stderr)
    rows = [row(outcome, count, outcomes[0]) for outcome in outcomes]
    unqueued = min(outcomes[0].first_tokens, default=float("nan"))
    return "\n\n".join(
        [
            f"Fake OpenAI-compatible hosts, each its own process at {TOKENS_PER_SECOND:g} "
            f"tokens/s per answer, `LLM_PARALLEL={PARALLEL}`; {count} suggestions sent at "
            f"once through the pipeline alone (structured picks, {TASTES} tastes each). A "
            "suggestion beyond the hosts' places waits for one, so its first token is late "
            f"by that wait (the unqueued first token took {common.ms(unqueued)}).",
            common.table(HEADERS, rows),
            "The fakes do not share a GPU: a host's capacity here is `LLM_PARALLEL`, so two "
            "hosts double the places. Target: at least 1.8× the throughput of one host. "
            + common.load_note(load_before, common.load_average()),
        ]
    )


async def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    common.configure_logging(args.verbose)
    body = await hosts_section(args.quick)
    common.write_section(
        "hosts", "3b. Several model hosts", body, quick=args.quick, write=not args.no_write
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
