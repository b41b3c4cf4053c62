"""Grounding one answer: its picks checked beside the stream, and which pick holds each number.

The pick selector decides, in answer order, which picks are shown (numbers 1..count)
and which are spares. `Grounding` is told of them as they are written (`see`), looks
each one up in the background as soon as its title and year are settled, and keeps the
numbered slots:

- a shown pick is "checking" until its lookup ends; the text is never held for it;
- a pick the catalogue does not know (with UNVERIFIED_PICKS=hide), whose film is one to
  avoid (its QID was disliked, seen or suggested lately), or that names the same film as
  an earlier pick, gives its number to the next usable spare: a found one first, else
  one still being checked. Numbers never move, so number reactions rate the right pick;
- with no spare left, a not-found pick stays, marked; an avoided one is removed;
- with UNVERIFIED_PICKS=mark a not-found pick stays, marked.

`answer_ended()` starts the deadline (CATALOGUE_DEADLINE): a pick still unresolved then
is "not checked". `changed` is set whenever a lookup ends, for the caller to re-render.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Protocol

from bot.background import BackgroundTasks
from bot.pipeline.catalogue.items import Kind
from bot.pipeline.catalogue.lookup import CHECKING, CheckState, Deadline, Lookup
from bot.pipeline.domain import PickDraft
from bot.pipeline.picks import LeftOut, PickDecision

REPEATED = LeftOut.REPEATED.value  # the same film as an earlier pick of this answer
NOT_FOUND = LeftOut.NOT_FOUND.value  # the catalogue has no such film or show


class PickLookups(Protocol):
    """What grounding needs of the catalogue (`Catalogue` is one)."""

    async def lookup(
        self, title: str, year: int | None, kind: Kind | None, *, deadline: Deadline | None = None
    ) -> Lookup:
        """The catalogue's answer for one pick."""
        ...


class UnverifiedPicks(StrEnum):
    """What becomes of a shown pick the catalogue does not know (UNVERIFIED_PICKS)."""

    HIDE = "hide"  # a spare takes its number; with none left it stays, marked
    MARK = "mark"  # it stays, marked


# With a catalogue, a pick whose film turns out to be avoided costs a spare.
AVOIDED_PER_EXTRA_SPARE = 10
MAX_EXTRA_SPARES = 3


