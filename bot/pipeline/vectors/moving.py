"""Moving tastes' vectors into the Edge store from local mode, and out of it to a server.

In: at the first start with the Edge store, a folder left by qdrant-client's local mode
(either layout) is read member by member and written into a new Edge generation with
`rebuild`, so the switch is one rename. The counts are checked, copy against source and
against the records; only then is the old folder renamed with a `.migrated` suffix,
which `doctor` names with the command that removes it. A marker file says a move is
under way: a move killed at any point is simply done again at the next start.

Out: `copy_to_server` writes every member's vectors into another store (a Qdrant server
in either layout) with that store's own `rebuild`, then checks the counts there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from qdrant_client import QdrantClient, models

from bot.errors import VectorStoreError
from bot.pipeline.vectors import QdrantServer, open_taste_vectors
from bot.pipeline.vectors.contract import MemberTastes, TastePoint, TasteVectors, VectorLayout
from bot.pipeline.vectors.edge import EdgeTasteVectors, open_edge_vectors
from bot.pipeline.vectors.naming import MEMBER_KEY, SHARED_ALIAS, member_alias

log = logging.getLogger(__name__)

MOVING_FILE = "moving-from-local"
MIGRATED_SUFFIX = ".migrated"
_PAGE = 1024


@dataclass(frozen=True, slots=True)
class MoveReport:
    """What a move did: members and vectors moved, where the old folder went, and
    members whose vectors do not match their records (a reindex fixes them)."""

    members: int
    vectors: int
    old_folder: Path
    drift: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CopyReport:
    """What `copy_to_server` wrote: members and vectors, counted again on the server."""

    members: int
    vectors: int


def migrated_folder(local_path: Path) -> Path:
    """Where a moved local-mode folder is kept until the owner removes it."""
    return local_path.with_name(local_path.name + MIGRATED_SUFFIX)


@dataclass(frozen=True, slots=True)
class StoreNote:
    """A line `doctor` adds about the embedded store, and the command that acts on it."""

    detail: str
    fix: str


def embedded_store_notes(
    local_path: Path, *, uses_edge: bool, layout_ignored: bool
) -> list[StoreNote]:
    """What `doctor` should say about the embedded store's settings and old folders."""
    notes: list[StoreNote] = []
    if layout_ignored:
        notes.append(
            StoreNote(
                "VECTOR_LAYOUT is set, but it applies to a Qdrant server only: the Edge "
                "shard keeps every member in one shard, partitioned by member",
                "Remove VECTOR_LAYOUT from your settings, or set QDRANT_URL.",
            )
        )
    if not uses_edge:
        return notes
    migrated = migrated_folder(local_path)
    if migrated.is_dir():
        notes.append(
            StoreNote(
                f"the old local-mode store was moved into the Edge shard; its folder "
                f"{migrated} is kept until you remove it",
                f'rm -rf "{migrated}"',
            )
        )
    if local_path.is_dir():
        notes.append(
            StoreNote(
                f"a local-mode store at {local_path} was not moved in: the Edge shard "
                "already had vectors of its own",
                f'python -m bot.cli reindex, then: rm -rf "{local_path}"',
            )
        )
    return notes


async def move_local_into_edge(
    local_path: Path, store: EdgeTasteVectors, records: Mapping[str, tuple[int, int]]
) -> MoveReport | None:
    """Move the local-mode store at `local_path` into `store`, if there is one to move.

    `records` is each member's (stored, pending) taste counts from SQLite: only those
    members' vectors move. None when there is nothing to do: no folder, or the Edge store
    already has vectors of its own (that folder was not from before it; `doctor` says so).
    """
    marker = store.root / MOVING_FILE
    is_moving = await asyncio.to_thread(_is_moving, local_path, marker)
    if is_moving is None or (not is_moving and await store.count()):
        return None
    await asyncio.to_thread(marker.touch)
    log.warning("Moving the vectors from %s into the Edge store at %s", local_path, store.root)
    await _tidy_local(local_path)
    read: dict[str, int] = {}
    client = await asyncio.to_thread(QdrantClient, path=str(local_path))
    try:
        report = await store.rebuild(_local_members(client, list(records), read))
    finally:
        await asyncio.to_thread(client.close)
    census = await store.census(list(records))
    if census.vectors != {member: count for member, count in read.items() if count}:
        raise VectorStoreError(
            f"Moving the vectors from {local_path} did not copy them all; the old folder is "
            "kept and the move is tried again at the next start."
        )
    destination = migrated_folder(local_path)
    await asyncio.to_thread(local_path.rename, destination)
    await asyncio.to_thread(marker.unlink, missing_ok=True)
    drift = [
        member
        for member, (stored, pending) in sorted(records.items())
        if not stored <= census.vectors.get(member, 0) <= stored + pending
    ]
    log.warning(
        "Moved %d vector(s) of %d member(s) into the Edge store; the old folder is %s",
        report.vectors,
        report.members,
        destination,
    )
    return MoveReport(report.members, report.vectors, destination, drift)


