"""Concurrency: 1, 10 and 50 members suggesting at once at 12 tokens/s.

Through the Discord bot (against the fake Discord) and, for comparison, through the
pipeline alone. While the suggestions run, a probe task on the bot's event loop asks
to sleep 10 ms over and over and records how late it wakes (event-loop lag); RSS is
sampled alongside. Afterwards the fake Discord's log says whether every reply kept
Discord's write budget (5 writes of a message in any 5 s; the fake answers more with a
429) and ended complete. MAX_CONCURRENT_GENERATIONS and LLM_PARALLEL are set to the
number of members so that all of them generate at once (their default, 2, would queue
the rest).
Then one fake model host against two, for throughput and queue waits (`bench.hosts`).

    .venv/bin/python -m bench.concurrency [--quick]
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import _common as common
from bench._harness import (
    EDIT_INTERVAL,
    EMBED_DIM,
    add_tastes,
    discord_settings,
    members,
    pipeline_settings,
    request_text,
    running_bot,
)
from bench._remote import RemoteFakes
from bench.hosts import hosts_section
from bench.overhead import check_complete, discord_run, reply_writes, served_for
from bot.discord_bot.streaming import DISCORD_WRITE_BUDGET
from bot.pipeline.events import Finished
from bot.pipeline.pipeline import Pipeline, open_pipeline

BUDGET = DISCORD_WRITE_BUDGET
TOKENS_PER_SECOND = 12.0
MEMBER_COUNTS = (1, 10, 50)
TASTES = 20
CLOCK_SLACK = 0.005  # s: the fake stamps arrival, the bot its own clock before sending
FINISH_TIMEOUT = 180.0


@dataclass
class Outcome:
    members: int
    wall: float
    lag: common.LoopProbe
    rss_before: float
    cpu: float
    completed: int
    gaps: list[float]  # seconds between consecutive writes of one message, all messages
    over_budget: int  # replies with more writes of one message in a window than allowed
    rate_limited: int  # requests the fake Discord answered with a 429
    first_visible: list[float]
    done_to_final: list[float]


async def prepare_members(pipeline: Pipeline, count: int) -> list[int]:
    ids = list(members(count))
    for member_id in ids:
        if not await pipeline.tastes(str(member_id)):
            await add_tastes(pipeline, str(member_id), TASTES)
    return ids


# -- through the Discord bot ------------------------------------------------------------


async def discord_outcome(fakes: RemoteFakes, data_dir: Path, count: int) -> Outcome:
    settings = await discord_settings(
        fakes, data_dir, max_concurrent_generations=count, llm_parallel=count
    )
    async with open_pipeline(settings) as pipeline:
        ids = await prepare_members(pipeline, count)
        async with running_bot(fakes, pipeline, settings) as (_bot, completed):
            await fakes.call("clear_discord_log")
            await fakes.call("ollama_log", clear=True)
            rss_before = common.rss_mib()
            cpu_before = common.cpu_seconds()
            started = time.monotonic()
            async with common.probing_loop() as lag:
                interactions = [
                    await fakes.call(
                        "dispatch_slash", "suggest", {"query": request_text(tag)}, member_id
                    )
                    for tag, member_id in enumerate(ids)
                ]
                await completed.wait_for([i.id for i in interactions], FINISH_TIMEOUT)
            wall = time.monotonic() - started
            cpu = common.cpu_seconds() - cpu_before
            state = await fakes.call("discord_state")
            log = await fakes.call("ollama_log", clear=True)
    return analyse(state, log, interactions, count, wall, lag, rss_before, cpu)


def analyse(
    state: dict[str, Any],
    log: list[Any],
    interactions: list[Any],
    count: int,
    wall: float,
    lag: common.LoopProbe,
    rss_before: float,
    cpu: float,
) -> Outcome:
    outcome = Outcome(count, wall, lag, rss_before, cpu, 0, [], 0, 0, [], [])
    outcome.rate_limited = sum(1 for request in state["requests"] if request.status == 429)
    for tag, interaction in enumerate(interactions):
        try:
            check_complete(state, interaction.token)
        except RuntimeError as exc:
            print(f"incomplete: {exc}", file=sys.stderr)
            continue
        outcome.completed += 1
        writes = reply_writes(state, interaction.token)
        is_over_budget = False
        for message_id in state["replies"][interaction.token]:
            times = [write.time for write in writes if write.message_id == message_id]
            gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
            outcome.gaps += gaps
            is_over_budget |= any(
                sum(1 for t in times[i:] if t < start + BUDGET.window - CLOCK_SLACK) > BUDGET.writes
                for i, start in enumerate(times)
            )
        outcome.over_budget += is_over_budget
        embed, chat = served_for(log, tag)
        run = discord_run(state, interaction.token, embed, chat, cpu=0.0)
        outcome.first_visible.append(run.first_token_to_visible)
        outcome.done_to_final.append(run.done_to_final)
    return outcome


# -- through the pipeline alone -----------------------------------------------------------


async def pipeline_outcome(fakes: RemoteFakes, data_dir: Path, count: int) -> Outcome:
    async with open_pipeline(pipeline_settings(fakes, data_dir, llm_parallel=count)) as pipeline:
        ids = await prepare_members(pipeline, count)

        async def consume(tag: int, member_id: int) -> bool:
            finished = False
            async for event in pipeline.suggest(str(member_id), request_text(tag)):
                finished = isinstance(event, Finished)
            return finished

        rss_before = common.rss_mib()
        cpu_before = common.cpu_seconds()
        started = time.monotonic()
        async with common.probing_loop() as lag:
            results = await asyncio.gather(
                *(consume(tag, member_id) for tag, member_id in enumerate(ids))
            )
        wall = time.monotonic() - started
        cpu = common.cpu_seconds() - cpu_before
    return Outcome(count, wall, lag, rss_before, cpu, sum(results), [], 0, 0, [], [])


# -- report ---------------------------------------------------------------------------------

DISCORD_HEADERS = (
    "members at once",
    "wall",
    "loop lag p50 / p99 / max",
    "completed",
    "replies over the write budget / 429s met",
    "gap between edits min / median / max",
    "first token → visible median / max",
    "model done → final median / max",
    "bot CPU",
    "RSS before → peak",
)
PIPELINE_HEADERS = (
    "members at once",
    "wall",
    "loop lag p50 / p99 / max",
    "completed",
    "CPU",
    "RSS before → peak",
)


def lag_cell(lag: common.LoopProbe) -> str:
    return f"{common.ms(lag.p50)} / {common.ms(lag.p99)} / {common.ms(lag.worst)}"


def cpu_cell(outcome: Outcome) -> str:
    return f"{outcome.cpu:.2f} s ({outcome.cpu / outcome.wall * 100:.0f} % of a core)"


def rss_cell(outcome: Outcome) -> str:
    return f"{outcome.rss_before:.0f} → {outcome.lag.peak_rss_mib:.0f} MiB"


def spread(values: list[float]) -> str:
    return f"{common.ms(common.median(values))} / {common.ms(max(values, default=float('nan')))}"


def discord_row(outcome: Outcome) -> list[object]:
    gaps = outcome.gaps
    return [
        outcome.members,
        f"{outcome.wall:.1f} s",
        lag_cell(outcome.lag),
        f"{outcome.completed} / {outcome.members}",
        f"{outcome.over_budget} / {outcome.rate_limited}",
        f"{common.ms(min(gaps, default=float('nan')))} / {common.ms(common.median(gaps))} / "
        f"{common.ms(max(gaps, default=float('nan')))}",
        spread(outcome.first_visible),
        spread(outcome.done_to_final),
        cpu_cell(outcome),
        rss_cell(outcome),
    ]


def pipeline_row(outcome: Outcome) -> list[object]:
    return [
        outcome.members,
        f"{outcome.wall:.1f} s",
        lag_cell(outcome.lag),
        f"{outcome.completed} / {outcome.members}",
        cpu_cell(outcome),
        rss_cell(outcome),
    ]


async def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__.splitlines()[0])
    args = parser.parse_args(argv)
    common.configure_logging(args.verbose)
    discord_rows: list[list[object]] = []
    pipeline_rows: list[list[object]] = []
    with tempfile.TemporaryDirectory(prefix="bench-concurrency-") as tmp:
        async with RemoteFakes(
            embed_dim=EMBED_DIM, tokens_per_second=TOKENS_PER_SECOND, with_discord=True
        ) as fakes:
            for count in MEMBER_COUNTS:
                outcome = await discord_outcome(fakes, Path(tmp) / f"discord-{count}", count)
                discord_rows.append(discord_row(outcome))
                print(common.table(DISCORD_HEADERS, discord_rows[-1:]), file=sys.stderr)
            for count in MEMBER_COUNTS if not args.quick else MEMBER_COUNTS[-1:]:
                outcome = await pipeline_outcome(fakes, Path(tmp) / f"pipeline-{count}", count)
                pipeline_rows.append(pipeline_row(outcome))
                print(common.table(PIPELINE_HEADERS, pipeline_rows[-1:]), file=sys.stderr)
    body = "\n\n".join(
        [
            f"{TOKENS_PER_SECOND:g} tokens/s, the fake's scripted answer, each member with "
            f"{TASTES} tastes, all requests sent at once; STREAM_EDIT_INTERVAL "
            f"{EDIT_INTERVAL:g} s, MAX_CONCURRENT_GENERATIONS = LLM_PARALLEL = the number of "
            "members. Lag is "
            f"sampled every {common.LAG_SAMPLE_SECONDS * 1000:g} ms on the bot's event loop "
            "from the first request to the last reply's end; the fakes run in another "
            "process.",
            "**Through the Discord bot:**",
            common.table(DISCORD_HEADERS, discord_rows),
            "*replies over the write budget*: replies with more than "
            f"{BUDGET.writes} writes of one message within {BUDGET.window:g} s "
            f"({CLOCK_SLACK * 1000:g} ms slack for the two clocks), from the fake Discord's "
            "arrival times; *429s met*: requests the fake Discord refused for the budget. "
            "Routine edits keep the interval; the first text and the closing edit may come "
            "sooner (see BENCHMARKS.md). *gap between edits*: all "
            "messages of all replies. *bot CPU*: the bot process, all threads.",
            "**Through the pipeline alone** (the same requests, events consumed and dropped):",
            common.table(PIPELINE_HEADERS, pipeline_rows),
        ]
    )
    common.write_section(
        "concurrency", "3. Concurrency", body, quick=args.quick, write=not args.no_write
    )
    hosts = await hosts_section(args.quick)
    common.write_section(
        "hosts", "3b. Several model hosts", hosts, quick=args.quick, write=not args.no_write
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
