"""What a member's ratings and recent picks teach the next suggestion.

Liked picks most similar to the request become examples; disliked, seen and recently
suggested titles are named as not to suggest (up to MAX_AVOIDED_IN_PROMPT of each),
and every one of them is left out of the reply if the model suggests it anyway.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from bot.pipeline.domain import Rating, label
from bot.pipeline.model_client import ModelClient
from bot.pipeline.picks import LeftOut
from bot.pipeline.prompt import Learned
from bot.pipeline.records import PickRecord, PickRecords
from bot.settings import Settings

# Rated titles a reply leaves out when the model repeats them; the prompt names fewer.
RATED_TO_AVOID = 5000


@dataclass(frozen=True, slots=True)
class Lessons:
    """What the member's ratings and recent picks mean for the next suggestion."""

    learned: Learned  # what the prompt says
    avoid: dict[str, LeftOut]  # pick keys to leave out of the reply, and why
    # The same films by their catalogue id (QID): a variant title is still the film.
    avoid_films: dict[str, LeftOut] = field(default_factory=dict)

    @property
    def avoided_count(self) -> int:
        """How many titles the prompt names as not to suggest."""
        return len(self.learned.disliked) + len(self.learned.not_again)


class Learning:
    """Turns a member's ratings and recent picks into lessons for the next prompt."""

    def __init__(
        self, settings: Settings, embedder: ModelClient, pick_records: PickRecords
    ) -> None:
        self._settings = settings
        self._embedder = embedder
        self._records = pick_records

    async def lessons_for(self, member_id: str, query_vector: list[float]) -> Lessons:
        """The member's ratings and recent picks, as prompt lines and keys to leave out."""
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
        examples = await self._liked_examples(liked, query_vector)
        # Each film is named once in the prompt: as liked, disliked, or not to repeat.
        named = {pick.film_key for pick in [*disliked, *examples]}
        not_again = {
            pick.film_key: label(pick) for pick in [*seen, *recent] if pick.film_key not in named
        }
        most = settings.max_avoided_in_prompt
        learned = Learned(
            liked=tuple(f"{label(pick)}: {pick.description}".rstrip(": ") for pick in examples),
            disliked=tuple(dict.fromkeys(label(pick) for pick in disliked))[:most],
            not_again=tuple(not_again.values())[:most],
        )
        return Lessons(learned, avoid, avoid_films)

    async def _liked_examples(
        self, liked: list[PickRecord], query_vector: list[float]
    ) -> list[PickRecord]:
        """The liked picks most similar to the request; embedded once, when first needed."""
        if not liked or self._settings.liked_examples == 0:
            return []
        model = self._settings.embed_model
        vectors = await self._records.pick_vectors([pick.id for pick in liked], model)
        missing = [pick for pick in liked if pick.id not in vectors]
        if missing:
            made = await self._embedder.embed(model, [pick_text(pick) for pick in missing])
            new = {pick.id: vector for pick, vector in zip(missing, made, strict=True)}
            await self._records.store_pick_vectors(model, new)
            vectors.update(new)
        scored = [
            (cosine(query_vector, vectors[pick.id]), index, pick)
            for index, pick in enumerate(liked)
            if len(vectors[pick.id]) == len(query_vector)
        ]
        scored.sort(key=lambda item: (-item[0], item[1]))
        return [pick for _, _, pick in scored[: self._settings.liked_examples]]


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


def pick_text(pick: PickRecord) -> str:
    """What is embedded of a liked pick, to compare it with requests."""
    return f"{label(pick)}. {pick.description}".strip()


def cosine(a: list[float], b: list[float]) -> float:
    """The cosine similarity of two vectors of one size (0 when either is all zeros)."""
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    norms = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norms if norms else 0.0