def extra_spares(avoided: int) -> int:
    """Picks a grounded answer asks for beyond SPARE_PICKS: one per AVOIDED_PER_EXTRA_SPARE
    titles avoided (each may cost a pick), up to MAX_EXTRA_SPARES."""
    return min(MAX_EXTRA_SPARES, avoided // AVOIDED_PER_EXTRA_SPARE)


@dataclass(frozen=True, slots=True)
class PickSeen:
    """One pick of the answer as the selector decided it, for grounding."""

    index: int  # in answer order, from 0
    title: str
    year: int | None
    kind: Kind | None
    is_settled: bool  # its title and year are written: it can be looked up
    # (its kind may come after; a lookup without it is checked again once it is known)
    position: int | None  # its number if the selector shows it; None for a spare


@dataclass(frozen=True, slots=True)
class Slot:
    """A numbered place in the reply and the pick that holds it now."""

    number: int
    index: int  # the pick's index in answer order
    lookup: Lookup | None  # None while it is being checked

    @property
    def is_checking(self) -> bool:
        """The catalogue has not answered for this pick yet."""
        return self.lookup is None


def grounding_for(
    catalogue: PickLookups | None,
    tasks: BackgroundTasks,
    *,
    unverified: str,
    avoided_qids: Mapping[str, str],
) -> Grounding | None:
    """The catalogue's checks for one answer, or None without a catalogue (CATALOGUE=off)."""
    if catalogue is None:
        return None
    return Grounding(
        catalogue, tasks, unverified=UnverifiedPicks(unverified), avoided_qids=avoided_qids
    )


class Grounding:
    """The catalogue checks of one answer and its numbered slots; see the module docstring."""

    def __init__(
        self,
        catalogue: PickLookups,
        tasks: BackgroundTasks,
        *,
        unverified: UnverifiedPicks = UnverifiedPicks.HIDE,
        avoided_qids: Mapping[str, str] | None = None,
    ) -> None:
        self._catalogue = catalogue
        self._tasks = tasks
        self._unverified = unverified
        self._avoided_qids = dict(avoided_qids or {})
        self._deadline = Deadline()
        self._picks: dict[int, PickSeen] = {}
        self._lookups: dict[int, Lookup] = {}
        self._running: dict[int, asyncio.Task[Lookup]] = {}
        self._asked_kinds: dict[int, Kind | None] = {}  # the kind each lookup was asked for
        self._slots: dict[int, int] = {}  # number -> pick index
        self._numbers: set[int] = set()  # every number given out, held or emptied
        self._removed: dict[int, str] = {}  # pick index -> why it gave up its number
        self.changed = asyncio.Event()

    # -- what the caller tells -------------------------------------------------------

    def see(self, picks: Sequence[PickSeen]) -> None:
        """The selector's picks so far; starts a lookup for each newly settled one."""
        for pick in picks:
            self._picks[pick.index] = pick
            if pick.position is not None and pick.position not in self._numbers:
                self._numbers.add(pick.position)
                self._slots[pick.position] = pick.index
            if pick.is_settled and pick.index not in self._running:
                self._start(pick)
            elif self._is_other_kind(pick):
                # Looked up before its kind was written, and found as the other kind:
                # ask again for its own kind (the cache answers; no request).
                del self._lookups[pick.index]
                self._start(pick)
        self._fill()

    def _start(self, pick: PickSeen) -> None:
        self._asked_kinds[pick.index] = pick.kind
        self._running[pick.index] = self._tasks.start(
            self._check(pick), name=f"check pick {pick.index + 1}: {pick.title!r}"
        )

    def _is_other_kind(self, pick: PickSeen) -> bool:
        """A pick looked up without a kind, now written, and found as the other kind."""
        lookup = self._lookups.get(pick.index)
        return (
            pick.kind is not None
            and self._asked_kinds.get(pick.index, pick.kind) is None
            and lookup is not None
            and lookup.facts is not None
            and lookup.facts.kind != pick.kind
        )

    def answer_ended(self, deadline_seconds: float) -> None:
        """The answer is complete: lookups not done in `deadline_seconds` are "not checked"."""
        self._deadline.expire_in(deadline_seconds)

    async def wait_settled(self) -> None:
        """Wait until every lookup started has ended (call `answer_ended` first)."""
        if self._running:
            await asyncio.gather(*self._running.values(), return_exceptions=True)

    # -- what the caller reads -------------------------------------------------------

    def slots(self) -> list[Slot]:
        """The numbered slots now, by number."""
        return [
            Slot(number, index, self._lookups.get(index))
            for number, index in sorted(self._slots.items())
        ]

    def lookup_of(self, index: int) -> Lookup | None:
        """The catalogue's answer for the pick at `index`, once it has one."""
        return self._lookups.get(index)

    def removal_of(self, index: int) -> str | None:
        """Why the pick at `index` lost its number (`not_found`, a repeat or avoid reason)."""
        return self._removed.get(index)

    @property
    def is_settled(self) -> bool:
        """Every pick holding a number has the catalogue's answer."""
        return all(index in self._lookups for index in self._slots.values())

    @property
    def wants_more_answer(self) -> bool:
        """Whether the model should keep writing: a shown pick is not known to be real yet."""
        return not all(
            index in self._lookups and self._lookups[index].is_found
            for index in self._slots.values()
        )

    # -- inside ----------------------------------------------------------------------

    async def _check(self, pick: PickSeen) -> Lookup:
        lookup = await self._catalogue.lookup(
            pick.title, pick.year, pick.kind, deadline=self._deadline
        )
        if self._asked_kinds.get(pick.index) != pick.kind:
            return lookup  # a newer lookup for this pick has started
        self._lookups[pick.index] = lookup
        self._fill()
        self.changed.set()
        return lookup

    def _fill(self) -> None:
        """Give each slot whose pick is rejected to the next usable spare; see the docstring."""
        for number in sorted(self._numbers - set(self._slots)):
            # Emptied when an avoided pick had no spare: a spare written since fills it.
            if (spare := self._next_spare()) is not None:
                self._slots[number] = spare
        for number in sorted(self._slots):
            while (reason := self._rejection(self._slots[number])) is not None:
                spare = self._next_spare()
                if spare is None:
                    if reason != NOT_FOUND:
                        self._removed[self._slots.pop(number)] = reason
                    break
                self._removed[self._slots[number]] = reason
                self._slots[number] = spare

    def _rejection(self, index: int) -> str | None:
        """Why the pick at `index` may not hold a number, or None when it may (or is unknown)."""
        lookup = self._lookups.get(index)
        if lookup is None:
            return None
        if lookup.qid is not None:
            if lookup.qid in self._avoided_qids:
                return self._avoided_qids[lookup.qid]
            if any(
                other < index
                and (earlier := self._lookups.get(other))
                and earlier.qid == lookup.qid
                for other in self._slots.values()
            ):
                return REPEATED
        if lookup.state is CheckState.NOT_FOUND and self._unverified is UnverifiedPicks.HIDE:
            return NOT_FOUND
        return None

    def _next_spare(self) -> int | None:
        """The first usable spare in answer order: one found first, else one being checked."""
        used = set(self._slots.values()) | set(self._removed)
        spares = [
            pick.index
            for pick in sorted(self._picks.values(), key=lambda pick: pick.index)
            if pick.position is None
            and pick.is_settled
            and pick.index not in used
            and self._rejection(pick.index) is None
            and not self._is_same_film_as_shown(pick.index)
        ]
        found = [index for index in spares if index in self._lookups]
        choices = found or spares
        return choices[0] if choices else None

    def _is_same_film_as_shown(self, index: int) -> bool:
        qid = self._lookups[index].qid if index in self._lookups else None
        return qid is not None and any(
            self._lookups.get(other) is not None and self._lookups[other].qid == qid
            for other in self._slots.values()
        )


# -- between the pick selector's decisions and the grounded reply ------------------------


def picks_seen(decisions: Sequence[PickDecision]) -> list[PickSeen]:
    """The selector's decisions as grounding sees them; repeats it left out are not looked up."""
    seen = []
    for index, decision in enumerate(decisions):
        if decision.left_out not in (None, LeftOut.SPARE):
            continue
        draft = decision.draft
        # The title and year are enough to start: the kind, written next, is checked
        # when it comes (see `Grounding._is_other_kind`).
        is_settled = draft.is_complete or draft.year is not None
        kind: Kind | None = draft.kind if draft.kind in ("movie", "show") else None  # type: ignore[assignment]
        seen.append(
            PickSeen(index, draft.title, draft.year, kind, is_settled, decision.shown_position)
        )
    return seen


def grounded_draft(draft: PickDraft, lookup: Lookup | None) -> PickDraft:
    """The pick with what the catalogue says: a found one shows its title, year and kind."""
    if lookup is None:
        return replace(draft, check=CHECKING)
    if lookup.is_found and lookup.facts is not None:
        facts = lookup.facts
        return replace(draft, title=facts.title, year=facts.year, kind=facts.kind, check=lookup)
    return replace(draft, check=lookup)


def grounded_shown(drafts: Sequence[PickDraft], grounding: Grounding) -> tuple[PickDraft, ...]:
    """The picks to show now, in number order, each with its check."""
    return tuple(grounded_draft(drafts[slot.index], slot.lookup) for slot in grounding.slots())


def grounded_decisions(
    decisions: Sequence[PickDecision], grounding: Grounding
) -> list[PickDecision]:
    """What became of every pick once grounded: numbers as shown, and why others are out."""
    numbers = {slot.index: number for number, slot in enumerate(grounding.slots(), start=1)}
    grounded = []
    for index, decision in enumerate(decisions):
        draft = decision.draft
        if decision.left_out in (None, LeftOut.SPARE):
            draft = grounded_draft(draft, grounding.lookup_of(index))
            if draft.check is CHECKING and index not in numbers:
                draft = replace(draft, check=None)  # a spare never looked up
        removal = grounding.removal_of(index)
        left_out = LeftOut(removal) if removal else decision.left_out
        if index in numbers:
            left_out = None
        elif left_out is None:
            left_out = LeftOut.SPARE
        grounded.append(PickDecision(draft, numbers.get(index), left_out))
    return grounded
