"""Building a whole Edge shard in another process, so a reindex never stalls the bot.

Edge holds the GIL for each call, and a flush (an fsync or several) takes 20-60 ms, so
filling a shard of thousands of tastes in the bot's own process would stop its event
loop again and again. `ShardBuilder` runs this file as a script instead (``python -I
edge_builder.py DIR DIMENSION PARENT_PID``) and streams it the tastes: per member one
JSON line (the member and the taste ids), then the vectors as raw float32. The child
writes them into a new shard at DIR, flushes, closes it and answers with one JSON line;
the parent then loads the finished shard: one short load instead of thousands of calls.

While it builds, the child holds ``DIR.building`` beside the folder, taken before the
folder is made; `wait_for_builders` lets a tidy wait for any builder whose parent died
(it sees the end of its input and exits) before removing folders. A builder checks
that its parent lives only once it holds that lock, so an orphan starting late makes
no folder at all.

This module imports only qdrant_edge and the standard library, so the child starts fast
(the package's own imports would load qdrant-client, a second or two).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from array import array
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO

import qdrant_edge as edge

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

# The payload names of the server layouts too (vectors/naming.py says the same);
# repeated here so that the builder process does not import qdrant-client.
MEMBER_KEY = "member_id"
TASTE_KEY = "taste_id"
BUILDER_LOCK_SUFFIX = ".building"
WRITE_SLICE = 64  # points per Edge call
BUILDER_WAIT = 30.0  # seconds a tidy waits for an orphaned builder to exit
_PAYLOAD_M = 16
_SCRIPT = str(Path(__file__).resolve())


def shard_config(dimension: int) -> edge.EdgeConfig:
    """Cosine float16 vectors; if the shard is ever optimized, graphs per member only."""
    vectors = edge.EdgeVectorParams(
        size=dimension,
        distance=edge.Distance.Cosine,
        datatype=edge.VectorStorageDatatype.Float16,
    )
    graphs = edge.HnswIndexConfig(
        m=0, ef_construct=100, full_scan_threshold=10_000, payload_m=_PAYLOAD_M
    )
    return edge.EdgeConfig(vectors=vectors, hnsw_config=graphs)


def create_shard(path: Path, dimension: int) -> edge.EdgeShard:
    """A new, empty shard at `path` with the member tenant index."""
    shard = edge.EdgeShard.create(str(path), shard_config(dimension))
    index = edge.KeywordIndexParams(is_tenant=True)
    shard.update(edge.UpdateOperation.create_field_index(MEMBER_KEY, index))
    return shard


def to_point(taste_id: int, vector: Sequence[float], member_id: str) -> edge.Point:
    """One taste as an Edge point: ids in the payload, never the text."""
    return edge.Point(taste_id, list(vector), {MEMBER_KEY: member_id, TASTE_KEY: taste_id})


def builder_lock(path: Path) -> Path:
    """The lock a builder holds while it builds the shard at `path` (beside the folder)."""
    return path.with_name(path.name + BUILDER_LOCK_SUFFIX)


def wait_for_builders(root: Path, timeout: float = BUILDER_WAIT) -> bool:
    """Wait until no builder holds a lock under `root`, and remove the locks; False if
    one is still held at `timeout`."""
    deadline = time.monotonic() + timeout
    for lock_path in sorted(root.glob(f"*{BUILDER_LOCK_SUFFIX}")):
        if not _wait_for_lock(lock_path, deadline):
            return False
        lock_path.unlink(missing_ok=True)
    return True


def _wait_for_lock(lock_path: Path, deadline: float) -> bool:
    if fcntl is None:
        return True
    try:
        probe_file = lock_path.open("rb")
    except FileNotFoundError:
        return True
    with probe_file as probe:
        while True:
            try:
                fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.05)  # its parent is gone; it exits as soon as it notices


class ShardBuilder:
    """The parent's side: a child process building one shard from streamed tastes."""

    def __init__(
        self, process: asyncio.subprocess.Process, path: Path, dimension: int, errors: IO[bytes]
    ) -> None:
        self._process = process
        self._lock = builder_lock(path)
        self.dimension = dimension
        self._errors = errors  # a file, not a pipe: nobody reads while the child builds

    @classmethod
    async def start(cls, path: Path, dimension: int) -> ShardBuilder:
        """Start a builder for a new shard at `path` (which must not exist)."""
        errors = tempfile.TemporaryFile()  # noqa: SIM115 - open for the child's whole life
        # Run as a script, isolated (-I): it needs qdrant_edge only, not this package.
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            _SCRIPT,
            str(path),
            str(dimension),
            str(os.getpid()),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=errors,
        )
        return cls(process, path, dimension, errors)

    async def write(
        self, member_id: str, ids: Sequence[int], vectors: Sequence[Sequence[float]]
    ) -> None:
        """Send one member's tastes; raises ValueError for a vector of another size."""
        if any(len(vector) != self.dimension for vector in vectors):
            raise ValueError(f"a vector of another size than {self.dimension}")
        body = array("f")
        for vector in vectors:
            body.extend(vector)
        await self._send({"member": member_id, "ids": list(ids)}, body.tobytes())

    async def finish(self) -> int:
        """Let the child flush and close the shard; returns how many points it wrote."""
        await self._send({"end": True}, b"")
        assert self._process.stdin is not None
        self._process.stdin.close()
        out, _ = await self._process.communicate()
        if self._process.returncode != 0:
            raise RuntimeError(f"the index builder failed: {self._said()}")
        self._errors.close()
        self._lock.unlink(missing_ok=True)  # the builder is gone
        return int(json.loads(out.decode().strip().splitlines()[-1])["points"])

    async def abort(self) -> None:
        """Stop the child at once (its half-built folder is for the caller to remove)."""
        if self._process.returncode is None:
            self._process.kill()
        await self._process.wait()
        self._errors.close()
        self._lock.unlink(missing_ok=True)

    def _said(self) -> str:
        """The end of what the child wrote to stderr."""
        self._errors.seek(0)
        return self._errors.read().decode(errors="replace").strip()[-500:]

    async def _send(self, header: dict[str, Any], body: bytes) -> None:
        stdin = self._process.stdin
        assert stdin is not None
        try:
            stdin.write(json.dumps(header).encode() + b"\n" + body)
            await stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            await self._process.wait()
            raise RuntimeError(f"the index builder stopped: {self._said()}") from None


