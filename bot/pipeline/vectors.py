"""Taste vectors in Qdrant, behind one small interface.

`TasteVectors` is all the pipeline knows of the vector store. Today's layout,
`PerMemberCollections`, gives each member a collection of their own (cosine
distance; payload: the taste's id and text), which makes isolation structural: a
search only ever sees one member's points. Qdrant's multitenancy guidance for very
many members (one shared collection with a `member_id` payload index) can be added as
another implementation without touching the pipeline.

qdrant-client's embedded mode is synchronous under its async face, so every call
runs on a worker thread, never on the event loop. Embedded mode is not
thread-safe, so it gets exactly one worker; a server gets a few.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Protocol, TypeVar

from qdrant_client import QdrantClient, models

from bot.errors import DimensionMismatch, VectorStoreError

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "tastes_"
_PLAIN_MEMBER_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_SERVER_WORKERS = 4
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class TastePoint:
    """One taste as the vector store holds it."""

    taste_id: int
    text: str
    vector: Sequence[float]


@dataclass(frozen=True, slots=True)
class ScoredTaste:
    """A search hit: the taste's id and its cosine similarity to the query."""

    taste_id: int
    score: float


class TasteVectors(Protocol):
    """What the pipeline needs of a vector store, member by member."""

    async def upsert(self, member_id: str, point: TastePoint) -> None: ...

    async def delete(self, member_id: str, taste_ids: Sequence[int]) -> None: ...

    async def drop_member(self, member_id: str) -> None: ...

    async def search(
        self, member_id: str, vector: Sequence[float], limit: int
    ) -> list[ScoredTaste]:
        """The member's most similar tastes, best first; [] when they have none."""
        ...

    async def rebuild_member(
        self, member_id: str, dimension: int, points: Sequence[TastePoint]
    ) -> None:
        """Replace everything stored for the member with `points`."""
        ...

    async def drop_members_except(self, member_ids: Sequence[str]) -> int:
        """Remove the data of every member not listed; returns how many were removed."""
        ...

    async def dimensions(self) -> dict[str, int]:
        """The vector size of every stored collection, by collection name."""
        ...

    async def close(self) -> None: ...


def collection_name(member_id: str) -> str:
    """The member's collection: readable for Discord ids, hashed for anything else."""
    if _PLAIN_MEMBER_ID.fullmatch(member_id):
        return f"{COLLECTION_PREFIX}m_{member_id}"
    digest = hashlib.sha256(member_id.encode()).hexdigest()[:32]
    return f"{COLLECTION_PREFIX}h_{digest}"


