"""What both Qdrant layouts share: the client, its worker thread, error translation,
and the alias and generation moves that `rebuild` and `tidy` are made of.

qdrant-client's embedded mode is synchronous under its async face, so every call
runs on a worker thread, never on the event loop. Embedded mode is not thread-safe,
so it gets exactly one worker; a server gets a few. The methods without `async` block
and run on that worker only.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from qdrant_client import QdrantClient, models

from bot.errors import DimensionMismatch, VectorStoreError
from bot.pipeline.vectors.contract import TastePoint, TasteVectors
from bot.pipeline.vectors.naming import (
    MEMBER_KEY,
    PHYSICAL_PREFIX,
    TASTE_KEY,
    alias_of_physical,
    generation_of,
    is_member_alias,
    is_our_alias,
    physical_name,
)

log = logging.getLogger(__name__)

# Points written per upsert while rebuilding: bounds one request's size.
REBUILD_BATCH = 256
T = TypeVar("T")


class QdrantStore(TasteVectors):
    """The client and its worker, with what both layouts share; a layout adds the rest."""

    def __init__(self, client: QdrantClient, *, workers: int) -> None:
        """Use `client` (the store closes it) from `workers` threads (1 for embedded mode)."""
        self._client = client
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qdrant")
        self._sizes: dict[str, int] = {}  # alias -> vector size, once seen

    async def close(self) -> None:
        """Close the client and its worker."""
        try:
            await self._run("close the vector store", self._client.close)
        finally:
            self._executor.shutdown(wait=False)

    async def tidy(self) -> int:
        """Drop unreferenced generations; put an alias in front of first-release collections."""
        removed = await self._run("tidy the vector store", self._tidy)
        if removed:
            log.warning("Removed %d collection(s) left by an interrupted reindex", removed)
        self._sizes.clear()
        return removed

    def _tidy(self) -> int:
        aliases = self._aliases()
        collections = self._collections()
        for dangling, target in list(aliases.items()):
            if target not in collections:  # its collection went away: a dangling name
                self._delete_alias(dangling)
                del aliases[dangling]
        targets = set(aliases.values())
        adopt: list[models.CreateAliasOperation] = []
        removed = 0
        for name in sorted(collections - targets):
            owner = alias_of_physical(name)
            if owner is None:
                continue
            if owner not in aliases and generation_of(name) == 0 and is_member_alias(owner):
                # A first-release collection: reach it through its alias from now on.
                adopt.append(create_alias(owner, name))
                aliases[owner] = name
                continue
            # A generation built by a rebuild that never switched, or one switched away
            # from but not yet removed: nobody can reach it.
            self._client.delete_collection(name)
            removed += 1
        if adopt:
            self._client.update_collection_aliases(change_aliases_operations=adopt)
            log.info("Gave %d first-release collection(s) their alias", len(adopt))
        return removed

    def _aliases(self) -> dict[str, str]:
        """Our aliases and the collection each points at."""
        return {
            a.alias_name: a.collection_name
            for a in self._client.get_aliases().aliases
            if is_our_alias(a.alias_name)
        }

    def _collections(self) -> set[str]:
        return {
            c.name
            for c in self._client.get_collections().collections
            if c.name.startswith(PHYSICAL_PREFIX)
        }

    def _create_place(self, alias: str, dimension: int) -> None:
        """Create-if-missing for the first generation behind `alias`.

        Both steps tolerate "already exists", so two first tastes at once (or in two
        processes) both succeed, and a crash between the steps is finished next time.
        """
        physical = physical_name(alias, 1)
        try:
            self._create_collection(physical, dimension)
        except Exception as exc:
            if not _already_exists(exc):
                raise
        if not self._client.collection_exists(alias):
            try:
                self._client.update_collection_aliases(
                    change_aliases_operations=[create_alias(alias, physical)]
                )
            except Exception as exc:
                if not _already_exists(exc):
                    raise

    def _create_collection(self, name: str, dimension: int) -> None:
        """Create one physical collection; a layout may configure it further."""
        self._client.create_collection(name, vectors_config=vector_params(dimension))

    def _create_fresh(self, name: str, dimension: int) -> None:
        """Create `name`, dropping what a killed rebuild may have half-built there."""
        if self._client.collection_exists(name):
            self._client.delete_collection(name)
        self._create_collection(name, dimension)

    def _switch(self, alias: str, new: str, old: str | None) -> None:
        """Point `alias` at `new` in one alias operation, then drop `old`."""
        operations: list[models.AliasOperations] = []
        if old is not None:
            operations.append(
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))
            )
        operations.append(create_alias(alias, new))
        self._client.update_collection_aliases(change_aliases_operations=operations)
        if old is not None:
            self._client.delete_collection(old)

    def _delete_alias(self, alias: str) -> None:
        self._client.update_collection_aliases(
            change_aliases_operations=[
                models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=alias))
            ]
        )

    def _drop_place(self, alias: str, target: str) -> None:
        self._client.delete_collection(target)
        if self._client.collection_exists(alias):  # a server may keep the alias
            self._delete_alias(alias)

    def _size(self, alias: str) -> int | None:
        if not self._client.collection_exists(alias):
            return None
        vectors = self._client.get_collection(alias).config.params.vectors
        assert isinstance(vectors, models.VectorParams)  # we only ever create one vector
        return vectors.size

    async def _size_of(self, alias: str) -> int | None:
        """The vector size behind `alias` (None: no place yet), cached once seen."""
        if alias in self._sizes:
            return self._sizes[alias]
        size = await self._run("read the vector store", lambda: self._size(alias))
        if size is not None:
            self._sizes[alias] = size
        return size

    async def _ensure_place(self, alias: str, dimension: int) -> None:
        size = await self._size_of(alias)
        if size is None:
            await self._run(
                "create the member's place in the vector store",
                lambda: self._create_place(alias, dimension),
            )
            size = await self._size_of(alias)
        if size is not None and size != dimension:
            raise DimensionMismatch(size, dimension)

    async def _checked_size(self, alias: str, vector: Sequence[float]) -> int | None:
        size = await self._size_of(alias)
        if size is not None and size != len(vector):
            raise DimensionMismatch(size, len(vector))
        return size

    async def _run(self, doing: str, call: Callable[[], T]) -> T:
        """Run a blocking qdrant-client call on our worker, translating its errors."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, call)
        except DimensionMismatch:
            raise
        except Exception as exc:  # qdrant-client raises many unrelated types; this is the boundary
            log.error("Qdrant failed to %s: %r", doing, exc)
            raise VectorStoreError(f"Could not {doing}: the vector store failed ({exc}).") from exc


