"""What a member's ratings, recent picks and library teach the next suggestion.

Liked picks and liked library titles most similar to the request become examples;
disliked, seen and recently suggested titles, and titles on the watchlist, are named
as not to suggest (up to MAX_AVOIDED_IN_PROMPT of each: the member's own ratings of
picks first, then the library's titles most similar to the request), and every one
of them is left out of the reply if the model suggests it anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot.pipeline.domain import Rating, label
from bot.pipeline.library.lessons import (
    LibraryLessons,
    entry_text,
    library_lessons,
    named_first,
)
from bot.pipeline.library.relevance import most_relevant
from bot.pipeline.model_client import ModelClient
from bot.pipeline.picks import LeftOut
from bot.pipeline.prompt import Learned
from bot.pipeline.records import PickRecord, PickRecords
from bot.pipeline.records.library import LibraryEntry, LibraryRecords
from bot.settings import Settings

# Rated titles a reply leaves out when the model repeats them; the prompt names fewer.
RATED_TO_AVOID = 5000

Example = PickRecord | LibraryEntry


@dataclass(frozen=True, slots=True)
class Lessons:
    """What the member's ratings, recent picks and library mean for the next suggestion."""

    learned: Learned  # what the prompt says
    avoid: dict[str, LeftOut]  # pick keys to leave out of the reply, and why
    # The same films by their catalogue id (QID): a variant title is still the film.
    avoid_films: dict[str, LeftOut] = field(default_factory=dict)
    # The library holds more titles to avoid than the prompt can name.
    is_crowded: bool = False

    @property
    def avoided_count(self) -> int:
        """How many titles the prompt names as not to suggest."""
        return len(self.learned.disliked) + len(self.learned.not_again)

    def spares(self, spare_picks: int) -> int:
        """Picks to ask for beyond the count: twice SPARE_PICKS when the library holds
        more titles to avoid than the prompt names (the model is likelier to hit one)."""
        return spare_picks * 2 if self.is_crowded else spare_picks