def build(path: Path, dimension: int, source: BinaryIO, parent: int) -> int | None:
    """The child's side: fill a new shard from `source`. None if the parent is gone before
    the folder is made; if the input ends early (the parent died) the process exits at
    once, leaving the folder for the parent's next start to remove."""
    lock_path = builder_lock(path)
    unlocked = lock_path.with_name(f".{lock_path.name}.new")
    with unlocked.open("wb") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        # Locked under another name, then renamed: the lock file is never seen unlocked.
        unlocked.replace(lock_path)
        # Only now, holding the lock, look for the parent and make the folder: a tidy
        # that waits for every lock first can never miss a folder made after it looked.
        if os.getppid() != parent:
            return None
        path.mkdir(parents=True, exist_ok=False)
        shard = create_shard(path, dimension)
        written = 0
        while line := source.readline():
            header = json.loads(line)
            if header.get("end"):
                shard.flush()
                shard.close()
                return written
            ids: list[int] = header["ids"]
            body = source.read(len(ids) * dimension * 4)
            if len(body) < len(ids) * dimension * 4:
                break
            vectors = array("f")
            vectors.frombytes(body)
            for start in range(0, len(ids), WRITE_SLICE):
                points = [
                    to_point(
                        taste_id, vectors[i * dimension : (i + 1) * dimension], header["member"]
                    )
                    for i, taste_id in enumerate(ids[start : start + WRITE_SLICE], start)
                ]
                shard.update(edge.UpdateOperation.upsert_points(points))
            written += len(ids)
        # The input ended early: the parent died. Exit here, still holding the lock:
        # returning would release it first and then drop the shard, whose clean-up can
        # still write into the folder while a tidy that saw the lock free removes it.
        os._exit(2)


def main() -> None:
    """``python -I edge_builder.py DIR DIMENSION PARENT_PID``, tastes on stdin."""
    path, dimension, parent = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    try:
        written = build(path, dimension, sys.stdin.buffer, parent)
    except Exception as exc:  # one line for the parent to report, never a traceback
        print(f"{type(exc).__name__}: {exc}", file=sys.stderr)
        sys.exit(1)
    if written is None:
        os._exit(2)  # nothing to flush or close: the folder is abandoned
    print(json.dumps({"points": written}), flush=True)


if __name__ == "__main__":
    main()
