"""What a reaction on a suggestion's answer means: 👍 👎 rate every pick, a number one pick."""

from __future__ import annotations

import logging

from bot.errors import InputError
from bot.pipeline.domain import Rating
from bot.pipeline.pipeline import Pipeline

log = logging.getLogger(__name__)

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


async def rate_by_reaction(
    pipeline: Pipeline, member_id: str, suggestion_id: int, emoji: str, *, added: bool
) -> None:
    """Apply (or take back) the rating a reaction gives; nothing for other emoji.

    Someone else's answer, an answer without picks (plain text, or still being
    written) or a number with no pick rates nothing, and that is only logged.
    """
    meaning = rating_of(emoji)
    if meaning is None:
        return
    rating, position = meaning
    source = reaction_source(emoji)
    try:
        if added:
            await pipeline.rate(member_id, suggestion_id, rating, position, source)
        else:
            await pipeline.unrate(member_id, suggestion_id, rating, position, source)
    except InputError as exc:
        log.info("Reaction %s on suggestion #%d rates nothing: %s", emoji, suggestion_id, exc)
