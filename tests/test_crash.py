"""Real processes killed at random points: the next start always converges.

Each round runs `python -m bot.cli prefer | forget | forget --all | reindex` against the
fake Ollama, SIGKILLs it at a random point (see `tests/crashes.py`), restarts the
pipeline and reads SQLite and Qdrant directly. `bench.crash` runs many more rounds.
"""

import random
from pathlib import Path

import pytest

from bot.settings import Settings
from tests.crashes import Drift, crash_rounds
from tests.fakes.ollama_server import FakeOllama
from tests.stores import STORES

ROUNDS_PER_STORE = 12


@pytest.mark.timeout(600)  # ~30 s alone; real processes on a shared machine, so generous
@pytest.mark.parametrize("store", list(STORES))
async def test_killed_writes_leave_no_drift_after_a_restart(
    fake_ollama: FakeOllama, tmp_path: Path, store: str
) -> None:
    settings = Settings(
        ollama_url=fake_ollama.url,
        data_dir=tmp_path / "data",
        **STORES[store],  # type: ignore[arg-type]
        _env_file=None,
    )
    seed_value = random.randrange(1_000_000)
    drifted: list[tuple[int, str, Drift]] = []

    def check(round_number: int, operation: str, drift: Drift) -> None:
        if drift.total:
            drifted.append((round_number, operation, drift))

    report = await crash_rounds(
        settings, fake_ollama, ROUNDS_PER_STORE, seed_value=seed_value, on_round=check
    )
    assert drifted == [], f"seed {seed_value}: drift after {drifted}"
    assert len(report.drifts) == ROUNDS_PER_STORE
    # Most rounds are killed; a process that beat its kill point is checked all the same.
    assert report.kills >= ROUNDS_PER_STORE // 3, f"seed {seed_value}: too few kills landed"
