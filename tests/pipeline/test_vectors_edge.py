"""What is the Edge store's own (the contract suite in test_vectors.py runs it too):
one opener, generations and their folders, kill-safety, float16 scores.

Where a test is about what is *in* the store, it closes the store and reads the shard
folder itself with qdrant_edge, or pages through `every_point`, never through `search`.
"""

from __future__ import annotations

import asyncio
import math
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import numpy as np
import pytest
import qdrant_edge as edge

from bot.errors import DimensionMismatch, VectorStoreError
from bot.pipeline.vectors import MemberTastes, TastePoint, TasteVectors, edge_files
from bot.pipeline.vectors.edge import EdgeTasteVectors, open_edge_vectors
from bot.pipeline.vectors.edge_builder import (
    MEMBER_KEY,
    TASTE_KEY,
    ShardBuilder,
    shard_config,
)


def unit(*components: float) -> list[float]:
    norm = math.sqrt(sum(c * c for c in components))
    return [c / norm for c in components]


@pytest.fixture
async def vectors(tmp_path: Path) -> AsyncIterator[TasteVectors]:
    store = await open_edge_vectors(tmp_path / "edge")
    yield store
    await store.close()


async def feed(members: Sequence[MemberTastes]) -> AsyncIterator[MemberTastes]:
    for member in members:
        yield member


async def stored(store: EdgeTasteVectors) -> dict[int, str]:
    """Every taste id in the store with its member, read from the store itself."""
    return {
        point.taste_id: member
        for member in await store.members()
        for point in await store.member_points(member)
    }


def shard_points(root: Path) -> list[edge.Record]:
    """Every point of the current generation, read from its folder (the store is closed)."""
    current = edge_files.read_current(root)
    assert current is not None
    shard = edge.EdgeShard.load(str(edge_files.generation_dir(root, current.generation)))
    try:
        points, _ = shard.scroll(edge.ScrollRequest(limit=10_000, with_payload=True))
        return points
    finally:
        shard.close()


def generation_folders(root: Path) -> list[str]:
    return sorted(path.name for path in root.glob("g*") if path.is_dir())


async def test_deleted_tastes_are_erased_from_the_shard_itself(vectors: TasteVectors) -> None:
    assert isinstance(vectors, EdgeTasteVectors)
    await vectors.store("alice", [TastePoint(1, unit(1, 0)), TastePoint(2, unit(0, 1))])
    await vectors.store("bob", [TastePoint(3, unit(1, 0))])
    await vectors.delete("alice", [1, 3])  # 3 is bob's: untouched
    assert await stored(vectors) == {2: "alice", 3: "bob"}
    await vectors.delete_member("alice")
    assert await stored(vectors) == {3: "bob"}
    assert await vectors.count() == 1


async def test_points_carry_the_member_and_taste_ids_never_the_text(tmp_path: Path) -> None:
    store = await open_edge_vectors(tmp_path / "edge")
    await store.store("alice", [TastePoint(7, unit(1, 0))])
    await store.close()
    [point] = shard_points(tmp_path / "edge")
    assert (point.id, point.payload) == (7, {MEMBER_KEY: "alice", TASTE_KEY: 7})


async def test_the_shard_has_a_tenant_index_and_graphs_per_member_only(tmp_path: Path) -> None:
    store = await open_edge_vectors(tmp_path / "edge")
    await store.store("alice", [TastePoint(1, unit(1, 0))])
    await store.close()
    shard = edge.EdgeShard.load(str(tmp_path / "edge" / "g1"))
    try:
        index = shard.info().payload_schema["member_id"]
    finally:
        shard.close()
    assert isinstance(index.params, edge.KeywordIndexParams) and index.params.is_tenant
    graphs = shard_config(2).hnsw_config
    assert graphs is not None and (graphs.m, graphs.payload_m) == (0, 16)


async def test_many_tastes_are_written_in_short_slices_and_all_found(
    vectors: TasteVectors,
) -> None:
    points = [TastePoint(i, unit(1, i / 1000)) for i in range(1, 301)]  # several slices
    await vectors.store("alice", points)
    assert await vectors.taste_ids("alice") == set(range(1, 301))
    assert (await vectors.census(["alice"])).vectors == {"alice": 300}