async def copy_to_server(source: EdgeTasteVectors, server: TasteVectors) -> CopyReport:
    """Write every member's vectors from `source` into `server` (replacing what the
    server held for the bot), then check the counts there."""
    counts = await source.members()
    if not counts:  # a rebuild from nothing would empty the server
        raise VectorStoreError(
            f"The Edge store at {source.root} holds no vectors: nothing to copy (the server "
            "is left as it is)."
        )

    async def members() -> AsyncIterator[MemberTastes]:
        for member_id in sorted(counts):
            yield MemberTastes(member_id, await source.member_points(member_id))

    report = await server.rebuild(members())
    census = await server.census(list(counts))
    if census.vectors != counts or census.strangers:
        raise VectorStoreError(
            f"The server holds {sum(census.vectors.values())} vector(s) of "
            f"{len(census.vectors)} member(s) after the copy, but the Edge store has "
            f"{sum(counts.values())} of {len(counts)}: run the copy again."
        )
    return CopyReport(report.members, report.vectors)


def _is_moving(local_path: Path, marker: Path) -> bool | None:
    """None: no folder to move; else whether a move was under way."""
    if not local_path.is_dir():
        marker.unlink(missing_ok=True)  # a move killed after its rename: it was done
        return None
    return marker.exists()


async def copy_shard_to_server(
    edge_root: Path, server: QdrantServer, layout: VectorLayout
) -> CopyReport:
    """Open the Edge store at `edge_root` and the server, copy, and close both."""
    source = await open_edge_vectors(edge_root)
    try:
        target = await open_taste_vectors(layout, server=server)
        try:
            return await copy_to_server(source, target)
        finally:
            await target.close()
    finally:
        await source.close()


async def _tidy_local(local_path: Path) -> None:
    """Let local mode finish what it left (half-built generations, first-release names)."""
    local = await open_taste_vectors(VectorLayout.PER_MEMBER, path=local_path)
    try:
        await local.tidy()
    finally:
        await local.close()


async def _local_members(
    client: QdrantClient, member_ids: list[str], read: dict[str, int]
) -> AsyncIterator[MemberTastes]:
    """Each member's vectors from local mode, per-member collections before shared ones."""
    aliases = {a.alias_name for a in (await asyncio.to_thread(client.get_aliases)).aliases}
    shared: dict[str, list[TastePoint]] = {}
    if SHARED_ALIAS in aliases:  # one pass: local mode scans the whole collection per filter
        shared = await asyncio.to_thread(_read_shared, client)
    for member_id in member_ids:
        alias = member_alias(member_id)
        if alias in aliases:
            points = await asyncio.to_thread(_read_collection, client, alias)
        else:
            points = shared.pop(member_id, [])
        read[member_id] = len(points)
        yield MemberTastes(member_id, points)


def _read_collection(client: QdrantClient, collection: str) -> list[TastePoint]:
    return [point for _, point in _scroll(client, collection)]


def _read_shared(client: QdrantClient) -> dict[str, list[TastePoint]]:
    by_member: dict[str, list[TastePoint]] = {}
    for member_id, point in _scroll(client, SHARED_ALIAS):
        by_member.setdefault(member_id, []).append(point)
    return by_member


def _scroll(client: QdrantClient, collection: str) -> list[tuple[str, TastePoint]]:
    points: list[tuple[str, TastePoint]] = []
    offset: models.ExtendedPointId | None = None
    while True:
        records, offset = client.scroll(
            collection, limit=_PAGE, offset=offset, with_payload=[MEMBER_KEY], with_vectors=True
        )
        for record in records:
            vector = record.vector
            assert isinstance(vector, list)  # we only ever store one unnamed vector
            member_id = str((record.payload or {}).get(MEMBER_KEY, ""))
            points.append((member_id, TastePoint(int(record.id), vector)))  # type: ignore[arg-type]
        if offset is None:
            return points
