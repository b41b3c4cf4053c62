"""Kill real `python -m bot.cli` processes at random points, restart, and measure drift.

Used by `tests/test_crash.py` (a few dozen kills) and `bench/crash.py` (many more).
Each round runs one real CLI process (`prefer`, `forget`, `forget --all` or
`reindex`) against the fake Ollama, SIGKILLs it after a random delay drawn around how
long such a process takes, then "restarts": opens the pipeline (whose start-up
reconcile runs), waits until it has settled, closes it, and reads both stores
directly — SQLite with sqlite3, Qdrant with its own client (or the Edge shard with
qdrant_edge) — to count drift:

- a taste row without exactly one vector, or a row left pending / mid-erase;
- a vector without its row (or of a member without tastes);
- a collection no alias reaches, or an Edge generation folder `current.json` does not
  name (left by a killed reindex).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sqlite3
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import qdrant_edge
from qdrant_client import QdrantClient

from bot.pipeline.pipeline import open_pipeline
from bot.pipeline.vectors import edge_files
from bot.pipeline.vectors.naming import MEMBER_KEY, SHARED_ALIAS, member_alias
from bot.settings import Settings
from tests.fakes.ollama_server import FakeOllama

REPO = Path(__file__).resolve().parents[1]
MEMBERS = ("m0", "m1", "m2", "m3", "m4", "m5")
SEED_TASTES = 8
SETTLE_TIMEOUT = 30.0
# A prefer writes its row and vector some 5-30 ms after its embedding request (measured
# here); killing within this much of that request lands in or around those writes.
PREFER_KILL_WINDOW = 0.05
# What each round runs, with its weight: writes of one taste most often.
OPERATIONS = (("prefer", 5), ("forget", 2), ("forget-all", 1), ("reindex", 2))


@dataclass(frozen=True, slots=True)
class Drift:
    """What disagrees between the stores after a restart (all zero when consistent)."""

    rows_without_vector: int = 0
    vectors_without_row: int = 0
    unsettled_rows: int = 0
    unreachable_collections: int = 0

    @property
    def total(self) -> int:
        return (
            self.rows_without_vector
            + self.vectors_without_row
            + self.unsettled_rows
            + self.unreachable_collections
        )


@dataclass(slots=True)
class CrashReport:
    """The rounds of one run: how many kills, what they left, and the drift after."""

    kills: int = 0
    finished_before_kill: int = 0
    left_unsettled: int = 0  # kills after which the records showed an unfinished write
    left_half_built: int = 0  # kills after which Qdrant held collections no alias reaches
    drifts: list[Drift] = field(default_factory=list)
    by_operation: dict[str, int] = field(default_factory=dict)
    restart_seconds: list[float] = field(default_factory=list)

    @property
    def rounds_with_drift(self) -> int:
        return sum(drift.total > 0 for drift in self.drifts)


def cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GEN_", "OLLAMA_"))}
    env.setdefault("CATALOGUE", "off")  # bench.crash runs this outside the tests too
    env.update(
        OLLAMA_URL=str(settings.ollama_url),
        DATA_DIR=str(settings.data_dir),
        VECTOR_LAYOUT=settings.vector_layout,
        EMBEDDED_STORE=settings.embedded_store,
        PYTHONPATH=str(REPO),
    )
    return env


async def start_cli(settings: Settings, *argv: str) -> asyncio.subprocess.Process:
    """`python -m bot.cli ARGV` in DATA_DIR, so no developer's .env is read."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *argv,
        env=cli_env(settings),
        cwd=settings.data_dir,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def seed(settings: Settings) -> None:
    """Give every member a few tastes, so forgets and reindexes have work to do."""
    async with open_pipeline(settings) as pipeline:
        for member in MEMBERS:
            for n in range(SEED_TASTES):
                await pipeline.prefer(member, f"seed taste {n} of {member}")


async def calibrate(settings: Settings) -> float:
    """Seconds one CLI process takes from start to exit (a `prefer` that completes)."""
    started = time.monotonic()
    process = await start_cli(settings, "--member", MEMBERS[0], "prefer", "calibration taste")
    await process.wait()
    return time.monotonic() - started


def taste_rows(settings: Settings) -> list[tuple[int, str, str]]:
    with sqlite3.connect(settings.sqlite_path) as raw:
        return raw.execute("SELECT id, member_id, vector_state FROM tastes").fetchall()


def read_drift(settings: Settings) -> Drift:
    """Compare SQLite and Qdrant, each read directly (the pipeline must be closed)."""
    rows = taste_rows(settings)
    unsettled = sum(state != "stored" for _, _, state in rows)
    expected = {(member, taste_id) for taste_id, member, _ in rows}
    members = {member for _, member, _ in rows} | set(MEMBERS)
    if settings.uses_edge:
        found, unreachable = edge_points(settings.edge_path)
    else:
        found, unreachable = qdrant_points(settings.qdrant_path, members)
    vectors = set(found)
    duplicates = len(found) - len(vectors)
    return Drift(
        rows_without_vector=len(expected - vectors),
        vectors_without_row=len(vectors - expected) + duplicates,
        unsettled_rows=unsettled,
        unreachable_collections=unreachable,
    )


