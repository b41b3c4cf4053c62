"""What both front ends say about movie nights (the rest of the words are in
`presentation.py`, whose `Marks` these take).

Participants are named the front end's way (a mention on Discord, the name typed in
the terminal), passed in as text; the labels the model wrote become those names here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from bot.presentation import PLAIN, Marks, plural

NIGHT_LABEL = re.compile(r"\bMember ([A-J])\b")
POLL_ANSWER_LIMIT = 55  # Discord's longest poll answer
NIGHT_POLL_QUESTION = "Movie night: which one do we watch?"
ROLES_NOT_EXPANDED = (
    "Roles are not expanded into their members (that needs a privileged intent): "
    "mention each member instead."
)
NIGHT_NEEDS_TWO = "A movie night needs at least two members with tastes, you included."


def with_names(text: str, names: Mapping[str, str]) -> str:
    """The model's text with each label (`Member A`) replaced by that member's name."""
    return NIGHT_LABEL.sub(lambda match: names.get(match.group(0), match.group(0)), text)


def joined(names: list[str]) -> str:
    """`a`, `a and b`, `a, b and c`."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def night_heading(query: str, count: int, marks: Marks = PLAIN) -> str:
    """What a movie night asked for."""
    what = f" for “{marks.member_text(query)}”" if query else ""
    return f"Movie night: {plural(count, 'pick')}{what}"


def night_blending(names: list[str]) -> str:
    """Whose tastes were blended (never the tastes themselves)."""
    return f"Blending the tastes of {joined(names)}."


def night_without_tastes(name: str, add_taste_command: str) -> str:
    """A named member left out for want of tastes."""
    return f"{name} has no tastes yet: {add_taste_command} adds some."


def night_opted_out(names: list[str]) -> str:
    """Told privately to the asker: members who chose not to be blended into nights."""
    verb = "has" if len(names) == 1 else "have"
    return (
        f"{joined(names)} {verb} chosen not to be included in movie nights, so they are left out."
    )


def night_not_enough(without_tastes: list[str], opted_out: list[str], command: str) -> str:
    """Why a night cannot start: too few members with tastes, and who lacks them."""
    lines = [NIGHT_NEEDS_TWO]
    lines += [night_without_tastes(name, command) for name in without_tastes]
    if opted_out:
        lines.append(night_opted_out(opted_out))
    return "\n".join(lines)


def poll_answer(title: str, year: int | None) -> str:
    """A pick as a poll answer: the title with its year, shortened to fit Discord's 55."""
    suffix = f" ({year})" if year else ""
    room = POLL_ANSWER_LIMIT - len(suffix)
    if len(title) > room:
        title = title[: room - 1].rstrip() + "…"
    return f"{title}{suffix}"


def night_winner(title: str, votes: int, marks: Marks = PLAIN) -> str:
    """The announcement's first line."""
    return f"Tonight's pick: {marks.strong(marks.member_text(title))} with {plural(votes, 'vote')}."


def night_tie(titles: list[str], votes: int, winner: str, marks: Marks = PLAIN) -> str:
    """How a tie was broken."""
    shown = [marks.member_text(title) for title in titles]
    return (
        f"{joined(shown)} tied with {plural(votes, 'vote')} each; "
        f"{marks.member_text(winner)} wins as the pick the blend was surest of."
    )


MARK_SEEN_HINT = (
    "Took part? Mark it seen once you have watched it, and it is never suggested to you again."
)


def night_marked_seen(title: str, marks: Marks = PLAIN) -> str:
    """The private answer to marking a night's winner seen."""
    shown = marks.strong(marks.member_text(title))
    return f"Marked {shown} as seen: it will not be suggested to you again."


def privacy_state(is_opted_out: bool) -> str:
    """Whether others may blend the member's tastes into their movie nights."""
    if is_opted_out:
        return (
            "You are left out of other members' movie nights: nobody can blend your "
            "tastes into theirs."
        )
    return (
        "Other members can include you in their movie nights: the channel sees that your "
        "tastes were blended in, never the tastes themselves."
    )
