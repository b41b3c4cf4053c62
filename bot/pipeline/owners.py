"""Which process owns a running suggestion, and whether that process is still alive.

Every process that opens the pipeline takes an owner id and holds an exclusive lock
on `DATA_DIR/owners/<id>.lock` for as long as it runs; its suggestions are recorded
with that id. The operating system drops the lock when the process ends, however it
ends (a clean stop, a crash, `kill -9`, a container restart where the new process gets
the same pid), so "can I take this owner's lock?" answers "is the owner gone?" without
guessing from pids or clocks. A second process starting beside a live one therefore
never closes the first one's suggestions.

The lock is `flock`, which works between processes on one machine (containers sharing
a volume included). Where `fcntl` is missing, an owner counts as gone only once its
lock file has been removed, which a clean stop does.
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import IO

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

OWNERS_FOLDER = "owners"


class ProcessOwner:
    """This process's owner id, with its lock held until `release`."""

    def __init__(self, data_dir: Path, owner_id: str, lock_file: IO[bytes]) -> None:
        self.data_dir = data_dir
        self.id = owner_id
        self._lock_file: IO[bytes] | None = lock_file

    @classmethod
    def acquire(cls, data_dir: Path) -> ProcessOwner:
        """Take a new owner id for this process and lock it."""
        owner_id = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        path = _lock_path(data_dir, owner_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Locked under a temporary name, then renamed: a file with an owner's name is
        # always locked already, so no other process can mistake it for a gone one.
        unlocked = path.with_name(path.name + ".new")
        lock_file = unlocked.open("wb")
        if fcntl is not None:
            fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
        unlocked.replace(path)
        return cls(data_dir, owner_id, lock_file)

    def release(self) -> None:
        """Give the id up (a clean stop): remove the lock file, then drop the lock."""
        if self._lock_file is None:
            return
        _lock_path(self.data_dir, self.id).unlink(missing_ok=True)
        self._lock_file.close()
        self._lock_file = None

    def is_gone(self, owner_id: str | None) -> bool:
        """Whether the process that owned `owner_id` has ended (never true for ourselves)."""
        if owner_id == self.id:
            return False
        return is_owner_gone(self.data_dir, owner_id)


def is_owner_gone(data_dir: Path, owner_id: str | None) -> bool:
    """True when no live process holds `owner_id`'s lock. Rows from before owners were
    recorded (None) belong to a process that is gone by now."""
    if owner_id is None:
        return True
    path = _lock_path(data_dir, owner_id)
    if not path.exists():
        return True
    if fcntl is None:  # pragma: no cover - Windows: cannot tell, so assume it lives
        return False
    try:
        with path.open("rb") as probe:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False  # its process holds the lock: alive
    except OSError as exc:
        log.warning("Cannot check owner %s (%s); treating it as alive", owner_id, exc)
        return False
    # We could take the lock: its process is gone. Tidy its file.
    path.unlink(missing_ok=True)
    return True


def remove_files_of_gone_owners(data_dir: Path) -> int:
    """Remove the lock files processes that ended without tidying left (kill -9);
    returns how many. Live owners' files stay."""
    folder = data_dir / OWNERS_FOLDER
    if not folder.is_dir():
        return 0
    return sum(
        1 for path in folder.glob("*.lock") if is_owner_gone(data_dir, path.name[: -len(".lock")])
    )


def _lock_path(data_dir: Path, owner_id: str) -> Path:
    return data_dir / OWNERS_FOLDER / f"{owner_id}.lock"
