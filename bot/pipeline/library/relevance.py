"""Which library titles a prompt names: the ones most similar to the request.

A member with thousands of rated titles cannot have them all in a prompt. Those named
are the ones the model is most likely to suggest: the titles whose embedding is most
similar to the request's. Titles not embedded yet (an import's are embedded in the
background) follow, most recent first. Every title is still left out of the reply if
the model suggests it anyway; naming only steers the model away early.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from bot.pipeline.records.library import LibraryEntry

FLOAT32_BYTES = 4


def most_relevant(
    entries: Sequence[LibraryEntry],
    vectors: Mapping[int, bytes],
    query_vector: Sequence[float],
    limit: int,
) -> list[LibraryEntry]:
    """Up to `limit` of `entries` (most recent first): the embedded ones by similarity
    to the request, then the rest in their order."""
    if len(entries) <= limit:
        return list(entries)
    size = len(query_vector) * FLOAT32_BYTES
    embedded = [entry for entry in entries if len(vectors.get(entry.id, b"")) == size]
    ranked: list[LibraryEntry] = []
    if embedded:
        matrix = np.frombuffer(
            b"".join(vectors[entry.id] for entry in embedded), dtype=np.float32
        ).reshape(len(embedded), len(query_vector))
        query = np.asarray(query_vector, dtype=np.float32)
        norms = np.linalg.norm(matrix, axis=1) * float(np.linalg.norm(query))
        scores = (matrix @ query) / np.where(norms == 0, 1.0, norms)
        # Stable: among equal scores the more recent title comes first.
        order = np.argsort(-scores, kind="stable")[:limit]
        ranked = [embedded[index] for index in order]
    named = {entry.id for entry in ranked}
    rest = [entry for entry in entries if entry.id not in named]
    return (ranked + rest)[:limit]
