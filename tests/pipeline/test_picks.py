"""Structured picks: the schema, the partial parser, the same-film key and the selector."""

from __future__ import annotations

import json

import pytest

from bot.pipeline.domain import PickDraft
from bot.pipeline.picks import (
    AnswerMode,
    LeftOut,
    PickList,
    PickSelector,
    PickStream,
    answer_schema,
    normalise_title,
    pick_key,
)

PICKS = [
    {
        "title": "Arrival",
        "year": 2016,
        "kind": "movie",
        "description": "A linguist races to understand visitors.",
        "reasoning": "The slow, cerebral sci-fi you love.",
        "confidence": 0.9,
    },
    {
        "title": "Dark",
        "year": 2017,
        "kind": "show",
        "description": "Four families unravel a time-travel conspiracy.",
        "reasoning": "Puzzle-box plotting, as you said.",
        "confidence": 0.6,
    },
]
ANSWER = json.dumps({"picks": PICKS}, indent=2, ensure_ascii=False)


def stream_of(text: str) -> PickStream:
    stream = PickStream()
    stream.feed(text)
    return stream


def test_the_schema_names_every_field_of_a_pick() -> None:
    schema = answer_schema()
    pick = schema["$defs"]["Pick"]
    assert set(pick["required"]) == {
        "title",
        "year",
        "kind",
        "description",
        "reasoning",
        "confidence",
    }
    assert pick["properties"]["kind"]["enum"] == ["movie", "show"]
    assert PickList.model_validate_json(ANSWER).picks[1].title == "Dark"


def test_cut_at_every_character_never_raises_and_picks_only_grow() -> None:
    previous: list[PickDraft] = []
    for end in range(len(ANSWER) + 1):
        drafts = stream_of(ANSWER[:end]).drafts
        assert len(drafts) >= len(previous)
        for before, now in zip(previous, drafts, strict=False):
            assert now.title == before.title
            assert now.description.startswith(before.description)
            assert before.year is None or now.year == before.year
            assert before.confidence is None or now.confidence == before.confidence
        previous = drafts
    assert [draft.title for draft in previous] == ["Arrival", "Dark"]


def test_a_title_shows_as_soon_as_its_string_is_closed() -> None:
    title_end = ANSWER.index('"Arrival"') + len('"Arrival"')
    assert stream_of(ANSWER[: title_end - 1]).drafts == []
    [draft] = stream_of(ANSWER[:title_end]).drafts
    assert draft.title == "Arrival"
    assert draft.year is None


def test_a_year_shows_only_when_it_cannot_grow_any_more() -> None:
    cut = ANSWER.index("2016") + 2  # "20"
    assert stream_of(ANSWER[:cut]).drafts[0].year is None
    cut = ANSWER.index('"kind"', ANSWER.index("2016"))
    assert stream_of(ANSWER[:cut]).drafts[0].year == 2016


def test_the_description_grows_while_it_is_written() -> None:
    cut = ANSWER.index("races") + 3
    [draft] = stream_of(ANSWER[:cut]).drafts
    assert draft.description == "A linguist rac"
    assert not draft.is_complete


def test_the_last_pick_is_complete_when_the_answer_closes() -> None:
    stream = stream_of(ANSWER)
    assert all(draft.is_complete for draft in stream.drafts)
    assert stream.drafts[-1].confidence == 0.6
    assert stream.mode is AnswerMode.STRUCTURED


def test_plain_text_is_recognised_at_its_first_character() -> None:
    stream = PickStream()
    stream.feed("  \n")
    assert stream.mode is AnswerMode.UNDECIDED
    stream.feed("1. **Arrival (2016)**")
    assert stream.mode is AnswerMode.TEXT
    assert stream.drafts == []


def test_json_in_a_code_fence_is_still_read_as_picks() -> None:
    stream = stream_of("```json\n" + ANSWER + "\n```")
    assert stream.mode is AnswerMode.STRUCTURED
    assert [draft.title for draft in stream.drafts] == ["Arrival", "Dark"]


def test_json_of_another_shape_is_text() -> None:
    stream = stream_of('{"recommendations": [{"name": "Arrival"')
    assert stream.mode is AnswerMode.TEXT


def test_json_that_breaks_before_any_pick_is_text() -> None:
    stream = stream_of('{"picks": [{"title": nope')
    assert stream.mode is AnswerMode.TEXT


def test_json_that_breaks_after_a_pick_keeps_the_picks() -> None:
    stream = stream_of(ANSWER[: ANSWER.index("Dark") - 20])
    stream.feed("}}}} oops {")
    assert stream.is_broken
    assert stream.mode is AnswerMode.STRUCTURED
    assert [draft.title for draft in stream.drafts] == ["Arrival"]


@pytest.mark.parametrize(
    ("one", "other"),
    [
        ("The Matrix", "matrix"),
        ("Amélie", "AMELIE"),
        ("Spider-Man: No Way Home", "spider man no way home"),
        ("  Léon:  The Professional ", "Leon the professional"),
    ],
)
def test_the_same_film_written_differently_has_one_key(one: str, other: str) -> None:
    assert pick_key(one, 1999) == pick_key(other, 1999)


def test_different_years_are_different_keys() -> None:
    assert pick_key("Dune", 1984) != pick_key("Dune", 2021)
    assert normalise_title("The Thing") == "thing"


def drafts(*titles: tuple[str, int | None]) -> list[PickDraft]:
    return [PickDraft(title, year, is_complete=year is not None) for title, year in titles]


def test_the_selector_leaves_out_avoided_titles_and_keeps_the_count() -> None:
    selector = PickSelector(2, {pick_key("Arrival", 2016): LeftOut.DISLIKED})
    answer = drafts(("arrival", 2016), ("Moon", 2009), ("Dark", 2017), ("Her", 2013))
    shown = selector.update(answer)
    assert [draft.title for draft in shown] == ["Moon", "Dark"]
    reasons = [decision.left_out for decision in selector.decisions(answer)]
    assert reasons == [LeftOut.DISLIKED, None, None, LeftOut.SPARE]


def test_the_selector_waits_for_the_year_of_a_title_to_avoid() -> None:
    selector = PickSelector(3, {pick_key("Dune", 1984): LeftOut.SEEN})
    assert selector.update([PickDraft("Dune")]) == ()
    assert [d.title for d in selector.update([PickDraft("Dune", 2021, is_complete=True)])] == [
        "Dune"
    ]


def test_the_selector_leaves_out_a_title_repeated_within_the_answer() -> None:
    selector = PickSelector(3, {})
    answer = drafts(("Moon", 2009), ("Moon", 2009), ("Her", 2013))
    assert [draft.title for draft in selector.update(answer)] == ["Moon", "Her"]
    assert selector.decisions(answer)[1].left_out is LeftOut.REPEATED
