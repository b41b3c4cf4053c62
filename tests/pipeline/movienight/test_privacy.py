"""The scrubber: no run of five words of a taste survives, shorter runs do."""

from __future__ import annotations

from bot.pipeline.domain import PickDraft
from bot.pipeline.movienight.privacy import ELLIPSIS, TasteScrubber, word_runs

TASTE = "Slow-burn sci-fi with big ideas and quiet endings"


def test_a_quoted_run_of_five_words_is_replaced() -> None:
    scrubber = TasteScrubber([TASTE])

    shown = scrubber.scrub("Member A loves slow burn sci-fi with big ideas, so this fits.")

    assert not word_runs(shown) & word_runs(TASTE)
    assert shown.startswith("Member A loves ")
    assert shown.endswith(", so this fits.")
    assert ELLIPSIS in shown


def test_case_accents_and_punctuation_do_not_hide_a_run() -> None:
    scrubber = TasteScrubber(["Café noir films with rain-soaked streets at night"])

    shown = scrubber.scrub("CAFE NOIR films, with rain soaked streets!")

    assert not word_runs(shown) & word_runs("cafe noir films with rain soaked streets")


def test_four_words_in_a_row_are_left_alone() -> None:
    scrubber = TasteScrubber([TASTE])
    text = "A film of big ideas and quiet charm."

    assert scrubber.scrub(text) == text


def test_every_text_of_a_pick_is_scrubbed() -> None:
    scrubber = TasteScrubber([TASTE])
    pick = PickDraft(
        title="Arrival",
        description="It has big ideas and quiet endings too.",
        reasoning="For Member B: slow-burn sci-fi with big ideas.",
    )

    shown = scrubber.scrub_pick(pick)

    assert shown.title == "Arrival"
    for text in (shown.description, shown.reasoning):
        assert not word_runs(text) & word_runs(TASTE)
