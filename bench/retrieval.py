"""Retrieval scaling without a server: search latency and memory by a member's number of
tastes, /prefer throughput, start-up time with 1,000 members, and the embedded stores
(Qdrant Edge; qdrant-client's local mode in both layouts) compared at 1,000 and 10,000
members × 20 tastes, with the event loop's lag during a reindex of 10,000 tastes.

Tastes for the scaling runs are written straight into the stores (SQLite rows in one
transaction, vectors with `TasteVectors.rebuild`), with the same
embeddings the fake Ollama would give; going through /prefer would only take longer.
/prefer itself is measured separately, through the pipeline and the fake Ollama.
Memory and start-up are measured in a fresh process per case.

    .venv/bin/python -m bench.retrieval [--quick] [--layouts-only] [--stores edge,...]
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import _common as common
from bench._harness import EMBED_DIM, members, pipeline_settings, taste_texts
from bench._remote import RemoteFakes
from bot.pipeline.events import Retrieved
from bot.pipeline.pipeline import open_pipeline
from bot.pipeline.records import Records
from bot.pipeline.text import taste_key
from bot.pipeline.vectors import (
    MemberTastes,
    TastePoint,
    TasteVectors,
    VectorLayout,
    open_taste_vectors,
)
from bot.pipeline.vectors.edge import open_edge_vectors
from bot.settings import Settings
from tests.fakes.ollama_server import fake_embedding

SIZES = (10, 100, 1_000, 10_000)
MEMBER = "100000000000000001"
STARTUP_MEMBERS = 1_000
STARTUP_TASTES_EACH = 20
PREFER_MEMBERS_AT_ONCE = 10
LAYOUT_MEMBERS = (1_000, 10_000)
LAYOUT_TASTES_EACH = 20
LAYOUT_FILL_BUDGET = 600.0  # seconds per layout and size; 2 cores shared, so bounded
LAYOUT_MEMORY_ALLOWANCE_GIB = 6  # of 24 GiB, shared by four people's runs
SEARCH_LIMIT = 3  # RETRIEVAL_LIMIT's default
PROBE_SEARCHES = 1_000  # searches over random members in the fresh process
LOCAL_PROBE_SEARCHES = 100  # local mode's shared layout takes ~0.4 s each at 1,000 members
LOCAL_MEMBERS_MAX = 1_000  # past it, local mode is not run again: what it did is known
LOCAL_AT_SCALE = {
    VectorLayout.PER_MEMBER: "not run again: on 2026-11-26 its fill reached 4,783 members in "
    "the 10 min budget (8.0 members/s and slowing), 17.3 s to open, 2,005 MiB",
    VectorLayout.SHARED: "not run again: on 2026-11-26 not attempted, 12.3 GiB RSS projected "
    "from its 1,000-member row",
}
LAG_MEMBERS = 500  # × 20 tastes: the reindex the loop's lag is measured during
LAG_INTERVAL = 0.001  # a reindex takes seconds: sample the loop often


@dataclass(frozen=True)
class Store:
    """One way to keep the vectors without a server: its name, and its settings."""

    name: str
    embedded: str  # EMBEDDED_STORE
    layout: VectorLayout = VectorLayout.PER_MEMBER  # local mode only

    def settings(self) -> dict[str, str]:
        values = {"embedded_store": self.embedded}
        if self.embedded == "local":
            values["vector_layout"] = self.layout.value
        return values

    def folder(self, data_dir: Path) -> Path:
        return data_dir / ("edge" if self.embedded == "edge" else "qdrant")

    async def open(self, data_dir: Path) -> TasteVectors:
        if self.embedded == "edge":
            return await open_edge_vectors(self.folder(data_dir))
        return await open_taste_vectors(self.layout, path=self.folder(data_dir))


EDGE = Store("edge", "edge")
STORES = (
    EDGE,
    Store("local per-member", "local", VectorLayout.PER_MEMBER),
    Store("local shared", "local", VectorLayout.SHARED),
)


def queries(count: int) -> list[str]:
    moods = ("tense", "funny", "slow", "dark", "warm", "clever", "strange", "epic")
    kinds = ("science fiction", "heist films", "westerns", "anime", "noir", "musicals")
    return [
        f"something {moods[i % len(moods)]} like {kinds[i % len(kinds)]} number {i}"
        for i in range(count)
    ]


# -- filling the stores directly ------------------------------------------------------


async def fill(
    data_dir: Path,
    tastes_by_member: dict[str, int],
    store: Store = EDGE,
    budget: float | None = None,
) -> tuple[float, int]:
    """Write each member's tastes into SQLite and the embedded vector store.

    Returns the seconds taken and how many members got their vectors: with a `budget`
    (seconds), filling stops at the first member past it.
    """
    started = time.monotonic()
    settings = Settings(data_dir=data_dir, _env_file=None)
    async with Records.open(settings.sqlite_path):
        pass  # creates and migrates the schema
    vectors_by_text: dict[str, list[float]] = {}
    rows_by_member = _insert_rows(settings.sqlite_path, tastes_by_member)
    filled = 0

    async def members_tastes() -> AsyncIterator[MemberTastes]:
        nonlocal filled
        for member_id, rows in rows_by_member.items():
            if budget is not None and time.monotonic() - started > budget:
                return
            points = []
            for taste_id, text in rows:
                if text not in vectors_by_text:
                    vectors_by_text[text] = fake_embedding(text, EMBED_DIM)
                points.append(TastePoint(taste_id, vectors_by_text[text]))
            yield MemberTastes(member_id, points)
            filled += 1

    vectors = await store.open(data_dir)
    try:
        await vectors.rebuild(members_tastes())
    finally:
        await vectors.close()
    return time.monotonic() - started, filled


def _insert_rows(path: Path, tastes_by_member: dict[str, int]) -> dict[str, list[Any]]:
    connection = sqlite3.connect(path)
    try:
        with connection:
            for member_id, count in tastes_by_member.items():
                connection.executemany(
                    """INSERT INTO tastes (member_id, text, key, vector_state, created_at)
                       VALUES (?, ?, ?, 'stored', ?)""",
                    [
                        (member_id, text, taste_key(text), "2026-01-01T00:00:00+00:00")
                        for text in taste_texts(count)
                    ],
                )
        return {
            member_id: connection.execute(
                "SELECT id, text FROM tastes WHERE member_id = ? ORDER BY id", (member_id,)
            ).fetchall()
            for member_id in tastes_by_member
        }
    finally:
        connection.close()


# -- search latency -------------------------------------------------------------------


async def search_latency(
    data_dir: Path,
    count: int,
    store_kind: Store = EDGE,
    member_ids: Sequence[str] = (MEMBER,),
) -> list[float]:
    """Seconds of `TasteVectors.search` (worker thread hop included), per query; the
    queries go to `member_ids` in turn."""
    store = await store_kind.open(data_dir)
    try:
        vectors = [fake_embedding(text, EMBED_DIM) for text in queries(count + 5)]
        for vector in vectors[:5]:  # warm-up
            await store.search(member_ids[0], vector, SEARCH_LIMIT)
        timings = []
        for number, vector in enumerate(vectors[5:]):
            member_id = member_ids[number % len(member_ids)]
            started = time.perf_counter()
            hits = await store.search(member_id, vector, SEARCH_LIMIT)
            timings.append(time.perf_counter() - started)
            assert len(hits) == SEARCH_LIMIT
        return timings
    finally:
        await store.close()


async def retrieval_latency(
    fakes: RemoteFakes, data_dir: Path, count: int
) -> dict[str, list[float]]:
    """What `suggest` reports in its `Retrieved` event: embed and search (vector search
    plus the records lookup of the hits). The suggestion is closed right after."""
    timings: dict[str, list[float]] = {"embed": [], "search": []}
    async with open_pipeline(pipeline_settings(fakes, data_dir, **EDGE.settings())) as pipeline:
        for number, query in enumerate(queries(count + 3)):
            events = pipeline.suggest(MEMBER, query)
            async with aclosing(events):
                event = await anext(events)
            assert isinstance(event, Retrieved) and len(event.matches) == SEARCH_LIMIT
            if number >= 3:  # warm-up
                timings["embed"].append(event.embed_seconds)
                timings["search"].append(event.search_seconds)
    return timings


# -- a fresh process: start-up and memory ----------------------------------------------


def run_probe(
    data_dir: Path,
    store: Store = EDGE,
    member_id: str = MEMBER,
    members_and_searches: tuple[int, int] = (0, 0),
) -> dict[str, float]:
    """Start-up times and memory (and with `members_and_searches`, searches over random
    members), measured in a fresh process (bench._startup_probe)."""
    command = [
        sys.executable,
        "-m",
        "bench._startup_probe",
        str(data_dir),
        member_id,
        str(EMBED_DIM),
        store.layout.value,
        store.embedded,
        *(str(n) for n in members_and_searches),
    ]
    output = subprocess.run(
        command, check=True, capture_output=True, text=True, cwd=common.REPO_ROOT
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def disk_mib(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 1024**2


# -- /prefer throughput ----------------------------------------------------------------


async def prefer_throughput(fakes: RemoteFakes, data_dir: Path, per_member: int) -> dict[str, Any]:
    """Tastes stored per second through `Pipeline.prefer`: one member, then several at once."""
    results: dict[str, Any] = {}
    texts = taste_texts(per_member, seed=11)
    async with open_pipeline(pipeline_settings(fakes, data_dir, **EDGE.settings())) as pipeline:
        latencies = []
        started = time.perf_counter()
        for text in texts:
            begun = time.perf_counter()
            await pipeline.prefer("prefer-one", text)
            latencies.append(time.perf_counter() - begun)
        results["one"] = (per_member / (time.perf_counter() - started), latencies)

        async def member_prefers(member_id: str) -> list[float]:
            own = []
            for text in texts:
                begun = time.perf_counter()
                await pipeline.prefer(member_id, text)
                own.append(time.perf_counter() - begun)
            return own

        ids = [f"prefer-many-{n}" for n in range(PREFER_MEMBERS_AT_ONCE)]
        started = time.perf_counter()
        many = await asyncio.gather(*(member_prefers(member_id) for member_id in ids))
        elapsed = time.perf_counter() - started
        results["many"] = (
            PREFER_MEMBERS_AT_ONCE * per_member / elapsed,
            [latency for own in many for latency in own],
        )
    return results


# -- the embedded stores at scale ----------------------------------------------------------


async def layout_prefer_rate(
    fakes: RemoteFakes, data_dir: Path, store: Store, per_member: int
) -> float:
    """Tastes per second through `Pipeline.prefer`, ten new members at once, on a full store."""
    settings = pipeline_settings(fakes, data_dir, **store.settings())
    texts = taste_texts(per_member, seed=17)
    async with open_pipeline(settings) as pipeline:

        async def member_prefers(member_id: str) -> None:
            for text in texts:
                await pipeline.prefer(member_id, text)

        started = time.perf_counter()
        ids = [f"layout-prefer-{n}" for n in range(PREFER_MEMBERS_AT_ONCE)]
        await asyncio.gather(*(member_prefers(member_id) for member_id in ids))
        return PREFER_MEMBERS_AT_ONCE * per_member / (time.perf_counter() - started)


def not_measured_row(count: int, store: Store, projected: float, smallest: int) -> list[object]:
    return [
        f"{count:,} × {LAYOUT_TASTES_EACH}",
        store.name,
        f"not measured: projected {projected:.1f} GiB RSS (from the {smallest:,}-member "
        f"row), over this shared machine's {LAYOUT_MEMORY_ALLOWANCE_GIB} GiB allowance",
        *[""] * 5,
    ]


async def compare_layouts(
    fakes: RemoteFakes,
    root: Path,
    member_counts: Sequence[int],
    budget: float,
    stores: Sequence[Store] = STORES,
) -> list[list[object]]:
    """One row per (members, store): fill, open, memory, search, prefer; or how far the
    fill got within `budget` seconds."""
    rows: list[list[object]] = []
    rss_per_member: dict[str, float] = {}
    for count in member_counts:
        ids = [str(member_id) for member_id in members(count)]
        for store in stores:
            data_dir = root / f"store-{store.embedded}-{store.layout.value}-{count}"
            print(f"stores: {count:,} members, {store.name}", file=sys.stderr, flush=True)
            if store.embedded == "local" and count > LOCAL_MEMBERS_MAX:
                rows.append(
                    [
                        f"{count:,} × {LAYOUT_TASTES_EACH}",
                        store.name,
                        LOCAL_AT_SCALE[store.layout],
                        *[""] * 5,
                    ]
                )
                continue
            projected = rss_per_member.get(store.name, 0.0) * count / 1024
            if projected > LAYOUT_MEMORY_ALLOWANCE_GIB:
                # The machine is shared: do not take it over to find out what is foreseeable.
                rows.append(not_measured_row(count, store, projected, min(member_counts)))
                continue
            fill_seconds, filled = await fill(
                data_dir, dict.fromkeys(ids, LAYOUT_TASTES_EACH), store, budget
            )
            label = [f"{count:,} × {LAYOUT_TASTES_EACH}", store.name]
            if filled < count:
                # Measure what did get filled, and say how far that is.
                label[0] += f" (only {filled:,} filled)"
                fill_note = (
                    f"stopped at the budget: {filled:,} members in {fill_seconds:.0f} s "
                    f"({filled / fill_seconds:.1f} members/s, slowing)"
                )
            else:
                fill_note = f"{fill_seconds:.0f} s"
            searches = PROBE_SEARCHES if store.embedded == "edge" else LOCAL_PROBE_SEARCHES
            probes = [run_probe(data_dir, store, ids[0], (filled, searches)) for _ in range(2)]
            prefer_rate = await layout_prefer_rate(fakes, data_dir, store, 20)

            def mid(key: str, probes: list[dict[str, float]] = probes) -> float:
                return common.median([p[key] for p in probes])

            rss_per_member[store.name] = mid("rss_after_searches") / filled
            rows.append(
                [
                    *label,
                    fill_note,
                    common.ms(mid("open_seconds")),
                    f"{mid('rss_after_searches'):.0f} MiB",
                    f"{common.ms(mid('search_p50'))} / {common.ms(mid('search_p99'))}",
                    f"{prefer_rate:.0f} tastes/s",
                    f"{disk_mib(store.folder(data_dir)):.0f} MiB",
                ]
            )
            print(common.table(LAYOUT_HEADERS, rows[-1:]), file=sys.stderr, flush=True)
            shutil.rmtree(data_dir, ignore_errors=True)
    return rows


LAYOUT_HEADERS = (
    "members × tastes",
    "store",
    "fill",
    "open",
    f"RSS after open + {PROBE_SEARCHES:,} searches",
    "search median / p99",
    "/prefer, 10 members at once",
    "on disk",
)


def layouts_body(rows: list[list[object]], budget: float, lag_rows: list[list[object]]) -> str:
    return "\n\n".join(
        [
            f"No server: {EMBED_DIM}-d vectors, {LAYOUT_TASTES_EACH} tastes per member, "
            "written straight into both stores with `TasteVectors.rebuild` (what `reindex` "
            f"does), the fill stopped after {budget:.0f} s. *open*: `open_pipeline` in a fresh "
            f"process (median of 2); *RSS*: that process after opening and {PROBE_SEARCHES:,} "
            "`TasteVectors.search` calls, each for a random member (their median and p99 "
            f"are the *search* column; local mode: {LOCAL_PROBE_SEARCHES}); */prefer*: 10 new "
            "members storing 20 tastes each at once through the pipeline and the fake "
            "Ollama (in another process). *edge* is a Qdrant Edge shard (float16 vectors, "
            "member tenant index); *local* is qdrant-client's local mode.",
            common.table(LAYOUT_HEADERS, rows),
            f"**The event loop during a reindex** of {LAG_MEMBERS:,} members × "
            f"{LAYOUT_TASTES_EACH} tastes: a ticker on the loop asks to wake every 1 ms and "
            "records how late it wakes. *store only*: `TasteVectors.rebuild` fed vectors "
            "already in memory (the store's own share); *reindex*: `Pipeline.reindex`, "
            "embedding through the fake Ollama in another process.",
            common.table(LAG_HEADERS, lag_rows),
        ]
    )


# -- the loop's lag during a reindex ----------------------------------------------------


async def reindex_lag(fakes: RemoteFakes, root: Path, store: Store) -> list[list[object]]:
    """Loop lag during a rebuild of the store alone, then during `Pipeline.reindex`."""
    data_dir = root / f"lag-{store.embedded}-{store.layout.value}"
    ids = [str(member_id) for member_id in members(LAG_MEMBERS)]
    await fill(data_dir, dict.fromkeys(ids, LAYOUT_TASTES_EACH), store)
    embedded = {text: fake_embedding(text, EMBED_DIM) for text in taste_texts(LAYOUT_TASTES_EACH)}
    vectors = await store.open(data_dir)
    try:

        async def again() -> AsyncIterator[MemberTastes]:
            for number, member_id in enumerate(ids):
                base = number * LAYOUT_TASTES_EACH
                points = [TastePoint(base + i + 1, v) for i, v in enumerate(embedded.values())]
                yield MemberTastes(member_id, points)

        started = time.perf_counter()
        async with common.probing_loop(LAG_INTERVAL) as store_probe:
            await vectors.rebuild(again())
        store_seconds = time.perf_counter() - started
    finally:
        await vectors.close()
    settings = pipeline_settings(fakes, data_dir, **store.settings())
    async with open_pipeline(settings) as pipeline:
        started = time.perf_counter()
        async with common.probing_loop(LAG_INTERVAL) as pipeline_probe:
            await pipeline.reindex()
        pipeline_seconds = time.perf_counter() - started
    shutil.rmtree(data_dir, ignore_errors=True)
    return [
        lag_row(store, "store only", store_seconds, store_probe.lags),
        lag_row(store, "reindex", pipeline_seconds, pipeline_probe.lags),
    ]


def lag_row(store: Store, what: str, seconds: float, lags: list[float]) -> list[object]:
    return [
        store.name,
        what,
        f"{seconds:.1f} s",
        len(lags),
        f"{common.ms(common.median(lags))} / {common.ms(common.percentile(lags, 0.99))}",
        common.ms(max(lags)),
    ]


LAG_HEADERS = ("store", "work", "took", "ticks", "lag median / p99", "lag max")


# -- the run ------------------------------------------------------------------------------


async def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument(
        "--layouts-only", action="store_true", help="only compare the two layouts at scale"
    )
    parser.add_argument(
        "--stores",
        default=",".join(store.name for store in STORES),
        help="which stores to compare at scale (comma-separated: "
        + ", ".join(store.name for store in STORES)
        + ")",
    )
    args = parser.parse_args(argv)
    chosen = [store for store in STORES if store.name in args.stores.split(",")]
    layout_members = (1_000,) if args.quick else LAYOUT_MEMBERS
    budget = 120.0 if args.quick else LAYOUT_FILL_BUDGET
    with tempfile.TemporaryDirectory(prefix="bench-layouts-") as tmp:
        async with RemoteFakes(embed_dim=EMBED_DIM) as fakes:
            layout_rows = await compare_layouts(fakes, Path(tmp), layout_members, budget, chosen)
            lag_rows = [
                row
                for store in chosen
                if store.embedded == "edge"
                for row in await reindex_lag(fakes, Path(tmp), store)
            ]
    common.write_section(
        "layouts",
        "2b. The embedded vector stores at scale",
        layouts_body(layout_rows, budget, lag_rows),
        quick=args.quick,
        write=not args.no_write,
    )
    if args.layouts_only:
        return
    common.configure_logging(args.verbose)
    searches = 50 if args.quick else 300
    retrievals = 20 if args.quick else 100
    prefer_count = 50 if args.quick else 200
    startup_members = 200 if args.quick else STARTUP_MEMBERS

    scaling_rows = []
    with tempfile.TemporaryDirectory(prefix="bench-retrieval-") as tmp:
        root = Path(tmp)
        async with RemoteFakes(embed_dim=EMBED_DIM) as fakes:
            baseline = run_probe(root / "empty")
            for size in SIZES:
                data_dir = root / f"size-{size}"
                fill_seconds, _ = await fill(data_dir, {MEMBER: size})
                search = await search_latency(data_dir, searches)
                retrieval = await retrieval_latency(fakes, data_dir, retrievals)
                probed = run_probe(data_dir)
                scaling_rows.append(
                    [
                        f"{size:,}",
                        common.median_and_p99(search),
                        common.median_and_p99(retrieval["search"]),
                        common.ms(common.median(retrieval["embed"])),
                        f"{probed['rss_searched'] - baseline['rss_searched']:+.1f} MiB",
                        f"{probed['rss_searched']:.0f} MiB",
                        f"{disk_mib(data_dir / 'qdrant'):.1f} MiB",
                        f"{fill_seconds:.1f} s",
                    ]
                )
                print(common.table(SCALING_HEADERS, scaling_rows[-1:]), file=sys.stderr)

            prefer = await prefer_throughput(fakes, root / "prefer", prefer_count)

            members_dir = root / "members"
            ids = [str(member_id) for member_id in members(startup_members)]
            fill_members, _ = await fill(members_dir, dict.fromkeys(ids, STARTUP_TASTES_EACH))
            startups = [run_probe(members_dir) for _ in range(3)]
            empties = [baseline, *(run_probe(root / "empty") for _ in range(2))]

    prefer_rows = [
        [
            label,
            f"{rate:.0f} tastes/s",
            common.ms(common.median(latencies)),
            common.ms(common.percentile(latencies, 0.99)),
        ]
        for label, (rate, latencies) in (
            (f"1 member, {prefer_count} tastes one after another", prefer["one"]),
            (
                f"{PREFER_MEMBERS_AT_ONCE} members at once, {prefer_count} tastes each",
                prefer["many"],
            ),
        )
    ]

    def startup_row(label: str, probes: list[dict[str, float]]) -> list[object]:
        def mid(key: str) -> float:
            return common.median([p[key] for p in probes])

        return [
            label,
            common.ms(mid("import_seconds")),
            common.ms(mid("open_seconds")),
            common.ms(mid("first_search_seconds")),
            f"{mid('rss_opened'):.0f} MiB",
        ]

    startup_rows = [
        startup_row("no members", empties),
        startup_row(
            f"{startup_members:,} members × {STARTUP_TASTES_EACH} tastes "
            f"({startup_members * STARTUP_TASTES_EACH:,} vectors)",
            startups,
        ),
    ]
    body = "\n\n".join(
        [
            f"The Edge store (no QDRANT_URL), {EMBED_DIM}-d vectors, cosine, top "
            f"{SEARCH_LIMIT}. One member holding all the tastes. Tastes written straight "
            "into SQLite and the vector store (see bench/README.md); the fake Ollama's "
            f"embeddings. {searches} vector searches and {retrievals} retrievals per size, "
            "after a warm-up.",
            common.table(SCALING_HEADERS, scaling_rows),
            "*vector search*: `TasteVectors.search` (the Edge store), including the hop "
            "to its worker "
            "thread. *retrieval*: the `search_seconds` of the `Retrieved` event of a real "
            "`suggest` (vector search plus reading the hits' records from SQLite). "
            "*embed*: the request's embedding round trip to the fake Ollama, which answers "
            "at once (a real bge-large adds its own time). *RSS* is a fresh process after "
            "opening the pipeline and one search; *Δ* is against an empty data dir "
            f"({baseline['rss_searched']:.0f} MiB).",
            "**/prefer throughput** (`Pipeline.prefer`: checks, embed through the fake "
            "Ollama, SQLite insert, vector upsert; the fake embeds at once):",
            common.table(("case", "throughput", "median", "p99"), prefer_rows),
            f"**Start-up** in a fresh process: importing the pipeline, then `open_pipeline` "
            f"(SQLite, and the embedded Qdrant loading every collection), then one search "
            f"(medians of 3). Filling {startup_members:,} members took {fill_members:.0f} s.",
            common.table(
                ("data dir", "import", "open", "first search", "RSS after open"), startup_rows
            ),
        ]
    )
    common.write_section(
        "retrieval", "2. Retrieval scaling", body, quick=args.quick, write=not args.no_write
    )


SCALING_HEADERS = (
    "tastes",
    "vector search median / p99",
    "retrieval median / p99",
    "embed median",
    "RSS Δ",
    "RSS",
    "on disk",
    "fill time",
)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
