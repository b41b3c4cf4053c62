"""Checks on the text members send, so bad input gets a clear answer, not a fault.

Text is normalised (NFC), whitespace runs become one space, invisible formatting
characters are removed (direction overrides and isolates, zero-width spaces, BOM: they
can reverse or hide what others read), and what is left must contain something
visible. Control characters and bytes that are not UTF-8 are refused. Markup is kept as
written: each front end escapes it where it shows member text.
"""

from __future__ import annotations

import re
import unicodedata

from bot.errors import InputError

# Line breaks and tabs are folded into spaces; any other control character is refused.
_FOLDED_WHITESPACE = "\n\r\t"
# Format characters (category Cf) that are part of how some scripts and emoji are
# written, so they stay: zero-width non-joiner and joiner.
_KEPT_FORMAT_CHARACTERS = frozenset("\u200c\u200d")
_VISIBLE_CATEGORIES = ("L", "N", "P", "S")


def clean_text(text: str, *, max_chars: int, what: str) -> str:
    """Normalise `text` (see the module docstring) or say why it is refused.

    `what` names the text for the member ("A taste", "A request").
    """
    for char in text:
        if unicodedata.category(char) == "Cs":
            raise InputError(
                f"{what} is not valid UTF-8 text (check your terminal's or file's encoding)."
            )
    normalised = unicodedata.normalize("NFC", text)
    for char in normalised:
        if char not in _FOLDED_WHITESPACE and unicodedata.category(char) == "Cc":
            raise InputError(f"{what} cannot contain control characters (found U+{ord(char):04X}).")
    shown = "".join(char for char in normalised if not _is_invisible_format(char))
    cleaned = " ".join(shown.split())
    if not cleaned:
        if normalised.strip():
            raise InputError(f"{what} has no visible characters: write a few words.")
        raise InputError(f"{what} cannot be empty: write a few words.")
    if not any(unicodedata.category(char).startswith(_VISIBLE_CATEGORIES) for char in cleaned):
        raise InputError(f"{what} has no visible characters: write a few words.")
    if len(cleaned) > max_chars:
        raise InputError(
            f"{what} can be at most {max_chars} characters; this one has {len(cleaned)}. "
            "Shorten it, or split it into several."
        )
    return cleaned


def _is_invisible_format(char: str) -> bool:
    return unicodedata.category(char) == "Cf" and char not in _KEPT_FORMAT_CHARACTERS


def taste_key(text: str) -> str:
    """What makes two tastes the same: NFC, spacing folded, case folded.

    The records keep it in a unique column, so the duplicate rule holds even for two
    processes at once. Registered as the SQL function `taste_key` for the migration.
    """
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


_ARTICLES = re.compile(r"^(the|a|an|le|la|les|l|el|los|las|der|die|das)\s+")
_NOT_WORD = re.compile(r"[^\w]+")


def normalise_title(title: str) -> str:
    """`The Matrix` and `matrix!` alike: casefolded, accents, punctuation and article gone."""
    decomposed = unicodedata.normalize("NFKD", title.casefold())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    words = _NOT_WORD.sub(" ", plain).replace("_", " ").strip()
    return _ARTICLES.sub("", words).strip()
