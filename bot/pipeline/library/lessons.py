"""What a member's library teaches the next suggestion.

A title on the watchlist is never offered as a new pick (left out, "already on your
watchlist"); rated titles follow the rules of ratings given in the bot: "not for me"
is avoided and steered away from, seen and liked titles are never suggested again,
and liked ones are candidates for the prompt's examples. A rating the member gave a
pick in the bot wins over the library's word on the same title.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.pipeline.domain import Rating
from bot.pipeline.picks import LeftOut
from bot.pipeline.records.library import LibraryEntry


@dataclass(frozen=True, slots=True)
class LibraryLessons:
    """The library's part of the next prompt, each list most recent first."""

    avoid: dict[str, LeftOut]  # keys to leave out of the reply, and why
    disliked: tuple[LibraryEntry, ...]  # rated "not for me"
    not_again: tuple[LibraryEntry, ...]  # seen, liked, or on the watchlist
    liked: tuple[LibraryEntry, ...]  # liked: candidates for the examples


def library_lessons(
    entries: Iterable[LibraryEntry], rated_in_bot: Iterable[str] = ()
) -> LibraryLessons:
    """Sort the member's library titles (most recent first) into what they teach;
    `rated_in_bot` holds the keys and film keys of the films rated as picks."""
    overridden = set(rated_in_bot)
    avoid: dict[str, LeftOut] = {}
    disliked: list[LibraryEntry] = []
    not_again: list[LibraryEntry] = []
    liked: list[LibraryEntry] = []
    for entry in entries:
        if entry.key in overridden or entry.film_key in overridden or entry.key in avoid:
            continue
        if entry.rating is Rating.NOT_FOR_ME:
            avoid[entry.key] = LeftOut.DISLIKED
            disliked.append(entry)
            continue
        if entry.rating is None:
            avoid[entry.key] = LeftOut.ON_WATCHLIST
        else:
            avoid[entry.key] = LeftOut.SEEN
        not_again.append(entry)
        if entry.rating is Rating.LIKED:
            liked.append(entry)
    return LibraryLessons(avoid, tuple(disliked), tuple(not_again), tuple(liked))


def entry_label(entry: LibraryEntry) -> str:
    """A library title as a person writes it: `Arrival (2016)`."""
    return f"{entry.title} ({entry.year})" if entry.year else entry.title


def entry_text(entry: LibraryEntry) -> str:
    """What is embedded of a library title, to compare it with requests."""
    return f"{entry_label(entry)}. {entry.description}".strip().rstrip(".") + "."


def named_first(labels: Sequence[str], more: Sequence[LibraryEntry], most: int) -> tuple[str, ...]:
    """Up to `most` titles to name in the prompt: `labels` first (the bot's own ratings),
    then the library's, each named once."""
    named = dict.fromkeys(labels)
    for entry in more:
        if len(named) >= most:
            break
        named.setdefault(entry_label(entry))
    return tuple(named)[:most]
