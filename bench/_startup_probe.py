"""Run in a fresh process by bench.retrieval: import the pipeline, open it on a data dir,
search once; print the times and the resident memory as one JSON line.

    python -m bench._startup_probe DATA_DIR MEMBER_ID DIMENSION [VECTOR_LAYOUT]

Only the standard library is imported before the clock starts.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from bench._common import rss_mib


async def probe(
    data_dir: Path, member_id: str, dimension: int, layout: str = "per-member"
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
        _env_file=None,
    )
    query = fake_embedding("tense science fiction with a twist", dimension)
    async with open_backends(settings) as backends, Pipeline(settings, backends):
        opened = time.perf_counter()
        rss_opened = rss_mib()
        await backends.vectors.search(member_id, query, 3)
        searched = time.perf_counter()
        rss_searched = rss_mib()
    return {
        "import_seconds": imported - started,
        "open_seconds": opened - imported,
        "first_search_seconds": searched - opened,
        "rss_start": rss_start,
        "rss_imported": rss_imported,
        "rss_opened": rss_opened,
        "rss_searched": rss_searched,
    }


if __name__ == "__main__":
    data_dir, member_id, dimension = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    layout = sys.argv[4] if len(sys.argv) > 4 else "per-member"
    print(json.dumps(asyncio.run(probe(data_dir, member_id, dimension, layout))))