def _already_exists(exc: Exception) -> bool:
    return "already exists" in str(exc).lower()


def vector_params(dimension: int) -> models.VectorParams:
    """One cosine vector of `dimension` per point."""
    return models.VectorParams(size=dimension, distance=models.Distance.COSINE)


def create_alias(alias: str, collection: str) -> models.CreateAliasOperation:
    """The alias operation that points `alias` at `collection`."""
    return models.CreateAliasOperation(
        create_alias=models.CreateAlias(collection_name=collection, alias_name=alias)
    )


def of_member(member_id: str) -> models.FieldCondition:
    """The condition that keeps one member's points (shared layout)."""
    return models.FieldCondition(key=MEMBER_KEY, match=models.MatchValue(value=member_id))


def to_point(point: TastePoint, member_id: str | None = None) -> models.PointStruct:
    """A taste as a Qdrant point: its id, its vector, and ids only as payload."""
    payload: dict[str, object] = {TASTE_KEY: point.taste_id}
    if member_id is not None:
        payload[MEMBER_KEY] = member_id
    return models.PointStruct(id=point.taste_id, vector=list(point.vector), payload=payload)


def scroll_ids(
    client: QdrantClient, collection: str, where: models.Filter | None = None
) -> set[int]:
    """The ids of every point in `collection` that `where` keeps (blocking)."""
    ids: set[int] = set()
    offset: models.ExtendedPointId | None = None
    while True:
        records, offset = client.scroll(
            collection,
            scroll_filter=where,
            limit=1024,
            offset=offset,
            with_payload=False,
            with_vectors=False,
        )
        ids.update(int(record.id) for record in records)
        if offset is None:
            return ids


def count_by_member(client: QdrantClient, collection: str) -> dict[str, int]:
    """How many points each member has in a shared collection (blocking)."""
    counts: dict[str, int] = {}
    offset: models.ExtendedPointId | None = None
    while True:
        records, offset = client.scroll(
            collection,
            limit=4096,
            offset=offset,
            with_payload=[MEMBER_KEY],
            with_vectors=False,
        )
        for record in records:
            member_id = str((record.payload or {}).get(MEMBER_KEY))
            counts[member_id] = counts.get(member_id, 0) + 1
        if offset is None:
            return counts
