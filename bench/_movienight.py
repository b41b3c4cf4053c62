"""Movie night's prompt build for a big group, a part of `bench.overhead`.

Ten participants, each with 200 tastes and 1,000 rated titles (a third liked, a third
not for me, the rest seen), written straight into SQLite and the embedded vector
store. Times `MovieNights.prompt_for` (every participant's matching tastes, liked
examples and titles to avoid, then the blended prompt) with a request and without,
after one uncounted build that embeds the liked titles once (as the first night would).
The fake Ollama runs in this process, so its embedding of the request is counted.
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from pathlib import Path

from bench import _common as common
from bench._harness import EMBED_DIM
from bench.retrieval import fill
from bot.pipeline.picks import pick_key
from bot.pipeline.pipeline import open_pipeline
from bot.settings import Settings
from tests.fakes.ollama_server import FakeOllama

PARTICIPANTS = 10
TASTES_EACH = 200
RATED_EACH = 1000
BUILDS = 10
REQUEST = "a tense thriller with a clever twist"
SECTION_NOTE = (
    "Ten participants, each with 200 tastes and 1,000 rated titles (a third liked, a "
    "third not for me, the rest seen). *build*: `MovieNights.prompt_for` — each "
    "participant's matching tastes (vector search), liked examples and titles to "
    "avoid, then the blended prompt; the in-process fake Ollama embeds the request. "
    "Medians and worst of {builds} builds after one uncounted build that embeds the "
    "liked titles once."
)


def member_ids() -> list[str]:
    return [str(100_000_000_000_000_000 + number) for number in range(PARTICIPANTS)]


def add_rated_titles(sqlite_path: Path, members: list[str]) -> None:
    """One suggestion per member holding RATED_EACH rated picks."""
    connection = sqlite3.connect(sqlite_path)
    stamp = "2026-01-01T00:00:00+00:00"
    ratings = ("liked", "not_for_me", "seen")
    try:
        with connection:
            for member in members:
                cursor = connection.execute(
                    """INSERT INTO suggestions (member_id, query, count, matches, model,
                           status, created_at, is_structured)
                       VALUES (?, 'history', ?, '[]', 'llama3.1:8b', 'complete', ?, 1)""",
                    (member, RATED_EACH, stamp),
                )
                suggestion_id = cursor.lastrowid
                for number in range(RATED_EACH):
                    title = f"Film {member[-2:]}-{number}"
                    year = 1950 + number % 70
                    pick = connection.execute(
                        """INSERT INTO picks (suggestion_id, member_id, answer_position,
                               shown_position, title, year, kind, description, key,
                               created_at)
                           VALUES (?, ?, ?, ?, ?, ?, 'movie', 'A film.', ?, ?)""",
                        (
                            suggestion_id,
                            member,
                            number + 1,
                            number + 1,
                            title,
                            year,
                            pick_key(title, year),
                            stamp,
                        ),
                    )
                    connection.execute(
                        """INSERT INTO pick_ratings (pick_id, member_id, source, rating,
                               created_at) VALUES (?, ?, 'choice', ?, ?)""",
                        (pick.lastrowid, member, ratings[number % 3], stamp),
                    )
    finally:
        connection.close()


async def prompt_build_rows(tmp: Path) -> tuple[list[list[object]], str]:
    """The table rows (with a request, without one) and the note under them."""
    load_before = common.load_average()
    members = member_ids()
    data_dir = tmp / "movienight"
    await fill(data_dir, {member: TASTES_EACH for member in members})
    add_rated_titles(Settings(data_dir=data_dir, _env_file=None).sqlite_path, members)
    rows: list[list[object]] = []
    async with FakeOllama(embed_dim=EMBED_DIM) as fake:
        settings = Settings(ollama_url=fake.url, data_dir=data_dir, _env_file=None)
        async with open_pipeline(settings) as pipeline:
            nights = pipeline.movie_nights
            plan = await nights.plan(members[0], members[1:])
            assert len(plan.participants) == PARTICIPANTS
            await nights.prompt_for(plan, REQUEST, 4)  # embeds the liked titles once
            for query in (REQUEST, ""):
                times: list[float] = []
                size = 0
                for _ in range(BUILDS):
                    started = time.perf_counter()
                    _, messages = await nights.prompt_for(plan, query, 4)
                    times.append(time.perf_counter() - started)
                    size = len(messages[-1]["content"])
                rows.append(
                    [
                        "with a request" if query else "without a request",
                        BUILDS,
                        common.ms(statistics.median(times)),
                        common.ms(max(times)),
                        f"{size:,} characters",
                    ]
                )
    load = common.load_note(load_before, common.load_average())
    return rows, f"{SECTION_NOTE.format(builds=BUILDS)} {load}"


HEADERS = ("movie night", "builds", "build median", "worst", "prompt size")
