"""Grounded picks in `bench.overhead`: the first answer text and the time until every
pick is verified, with no catalogue beside one answering in 50 ms and in 300 ms per call.

The pipeline runs in this process against the fake Ollama (another process) and the fake
Wikidata (in this process, latency by `asyncio.sleep`). The catalogue's cache is emptied
before each run, so every run asks Wikidata for every pick (a search and two batched
entity calls each): the worst case; a title seen within CATALOGUE_SEARCH_TTL_DAYS costs
no request at all.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from bench import _common as common
from bench._harness import add_tastes, pipeline_settings, request_text
from bench._remote import RemoteFakes
from bot.pipeline.catalogue import CatalogueCache, CheckState
from bot.pipeline.events import Finished, PicksUpdated
from bot.pipeline.pipeline import Pipeline, open_pipeline
from tests.fakes.wikidata_server import FakeWikidata

LATENCIES: tuple[float | None, ...] = (None, 0.05, 0.3)
TOKENS_PER_SECOND = 12.0
FIRST_TOKEN_DELAY = 0.5
MEMBER = "100000000000000002"
TASTES = 20
HEADERS = (
    "catalogue",
    "runs",
    "first answer text",
    "every pick verified",
    "title and year → verified (worst pick)",
    "end to end",
    "picks verified",
)
NOTES = """\
*first answer text*: `suggest()` called → the first `PicksUpdated` (a pick's title). \
*every pick verified*: → the first event in which every shown pick has the catalogue's \
answer. *title and year → verified*: for each pick, the event that first showed its title \
and year (when its lookup starts) → the event that showed it verified; the worst pick of \
the run. *end to end*: → `Finished`. \
The fake Ollama writes 12 tokens/s after a 0.5 s first-token delay; medians of the runs, \
after one uncounted warm-up."""


@dataclass
class CatalogueRun:
    """One suggestion with the catalogue, timed from `suggest()` (seconds)."""

    first_text: float
    all_verified: float | None
    worst_title_to_verified: float | None
    end_to_end: float
    verified: int
    shown: int


async def one_run(pipeline: Pipeline, tag: int) -> CatalogueRun:
    """Run one suggestion and read its timings off its events."""
    started = time.monotonic()
    first_text = all_verified = end = None
    titled: dict[int, float] = {}
    verified_at: dict[int, float] = {}
    picks: tuple = ()
    async for event in pipeline.suggest(MEMBER, request_text(tag)):
        now = time.monotonic() - started
        if isinstance(event, PicksUpdated | Finished):
            picks = event.picks
            first_text = first_text if first_text is not None else now
            for number, pick in enumerate(picks):
                if pick.year is not None:  # its title and year are written: looked up now
                    titled.setdefault(number, now)
                if pick.check is not None and pick.check.state is not CheckState.CHECKING:
                    verified_at.setdefault(number, now)
            if all_verified is None and picks and len(verified_at) == len(picks):
                all_verified = now
        if isinstance(event, Finished):
            end = now
    assert first_text is not None and end is not None, "the suggestion did not finish"
    gaps = [verified_at[n] - titled[n] for n in verified_at if n in titled]
    found = sum(1 for pick in picks if pick.check is not None and pick.check.is_found)
    return CatalogueRun(
        first_text, all_verified, max(gaps) if gaps else None, end, found, len(picks)
    )


async def bench_catalogue(fakes: RemoteFakes, data_dir: Path, runs: int) -> list[list[object]]:
    """One row per catalogue latency (None: no catalogue)."""
    rows = []
    async with FakeWikidata() as wikidata:
        for latency in LATENCIES:
            wikidata.latency = latency or 0.0
            settings = pipeline_settings(
                fakes,
                data_dir,
                catalogue="wikidata" if latency is not None else "off",
                wikidata_api_url=wikidata.api_url,
                catalogue_contact="bench@example.org",
                no_repeat_window=0,
            )
            async with open_pipeline(settings) as pipeline:
                if not await pipeline.tastes(MEMBER):
                    await add_tastes(pipeline, MEMBER, TASTES)
                results = await timed_runs(fakes, pipeline, settings.catalogue_cache_path, runs)
            rows.append(row(latency, results))
            print(common.table(HEADERS, [rows[-1]]), flush=True)
    return rows


async def timed_runs(
    fakes: RemoteFakes, pipeline: Pipeline, cache_path: Path, runs: int
) -> list[CatalogueRun]:
    results = []
    for number in range(runs + 1):  # the first is the warm-up
        async with CatalogueCache(cache_path) as cache:
            await cache.clear()
        await fakes.call(
            "set_ollama",
            tokens_per_second=TOKENS_PER_SECOND if number else 1000.0,
            first_token_delay=FIRST_TOKEN_DELAY if number else 0.0,
            ignore_format=False,
        )
        result = await one_run(pipeline, 9000 + number)
        await fakes.call("ollama_log", clear=True)
        if number:
            results.append(result)
    return results


def row(latency: float | None, runs: list[CatalogueRun]) -> list[object]:
    def mid(values: list[float | None]) -> str:
        known = [value for value in values if value is not None]
        return common.ms(common.median(known)) if known else "–"

    return [
        "none" if latency is None else f"{latency * 1000:g} ms per call",
        len(runs),
        mid([run.first_text for run in runs]),
        mid([run.all_verified for run in runs]),
        mid([run.worst_title_to_verified for run in runs]),
        mid([run.end_to_end for run in runs]),
        "–" if latency is None else f"{min(run.verified for run in runs)}/{runs[0].shown}",
    ]
