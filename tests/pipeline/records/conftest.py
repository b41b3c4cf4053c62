"""Fixtures for the records tests: a database path in a temporary folder, and open records."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.pipeline.records import Records


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "records.sqlite3"


@pytest.fixture
async def records(db_path: Path) -> AsyncIterator[Records]:
    async with Records.open(db_path) as opened:
        yield opened