def edge_points(root: Path) -> tuple[list[tuple[str, int]], int]:
    """(member, taste id) of every point in the current shard, and the stray generations."""
    current = edge_files.read_current(root) if root.is_dir() else None
    stray = len(edge_files.stray_generations(root, current)) if root.is_dir() else 0
    if current is None:
        return [], stray
    shard = qdrant_edge.EdgeShard.load(str(edge_files.generation_dir(root, current.generation)))
    try:
        records, _ = shard.scroll(qdrant_edge.ScrollRequest(limit=100_000, with_payload=True))
    finally:
        shard.close()
    return [(str((r.payload or {}).get(MEMBER_KEY)), int(r.id)) for r in records], stray


def qdrant_points(path: Path, members: set[str]) -> tuple[list[tuple[str, int]], int]:
    """(member, taste id) of every point behind an alias, and the unreachable collections."""
    found: list[tuple[str, int]] = []
    client = QdrantClient(path=str(path))
    try:
        aliases = {a.alias_name: a.collection_name for a in client.get_aliases().aliases}
        by_alias = {member_alias(member): member for member in members}
        for alias in aliases:
            records, _ = client.scroll(alias, limit=100_000, with_payload=True)
            for record in records:
                if alias == SHARED_ALIAS:
                    owner = str((record.payload or {}).get(MEMBER_KEY))
                else:
                    owner = by_alias.get(alias, f"unknown place {alias}")
                found.append((owner, int(record.id)))
        collections = {c.name for c in client.get_collections().collections}
        return found, len(collections - set(aliases.values()))
    finally:
        client.close()


def unreachable_collections(settings: Settings) -> int:
    """Collections no alias points at (Edge: stray generations), read before the restart
    tidies them."""
    if settings.uses_edge:
        return edge_points(settings.edge_path)[1] if settings.edge_path.is_dir() else 0
    client = QdrantClient(path=str(settings.qdrant_path))
    try:
        targets = {a.collection_name for a in client.get_aliases().aliases}
        return sum(c.name not in targets for c in client.get_collections().collections)
    finally:
        client.close()


async def restart_and_measure(settings: Settings) -> tuple[Drift, float]:
    """Open the pipeline (its start-up reconcile runs), let it settle, close, compare."""
    started = time.monotonic()
    async with open_pipeline(settings) as pipeline:
        await asyncio.wait_for(pipeline.wait_until_settled(), SETTLE_TIMEOUT)
    seconds = time.monotonic() - started
    return await asyncio.to_thread(read_drift, settings), seconds


def choose_command(rng: random.Random, settings: Settings, counter: int) -> tuple[str, list[str]]:
    """One round's operation and its CLI arguments."""
    names = [name for name, _ in OPERATIONS]
    weights = [weight for _, weight in OPERATIONS]
    operation = rng.choices(names, weights)[0]
    member = rng.choice(MEMBERS)
    ids = [taste_id for taste_id, owner, _ in taste_rows(settings) if owner == member]
    if operation == "forget" and ids:
        return operation, ["--member", member, "forget", str(rng.choice(ids))]
    if operation == "forget-all" and ids:
        return operation, ["--member", member, "forget", "--all", "--yes"]
    if operation == "reindex":
        return operation, ["reindex"]
    return "prefer", ["--member", member, "prefer", f"crash taste {counter} {rng.random():.6f}"]


async def _kill_point(
    process: asyncio.subprocess.Process,
    fake: FakeOllama,
    rng: random.Random,
    operation: str,
    duration: float,
) -> None:
    """Wait until this round's random kill point (or until the process ends by itself).

    A write happens late in a short process: after the imports, opening the stores and
    embedding. So a `prefer` is killed a random 0-50 ms after its embedding request
    reaches the fake Ollama, a `reindex` a random moment after a random member's, and a
    `forget` (no model call) at a random point of its run.
    """
    embeds_before = len(fake.embed_requests)
    if operation == "forget" or operation == "forget-all":
        await asyncio.sleep(rng.uniform(0.3, 1.0) * duration)
        return
    nth = 1 if operation == "prefer" else rng.randint(1, len(MEMBERS))
    await fake.wait_for(
        lambda: len(fake.embed_requests) >= embeds_before + nth or process.returncode is not None,
        timeout=SETTLE_TIMEOUT,
    )
    await asyncio.sleep(rng.uniform(0, PREFER_KILL_WINDOW if operation == "prefer" else 0.3))


async def crash_rounds(
    settings: Settings,
    fake: FakeOllama,
    rounds: int,
    *,
    seed_value: int,
    on_round: Callable[[int, str, Drift], None] | None = None,
) -> CrashReport:
    """Run `rounds` kill-and-restart rounds; every round's drift is in the report."""
    rng = random.Random(seed_value)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    await seed(settings)
    duration = await calibrate(settings)
    report = CrashReport()
    for counter in range(rounds):
        operation, argv = choose_command(rng, settings, counter)
        process = await start_cli(settings, *argv)
        waiter = asyncio.create_task(process.wait())
        await asyncio.wait(
            [waiter, asyncio.create_task(_kill_point(process, fake, rng, operation, duration))],
            return_when=asyncio.FIRST_COMPLETED,
        )
        if process.returncode is None:
            process.send_signal(signal.SIGKILL)
            report.kills += 1
            report.by_operation[operation] = report.by_operation.get(operation, 0) + 1
        else:
            report.finished_before_kill += 1
        await waiter
        if any(state != "stored" for _, _, state in taste_rows(settings)):
            report.left_unsettled += 1
        if await asyncio.to_thread(unreachable_collections, settings):
            report.left_half_built += 1
        drift, seconds = await restart_and_measure(settings)
        report.drifts.append(drift)
        report.restart_seconds.append(seconds)
        if on_round:
            on_round(counter, operation, drift)
    return report