async def test_rebuild_replaces_everything_in_a_new_generation(tmp_path: Path) -> None:
    root = tmp_path / "edge"
    store = await open_edge_vectors(root)
    try:
        await store.store("alice", [TastePoint(1, unit(1, 0, 0))])
        await store.store("bob", [TastePoint(2, unit(1, 0, 0))])
        new = [MemberTastes("alice", [TastePoint(5, unit(0, 1))])]  # another size, too
        report = await store.rebuild(feed(new))
        assert (report.members, report.vectors, report.removed_members) == (1, 1, 1)
        assert [hit.taste_id for hit in await store.search("alice", unit(0, 1), 3)] == [5]
        assert await store.search("bob", unit(0, 1), 3) == []
        assert await stored(store) == {5: "alice"}
        assert (await store.census(["alice"])).dimensions == {"alice": 2}
        assert generation_folders(root) == ["g2"]
    finally:
        await store.close()


async def test_a_rebuild_of_nobody_leaves_an_empty_store(vectors: TasteVectors) -> None:
    await vectors.store("alice", [TastePoint(1, unit(1, 0))])
    report = await vectors.rebuild(feed([]))
    assert (report.members, report.vectors, report.removed_members) == (0, 0, 1)
    assert await vectors.search("alice", unit(1, 0), 3) == []
    await vectors.store("bob", [TastePoint(2, unit(1, 0, 0))])  # any size may come next
    assert await vectors.taste_ids("bob") == {2}


async def test_a_rebuild_that_fails_half_way_keeps_the_old_index_whole(tmp_path: Path) -> None:
    root = tmp_path / "edge"
    store = await open_edge_vectors(root)
    try:
        await store.store("alice", [TastePoint(1, unit(1, 0))])
        await store.store("bob", [TastePoint(2, unit(1, 0))])

        async def fails() -> AsyncIterator[MemberTastes]:
            yield MemberTastes("alice", [TastePoint(1, unit(0, 1))])
            raise RuntimeError("Ollama went away")

        with pytest.raises(RuntimeError, match="went away"):
            await store.rebuild(fails())
        assert await stored(store) == {1: "alice", 2: "bob"}
        assert generation_folders(root) == ["g1"]
        hits = await store.search("alice", unit(1, 0), 3)
        assert hits[0].score == pytest.approx(1.0, abs=1e-3)  # still the old vector
    finally:
        await store.close()


REBUILD_THEN_HANG = """
import asyncio, sys, time
from pathlib import Path
from bot.pipeline.vectors.edge import open_edge_vectors
from bot.pipeline.vectors import MemberTastes, TastePoint

async def main():
    root = Path(sys.argv[1])
    store = await open_edge_vectors(root)
    async def members():
        for i in range(1, 4):
            yield MemberTastes(f"m{i}", [TastePoint(100 + i, [0.0, 1.0])])
        # Until the builder has made its folder (it holds its lock first): the kill then
        # lands mid-build.
        deadline = time.monotonic() + 60
        while not (root / "g2").is_dir() and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        print("half way", flush=True)
        await asyncio.Event().wait()  # killed here
    await store.rebuild(members())

asyncio.run(main())
"""

STORE_THEN_HANG = """
import asyncio, sys
from bot.pipeline.vectors.edge import open_edge_vectors
from bot.pipeline.vectors import TastePoint

async def main():
    store = await open_edge_vectors(__import__("pathlib").Path(sys.argv[1]))
    for i in range(1, 301):  # past one flush, and some after it
        await store.store(f"m{i % 7}", [TastePoint(i, [1.0, i / 300])])
    print("stored", flush=True)
    await asyncio.Event().wait()

asyncio.run(main())
"""


