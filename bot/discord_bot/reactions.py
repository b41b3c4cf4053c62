"""What a reaction on a suggestion's answer means: 👍 👎 rate every pick, a number one pick."""

from __future__ import annotations

from bot.pipeline.events import Rating

LIKE = "👍"
DISLIKE = "👎"
RATING_EMOJIS = (LIKE, DISLIKE)
# 1️⃣ .. 9️⃣ then 🔟: a member reacts with a pick's number to say they liked that pick.
KEYCAPS = (*(f"{digit}\ufe0f\u20e3" for digit in "123456789"), "🔟")
_WHOLE_ANSWER = {LIKE: Rating.LIKED, DISLIKE: Rating.NOT_FOR_ME}


def rating_of(emoji: str) -> tuple[Rating, int | None] | None:
    """The rating a reaction gives and the pick it is for (None: every pick); None if
    the reaction is not a rating."""
    if emoji in _WHOLE_ANSWER:
        return _WHOLE_ANSWER[emoji], None
    if emoji in KEYCAPS:
        return Rating.LIKED, KEYCAPS.index(emoji) + 1
    return None


def reaction_source(emoji: str) -> str:
    """How a rating by this reaction is recorded, so removing it takes back only it."""
    return f"reaction:{emoji}"
