"""What every benchmark shares: statistics, the machine, memory, event-loop lag, and
writing a result section into BENCHMARKS.md.

Each benchmark owns one section of BENCHMARKS.md, between `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->`; a run replaces its own section and leaves the rest (the
hand-written analysis) alone.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import logging
import os
import platform
import re
import shlex
import statistics
import sys
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS_MD = REPO_ROOT / "BENCHMARKS.md"
LAG_SAMPLE_SECONDS = 0.01  # how often the lag probe asks to be woken


# -- statistics -----------------------------------------------------------------------


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def percentile(values: Sequence[float], fraction: float) -> float:
    """The `fraction` quantile (0.99 for p99), linearly interpolated between samples."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def ms(seconds: float) -> str:
    """Seconds as milliseconds for a table: 3 significant figures, no false precision."""
    if seconds != seconds:  # NaN
        return "–"
    value = seconds * 1000
    if value >= 100:
        return f"{value:.0f} ms"
    if value >= 10:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def median_and_p99(values: Sequence[float]) -> str:
    """`median / p99` in milliseconds, for a table cell."""
    return f"{ms(median(values))} / {ms(percentile(values, 0.99))}"


def pct(ratio: float) -> str:
    return "–" if ratio != ratio else f"{ratio * 100:.2f} %"


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


# -- the machine and the process ------------------------------------------------------


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def machine() -> str:
    """One line: CPU, cores, memory, OS, Python and the libraries that matter here."""
    memory = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        kib = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kib / 1024**2:.0f} GiB RAM"
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("qdrant-client", "numpy", "discord.py", "httpx", "aiosqlite")
    )
    return (
        f"{cpu_model()}, {os.cpu_count()} cores (nproc){memory}; "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}; "
        f"{versions}"
    )


def load_average() -> float:
    """The 1-minute load average now (runnable processes, all users)."""
    return os.getloadavg()[0]


def load_note(before: float, after: float) -> str:
    """How busy the machine was, for a section's text: load average against cores."""
    cores = os.cpu_count() or 1
    busy = max(before, after) > 0.5 * cores
    return (
        f"Load average (1 min) {before:.1f} at the start and {after:.1f} at the end, on "
        f"{cores} cores"
        + (
            ": the machine was shared, so absolute times are noisier than in a quiet run."
            if busy
            else "."
        )
    )


def _proc_status_kib(key: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def rss_mib() -> float:
    """This process's resident memory now."""
    return _proc_status_kib("VmRSS") / 1024


def peak_rss_mib() -> float:
    """This process's highest resident memory since it started."""
    return _proc_status_kib("VmHWM") / 1024


def cpu_seconds() -> float:
    """CPU time of this process, all threads, user + system."""
    return time.process_time()


# -- event-loop lag -------------------------------------------------------------------


@dataclass
class LoopProbe:
    """How late the event loop woke a task that asked to sleep `LAG_SAMPLE_SECONDS`,
    sample by sample, and the highest RSS seen while probing."""

    lags: list[float] = field(default_factory=list)
    peak_rss_mib: float = 0.0

    @property
    def p99(self) -> float:
        return percentile(self.lags, 0.99)

    @property
    def p50(self) -> float:
        return percentile(self.lags, 0.50)

    @property
    def worst(self) -> float:
        return max(self.lags, default=float("nan"))


@contextlib.asynccontextmanager
async def probing_loop(interval: float = LAG_SAMPLE_SECONDS) -> AsyncIterator[LoopProbe]:
    """Measure event-loop lag (and peak RSS) for as long as the block runs, asking to be
    woken every `interval` seconds."""
    probe = LoopProbe(peak_rss_mib=rss_mib())
    loop = asyncio.get_running_loop()

    async def sample() -> None:
        count = 0
        while True:
            asked = loop.time()
            await asyncio.sleep(interval)
            probe.lags.append(max(0.0, loop.time() - asked - interval))
            count += 1
            if count % 10 == 0:
                probe.peak_rss_mib = max(probe.peak_rss_mib, rss_mib())

    task = asyncio.create_task(sample())
    try:
        yield probe
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        probe.peak_rss_mib = max(probe.peak_rss_mib, rss_mib())


# -- command line and results ---------------------------------------------------------


def parser(description: str) -> argparse.ArgumentParser:
    """The options every benchmark takes."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument(
        "--quick", action="store_true", help="fewer repetitions and sizes (a smoke run)"
    )
    result.add_argument(
        "--no-write", action="store_true", help="print the results; leave BENCHMARKS.md alone"
    )
    result.add_argument("-v", "--verbose", action="store_true", help="show the bot's log")
    return result


def configure_logging(verbose: bool) -> None:
    # The bot logs every suggestion at INFO; at benchmark rates that is noise and cost.
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def command_line() -> str:
    module = Path(sys.argv[0]).resolve().relative_to(REPO_ROOT).with_suffix("")
    return shlex.join([".venv/bin/python", "-m", ".".join(module.parts), *sys.argv[1:]])


def write_section(name: str, title: str, body: str, *, quick: bool, write: bool) -> None:
    """Print the section and, unless told not to, put it into BENCHMARKS.md."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    note = " **(quick run: fewer repetitions, indicative only)**" if quick else ""
    section = (
        f"<!-- bench:{name} -->\n### {title}\n\n"
        f"`{command_line()}` — {stamp}{note}  \n"
        f"Machine: {machine()}\n\n{body.strip()}\n<!-- /bench:{name} -->"
    )
    print(section)
    if not write:
        return
    text = BENCHMARKS_MD.read_text(encoding="utf-8") if BENCHMARKS_MD.exists() else ""
    pattern = re.compile(
        rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S
    )
    if pattern.search(text):
        text = pattern.sub(lambda _: section, text)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    BENCHMARKS_MD.write_text(text, encoding="utf-8")
    print(f"\n(written to {BENCHMARKS_MD.relative_to(REPO_ROOT)})", file=sys.stderr)
