"""The movie-night prompt: several members' tastes blended into one request.

Each participant appears under a neutral label (Member A, Member B, …), never by name:
names are put back only when a front end renders the reply. Per participant the
prompt holds their tastes that best match the request (their newest without one) and
the titles they liked, as examples; then every title any participant disliked, has
seen or was suggested lately, as titles not to suggest (at most `avoided_per_member`
of each participant's; the rest are left out of the reply if the model suggests them);
and the titles on their watchlists, which are welcome. Member text enters quoted, as in
`prompt.py`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.pipeline.prompt import ChatMessage, quoted

LABELS = "ABCDEFGHIJ"  # one per participant: at most ten take part


def member_label(index: int) -> str:
    """The neutral name of the participant at `index` (from 0): `Member A`."""
    return f"Member {LABELS[index]}"


@dataclass(frozen=True, slots=True)
class BlendedMember:
    """What one participant adds to the prompt."""

    label: str
    tastes: tuple[str, ...]  # their stated tastes best matching the request
    liked: tuple[str, ...] = ()  # liked titles, `Title (Year): note`
    avoid: tuple[str, ...] = ()  # titles they disliked, have seen or were suggested
    wanted: tuple[str, ...] = ()  # titles on their watchlist


def build_night_messages(
    *,
    system_prompt: str,
    query: str,
    members: Sequence[BlendedMember],
    count: int,
    avoided_per_member: int,
) -> list[ChatMessage]:
    """The chat messages for one movie night: the system prompt, then one user turn."""
    return [
        {"role": "system", "content": system_prompt},
        {
            "role": "user",
            "content": build_night_request(
                query=query, members=members, count=count, avoided_per_member=avoided_per_member
            ),
        },
    ]


def build_night_request(
    *, query: str, members: Sequence[BlendedMember], count: int, avoided_per_member: int
) -> str:
    """The user turn: the group, each member's part, what to avoid, what to write."""
    labels = ", ".join(member.label for member in members)
    sections = [
        f"A group of {len(members)} is choosing what to watch together: {labels}. "
        "They are called by these labels here, not by their names.",
        f"The group asks for: {quoted(query)}"
        if query
        else "The group has not asked for anything in particular: find what suits them all.",
    ]
    sections += [_member_section(member) for member in members]
    avoid = _first_of_each(members, avoided_per_member)
    if avoid:
        sections.append(
            "Titles someone in the group disliked, has seen or was suggested lately. "
            "Do not suggest these:\n" + _bullets(avoid)
        )
    wanted = list(dict.fromkeys(title for member in members for title in member.wanted))
    if wanted:
        sections.append(
            "Titles on a member's watchlist: they want to see these, so they are welcome "
            "picks when they suit the group:\n" + _bullets(wanted)
        )
    picks = "pick" if count == 1 else "picks"
    sections.append(
        f"Recommend {count} specific movies or shows ({count} {picks}) the whole group "
        "would enjoy together, best first. Answer only with JSON of this shape: "
        '{"picks": [{"title": the exact title, "year": the year of release, '
        '"kind": "movie" or "show", "description": a one-two sentence description, '
        '"reasoning": whom it suits and why, naming members only by their labels '
        "(Member A, Member B) and never quoting what they said, "
        '"confidence": a number from 0.0 to 1.0 for how well it fits the group}]}. '
        "Recommend only real titles, none of the titles listed above as liked or not "
        "to suggest."
    )
    return "\n\n".join(sections)


def _member_section(member: BlendedMember) -> str:
    lines = [f"{member.label}'s tastes, in their words:", _bullets(member.tastes)]
    if member.liked:
        lines += [f"Titles {member.label} liked (examples, not to suggest again):"]
        lines.append(_bullets(member.liked))
    return "\n".join(lines)


def _first_of_each(members: Sequence[BlendedMember], most: int) -> list[str]:
    """Each member's first `most` titles to avoid, each title once."""
    return list(dict.fromkeys(title for member in members for title in member.avoid[:most]))


def _bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {quoted(item)}" for item in items)
