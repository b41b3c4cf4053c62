"""5. The library: importing 10,000 rows, and the next prompt for a member with 10,000
rated titles.

Import: a Letterboxd ZIP of 10,000 ratings is read (`read_export`) and stored
(`store_import`, one transaction), as `/import` and `import FILE` do, timed from the
bytes to the rows stored, with the Python heap's peak (tracemalloc) and the process's
peak RSS. The same ZIP a second time (nothing changes) is timed too.

Prompt: the time from asking for a suggestion to its first event (`Retrieved`: the
request embedded, tastes searched, the member's ratings and library read and the
prompt's lessons built), for a member with no library and one with 10,000 rated titles
(before and after their titles are embedded, when the ones most similar to the request
are ranked by their vectors), beside each other; the embedding and search are the same
in all, so the difference is the library's cost. The fake Ollama runs in its own
process (see bench/README.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

from bench import _common as common
from bench._harness import EMBED_DIM, add_tastes, pipeline_settings
from bench._remote import RemoteFakes
from bot.pipeline.events import Retrieved
from bot.pipeline.pipeline import Pipeline, open_pipeline
from tests.fakes.exports import letterboxd_row, letterboxd_zip

ROWS = 10_000
TASTES = 20
PROMPT_RUNS = 20
QUICK_PROMPT_RUNS = 5


def export_zip(rows: int) -> bytes:
    """A Letterboxd ZIP with `rows` ratings (every star value) and a small watchlist."""
    ratings = [letterboxd_row(f"Film {n}", 1930 + n % 95, (n % 10 + 1) / 2) for n in range(rows)]
    watchlist = [letterboxd_row(f"Wanted {n}", 2000 + n % 25) for n in range(40)]
    return letterboxd_zip({"ratings.csv": ratings, "watchlist.csv": watchlist})


async def time_import(pipeline: Pipeline, member: str, data: bytes) -> tuple[float, int]:
    """Seconds to read and store, and the titles added or changed."""
    started = time.perf_counter()
    parsed = await asyncio.to_thread(pipeline.library.read_import, data, "letterboxd.zip")
    stored = await pipeline.library.store_import(member, parsed)
    return time.perf_counter() - started, stored.counts.added + stored.counts.updated


async def heap_of_import(pipeline: Pipeline, member: str, data: bytes) -> float:
    """The Python heap's peak (MiB) while importing (traced apart: tracing slows it)."""
    tracemalloc.start()
    try:
        await time_import(pipeline, member, data)
        return tracemalloc.get_traced_memory()[1] / 1024**2
    finally:
        tracemalloc.stop()


async def time_to_prompt(pipeline: Pipeline, member: str, runs: int) -> list[float]:
    """Seconds from `suggest` to its `Retrieved` event, `runs` times (after one warm-up)."""
    times = []
    for run in range(runs + 1):
        started = time.perf_counter()
        events = pipeline.suggest(member, f"something thoughtful {run}", 4)
        async with contextlib.aclosing(events):
            async for event in events:
                if isinstance(event, Retrieved):
                    if run:
                        times.append(time.perf_counter() - started)
                    break
    return times


async def measure(quick: bool) -> str:
    runs = QUICK_PROMPT_RUNS if quick else PROMPT_RUNS
    data = export_zip(ROWS)
    with tempfile.TemporaryDirectory(prefix="bench-library-") as tmp:
        async with RemoteFakes(embed_dim=EMBED_DIM) as fakes:
            settings = pipeline_settings(fakes, Path(tmp) / "data")
            async with open_pipeline(settings) as pipeline:
                first, stored = await time_import(pipeline, "importer", data)
                again, changed = await time_import(pipeline, "importer", data)
                heap = await heap_of_import(pipeline, "traced", data)
                for member in ("importer", "newcomer"):
                    await add_tastes(pipeline, member, TASTES)
                with_library = await time_to_prompt(pipeline, "importer", runs)
                without = await time_to_prompt(pipeline, "newcomer", runs)
                started = time.perf_counter()
                await pipeline.library.embed_titles("importer")
                embedding = time.perf_counter() - started
                with_vectors = await time_to_prompt(pipeline, "importer", runs)
    rows: Sequence[Sequence[object]] = [
        [f"import {ROWS:,} rows (ZIP {len(data) / 1024:.0f} KiB), first time",
         f"{first:.2f} s", f"{stored:,} titles stored", f"{heap:.0f} MiB"],
        ["the same ZIP again", f"{again:.2f} s", f"{changed} changed", "–"],
    ]  # fmt: skip
    prompt_rows = [
        ["no library", common.median_and_p99(without)],
        [f"{ROWS:,} rated titles, not embedded yet", common.median_and_p99(with_library)],
        [f"{ROWS:,} rated titles, embedded", common.median_and_p99(with_vectors)],
    ]
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return "\n\n".join(
        [
            f"Load average at the end (1, 5, 15 min): {load} on 2 cores shared with other "
            f"engineers' work. Embedding dimension {EMBED_DIM}; {TASTES} tastes per member; "
            f"peak RSS of the process {common.peak_rss_mib():.0f} MiB.",
            common.table(["import", "time to stored", "result", "heap peak"], rows),
            f"Embedding the {ROWS:,} imported titles in the background afterwards (batches of "
            f"64, the fake Ollama in its own process): {embedding:.1f} s. Time from asking "
            f"to the prompt's lessons built (`Retrieved`), median / p99 of {runs} suggestions; "
            "with the titles embedded, the ones most similar to the request are named:",
            common.table(["member", "time to Retrieved"], prompt_rows),
        ]
    )


async def main(argv: Sequence[str] | None = None) -> None:
    args = common.parser(__doc__.splitlines()[0]).parse_args(argv)
    common.configure_logging(args.verbose)
    body = await measure(args.quick)
    common.write_section(
        "library",
        "5. The library: import and prompt",
        body,
        quick=args.quick,
        write=not args.no_write,
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
