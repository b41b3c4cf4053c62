"""Taste vectors, behind one small interface that speaks of members and tastes.

`TasteVectors` (in `contract.py`) is all the pipeline knows of the vector store.
Two Qdrant layouts implement it (the setting VECTOR_LAYOUT chooses):

- `PerMemberCollections` (``per-member``, the default, `per_member.py`): one
  collection per member, so isolation is structural; right for a community server.
- `SharedCollection` (``shared``, `shared.py`): one collection for everyone,
  partitioned by member; Qdrant's own advice once there are thousands of members.

Every place is reached through a Qdrant *alias* that points at a physical collection
with a generation suffix (``__g3``, see `naming.py`). `rebuild` fills a new generation
beside the old one and moves the alias in one alias operation, so a search never finds
a member without vectors, and a rebuild killed half way leaves only unreferenced
collections that `tidy` removes. Points carry the taste's id (and, shared, the
member's id), never the taste's text: the records hold that. What both layouts share
(the client, its worker thread, error translation) is in `_qdrant.py`.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from pathlib import Path

from qdrant_client import QdrantClient

from bot.errors import VectorStoreError
from bot.pipeline.vectors.contract import (
    MemberTastes,
    RebuildReport,
    ScoredTaste,
    TastePoint,
    TasteVectors,
    VectorCensus,
    VectorLayout,
)
from bot.pipeline.vectors.naming import member_alias
from bot.pipeline.vectors.per_member import PerMemberCollections
from bot.pipeline.vectors.shared import SharedCollection

__all__ = [
    "MemberTastes",
    "PerMemberCollections",
    "QdrantServer",
    "RebuildReport",
    "ScoredTaste",
    "SharedCollection",
    "TastePoint",
    "TasteVectors",
    "VectorCensus",
    "VectorLayout",
    "member_alias",
    "open_taste_vectors",
]

# A server answers several calls at once; embedded mode is not thread-safe (one worker).
SERVER_WORKERS = 4


@dataclass(frozen=True, slots=True)
class QdrantServer:
    """Where a Qdrant server is and how long one call to it may take (QDRANT_* settings)."""

    url: str
    api_key: str | None
    timeout: float


async def open_taste_vectors(
    layout: VectorLayout, *, path: Path | None = None, server: QdrantServer | None = None
) -> TasteVectors:
    """The store in `layout`: the Qdrant `server` if one is given, else embedded under `path`."""

    def connect() -> QdrantClient:
        if server is not None:
            # qdrant-client takes whole seconds: round up, never wait less than configured.
            timeout = math.ceil(server.timeout)
            client = QdrantClient(url=server.url, api_key=server.api_key, timeout=timeout)
            client.get_collections()  # fail now, with a clear message, if it is down
            return client
        assert path is not None
        path.mkdir(parents=True, exist_ok=True)
        return QdrantClient(path=str(path))

    where = server.url if server is not None else str(path)
    try:
        client = await asyncio.to_thread(connect)
    except Exception as exc:
        raise VectorStoreError(_describe_open_failure(where, exc)) from exc
    store_class = SharedCollection if layout is VectorLayout.SHARED else PerMemberCollections
    return store_class(client, workers=SERVER_WORKERS if server is not None else 1)


def _describe_open_failure(where: str, exc: Exception) -> str:
    if "already accessed" in str(exc):
        return (
            f"The embedded vector store at {where} is in use by another suggest.watch process. "
            "Stop that process, or run a Qdrant server and set QDRANT_URL so both can share it."
        )
    return f"Cannot open the vector store at {where}: {exc}"
