"""Who takes part in a movie night, and what each participant adds to its prompt.

`plan` sorts the members named for a night: the asker is always in; a member who
opted out of others' nights is left out (the asker is told privately); a member
without tastes is left out and named. At least MIN_PARTICIPANTS with tastes are
needed. `Blender.blend` gathers each participant's part: tastes best matching the
request (the newest without one), liked titles as examples, titles to avoid.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from bot.errors import InputError
from bot.pipeline.learning import Learning, Lessons
from bot.pipeline.library.lessons import entry_label
from bot.pipeline.model_client import ModelClient
from bot.pipeline.movienight.blend import BlendedMember, member_label
from bot.pipeline.picks import LeftOut
from bot.pipeline.records import (
    LibraryRecords,
    NightRecords,
    PickRecords,
    TasteRecords,
)
from bot.pipeline.records.rows import LibraryEntry
from bot.pipeline.vectors import TasteVectors
from bot.settings import Settings

MIN_PARTICIPANTS = 2
MAX_MEMBERS = 10
# What the taste search compares with when the group asked for nothing in particular.
NO_REQUEST_TEXT = "a film or show for a group movie night"
# Watchlist titles read per participant (the prompt names fewer: see blend.py).
WATCHLIST_READ = 200
# A title on a participant's watchlist is welcome although it is on a watchlist or was
# suggested to someone lately; not when anyone disliked it or has seen it.
WELCOME_DESPITE = (LeftOut.ON_WATCHLIST, LeftOut.SUGGESTED)


@dataclass(frozen=True, slots=True)
class NightPlan:
    """The members named for a night, sorted: who takes part, who does not and why."""

    asker_id: str
    participants: tuple[str, ...]  # with tastes, the asker first
    without_tastes: tuple[str, ...]
    opted_out: tuple[str, ...]

    @property
    def is_enough(self) -> bool:
        """Enough members with tastes take part for a night."""
        return len(self.participants) >= MIN_PARTICIPANTS


@dataclass(frozen=True, slots=True)
class Blend:
    """Every participant's part of the prompt, the pick keys to leave out of the reply,
    the taste texts the reply must not repeat, and how long it took."""

    members: tuple[BlendedMember, ...]
    avoid: dict[str, LeftOut]
    taste_texts: tuple[str, ...]
    seconds: float
    avoid_films: dict[str, LeftOut]  # catalogue ids (QIDs) to leave out, and why


async def plan_night(
    asker_id: str,
    member_ids: Sequence[str],
    tastes: TasteRecords,
    nights: NightRecords,
) -> NightPlan:
    """Sort the named members (the asker first, each once); `InputError` for too many."""
    named = list(dict.fromkeys([asker_id, *member_ids]))
    if len(named) > MAX_MEMBERS:
        raise InputError(
            f"A movie night takes at most {MAX_MEMBERS} members, you included; "
            f"{len(named)} were named."
        )
    # The asker chose to share their own tastes by asking.
    opted_out = (await nights.opted_out(named)) - {asker_id}
    participants: list[str] = []
    without_tastes: list[str] = []
    for member_id in named:
        if member_id in opted_out:
            continue
        if await tastes.count_tastes(member_id) > 0:
            participants.append(member_id)
        else:
            without_tastes.append(member_id)
    return NightPlan(
        asker_id,
        tuple(participants),
        tuple(without_tastes),
        tuple(member_id for member_id in named if member_id in opted_out),
    )


@dataclass(frozen=True, slots=True)
class _Part:
    """What one participant brings, before the group's titles to avoid are known."""

    label: str
    stated: tuple[str, ...]  # all their tastes: none may be shown
    tastes: tuple[str, ...]  # the ones for the prompt
    lessons: Lessons
    watchlist: tuple[LibraryEntry, ...]  # not watched yet

    def wanted_keys(self) -> set[str]:
        """The pick keys and catalogue ids of the titles on their watchlist."""
        keys = {entry.key for entry in self.watchlist}
        return keys | {entry.qid for entry in self.watchlist if entry.qid}

    def blended(self, avoided: dict[str, LeftOut], welcome: set[str]) -> BlendedMember:
        """Their part of the prompt: their watchlist is welcome unless someone avoids it,
        and no title on anyone's watchlist (`welcome`) is named as not to suggest."""
        learned = self.lessons.learned
        return BlendedMember(
            label=self.label,
            tastes=self.tastes,
            liked=learned.liked,
            avoid=tuple(
                title for title in (*learned.disliked, *learned.not_again) if title not in welcome
            ),
            wanted=tuple(
                entry_label(entry) for entry in self.watchlist if entry.key not in avoided
            ),
        )


