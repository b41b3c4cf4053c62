"""The two stores stay one: concurrency, crashes between the stores, erasure, drift.

Where a test is about the vector store, it reads the store itself (`taste_ids`, or
every point in Qdrant), never retrieval, which skips orphans anyway. Crashes are made
here by leaving the records in the state a kill would; `test_crash.py` kills real
processes.
"""

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest

from bot.errors import DuplicateTaste, TasteLimitReached, VectorStoreError
from bot.pipeline.locks import MemberLocks
from bot.pipeline.maintenance import Reindexer
from bot.pipeline.pipeline import Backends, Pipeline, open_backends, open_pipeline
from bot.pipeline.records import Records
from bot.pipeline.tastes import TasteWriter
from bot.pipeline.vectors import TastePoint
from bot.settings import Settings
from tests.fakes.ollama_server import FakeOllama, fake_embedding

SETTLE_TIMEOUT = 10.0


async def stored_ids(backends: Backends, member: str) -> set[int]:
    """What the vector store itself holds for the member."""
    return await backends.vectors.taste_ids(member)


@asynccontextmanager
async def started(settings: Settings) -> AsyncIterator[tuple[Backends, Pipeline]]:
    """The backends, and a pipeline started over them as `open_pipeline` starts one."""
    async with open_backends(settings) as backends, Pipeline(settings, backends) as pipeline:
        yield backends, pipeline


async def row_ids(pipeline: Pipeline, member: str) -> set[int]:
    return {taste.id for taste in await pipeline.tastes(member)}


def raw_rows(settings: Settings) -> list[tuple[int, str, str]]:
    with sqlite3.connect(settings.sqlite_path) as raw:
        return raw.execute("SELECT id, member_id, vector_state FROM tastes ORDER BY id").fetchall()


