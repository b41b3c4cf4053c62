"""Which library titles a prompt names: the most similar to the request first."""

from __future__ import annotations

from array import array

from bot.pipeline.library.relevance import most_relevant
from bot.pipeline.records.library import LibraryEntry


def entry(entry_id: int) -> LibraryEntry:
    return LibraryEntry(
        id=entry_id,
        member_id="alice",
        key=f"film {entry_id}|",
        title=f"Film {entry_id}",
        year=None,
        kind=None,
        description="",
        link=None,
        imdb_id=None,
        qid=None,
        is_on_watchlist=False,
        rating=None,
        is_imported=True,
    )


def blob(*values: float) -> bytes:
    return array("f", values).tobytes()


def test_the_titles_most_similar_to_the_request_come_first() -> None:
    entries = [entry(n) for n in range(1, 6)]  # most recent first
    vectors = {1: blob(0, 1), 2: blob(1, 0), 3: blob(0.9, 0.1), 4: blob(-1, 0)}

    chosen = most_relevant(entries, vectors, [1.0, 0.0], limit=3)

    assert [e.id for e in chosen] == [2, 3, 1]


def test_titles_without_a_vector_follow_in_their_order() -> None:
    entries = [entry(n) for n in range(1, 6)]
    vectors = {4: blob(1, 0), 5: blob(0, 1)}

    chosen = most_relevant(entries, vectors, [1.0, 0.0], limit=4)

    assert [e.id for e in chosen] == [4, 5, 1, 2]


def test_vectors_of_another_size_are_not_compared() -> None:
    entries = [entry(n) for n in range(1, 4)]
    vectors = {3: blob(1, 0, 0)}  # another embedding model's
    assert [e.id for e in most_relevant(entries, vectors, [1.0, 0.0], 2)] == [1, 2]


def test_few_enough_titles_are_all_kept_as_they_are() -> None:
    entries = [entry(n) for n in range(1, 3)]
    assert most_relevant(entries, {}, [1.0], limit=5) == entries