class PerMemberCollections:
    """`TasteVectors` with one Qdrant collection per member."""

    def __init__(self, client: QdrantClient, *, workers: int) -> None:
        self._client = client
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="qdrant")
        self._sizes: dict[str, int] = {}  # collection name -> vector size, once seen

    @classmethod
    async def open(
        cls, *, path: Path | None = None, url: str | None = None, api_key: str | None = None
    ) -> PerMemberCollections:
        """Embedded mode under `path`, or the Qdrant server at `url`."""

        def connect() -> QdrantClient:
            if url:
                client = QdrantClient(url=url, api_key=api_key, timeout=10)
                client.get_collections()  # fail now, with a clear message, if it is down
                return client
            assert path is not None
            path.mkdir(parents=True, exist_ok=True)
            return QdrantClient(path=str(path))

        where = url or str(path)
        try:
            client = await asyncio.to_thread(connect)
        except Exception as exc:
            raise VectorStoreError(_describe_open_failure(where, exc)) from exc
        return cls(client, workers=_SERVER_WORKERS if url else 1)

    async def close(self) -> None:
        try:
            await self._run("close the vector store", self._client.close)
        finally:
            self._executor.shutdown(wait=False)

    async def upsert(self, member_id: str, point: TastePoint) -> None:
        name = collection_name(member_id)
        await self._ensure_collection(name, len(point.vector))
        await self._run(
            "store the taste's vector",
            lambda: self._client.upsert(name, points=[_to_point(point)], wait=True),
        )

    async def delete(self, member_id: str, taste_ids: Sequence[int]) -> None:
        name = collection_name(member_id)
        if not taste_ids or not await self._exists(name):
            return
        selector = models.PointIdsList(points=list(taste_ids))
        await self._run(
            "remove the taste's vector",
            lambda: self._client.delete(name, points_selector=selector, wait=True),
        )

    async def drop_member(self, member_id: str) -> None:
        name = collection_name(member_id)
        await self._run("remove the member's vectors", lambda: self._client.delete_collection(name))
        self._sizes.pop(name, None)

    async def search(
        self, member_id: str, vector: Sequence[float], limit: int
    ) -> list[ScoredTaste]:
        name = collection_name(member_id)
        size = await self._size_of(name)
        if size is None:
            return []
        if size != len(vector):
            raise DimensionMismatch(name, size, len(vector))
        response = await self._run(
            "search the tastes",
            lambda: self._client.query_points(name, query=list(vector), limit=limit),
        )
        return [ScoredTaste(int(hit.id), float(hit.score)) for hit in response.points]

    async def rebuild_member(
        self, member_id: str, dimension: int, points: Sequence[TastePoint]
    ) -> None:
        name = collection_name(member_id)

        def rebuild() -> None:
            if self._client.collection_exists(name):
                self._client.delete_collection(name)
            self._client.create_collection(name, vectors_config=_vector_params(dimension))
            if points:
                self._client.upsert(name, points=[_to_point(p) for p in points], wait=True)

        await self._run("rebuild the member's vectors", rebuild)
        self._sizes[name] = dimension

    async def drop_members_except(self, member_ids: Sequence[str]) -> int:
        keep = {collection_name(member_id) for member_id in member_ids}
        stale = [name for name in await self.dimensions() if name not in keep]
        for name in stale:
            await self._run("remove stale vectors", partial(self._client.delete_collection, name))
            self._sizes.pop(name, None)
        return len(stale)

    async def dimensions(self) -> dict[str, int]:
        def read() -> dict[str, int]:
            names = [c.name for c in self._client.get_collections().collections]
            return {
                name: _vector_size(self._client, name)
                for name in names
                if name.startswith(COLLECTION_PREFIX)
            }

        sizes = await self._run("list the collections", read)
        self._sizes.update(sizes)
        return sizes

    async def _exists(self, name: str) -> bool:
        return await self._size_of(name) is not None

    async def _size_of(self, name: str) -> int | None:
        if name in self._sizes:
            return self._sizes[name]

        def read() -> int | None:
            if not self._client.collection_exists(name):
                return None
            return _vector_size(self._client, name)

        size = await self._run("read the collection", read)
        if size is not None:
            self._sizes[name] = size
        return size

    async def _ensure_collection(self, name: str, dimension: int) -> None:
        size = await self._size_of(name)
        if size is None:
            await self._run(
                "create the member's collection",
                lambda: self._client.create_collection(
                    name, vectors_config=_vector_params(dimension)
                ),
            )
            self._sizes[name] = dimension
        elif size != dimension:
            raise DimensionMismatch(name, size, dimension)

    async def _run(self, doing: str, call: Callable[[], T]) -> T:
        """Run a blocking qdrant-client call on our worker, translating its errors."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, call)
        except Exception as exc:  # qdrant-client raises many unrelated types; this is the boundary
            log.error("Qdrant failed to %s: %r", doing, exc)
            raise VectorStoreError(f"Could not {doing}: the vector store failed ({exc}).") from exc


def _vector_params(dimension: int) -> models.VectorParams:
    return models.VectorParams(size=dimension, distance=models.Distance.COSINE)


def _vector_size(client: QdrantClient, name: str) -> int:
    vectors = client.get_collection(name).config.params.vectors
    assert isinstance(vectors, models.VectorParams)  # we only ever create one unnamed vector
    return vectors.size


def _to_point(point: TastePoint) -> models.PointStruct:
    return models.PointStruct(
        id=point.taste_id,
        vector=list(point.vector),
        payload={"taste_id": point.taste_id, "text": point.text},
    )


def _describe_open_failure(where: str, exc: Exception) -> str:
    if "already accessed" in str(exc):
        return (
            f"The embedded vector store at {where} is in use by another suggest.watch process. "
            "Stop that process, or run a Qdrant server and set QDRANT_URL so both can share it."
        )
    return f"Cannot open the vector store at {where}: {exc}"