async def until(condition: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Wait (bounded) until `condition` holds, checking as the loop turns.

    For state with no event to wait on (a writer parked at the reindex gate).
    """
    async with asyncio.timeout(timeout):
        while not condition():  # noqa: ASYNC110 - bounded poll of state without an event
            await asyncio.sleep(0.01)


async def settled(pipeline: Pipeline) -> None:
    await asyncio.wait_for(pipeline.wait_until_settled(), SETTLE_TIMEOUT)


# -- concurrency ---------------------------------------------------------------------------


async def test_identical_concurrent_prefers_store_one_taste(
    pipeline: Pipeline, backends: Backends
) -> None:
    results = await asyncio.gather(
        *(pipeline.prefer("alice", "Film noir") for _ in range(8)), return_exceptions=True
    )
    stored = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, DuplicateTaste)]
    assert (len(stored), len(refused)) == (1, 7)
    assert await row_ids(pipeline, "alice") == {stored[0].id}
    assert await stored_ids(backends, "alice") == {stored[0].id}


async def test_concurrent_prefers_over_the_limit_store_exactly_the_limit(
    settings: Settings,
) -> None:
    limited = settings.model_copy(update={"max_tastes_per_member": 5})
    async with started(limited) as (backends, pipeline):
        results = await asyncio.gather(
            *(pipeline.prefer("alice", f"taste number {i}") for i in range(12)),
            return_exceptions=True,
        )
        assert sum(isinstance(r, TasteLimitReached) for r in results) == 7
        assert len(await row_ids(pipeline, "alice")) == 5
        assert await stored_ids(backends, "alice") == await row_ids(pipeline, "alice")


async def test_concurrent_first_tastes_of_new_members_all_succeed(
    pipeline: Pipeline, backends: Backends
) -> None:
    members = ["alice", "alice", "bob", "carol", "dave"]
    tastes = await asyncio.gather(
        *(pipeline.prefer(m, f"first taste {i}") for i, m in enumerate(members))
    )
    assert len(tastes) == len(members)
    for member in set(members):
        assert await stored_ids(backends, member) == await row_ids(pipeline, member)


async def test_the_database_holds_the_rules_for_two_writers_without_the_lock(
    settings: Settings,
) -> None:
    # Two connections, as two processes would have: no in-process lock between them.
    async with (
        Records.open(settings.sqlite_path) as one,
        Records.open(settings.sqlite_path) as two,
    ):
        same = await asyncio.gather(
            *(r.tastes.add_taste("alice", "Noir", limit=3) for r in (one, two) * 3),
            return_exceptions=True,
        )
        assert sum(isinstance(r, DuplicateTaste) for r in same) == 5
        many = await asyncio.gather(
            *(
                r.tastes.add_taste("bob", f"taste {i}", limit=3)
                for i, r in enumerate((one, two) * 5)
            ),
            return_exceptions=True,
        )
        assert sum(isinstance(r, TasteLimitReached) for r in many) == 7
        assert await one.tastes.count_tastes("alice") == 1
        assert await two.tastes.count_tastes("bob") == 3


# -- crashes between the stores ----------------------------------------------------------


async def test_a_taste_left_pending_by_a_crash_gets_its_vector_at_start(
    settings: Settings,
) -> None:
    async with Records.open(settings.sqlite_path) as records:  # killed after the row
        taste = await records.tastes.add_taste("alice", "heist movies", limit=10)
    async with started(settings) as (backends, pipeline):
        await settled(pipeline)
        assert await stored_ids(backends, "alice") == {taste.id}
        assert raw_rows(settings) == [(taste.id, "alice", "stored")]
        hits = await backends.vectors.search("alice", fake_embedding("heist movies", 1024), 3)
        assert [hit.taste_id for hit in hits] == [taste.id]


async def test_a_taste_left_mid_erase_by_a_crash_is_erased_at_start(settings: Settings) -> None:
    async with open_pipeline(settings) as pipeline:
        kept = await pipeline.prefer("alice", "musicals")
        gone = await pipeline.prefer("alice", "heist movies")
    async with Records.open(settings.sqlite_path) as records:
        await records.tastes.mark_deleting("alice", [gone.id])  # killed after this
    async with started(settings) as (backends, _):
        assert await stored_ids(backends, "alice") == {kept.id}
        assert raw_rows(settings) == [(kept.id, "alice", "stored")]


async def test_forget_all_left_half_done_by_a_crash_is_finished_at_start(
    settings: Settings,
) -> None:
    async with open_pipeline(settings) as pipeline:
        for text in ("musicals", "noir", "heists"):
            await pipeline.prefer("alice", text)
        bobs = await pipeline.prefer("bob", "noir")
    async with Records.open(settings.sqlite_path) as records:
        await records.tastes.mark_deleting("alice", None)  # killed after this
    async with started(settings) as (backends, _):
        assert await stored_ids(backends, "alice") == set()
        assert await stored_ids(backends, "bob") == {bobs.id}
        assert raw_rows(settings) == [(bobs.id, "bob", "stored")]


async def test_start_up_does_not_wait_for_ollama_and_pending_tastes_follow_it(
    settings: Settings, fake_ollama: FakeOllama
) -> None:
    async with Records.open(settings.sqlite_path) as records:
        taste = await records.tastes.add_taste("alice", "noir", limit=10)
    fake_ollama.models.discard("bge-large")  # embedding impossible for now
    async with started(settings) as (backends, pipeline):
        checks = {check.name: check for check in await pipeline.health()}
        assert not checks["Vector store"].ok
        assert "1 taste(s) wait for their vectors" in checks["Vector store"].detail
        assert [t.is_pending for t in await pipeline.tastes("alice")] == [True]
        fake_ollama.models.add("bge-large")
        await settled(pipeline)  # the background retry writes it
        assert await stored_ids(backends, "alice") == {taste.id}


async def test_stating_a_pending_taste_again_finishes_it(
    settings: Settings, fake_ollama: FakeOllama
) -> None:
    async with Records.open(settings.sqlite_path) as records:
        taste = await records.tastes.add_taste("alice", "noir", limit=10)
    fake_ollama.models.discard("bge-large")
    async with started(settings) as (backends, pipeline):
        fake_ollama.models.add("bge-large")
        again = await pipeline.prefer("alice", "NOIR")
        assert again.id == taste.id and not again.is_pending
        assert await stored_ids(backends, "alice") == {taste.id}


async def test_a_cancel_during_the_vector_write_leaves_both_stores_agreeing(
    pipeline: Pipeline, backends: Backends, monkeypatch: pytest.MonkeyPatch
) -> None:
    writing, release = asyncio.Event(), asyncio.Event()
    real_store = backends.vectors.store

    async def slow_store(member_id: str, points: list[TastePoint]) -> None:
        writing.set()
        await release.wait()
        await real_store(member_id, points)

    monkeypatch.setattr(backends.vectors, "store", slow_store)
    task = asyncio.create_task(pipeline.prefer("alice", "noir"))
    await asyncio.wait_for(writing.wait(), 5)
    task.cancel()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await stored_ids(backends, "alice") == await row_ids(pipeline, "alice")
    assert [state for _, _, state in raw_rows(pipeline.settings)] == ["stored"]


async def test_a_failed_vector_erase_keeps_the_taste_whole(
    pipeline: Pipeline, backends: Backends, monkeypatch: pytest.MonkeyPatch
) -> None:
    taste = await pipeline.prefer("alice", "noir")

    async def broken_delete(*args: object) -> None:
        raise VectorStoreError("Could not remove the taste's vector: the vector store failed.")

    monkeypatch.setattr(backends.vectors, "delete", broken_delete)
    with pytest.raises(VectorStoreError):
        await pipeline.forget("alice", taste.id)
    monkeypatch.undo()
    assert await row_ids(pipeline, "alice") == {taste.id}
    await settled(pipeline)  # written again, in case the erase got half way
    assert await stored_ids(backends, "alice") == {taste.id}
    await pipeline.forget("alice", taste.id)
    assert await stored_ids(backends, "alice") == set()


# -- forgetting erases -------------------------------------------------------------------


async def test_forget_erases_the_vector_from_the_store(
    pipeline: Pipeline, backends: Backends
) -> None:
    noir = await pipeline.prefer("alice", "noir")
    heists = await pipeline.prefer("alice", "heists")
    await pipeline.forget("alice", noir.id)
    assert await stored_ids(backends, "alice") == {heists.id}
    assert raw_rows(pipeline.settings) == [(heists.id, "alice", "stored")]


async def test_forget_all_erases_every_vector_of_the_member_only(
    pipeline: Pipeline, backends: Backends
) -> None:
    for text in ("noir", "heists", "musicals"):
        await pipeline.prefer("alice", text)
    bobs = await pipeline.prefer("bob", "noir")
    assert await pipeline.forget_all("alice") == 3
    assert await stored_ids(backends, "alice") == set()
    assert await stored_ids(backends, "bob") == {bobs.id}
    census = await backends.vectors.census(["alice", "bob"])
    assert census.vectors.get("alice", 0) == 0 and census.strangers == 0


# -- doctor and reindex ------------------------------------------------------------------


async def test_doctor_reports_drift_with_the_fix_and_reindex_fixes_it(
    pipeline: Pipeline, backends: Backends
) -> None:
    noir = await pipeline.prefer("alice", "noir")
    await pipeline.prefer("alice", "heists")
    await backends.vectors.delete("alice", [noir.id])  # behind the pipeline's back
    checks = {check.name: check for check in await pipeline.health()}
    assert not checks["Vector store"].ok
    assert "alice: 2 taste(s), 1 vector(s)" in checks["Vector store"].detail
    assert checks["Vector store"].fix == "python -m bot.cli reindex"
    await pipeline.reindex()
    checks = {check.name: check for check in await pipeline.health()}
    assert checks["Vector store"].ok, checks["Vector store"]
    assert await stored_ids(backends, "alice") == await row_ids(pipeline, "alice")


async def test_doctor_reports_vectors_of_a_member_without_tastes(
    pipeline: Pipeline, backends: Backends
) -> None:
    await pipeline.prefer("alice", "noir")
    await backends.vectors.store("ghost", [TastePoint(999, fake_embedding("x", 1024))])
    check = {check.name: check for check in await pipeline.health()}["Vector store"]
    assert not check.ok and "vectors of 1 member(s) without tastes" in check.detail
    await pipeline.reindex()
    assert await stored_ids(backends, "ghost") == set()


async def test_reindex_moves_the_tastes_to_a_changed_layout(settings: Settings) -> None:
    if settings.uses_edge:
        pytest.skip("the Edge store has one layout of its own: VECTOR_LAYOUT does not apply")
    async with open_pipeline(settings) as pipeline:
        taste = await pipeline.prefer("alice", "noir")
    other = "shared" if settings.vector_layout == "per-member" else "per-member"
    moved = settings.model_copy(update={"vector_layout": other})
    async with started(moved) as (backends, pipeline):
        check = {check.name: check for check in await pipeline.health()}["Vector store"]
        assert not check.ok and "still in the other layout" in check.detail
        report = await pipeline.reindex()
        assert (report.store, report.tastes) == (f"{other} layout", 1)
        assert await stored_ids(backends, "alice") == {taste.id}
        check = {check.name: check for check in await pipeline.health()}["Vector store"]
        assert check.ok, check


async def test_writes_wait_for_a_running_reindex(
    settings: Settings,
    backends: Backends,
    fake_ollama: FakeOllama,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The two parts share one set of locks, as in the pipeline; the test watches it.
    locks = MemberLocks()
    tastes = backends.records.tastes
    writer = TasteWriter(settings, backends.models, tastes, backends.vectors, locks)
    reindexer = Reindexer(settings, backends.models, tastes, backends.vectors, locks)
    await writer.prefer("alice", "noir")
    building, release = asyncio.Event(), asyncio.Event()
    real_rebuild = backends.vectors.rebuild

    async def slow_rebuild(members):  # type: ignore[no-untyped-def]
        building.set()
        await release.wait()
        return await real_rebuild(members)

    monkeypatch.setattr(backends.vectors, "rebuild", slow_rebuild)
    reindex = asyncio.create_task(reindexer.reindex())
    await asyncio.wait_for(building.wait(), 5)
    embeds = len(fake_ollama.embed_requests)
    prefer = asyncio.create_task(writer.prefer("alice", "heists"))
    await until(lambda: locks.held_off == 1)
    assert len(fake_ollama.embed_requests) == embeds  # held before doing anything
    assert [t.text for t in await writer.tastes("alice")] == ["noir"]
    release.set()
    await reindex
    heists = await prefer
    assert heists.id in await stored_ids(backends, "alice")
    assert await stored_ids(backends, "alice") == {t.id for t in await writer.tastes("alice")}