class Learning:
    """Turns a member's ratings, recent picks and library into lessons for the next prompt."""

    def __init__(
        self,
        settings: Settings,
        embedder: ModelClient,
        pick_records: PickRecords,
        library_records: LibraryRecords,
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self._records = pick_records
        self._library = library_records

    async def lessons_for(self, member_id: str, query_vector: list[float]) -> Lessons:
        """The member's ratings, recent picks and library, as prompt lines and keys to
        leave out."""
        settings = self._settings
        disliked = await self._records.rated_picks(member_id, [Rating.NOT_FOR_ME], RATED_TO_AVOID)
        seen = await self._records.rated_picks(member_id, [Rating.SEEN], RATED_TO_AVOID)
        recent = await self._records.recently_shown(member_id, settings.no_repeat_window)
        liked = await self._records.rated_picks(
            member_id, [Rating.LIKED], settings.liked_candidates
        )
        avoid, avoid_films = _avoided(disliked, seen, [*recent, *liked])
        # One film, one identity: a film liked twice is one example.
        newest_of_each: dict[str, PickRecord] = {}
        for pick in liked:
            newest_of_each.setdefault(pick.film_key, pick)
        liked = list(newest_of_each.values())
        # A rating given to a pick in the bot wins over the library's word on that film.
        rated = {key for pick in [*disliked, *seen, *liked] for key in (pick.key, pick.film_key)}
        library = library_lessons(await self._library.lessons(member_id), rated)
        _add_library(avoid, avoid_films, library)
        candidates = list(library.liked[: settings.liked_candidates])
        examples = await self._examples(liked, candidates, query_vector)
        # Each film is named once in the prompt: as liked, disliked, or not to repeat.
        named = {example.film_key for example in examples} | {p.film_key for p in disliked}
        not_again = {
            pick.film_key: label(pick) for pick in [*seen, *recent] if pick.film_key not in named
        }
        library_disliked, library_not_again = await self._most_relevant(
            list(library.disliked),
            [entry for entry in library.not_again if entry.film_key not in named],
            query_vector,
        )
        most = settings.max_avoided_in_prompt
        learned = Learned(
            liked=tuple(f"{label(pick)}: {pick.description}".rstrip(": ") for pick in examples),
            disliked=named_first([label(pick) for pick in disliked], library_disliked, most),
            not_again=named_first(list(not_again.values()), library_not_again, most),
        )
        is_crowded = len(library.disliked) + len(library.not_again) > most
        return Lessons(learned, avoid, avoid_films, is_crowded)

    async def _examples(
        self, liked: list[PickRecord], library: list[LibraryEntry], query_vector: list[float]
    ) -> list[Example]:
        """The liked picks and liked library titles most similar to the request."""
        if self._settings.liked_examples == 0 or not (liked or library):
            return []
        with_vectors: list[tuple[Example, list[float]]] = [
            *await self._liked_pick_vectors(liked),
            *await self._liked_title_vectors(library),
        ]
        comparable = [
            (index, example, vector)
            for index, (example, vector) in enumerate(with_vectors)
            if len(vector) == len(query_vector)
        ]
        scores = cosine_scores(query_vector, [vector for _, _, vector in comparable])
        scored = [
            (score, index, example)
            for score, (index, example, _) in zip(scores, comparable, strict=True)
        ]
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [example for _, _, example in scored[: self._settings.liked_examples]]

    async def _liked_pick_vectors(
        self, liked: list[PickRecord]
    ) -> list[tuple[Example, list[float]]]:
        """Liked picks with their vectors; embedded once, when first needed."""
        if not liked:
            return []
        model = self._settings.embed_model
        vectors = await self._records.pick_vectors([pick.id for pick in liked], model)
        missing = [pick for pick in liked if pick.id not in vectors]
        if missing:
            made = await self._embedder.embed(model, [pick_text(pick) for pick in missing])
            new = {pick.id: vector for pick, vector in zip(missing, made, strict=True)}
            await self._records.store_pick_vectors(model, new)
            vectors.update(new)
        return [(pick, vectors[pick.id]) for pick in liked]

    async def _liked_title_vectors(
        self, entries: list[LibraryEntry]
    ) -> list[tuple[Example, list[float]]]:
        """Liked library titles with their vectors; embedded once, when first needed."""
        if not entries:
            return []
        model = self._settings.embed_model
        vectors = await self._library.vectors([entry.id for entry in entries], model)
        missing = [entry for entry in entries if entry.id not in vectors]
        if missing:
            made = await self._embedder.embed(model, [entry_text(entry) for entry in missing])
            new = {entry.id: vector for entry, vector in zip(missing, made, strict=True)}
            await self._library.store_vectors(model, new)
            vectors.update(new)
        return [(entry, vectors[entry.id]) for entry in entries]

    async def _most_relevant(
        self, disliked: list[LibraryEntry], not_again: list[LibraryEntry], query: list[float]
    ) -> tuple[list[LibraryEntry], list[LibraryEntry]]:
        """Of many library titles, the MAX_AVOIDED_IN_PROMPT of each kind most similar to
        the request (their vectors are read only when there are more than that)."""
        most = self._settings.max_avoided_in_prompt
        many = [entries for entries in (disliked, not_again) if len(entries) > most]
        if not many:
            return disliked, not_again
        ids = [entry.id for entries in many for entry in entries]
        vectors = await self._library.vector_blobs(ids, self._settings.embed_model)
        return (
            most_relevant(disliked, vectors, query, most),
            most_relevant(not_again, vectors, query, most),
        )


def _avoided(
    disliked: list[PickRecord], seen: list[PickRecord], suggested: list[PickRecord]
) -> tuple[dict[str, LeftOut], dict[str, LeftOut]]:
    """Pick keys and QIDs to leave out of the reply, and why (the first reason wins)."""
    avoid: dict[str, LeftOut] = {}
    avoid_films: dict[str, LeftOut] = {}
    for picks, reason in (
        (disliked, LeftOut.DISLIKED),
        (seen, LeftOut.SEEN),
        (suggested, LeftOut.SUGGESTED),
    ):
        for pick in picks:
            avoid.setdefault(pick.key, reason)
            if pick.qid:
                avoid_films.setdefault(pick.qid, reason)
    return avoid, avoid_films


def _add_library(
    avoid: dict[str, LeftOut], avoid_films: dict[str, LeftOut], library: LibraryLessons
) -> None:
    """Add the library's titles to leave out, by key and by QID (the first reason wins)."""
    for entry in [*library.disliked, *library.not_again]:
        reason = library.avoid[entry.key]
        avoid.setdefault(entry.key, reason)
        if entry.qid:
            avoid_films.setdefault(entry.qid, reason)


def pick_text(pick: PickRecord) -> str:
    """What is embedded of a liked pick, to compare it with requests."""
    return f"{label(pick)}. {pick.description}".strip()


def cosine_scores(query: Sequence[float], vectors: Sequence[Sequence[float]]) -> list[float]:
    """Each vector's cosine similarity to `query`, all of one size (0 where either is all
    zeros). One matrix product: a member with a thousand liked titles (or ten at a movie
    night) is ranked in milliseconds, where a Python loop took a quarter of a second."""
    if not vectors:
        return []
    matrix = np.asarray(vectors, dtype=np.float64)
    query_array = np.asarray(query, dtype=np.float64)
    norms = np.linalg.norm(matrix, axis=1) * np.linalg.norm(query_array)
    dots = matrix @ query_array
    scores = np.divide(dots, norms, out=np.zeros_like(dots), where=norms != 0)
    return [float(score) for score in scores]
