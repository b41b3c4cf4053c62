"""Checks on the text members send, so bad input gets a clear answer, not a fault."""

from __future__ import annotations

import unicodedata

from bot.errors import InputError

# Line breaks and tabs are folded into spaces; any other control character is refused.
_FOLDED_WHITESPACE = "\n\r\t"


def clean_text(text: str, *, max_chars: int, what: str) -> str:
    """Normalise `text` (NFC, runs of whitespace to one space) or say why it is refused.

    `what` names the text for the member ("A taste", "A request").
    """
    normalised = unicodedata.normalize("NFC", text)
    for char in normalised:
        if char not in _FOLDED_WHITESPACE and unicodedata.category(char) == "Cc":
            raise InputError(f"{what} cannot contain control characters (found U+{ord(char):04X}).")
    cleaned = " ".join(normalised.split())
    if not cleaned:
        raise InputError(f"{what} cannot be empty: write a few words.")
    if len(cleaned) > max_chars:
        raise InputError(
            f"{what} can be at most {max_chars} characters; this one has {len(cleaned)}. "
            "Shorten it, or split it into several."
        )
    return cleaned


def taste_key(text: str) -> str:
    """What makes two tastes the same: NFC, spacing folded, case folded.

    The records keep it in a unique column, so the duplicate rule holds even for two
    processes at once. Registered as the SQL function `taste_key` for the migration.
    """
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()
