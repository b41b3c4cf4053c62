"""`doctor`: check the settings, DATA_DIR, every model host and its models, the vector
store and SQLite."""

from __future__ import annotations

import sys
from typing import TextIO

from bot.cli.terminal import EXIT_FAILED, EXIT_OK
from bot.errors import ConfigError
from bot.pipeline.data_dir import check_writable, low_space_warning
from bot.pipeline.pipeline import Pipeline, open_pipeline
from bot.pipeline.vectors.moving import embedded_store_notes
from bot.settings import Settings, env_file_path


def describe_settings_source() -> str:
    """Where the settings came from: the .env file and the environment, or no file."""
    env_file = env_file_path()
    if env_file.is_file():
        return f"read {env_file} and the environment"
    return f"the environment and defaults (no .env in {env_file.parent})"


def storage_checks(settings: Settings) -> tuple[list[str], int]:
    """`doctor`'s first lines, which need no open pipeline: where the settings and the
    data come from, whether DATA_DIR is usable and has room. Returns lines, failures."""
    lines = [f"[ok] Settings: {describe_settings_source()}"]
    try:
        check_writable(settings.data_dir)
    except ConfigError as exc:
        return [*lines, f"[FAIL] Data folder: {exc}"], 1
    lines.append(f"[ok] Data folder: DATA_DIR is {settings.data_dir}")
    if warning := low_space_warning(settings.data_dir):
        return [*lines, f"[FAIL] Disk space: {warning}"], 1
    notes = embedded_store_notes(
        settings.qdrant_path,
        uses_edge=settings.uses_edge,
        layout_ignored=settings.layout_is_ignored,
    )
    for note in notes:
        lines += [f"[note] Vector store: {note.detail}", f"       fix: {note.fix}"]
    return lines, 0


async def pipeline_checks(pipeline: Pipeline, out: TextIO) -> int:
    """Print the pipeline's health checks, each with its fix; the exit code."""
    checks = await pipeline.health()
    for check in checks:
        print(f"[{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}", file=out)
        if check.fix:
            print(f"       fix: {check.fix}", file=out)
    failed = [check for check in checks if not check.ok]
    print("All good." if not failed else f"{len(failed)} problem(s) found.", file=out, flush=True)
    return EXIT_FAILED if failed else EXIT_OK


async def doctor(settings: Settings, out: TextIO = sys.stdout) -> int:
    """Check everything; a DATA_DIR that cannot be used is a line, not a stop."""
    lines, failures = storage_checks(settings)
    for line in lines:
        print(line, file=out, flush=True)
    if failures:
        print(f"{failures} problem(s) found.", file=out, flush=True)
        return EXIT_FAILED
    async with open_pipeline(settings) as pipeline:
        return await pipeline_checks(pipeline, out)
