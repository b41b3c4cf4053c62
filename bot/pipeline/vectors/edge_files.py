"""The files around the Edge shard: which generation is current, and who holds it.

Under the store's folder (DATA_DIR/edge):

- ``g<N>/``: one Edge shard per generation; normally one, two while a reindex runs.
- ``current.json``: the generation in use and its vector size. It is replaced in one
  rename, so it names the old generation or the new one, never neither: that rename is
  the switch of a reindex.
- ``holder.lock``: locked (`flock`) by the process that has the store open, for as long
  as it has it, with that process's id and command inside. A second process is refused
  with one line naming the holder, before Edge itself would refuse it on its WAL lock.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from bot.errors import VectorStoreError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: Edge's own WAL lock still refuses
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

CURRENT_FILE = "current.json"
HOLDER_FILE = "holder.lock"
GENERATION_PREFIX = "g"


@dataclass(frozen=True, slots=True)
class Current:
    """The generation in use and the size of its vectors."""

    generation: int
    dimension: int


def generation_dir(root: Path, generation: int) -> Path:
    """The folder of one generation's shard."""
    return root / f"{GENERATION_PREFIX}{generation}"


def read_current(root: Path) -> Current | None:
    """The current generation, or None before the first taste (or after an empty reindex)."""
    path = root / CURRENT_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Current(int(data["generation"]), int(data["dimension"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise VectorStoreError(
            f"The vector store's {path} is unreadable ({exc}). Remove the folder {root} "
            "and run: python -m bot.cli reindex"
        ) from exc


def write_current(root: Path, current: Current | None) -> None:
    """Make `current` the generation in use, in one rename (None: no shard at all)."""
    path = root / CURRENT_FILE
    if current is None:
        path.unlink(missing_ok=True)
        _sync_dir(root)
        return
    staged = path.with_name(path.name + ".new")
    body = json.dumps({"generation": current.generation, "dimension": current.dimension})
    with staged.open("w", encoding="utf-8") as file:
        file.write(body)
        file.flush()
        os.fsync(file.fileno())
    staged.replace(path)
    _sync_dir(root)


def stray_generations(root: Path, current: Current | None) -> list[Path]:
    """Generation folders `current` does not name: half-built or switched away from."""
    keep = current.generation if current else None
    stray: list[Path] = []
    for path in root.glob(f"{GENERATION_PREFIX}*"):
        number = path.name.removeprefix(GENERATION_PREFIX)
        if path.is_dir() and number.isdigit() and int(number) != keep:
            stray.append(path)
    return sorted(stray)


def remove_generation(path: Path) -> None:
    """Delete a generation's folder (its shard must be closed)."""
    shutil.rmtree(path, ignore_errors=True)


class Holder:
    """This process's hold on the store's folder, kept until `release`."""

    def __init__(self, lock_file: IO[str]) -> None:
        self._lock_file: IO[str] | None = lock_file

    @classmethod
    def take(cls, root: Path) -> Holder:
        """Lock the folder for this process, or raise one line naming who holds it."""
        root.mkdir(parents=True, exist_ok=True)
        path = root / HOLDER_FILE
        lock_file = path.open("a+", encoding="utf-8")
        if fcntl is not None:
            try:
                fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                lock_file.seek(0)
                holder = lock_file.read().strip()
                lock_file.close()
                raise VectorStoreError(in_use_message(root, holder)) from None
        lock_file.seek(0)
        lock_file.truncate()
        lock_file.write(f"pid {os.getpid()}: {' '.join(sys.argv) or 'python'}\n")
        lock_file.flush()
        return cls(lock_file)

    def release(self) -> None:
        """Let another process open the store (the lock also goes when the process dies)."""
        if self._lock_file is not None:
            self._lock_file.close()
            self._lock_file = None


def in_use_message(root: Path, holder: str = "") -> str:
    """The one line a second opener gets."""
    who = f" ({holder})" if holder else ""
    return (
        f"The vector store at {root} is in use by another suggest.watch process{who}: "
        "only one process can open it. Stop that process and run the command again, or "
        "run a Qdrant server and set QDRANT_URL so several processes can share it."
    )


def _sync_dir(path: Path) -> None:
    """Make a rename in `path` durable (best effort where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on a directory
        log.debug("Could not fsync %s", path)
    finally:
        os.close(fd)
