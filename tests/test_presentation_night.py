"""Movie night's words: labels become names, poll answers fit Discord's 55 characters."""

from __future__ import annotations

from bot.presentation_night import POLL_ANSWER_LIMIT, joined, poll_answer, with_names


def test_labels_become_names_and_nothing_else_changes() -> None:
    names = {"Member A": "<@1>", "Member B": "<@2>"}

    text = with_names("Suits Member A and Member B; Member C was not there. Members All.", names)

    assert text == "Suits <@1> and <@2>; Member C was not there. Members All."


def test_a_long_title_is_shortened_to_fit_a_poll_answer_with_its_year() -> None:
    title = "The Assassination of Jesse James by the Coward Robert Ford, Extended"

    answer = poll_answer(title, 2007)

    assert POLL_ANSWER_LIMIT - 1 <= len(answer) <= POLL_ANSWER_LIMIT
    assert answer.endswith("… (2007)")
    assert answer.startswith("The Assassination of Jesse James")


def test_a_short_title_is_kept_whole_with_its_year() -> None:
    assert poll_answer("Moon", 2009) == "Moon (2009)"
    assert poll_answer("Moon", None) == "Moon"


def test_names_are_joined_as_a_sentence_says_them() -> None:
    assert joined(["a"]) == "a"
    assert joined(["a", "b"]) == "a and b"
    assert joined(["a", "b", "c"]) == "a, b and c"
