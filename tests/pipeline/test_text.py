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


@pytest.mark.parametrize(
    "text",
    ["\u200b\u200b", "\u200d", "\u202e\u2066", "\ufeff \u200b", "\u0301"],
    ids=["zero-width-spaces", "joiner", "direction-marks", "bom", "combining-mark-alone"],
)
def test_text_with_nothing_visible_is_refused(text: str) -> None:
    with pytest.raises(InputError, match="no visible characters"):
        clean_text(text, max_chars=50, what="A taste")


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("\u202enoir films", "noir films"),  # right-to-left override
        ("noir\u2066 films\u2069", "noir films"),  # isolates
        ("no\u200bir", "noir"),  # zero-width space
        ("\ufeffnoir", "noir"),  # byte order mark
    ],
)
def test_direction_overrides_and_zero_width_characters_are_removed(text: str, kept: str) -> None:
    assert clean_text(text, max_chars=50, what="A taste") == kept


def test_an_emoji_sequence_keeps_its_joiner() -> None:
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"
    assert clean_text(f"films for {family}", max_chars=50, what="A taste").endswith(family)


def test_bytes_that_are_not_utf8_are_refused() -> None:
    undecodable = b"noir \xff films".decode("utf-8", "surrogateescape")
    with pytest.raises(InputError, match="not valid UTF-8"):
        clean_text(undecodable, max_chars=50, what="A taste")