async def run_until_killed(script: str, root: Path, line: str) -> None:
    """Run `script` in another process until it prints `line`, then kill -9 it."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, str(root), stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    try:
        said = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        assert said.decode().strip() == line
    finally:
        process.send_signal(signal.SIGKILL)
        await process.wait()


async def test_a_rebuild_killed_half_way_leaves_the_old_index_and_start_tidies(
    tmp_path: Path,
) -> None:
    root = tmp_path / "edge"
    store = await open_edge_vectors(root)
    await store.store("alice", [TastePoint(1, unit(1, 0))])
    await store.store("bob", [TastePoint(2, unit(1, 0))])
    await store.close()

    await run_until_killed(REBUILD_THEN_HANG, root, "half way")
    assert generation_folders(root) == ["g1", "g2"]  # the half-built one is there

    store = await open_edge_vectors(root)
    try:
        assert await stored(store) == {1: "alice", 2: "bob"}  # old index, whole
        assert await store.tidy() == 1
        assert generation_folders(root) == ["g1"]
        assert list(root.glob("*.building")) == []  # the orphaned builder's lock, too
        await store.rebuild(feed([MemberTastes("bob", [TastePoint(2, unit(0, 1))])]))
        assert await stored(store) == {2: "bob"}
    finally:
        await store.close()


async def test_a_kill_9_after_writes_loses_none_of_them(tmp_path: Path) -> None:
    root = tmp_path / "edge"
    await run_until_killed(STORE_THEN_HANG, root, "stored")
    store = await open_edge_vectors(root)
    try:
        assert set(await stored(store)) == set(range(1, 301))
    finally:
        await store.close()


OPEN_ONCE = """
import asyncio, sys
from pathlib import Path
from bot.errors import DimensionMismatch, VectorStoreError
from bot.pipeline.vectors.edge import open_edge_vectors

async def main():
    try:
        store = await open_edge_vectors(Path(sys.argv[1]))
    except VectorStoreError as exc:
        print(exc)
        sys.exit(1)
    await store.close()
    print("opened")

asyncio.run(main())
"""


async def open_in_another_process(root: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        OPEN_ONCE,
        str(root),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert err == b""  # never a traceback
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_a_second_process_is_told_in_one_line_who_holds_the_store(
    vectors: TasteVectors, tmp_path: Path
) -> None:
    await vectors.store("alice", [TastePoint(1, unit(1, 0))])
    code, said = await open_in_another_process(tmp_path / "edge")
    assert code == 1
    assert said.count("\n") == 1
    assert "in use by another suggest.watch process" in said
    assert f"pid {os.getpid()}" in said
    assert "QDRANT_URL" in said
    await vectors.close()
    assert await open_in_another_process(tmp_path / "edge") == (0, "opened\n")


async def test_a_second_opener_in_the_same_process_is_refused_too(
    vectors: TasteVectors, tmp_path: Path
) -> None:
    with pytest.raises(VectorStoreError, match=r"in use by another suggest\.watch process"):
        await open_edge_vectors(tmp_path / "edge")


async def test_float16_scores_stay_within_a_thousandth_of_exact_cosine(
    vectors: TasteVectors,
) -> None:
    rng = np.random.default_rng(7)
    shared = rng.standard_normal(1024)  # embeddings share a direction, like real ones
    stored_vectors = rng.standard_normal((50, 1024)) + shared
    await vectors.store("alice", [TastePoint(i, list(v)) for i, v in enumerate(stored_vectors)])
    normed = stored_vectors / np.linalg.norm(stored_vectors, axis=1, keepdims=True)
    for query in rng.standard_normal((10, 1024)) + shared:
        hits = await vectors.search("alice", list(query), limit=10)
        exact = normed @ (query / np.linalg.norm(query))
        assert len(hits) == 10
        for hit in hits:
            assert abs(hit.score - exact[hit.taste_id]) < 0.001


def test_the_builder_names_the_payload_as_the_server_layouts_do() -> None:
    from bot.pipeline.vectors import naming

    assert (MEMBER_KEY, TASTE_KEY) == (naming.MEMBER_KEY, naming.TASTE_KEY)


async def test_a_rebuild_with_vectors_of_two_sizes_fails_and_keeps_the_old_index(
    tmp_path: Path,
) -> None:
    root = tmp_path / "edge"
    store = await open_edge_vectors(root)
    try:
        await store.store("alice", [TastePoint(1, unit(1, 0))])
        mixed = [
            MemberTastes("alice", [TastePoint(1, unit(1, 0, 0))]),
            MemberTastes("bob", [TastePoint(2, unit(1, 0))]),
        ]
        with pytest.raises(DimensionMismatch):
            await store.rebuild(feed(mixed))
        assert await stored(store) == {1: "alice"}
        assert generation_folders(root) == ["g1"]
    finally:
        await store.close()


async def test_a_builder_that_fails_says_why_in_its_error(tmp_path: Path) -> None:
    taken = tmp_path / "g1"
    taken.mkdir()  # the builder refuses to build over an existing folder
    builder = await ShardBuilder.start(taken, 2)
    try:
        with pytest.raises(RuntimeError, match=r"index builder .*FileExistsError"):
            await builder.write("alice", [1], [unit(1, 0)])
            await builder.finish()
    finally:
        await builder.abort()
