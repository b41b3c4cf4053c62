"""Run in a fresh process by bench.retrieval: import the pipeline, open it on a data dir,
search; print the times and the resident memory as one JSON line.

    python -m bench._startup_probe DATA_DIR MEMBER_ID DIMENSION [VECTOR_LAYOUT
        [EMBEDDED_STORE [MEMBERS SEARCHES]]]

With MEMBERS and SEARCHES, after the first search it runs SEARCHES more, each for a
random one of the MEMBERS bench members (`bench._harness.members`), and reports their
median and 99th percentile, and the memory after them.

Only the standard library is imported before the clock starts.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
from pathlib import Path

from bench._common import rss_mib


async def probe(
    data_dir: Path,
    member_id: str,
    dimension: int,
    layout: str = "per-member",
    embedded: str = "local",
    members: int = 0,
    searches: int = 0,
) -> dict[str, float]:
    rss_start = rss_mib()
    started = time.perf_counter()
    from bot.pipeline.pipeline import Pipeline, open_backends
    from bot.settings import Settings
    from tests.fakes.ollama_server import fake_embedding, unused_port

    imported = time.perf_counter()
    rss_imported = rss_mib()
    # No Ollama is needed: opening does not call it, and the search goes to the store.
    settings = Settings(
        data_dir=data_dir,
        ollama_url=f"http://127.0.0.1:{unused_port()}",
        vector_layout=layout,
        embedded_store=embedded,
        _env_file=None,
    )
    query = fake_embedding("tense science fiction with a twist", dimension)
    async with open_backends(settings) as backends, Pipeline(settings, backends):
        opened = time.perf_counter()
        rss_opened = rss_mib()
        vectors = backends.vectors  # the bench measures the store itself
        await vectors.search(member_id, query, 3)
        searched = time.perf_counter()
        rss_searched = rss_mib()
        timings = await many_searches(vectors, dimension, members, searches)
        rss_many = rss_mib()
    timings.sort()
    return {
        "import_seconds": imported - started,
        "open_seconds": opened - imported,
        "first_search_seconds": searched - opened,
        "rss_start": rss_start,
        "rss_imported": rss_imported,
        "rss_opened": rss_opened,
        "rss_searched": rss_searched,
        "rss_after_searches": rss_many,
        "search_p50": timings[len(timings) // 2] if timings else 0.0,
        "search_p99": timings[int(len(timings) * 0.99)] if timings else 0.0,
    }


async def many_searches(
    vectors: object, dimension: int, members: int, searches: int
) -> list[float]:
    """Seconds of `searches` searches, each for a random one of the first `members`."""
    from bench._harness import members as member_ids
    from tests.fakes.ollama_server import fake_embedding

    ids = [str(member) for member in member_ids(members)]
    rng = random.Random(5)
    queries = [fake_embedding(f"probe query {n}", dimension) for n in range(searches)]
    timings = []
    for query in queries:
        started = time.perf_counter()
        hits = await vectors.search(rng.choice(ids), query, 3)  # type: ignore[attr-defined]
        timings.append(time.perf_counter() - started)
        assert hits, "a bench member without vectors"
    return timings


if __name__ == "__main__":
    data_dir, member_id, dimension = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    layout = sys.argv[4] if len(sys.argv) > 4 else "per-member"
    embedded = sys.argv[5] if len(sys.argv) > 5 else "local"
    counts = [int(arg) for arg in sys.argv[6:8]] if len(sys.argv) > 7 else [0, 0]
    result = asyncio.run(probe(data_dir, member_id, dimension, layout, embedded, *counts))
    print(json.dumps(result))