def _group_avoid(avoids: Sequence[dict[str, LeftOut]], wanted: set[str]) -> dict[str, LeftOut]:
    """Every participant's titles to avoid as one, the strongest reason kept; a wanted
    title (on a watchlist) is left out only for a reason stronger than WELCOME_DESPITE."""
    hard: dict[str, LeftOut] = {}
    soft: dict[str, LeftOut] = {}
    for avoid in avoids:
        for key, reason in avoid.items():
            (soft if reason in WELCOME_DESPITE else hard).setdefault(key, reason)
    kept = {key: reason for key, reason in soft.items() if key not in wanted and key not in hard}
    return {**hard, **kept}


class Blender:
    """Gathers what each participant adds to a movie night's prompt."""

    def __init__(
        self,
        settings: Settings,
        embedder: ModelClient,
        vectors: TasteVectors,
        tastes: TasteRecords,
        picks: PickRecords,
        learning: Learning,
        library: LibraryRecords,
    ) -> None:
        self._settings = settings
        self._library = library
        self._embedder = embedder
        self._vectors = vectors
        self._tastes = tastes
        self._picks = picks
        self._learning = learning

    async def blend(self, participants: Sequence[str], query: str) -> Blend:
        """Each participant's tastes, liked examples, titles to avoid and watchlisted
        titles, labelled in order. A title is avoided when any participant disliked it,
        has seen it or was suggested it lately; on a watchlist it is welcome instead."""
        started = time.perf_counter()
        [vector] = await self._embedder.embed(
            self._settings.embed_model, [query or NO_REQUEST_TEXT]
        )
        parts = [
            await self._part_of(member_id, member_label(index), vector, bool(query))
            for index, member_id in enumerate(participants)
        ]
        wanted = {key for part in parts for key in part.wanted_keys()}
        avoid = _group_avoid([part.lessons.avoid for part in parts], wanted)
        avoid_films = _group_avoid([part.lessons.avoid_films for part in parts], wanted)
        welcome = {
            entry_label(entry)
            for part in parts
            for entry in part.watchlist
            if entry.key not in avoid
        }
        members = tuple(part.blended(avoid, welcome) for part in parts)
        taste_texts = tuple(text for part in parts for text in part.stated)
        seconds = time.perf_counter() - started
        return Blend(members, avoid, taste_texts, seconds, avoid_films)

    async def _part_of(
        self, member_id: str, member_label: str, vector: list[float], has_request: bool
    ) -> _Part:
        stated = [taste.text for taste in await self._tastes.list_tastes(member_id)]
        tastes = await self._best_tastes(member_id, vector, stated, has_request)
        lessons = await self._learning.lessons_for(member_id, vector)
        wanted = await self._library.watchlist(member_id, 0, WATCHLIST_READ)
        unwatched = tuple(entry for entry in wanted if entry.rating is None)
        return _Part(member_label, tuple(stated), tuple(tastes), lessons, unwatched)

    async def _best_tastes(
        self, member_id: str, vector: list[float], stated: list[str], has_request: bool
    ) -> list[str]:
        """The member's tastes closest to the request, or their newest without one
        (`stated`: all their tastes, oldest first)."""
        limit = self._settings.retrieval_limit
        newest = list(reversed(stated[-limit:]))
        if not has_request:
            return newest
        hits = await self._vectors.search(member_id, vector, limit)
        found = await self._tastes.get_tastes(member_id, [hit.taste_id for hit in hits])
        # The best matches even when none is close: each member must count in the blend.
        best = [found[hit.taste_id].text for hit in hits if hit.taste_id in found]
        return best or newest


def avoided_per_member(settings: Settings, participants: int) -> int:
    """How many titles to avoid the prompt names per participant: the prompt's usual
    limit shared among them, at least a few each."""
    return max(5, settings.max_avoided_in_prompt // max(1, participants))
