"""Checks on member text: what is folded, what is refused and how it is explained."""

import pytest

from bot.errors import InputError
from bot.pipeline.text import clean_text


def test_whitespace_runs_and_line_breaks_fold_to_single_spaces() -> None:
    assert (
        clean_text("  slow\n\tsci-fi   films ", max_chars=50, what="A taste") == "slow sci-fi films"
    )


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_or_whitespace_only_text_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="cannot be empty"):
        clean_text(text, max_chars=50, what="A taste")


def test_text_over_the_limit_is_refused_with_both_lengths() -> None:
    with pytest.raises(InputError, match="at most 10 characters; this one has 11"):
        clean_text("x" * 11, max_chars=10, what="A taste")


def test_text_at_the_limit_is_accepted() -> None:
    assert clean_text("x" * 10, max_chars=10, what="A taste") == "x" * 10


@pytest.mark.parametrize("char", ["\x00", "\x07", "\x1b", "\x7f"])
def test_control_characters_are_refused_and_named(char: str) -> None:
    with pytest.raises(InputError, match=f"U\\+{ord(char):04X}"):
        clean_text(f"noir{char}films", max_chars=50, what="A request")


def test_emoji_and_accents_are_kept() -> None:
    assert clean_text("Amélie 🎬", max_chars=50, what="A taste") == "Amélie 🎬"
