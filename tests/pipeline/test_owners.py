"""Process owners: a live owner's lock is held; a gone one's is free, however it ended."""

import signal
import subprocess
import sys
from pathlib import Path

from bot.pipeline.owners import ProcessOwner, is_owner_gone, remove_files_of_gone_owners

# A process that takes an owner id, says it, and is killed before it can tidy.
KILLED_OWNER = """
import os, signal, sys
from pathlib import Path
from bot.pipeline.owners import ProcessOwner
owner = ProcessOwner.acquire(Path(sys.argv[1]))
print(owner.id, flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def owner_killed_without_tidying(data_dir: Path) -> str:
    """The id of an owner whose process took it and was then killed (kill -9)."""
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_OWNER, str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    return killed.stdout.strip()


def test_a_live_owner_is_not_gone_to_another_process(tmp_path: Path) -> None:
    live = ProcessOwner.acquire(tmp_path)
    other = ProcessOwner.acquire(tmp_path)
    try:
        assert not other.is_gone(live.id)
        assert not live.is_gone(live.id)
    finally:
        live.release()
        other.release()


def test_an_owner_that_stopped_cleanly_is_gone(tmp_path: Path) -> None:
    stopped = ProcessOwner.acquire(tmp_path)
    stopped.release()
    assert is_owner_gone(tmp_path, stopped.id)


def test_an_owner_that_died_without_tidying_is_gone_and_its_file_removed(tmp_path: Path) -> None:
    dead_id = owner_killed_without_tidying(tmp_path)
    lock_file = tmp_path / "owners" / f"{dead_id}.lock"
    assert lock_file.exists()
    assert is_owner_gone(tmp_path, dead_id)
    assert not lock_file.exists()


def test_rows_from_before_owners_were_recorded_belong_to_nobody_alive(tmp_path: Path) -> None:
    assert is_owner_gone(tmp_path, None)


def test_files_of_gone_owners_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    live = ProcessOwner.acquire(tmp_path)
    owner_killed_without_tidying(tmp_path)
    try:
        assert remove_files_of_gone_owners(tmp_path) == 1
        assert [path.name for path in (tmp_path / "owners").iterdir()] == [f"{live.id}.lock"]
    finally:
        live.release()
