"""Splitting a reply into messages: nothing lost, markdown never broken, splits stable."""

import pytest

from bot.discord_bot.streaming import split_message


def test_short_text_is_one_piece() -> None:
    assert split_message("hello", 10) == ["hello"]


def test_text_is_split_at_the_last_line_break_that_fits() -> None:
    text = "a" * 25 + "\n" + "b" * 10 + "\n" + "c" * 10
    assert split_message(text, 40) == ["a" * 25, "b" * 10 + "\n" + "c" * 10]


def test_without_a_line_break_text_is_split_at_a_space() -> None:
    text = " ".join(f"word{n}" for n in range(20))
    pieces = split_message(text, 60)
    assert all(len(piece) <= 60 for piece in pieces)
    assert " ".join(pieces) == text


def test_only_a_word_longer_than_the_limit_is_split_inside() -> None:
    assert split_message("abcdefghij kl", 4) == ["abcd", "efgh", "ij", "kl"]


@pytest.mark.parametrize("limit", [20, 57, 100, 2000])
def test_no_piece_is_too_long_and_no_word_is_lost(limit: int) -> None:
    text = "\n".join(f"{n}. A film about {'very ' * n}long evenings" for n in range(60))
    pieces = split_message(text, limit)
    assert all(len(piece) <= limit for piece in pieces)
    assert " ".join(pieces).split() == text.split()


def test_an_earlier_split_does_not_move_as_text_grows() -> None:
    text = "word " * 100 + "\n```python\n" + "x = 1\n" * 30
    first, second = split_message(text, 64)[:2]
    for n in range(80):
        assert split_message(text + "more " * n, 64)[:2] == [first, second]


def test_a_code_block_across_the_boundary_is_closed_and_reopened() -> None:
    code = [f"print('line {n}')" for n in range(30)]
    text = "Here is how:\n```python\n" + "\n".join(code) + "\n```\nThat is all."

    pieces = split_message(text, 200)

    assert len(pieces) >= 3
    for index, piece in enumerate(pieces):
        assert len(piece) <= 200
        fences = [line for line in piece.split("\n") if line.startswith("```")]
        assert len(fences) % 2 == 0, f"piece {index} leaves a code block open"
        if index > 0:
            assert piece.startswith("```python\n"), "the block is reopened with its language"
    # Nothing lost or repeated: take away the fences the split added, and the text is whole.
    inner = [piece.removesuffix("\n```") for piece in pieces[:-1]] + [pieces[-1]]
    inner = [inner[0]] + [piece.removeprefix("```python\n") for piece in inner[1:]]
    assert "\n".join(inner) == text


def test_a_long_line_is_not_split_inside_bold() -> None:
    title = "**The Long Goodbye of Everyone Involved (1973)**"
    line = "A quiet film worth the evening, " * 4 + title + " and more words after it " * 3

    pieces = split_message(line, 150)

    assert all(piece.count("**") % 2 == 0 for piece in pieces)
    assert any(title in piece for piece in pieces)
    assert " ".join(pieces) == line


def test_a_bold_span_longer_than_a_message_is_closed_and_reopened() -> None:
    text = "**" + " ".join(f"word{n}" for n in range(60)) + "**"

    pieces = split_message(text, 120)

    assert len(pieces) >= 3
    assert all(piece.startswith("**") and piece.endswith("**") for piece in pieces)
    assert " ".join(piece.strip("*") for piece in pieces) == text.strip("*")


def test_lines_of_a_pick_list_stay_whole() -> None:
    picks = [
        f"{n}. **Film number {n} ({1990 + n})** — because you like slow, patient stories"
        for n in range(1, 11)
    ]
    text = "Here are your picks:\n" + "\n".join(picks)

    pieces = split_message(text, 300)

    assert len(pieces) >= 3
    shown_lines = [line for piece in pieces for line in piece.split("\n")]
    assert all(pick in shown_lines for pick in picks)


def test_a_split_prefers_a_full_message_to_an_early_line_break() -> None:
    text = "Short intro.\n" + " ".join(f"word{n}" for n in range(100))

    pieces = split_message(text, 200)

    assert len(pieces[0]) >= 100, "the first message should not stop after the intro"
    assert " ".join(pieces).replace("\n", " ").split() == text.split()
