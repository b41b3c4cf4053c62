"""Grounding an answer: numbered slots, spares that take a number, avoided films, deadlines."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from bot.background import BackgroundTasks
from bot.pipeline.catalogue import CheckState, Deadline, FilmFacts, Lookup
from bot.pipeline.catalogue.grounding import Grounding, PickSeen, UnverifiedPicks
from bot.pipeline.catalogue.items import Kind


def found(qid: str, title: str, year: int = 2000) -> Lookup:
    return Lookup(CheckState.VERIFIED, qid, FilmFacts(title, year, "movie"))


MISSING = Lookup(CheckState.NOT_FOUND)


class ScriptedCatalogue:
    """Answers each title with its scripted lookup once the test releases it."""

    def __init__(self, answers: dict[str, Lookup]) -> None:
        self.answers = answers
        self.released: dict[str, asyncio.Event] = {title: asyncio.Event() for title in answers}
        self.asked: list[str] = []
        self.asked_kinds: list[Kind | None] = []

    def release(self, *titles: str) -> None:
        for title in titles:
            self.released[title].set()

    async def lookup(
        self, title: str, year: int | None, kind: Kind | None, *, deadline: Deadline | None = None
    ) -> Lookup:
        self.asked.append(title)
        self.asked_kinds.append(kind)
        try:
            async with asyncio.timeout(None) as timeout:
                if deadline is not None:
                    deadline.attach(timeout)
                try:
                    await self.released[title].wait()
                finally:
                    if deadline is not None:
                        deadline.detach(timeout)
        except TimeoutError:
            return Lookup(CheckState.NOT_CHECKED)
        return self.answers[title]


@pytest.fixture
async def tasks() -> AsyncIterator[BackgroundTasks]:
    background = BackgroundTasks("test")
    yield background
    await background.stop()


def picks(*titles: str, count: int = 2) -> list[PickSeen]:
    """The titles in answer order: the first `count` shown, the rest spares."""
    return [
        PickSeen(index, title, 2000, "movie", True, index + 1 if index < count else None)
        for index, title in enumerate(titles)
    ]


async def settle(grounding: Grounding, catalogue: ScriptedCatalogue) -> None:
    catalogue.release(*catalogue.answers)
    grounding.answer_ended(5)
    await grounding.wait_settled()


def shown(grounding: Grounding) -> list[tuple[int, int]]:
    return [(slot.number, slot.index) for slot in grounding.slots()]


async def test_shown_picks_are_checking_until_the_catalogue_answers(
    tasks: BackgroundTasks,
) -> None:
    catalogue = ScriptedCatalogue({"A": found("Q1", "A"), "B": found("Q2", "B")})
    grounding = Grounding(catalogue, tasks)

    grounding.see(picks("A", "B"))
    await asyncio.sleep(0)
    checking = [slot.is_checking for slot in grounding.slots()]
    await settle(grounding, catalogue)

    assert checking == [True, True]
    assert [slot.lookup for slot in grounding.slots()] == [found("Q1", "A"), found("Q2", "B")]
    assert grounding.is_settled


async def test_a_pick_not_found_gives_its_number_to_a_spare(tasks: BackgroundTasks) -> None:
    catalogue = ScriptedCatalogue({"A": MISSING, "B": found("Q2", "B"), "C": found("Q3", "C")})
    grounding = Grounding(catalogue, tasks)

    grounding.see(picks("A", "B", "C"))
    await settle(grounding, catalogue)

    assert shown(grounding) == [(1, 2), (2, 1)]  # C took number 1, B kept number 2
    assert grounding.removal_of(0) == "not_found"


async def test_with_mark_a_pick_not_found_stays(tasks: BackgroundTasks) -> None:
    catalogue = ScriptedCatalogue({"A": MISSING, "B": found("Q2", "B"), "C": found("Q3", "C")})
    grounding = Grounding(catalogue, tasks, unverified=UnverifiedPicks.MARK)

    grounding.see(picks("A", "B", "C"))
    await settle(grounding, catalogue)

    assert shown(grounding) == [(1, 0), (2, 1)]
    assert grounding.slots()[0].lookup == MISSING


async def test_with_no_spare_left_a_pick_not_found_stays_marked(tasks: BackgroundTasks) -> None:
    catalogue = ScriptedCatalogue({"A": MISSING, "B": found("Q2", "B")})
    grounding = Grounding(catalogue, tasks)

    grounding.see(picks("A", "B"))
    await settle(grounding, catalogue)

    assert shown(grounding) == [(1, 0), (2, 1)]
    assert grounding.slots()[0].lookup == MISSING


async def test_a_spare_found_already_is_preferred_to_one_still_checking(
    tasks: BackgroundTasks,
) -> None:
    catalogue = ScriptedCatalogue(
        {"A": MISSING, "B": found("Q2", "B"), "C": found("Q3", "C"), "D": found("Q4", "D")}
    )
    grounding = Grounding(catalogue, tasks)
    grounding.see(picks("A", "B", "C", "D"))
    catalogue.release("D")
    await grounding.changed.wait()
    grounding.changed.clear()

    catalogue.release("A")
    await grounding.changed.wait()

    assert shown(grounding)[0] == (1, 3)  # D, already found, not C, still checking


async def test_a_film_to_avoid_under_another_title_is_replaced(tasks: BackgroundTasks) -> None:
    # "Arrival (2016)" was disliked; the model writes it as "Arrival: Director's Cut".
    catalogue = ScriptedCatalogue(
        {"Variant": found("Q1", "Arrival"), "B": found("Q2", "B"), "C": found("Q3", "C")}
    )
    grounding = Grounding(catalogue, tasks, avoided_qids={"Q1": "disliked"})

    grounding.see(picks("Variant", "B", "C"))
    await settle(grounding, catalogue)

    assert shown(grounding) == [(1, 2), (2, 1)]
    assert grounding.removal_of(0) == "disliked"


async def test_a_film_to_avoid_never_stays_even_with_mark_and_no_spare(
    tasks: BackgroundTasks,
) -> None:
    catalogue = ScriptedCatalogue({"A": found("Q1", "A"), "B": found("Q2", "B")})
    grounding = Grounding(
        catalogue, tasks, unverified=UnverifiedPicks.MARK, avoided_qids={"Q1": "seen"}
    )

    grounding.see(picks("A", "B"))
    await settle(grounding, catalogue)

    assert shown(grounding) == [(2, 1)]


async def test_a_spare_written_later_fills_an_emptied_number(tasks: BackgroundTasks) -> None:
    catalogue = ScriptedCatalogue(
        {"A": found("Q1", "A"), "B": found("Q2", "B"), "C": found("Q3", "C")}
    )
    grounding = Grounding(catalogue, tasks, avoided_qids={"Q1": "seen"})
    grounding.see(picks("A", "B"))
    catalogue.release("A")
    await grounding.changed.wait()
    emptied = shown(grounding)

    grounding.see(picks("A", "B", "C"))
    await settle(grounding, catalogue)

    assert emptied == [(2, 1)]
    assert shown(grounding) == [(1, 2), (2, 1)]


async def test_two_titles_of_one_film_keep_only_the_first(tasks: BackgroundTasks) -> None:
    catalogue = ScriptedCatalogue(
        {
            "Arrival": found("Q1", "Arrival"),
            "Arrival (2016)": found("Q1", "Arrival"),
            "C": found("Q3", "C"),
        }
    )
    grounding = Grounding(catalogue, tasks)

    grounding.see(picks("Arrival", "Arrival (2016)", "C"))
    await settle(grounding, catalogue)

    assert shown(grounding) == [(1, 0), (2, 2)]
    assert grounding.removal_of(1) == "repeated_in_answer"


async def test_the_model_is_wanted_until_every_shown_pick_is_found(
    tasks: BackgroundTasks,
) -> None:
    catalogue = ScriptedCatalogue({"A": found("Q1", "A"), "B": found("Q2", "B")})
    grounding = Grounding(catalogue, tasks)
    grounding.see(picks("A", "B"))
    before = grounding.wants_more_answer

    await settle(grounding, catalogue)

    assert before
    assert not grounding.wants_more_answer


async def test_a_pick_unresolved_at_the_deadline_is_not_checked(tasks: BackgroundTasks) -> None:
    catalogue = ScriptedCatalogue({"A": found("Q1", "A"), "B": found("Q2", "B")})
    grounding = Grounding(catalogue, tasks)
    grounding.see(picks("A", "B"))
    catalogue.release("A")

    grounding.answer_ended(0.05)
    await grounding.wait_settled()

    assert [slot.lookup for slot in grounding.slots()] == [
        found("Q1", "A"),
        Lookup(CheckState.NOT_CHECKED),
    ]


async def test_a_pick_is_looked_up_once_its_year_is_settled_and_only_once(
    tasks: BackgroundTasks,
) -> None:
    catalogue = ScriptedCatalogue({"A": found("Q1", "A")})
    grounding = Grounding(catalogue, tasks)
    unsettled = PickSeen(0, "A", None, None, False, 1)
    settled = PickSeen(0, "A", 2000, "movie", True, 1)

    grounding.see([unsettled])
    await asyncio.sleep(0)
    asked_before = list(catalogue.asked)
    grounding.see([settled])
    grounding.see([settled])
    await settle(grounding, catalogue)

    assert asked_before == []
    assert catalogue.asked == ["A"]


async def test_a_pick_found_as_the_other_kind_before_its_kind_came_is_asked_again(
    tasks: BackgroundTasks,
) -> None:
    series = Lookup(CheckState.VERIFIED, "Q7", FilmFacts("Fargo", 2014, "show"))
    catalogue = ScriptedCatalogue({"Fargo": series})
    catalogue.release("Fargo")
    grounding = Grounding(catalogue, tasks)
    grounding.see([PickSeen(0, "Fargo", 2014, None, True, 1)])  # the kind not written yet
    await grounding.changed.wait()

    grounding.see([PickSeen(0, "Fargo", 2014, "movie", True, 1)])
    grounding.answer_ended(5)
    await grounding.wait_settled()

    assert catalogue.asked_kinds == [None, "movie"]
