"""Run every benchmark in turn, each writing its own section of BENCHMARKS.md.

    .venv/bin/python -m bench.all [--quick] [--no-write]

Each benchmark runs in its own process, so none inherits another's imports, memory or
threads. Stops at the first that fails.
"""

from __future__ import annotations

import subprocess
import sys
import time

from bench._common import REPO_ROOT, parser

BENCHMARKS = (
    "bench.overhead",
    "bench.retrieval",
    "bench.concurrency",
    "bench.crash",
    "bench.library",
)


def main() -> int:
    args = parser(__doc__.splitlines()[0]).parse_args()
    options = [
        flag
        for flag, wanted in (
            ("--quick", args.quick),
            ("--no-write", args.no_write),
            ("-v", args.verbose),
        )
        if wanted
    ]
    for module in BENCHMARKS:
        started = time.monotonic()
        print(f"== {module} {' '.join(options)}", file=sys.stderr, flush=True)
        code = subprocess.run([sys.executable, "-m", module, *options], cwd=REPO_ROOT).returncode
        print(f"== {module}: exit {code} after {time.monotonic() - started:.0f} s", file=sys.stderr)
        if code != 0:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
