"""The `TasteVectors` contract: what the pipeline needs of a vector store, in its words.

A store holds, for each member, one vector per taste, keyed by the taste's id; the
taste's text stays in the records. Members are isolated: nothing one member stores,
deletes or searches ever touches another member's vectors. The records are the truth
and vectors are derived from them, so a store may lose or gain vectors in a crash;
`census` lets `doctor` see the drift and `rebuild` repairs it.

To add a store: subclass `TasteVectors` (its methods are abstract, so a forgotten one
fails at construction), and add it to the contract suite's implementations in
`tests/pipeline/test_vectors.py`, which runs every test of the contract against it.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol


class VectorLayout(StrEnum):
    """How tastes are laid out in Qdrant (the VECTOR_LAYOUT setting)."""

    PER_MEMBER = "per-member"
    SHARED = "shared"


@dataclass(frozen=True, slots=True)
class TastePoint:
    """One taste as the vector store holds it: its id and its vector, no text."""

    taste_id: int
    vector: Sequence[float]


@dataclass(frozen=True, slots=True)
class ScoredTaste:
    """A search hit: the taste's id and its cosine similarity to the query."""

    taste_id: int
    score: float


@dataclass(frozen=True, slots=True)
class MemberTastes:
    """All of one member's tastes, ready to be written into a new index."""

    member_id: str
    points: Sequence[TastePoint]


@dataclass(frozen=True, slots=True)
class RebuildReport:
    """What `rebuild` did: vectors written and places of absent members removed."""

    members: int
    vectors: int
    removed_members: int


@dataclass(slots=True)
class VectorCensus:
    """What the store holds, member by member, for `doctor` to compare with the records.

    `vectors` and `dimensions` cover the members asked about that have a place;
    `strangers` counts members with vectors who were not asked about (no records);
    `other_layout` counts places left in the layout that is not configured.
    """

    vectors: dict[str, int] = field(default_factory=dict)
    dimensions: dict[str, int] = field(default_factory=dict)
    strangers: int = 0
    other_layout: int = 0


class TasteVectors(Protocol):
    """What the pipeline needs of a vector store, member by member.

    Every method may raise `VectorStoreError` (the store failed; the message says what
    it was doing) and the ones given a vector `DimensionMismatch` (the member's vectors
    have another size: the embedding model changed, `reindex` fixes it). No other
    exception leaves a store. Calls may run concurrently; a store serialises what its
    engine cannot do at once, and never blocks the event loop.
    """

    layout: VectorLayout
    """The layout this store keeps; `doctor` reports it, `census` counts the other one."""

    @abstractmethod
    async def store(self, member_id: str, points: Sequence[TastePoint]) -> None:
        """Write (or overwrite) these tastes' vectors, creating the member's place.

        Nothing to write is not an error. Two first tastes of one member at once (or
        in two processes sharing a server) both succeed.
        """

    @abstractmethod
    async def delete(self, member_id: str, taste_ids: Sequence[int]) -> None:
        """Erase these tastes' vectors; ids the member has no vector for are ignored."""

    @abstractmethod
    async def delete_member(self, member_id: str) -> None:
        """Erase every vector of the member (nothing to erase is not an error)."""

    @abstractmethod
    async def search(
        self, member_id: str, vector: Sequence[float], limit: int
    ) -> list[ScoredTaste]:
        """The member's at most `limit` most similar tastes by cosine, best first; [] when
        they have none."""

    @abstractmethod
    async def taste_ids(self, member_id: str) -> set[int]:
        """The ids of every taste the store holds a vector for, for this member."""

    @abstractmethod
    async def census(self, member_ids: Sequence[str]) -> VectorCensus:
        """Vector counts and sizes of these members, and what belongs to nobody listed."""

    @abstractmethod
    async def rebuild(self, members: AsyncIterator[MemberTastes]) -> RebuildReport:
        """Replace the whole index with `members`, switching over without a gap.

        While it runs, every member can still search their old vectors; once it
        returns, only the members given have vectors, with exactly the points given.
        If it is interrupted (an exception from `members`, a killed process), the old
        index stays whole, and `tidy` plus a second `rebuild` finish the job.
        """

    @abstractmethod
    async def tidy(self) -> int:
        """Remove what an interrupted rebuild left behind; returns how many places
        (collections) it removed. Run once at start-up."""

    @abstractmethod
    async def close(self) -> None:
        """Release the engine and its workers; the store is not used afterwards."""
