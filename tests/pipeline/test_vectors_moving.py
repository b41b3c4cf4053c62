"""Moving vectors from qdrant-client's local mode into the Edge store, and from the Edge
store to a server (local mode stands in for the server)."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.errors import VectorStoreError
from bot.pipeline.vectors import TastePoint, VectorLayout, open_taste_vectors
from bot.pipeline.vectors.edge import EdgeTasteVectors, open_edge_vectors
from bot.pipeline.vectors.moving import (
    MOVING_FILE,
    copy_to_server,
    embedded_store_notes,
    migrated_folder,
    move_local_into_edge,
)

LAYOUTS = [VectorLayout.PER_MEMBER, VectorLayout.SHARED]


def unit(*components: float) -> list[float]:
    norm = math.sqrt(sum(c * c for c in components))
    return [c / norm for c in components]


ALICE = [TastePoint(1, unit(1, 0, 0)), TastePoint(2, unit(0, 1, 0))]
BOB = [TastePoint(3, unit(0, 0, 1))]
RECORDS = {"alice": (2, 0), "bob": (1, 0)}


@pytest.fixture(params=LAYOUTS, ids=[layout.value for layout in LAYOUTS])
async def local_store(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    """A local-mode folder in either layout holding alice's and bob's vectors."""
    path = tmp_path / "qdrant"
    local = await open_taste_vectors(request.param, path=path)
    try:
        await local.store("alice", ALICE)
        await local.store("bob", BOB)
        await local.store("stranger", [TastePoint(9, unit(1, 1, 1))])  # no records
    finally:
        await local.close()
    return path


@pytest.fixture
async def edge_store(tmp_path: Path) -> AsyncIterator[EdgeTasteVectors]:
    store = await open_edge_vectors(tmp_path / "edge")
    yield store
    await store.close()


def folders(local_path: Path) -> set[str]:
    """The local-mode folders beside the Edge store: the old one, or it moved."""
    return {path.name for path in local_path.parent.glob("qdrant*")}


async def holdings(store: EdgeTasteVectors) -> dict[str, set[int]]:
    return {
        member: {point.taste_id for point in await store.member_points(member)}
        for member in await store.members()
    }


async def test_the_local_store_moves_into_the_shard_and_its_folder_is_renamed(
    local_store: Path, edge_store: EdgeTasteVectors
) -> None:
    report = await move_local_into_edge(local_store, edge_store, RECORDS)
    assert report is not None
    assert (report.members, report.vectors, report.drift) == (2, 3, [])
    assert report.old_folder == migrated_folder(local_store)
    assert folders(local_store) == {"qdrant.migrated"}
    assert await holdings(edge_store) == {"alice": {1, 2}, "bob": {3}}
    [hit] = await edge_store.search("bob", unit(0, 0, 1), 3)
    assert (hit.taste_id, hit.score) == (3, pytest.approx(1.0, abs=1e-3))
    assert not (edge_store.root / MOVING_FILE).exists()
    assert await move_local_into_edge(local_store, edge_store, RECORDS) is None


async def test_a_move_killed_after_the_switch_is_done_again_at_the_next_start(
    local_store: Path, edge_store: EdgeTasteVectors
) -> None:
    await move_local_into_edge(local_store, edge_store, RECORDS)
    # What a kill between the switch and the rename leaves: both, and the marker.
    migrated_folder(local_store).rename(local_store)
    (edge_store.root / MOVING_FILE).touch()
    report = await move_local_into_edge(local_store, edge_store, RECORDS)
    assert report is not None and report.vectors == 3
    assert await holdings(edge_store) == {"alice": {1, 2}, "bob": {3}}
    assert folders(local_store) == {"qdrant.migrated"}


async def test_a_move_killed_after_the_rename_only_drops_its_marker(
    local_store: Path, edge_store: EdgeTasteVectors
) -> None:
    await move_local_into_edge(local_store, edge_store, RECORDS)
    (edge_store.root / MOVING_FILE).touch()
    assert await move_local_into_edge(local_store, edge_store, RECORDS) is None
    assert not (edge_store.root / MOVING_FILE).exists()
    assert await holdings(edge_store) == {"alice": {1, 2}, "bob": {3}}


async def test_a_local_folder_is_left_alone_once_the_shard_has_vectors_of_its_own(
    local_store: Path, edge_store: EdgeTasteVectors
) -> None:
    await edge_store.store("carol", [TastePoint(5, unit(1, 0, 0))])
    assert await move_local_into_edge(local_store, edge_store, RECORDS) is None
    assert folders(local_store) == {"qdrant"}
    assert await holdings(edge_store) == {"carol": {5}}


async def test_members_whose_vectors_do_not_match_their_records_are_named(
    local_store: Path, edge_store: EdgeTasteVectors
) -> None:
    records = RECORDS | {"alice": (3, 0), "dave": (0, 1)}  # alice lost one; dave is pending
    report = await move_local_into_edge(local_store, edge_store, records)
    assert report is not None and report.drift == ["alice"]


async def test_no_local_folder_means_nothing_to_move(
    tmp_path: Path, edge_store: EdgeTasteVectors
) -> None:
    assert await move_local_into_edge(tmp_path / "qdrant", edge_store, RECORDS) is None


@pytest.mark.parametrize("layout", LAYOUTS, ids=[layout.value for layout in LAYOUTS])
async def test_the_shard_is_copied_to_a_server_with_every_vector(
    tmp_path: Path, edge_store: EdgeTasteVectors, layout: VectorLayout
) -> None:
    await edge_store.store("alice", ALICE)
    await edge_store.store("bob", BOB)
    server = await open_taste_vectors(layout, path=tmp_path / "server")
    try:
        report = await copy_to_server(edge_store, server)
        assert (report.members, report.vectors) == (2, 3)
        assert await server.taste_ids("alice") == {1, 2}
        [hit] = await server.search("bob", unit(0, 0, 1), 3)
        assert (hit.taste_id, hit.score) == (3, pytest.approx(1.0, abs=1e-3))
        await edge_store.delete("alice", [2])
        again = await copy_to_server(edge_store, server)  # a rerun replaces, never adds
        assert again.vectors == 2 and await server.taste_ids("alice") == {1}
    finally:
        await server.close()


async def test_a_copy_that_does_not_add_up_is_an_error(
    tmp_path: Path, edge_store: EdgeTasteVectors
) -> None:
    await edge_store.store("alice", ALICE)
    server = await open_taste_vectors(VectorLayout.SHARED, path=tmp_path / "server")

    class LosesOne:
        """A server that drops the last vector it is given."""

        layout = server.layout

        async def rebuild(self, members):  # type: ignore[no-untyped-def]
            async def fewer():  # type: ignore[no-untyped-def]
                async for member in members:
                    yield type(member)(member.member_id, member.points[:-1])

            return await server.rebuild(fewer())

        def __getattr__(self, name: str) -> object:
            return getattr(server, name)

    try:
        with pytest.raises(VectorStoreError, match="run the copy again"):
            await copy_to_server(edge_store, LosesOne())  # type: ignore[arg-type]
    finally:
        await server.close()


def test_doctor_names_the_moved_folder_with_the_command_that_removes_it(
    tmp_path: Path,
) -> None:
    local = tmp_path / "qdrant"
    migrated_folder(local).mkdir()
    [note] = embedded_store_notes(local, uses_edge=True, layout_ignored=False)
    assert str(migrated_folder(local)) in note.detail
    assert note.fix == f'rm -rf "{migrated_folder(local)}"'


def test_doctor_says_a_layout_set_without_a_server_does_nothing(tmp_path: Path) -> None:
    [note] = embedded_store_notes(tmp_path / "qdrant", uses_edge=True, layout_ignored=True)
    assert "applies to a Qdrant server only" in note.detail
    assert embedded_store_notes(tmp_path / "qdrant", uses_edge=False, layout_ignored=False) == []


def test_doctor_names_a_local_store_that_was_not_moved(tmp_path: Path) -> None:
    (tmp_path / "qdrant").mkdir()
    [note] = embedded_store_notes(tmp_path / "qdrant", uses_edge=True, layout_ignored=False)
    assert "was not moved in" in note.detail and "reindex" in note.fix


async def test_an_empty_shard_is_never_copied_over_a_server(
    tmp_path: Path, edge_store: EdgeTasteVectors
) -> None:
    server = await open_taste_vectors(VectorLayout.SHARED, path=tmp_path / "server")
    try:
        await server.store("alice", ALICE)
        with pytest.raises(VectorStoreError, match="nothing to copy"):
            await copy_to_server(edge_store, server)
        assert await server.taste_ids("alice") == {1, 2}
    finally:
        await server.close()
