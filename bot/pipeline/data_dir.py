"""Checks on DATA_DIR, so a folder we cannot use is one clear line, not a deep fault."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from bot.errors import ConfigError

# Below this the records and the embedded vector store may fail to write mid-answer.
MIN_FREE_BYTES = 200 * 1024 * 1024


def check_writable(data_dir: Path) -> None:
    """Create DATA_DIR if needed and prove a file can be written in it, or raise
    `ConfigError` naming the setting and the absolute path."""
    where = f"DATA_DIR ({data_dir.absolute()})"
    if data_dir.exists() and not data_dir.is_dir():
        raise ConfigError(f"{where} is a file, not a folder: set DATA_DIR to a folder.")
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=data_dir):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ConfigError(
            f"{where} is not writable ({reason}): set DATA_DIR to a folder you can write "
            "to, or fix its permissions."
        ) from None


def low_space_warning(data_dir: Path, minimum: int | None = None) -> str | None:
    """One line when the disk holding DATA_DIR has less than `minimum` bytes free
    (default `MIN_FREE_BYTES`), else None."""
    minimum = MIN_FREE_BYTES if minimum is None else minimum
    try:
        free = shutil.disk_usage(data_dir).free
    except OSError:
        return None  # check_writable reports a folder we cannot reach
    if free >= minimum:
        return None
    return (
        f"The disk holding DATA_DIR ({data_dir.absolute()}) is nearly full: "
        f"{free / 1024 / 1024:.0f} MiB free, at least {minimum // 1024 // 1024} MiB is needed "
        "for new records. Free some space."
    )
