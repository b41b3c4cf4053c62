"""The recommendation prompt: the request, the matched tastes, what the member's ratings
taught us, and what to write.

Member text (the request, each taste) enters as a JSON string literal: its quotes and
line breaks are escaped, so no taste can close its quote and write lines that look
like the prompt's own structure. Titles from earlier answers are quoted the same way.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from bot.pipeline.domain import MatchedTaste

ChatMessage = dict[str, str]


@dataclass(frozen=True, slots=True)
class Learned:
    """What the member's ratings and recent picks add to a prompt; titles are written
    `Title (Year)`."""

    liked: tuple[str, ...] = ()  # liked picks most similar to the request, with a note
    disliked: tuple[str, ...] = ()  # rated "not for me": avoid these and their like
    not_again: tuple[str, ...] = ()  # seen, or suggested lately: never suggest again


def build_messages(
    *,
    system_prompt: str,
    query: str,
    matches: Sequence[MatchedTaste],
    count: int,
    learned: Learned | None = None,
) -> list[ChatMessage]:
    """The chat messages for one suggestion: the system prompt, then one user turn."""
    return [
        {"role": "system", "content": system_prompt},
        {
            "role": "user",
            "content": build_request(
                query=query, matches=matches, count=count, learned=learned or Learned()
            ),
        },
    ]


def build_request(
    *,
    query: str,
    matches: Sequence[MatchedTaste],
    count: int,
    learned: Learned | None = None,
) -> str:
    """The user turn, in the structure that works: request, matched tastes, what the
    ratings taught, instructions."""
    learned = learned or Learned()
    picks = "pick" if count == 1 else "picks"
    sections = [f"The member asks for: {quoted(query)}", _matched_tastes(matches)]
    sections += _learned(learned)
    sections.append(
        f"Recommend {count} specific movies or shows ({count} {picks}), best first. "
        'Answer only with JSON of this shape: {"picks": [{"title": the exact title, '
        '"year": the year of release, "kind": "movie" or "show", '
        '"description": a one-two sentence description, '
        '"reasoning": why it matches: ' + _why(matches) + ", "
        '"confidence": a number from 0.0 to 1.0 for how well it fits}]}. '
        "Recommend only real titles, none the member already named"
        + (" and none of the titles listed above as not to suggest" if _has_avoid(learned) else "")
        + "."
    )
    return "\n\n".join(sections)


def _matched_tastes(matches: Sequence[MatchedTaste]) -> str:
    if not matches:
        return "They have not told us their tastes yet, so base the picks on the request alone."
    lines = [
        f"{number}. {quoted(match.text)} (similarity {match.score:.2f})"
        for number, match in enumerate(matches, start=1)
    ]
    return (
        "Based on their preference history, these of their stated tastes are the most "
        "similar to the request (similarity from 0 to 1):\n" + "\n".join(lines)
    )


def quoted(member_text: str) -> str:
    """Member text as a JSON string literal (quotes and line breaks escaped)."""
    return json.dumps(member_text, ensure_ascii=False)


def _learned(learned: Learned) -> list[str]:
    sections = []
    if learned.liked:
        sections.append(
            "Picks they liked before, the most similar to this request first. Suggest "
            "titles in the same spirit, not these again:\n" + _bullets(learned.liked)
        )
    if learned.disliked:
        sections.append(
            "Picks they rated 'not for me'. Do not suggest these, and steer away from "
            "what they have in common:\n" + _bullets(learned.disliked)
        )
    if learned.not_again:
        sections.append(
            "Titles they have seen or were suggested lately. Do not suggest these "
            "again:\n" + _bullets(learned.not_again)
        )
    return sections


def _bullets(items: Sequence[str]) -> str:
    # Titles come from a model's earlier answers: quoted, so they stay data.
    return "\n".join(f"- {quoted(item)}" for item in items)


def _has_avoid(learned: Learned) -> bool:
    return bool(learned.disliked or learned.not_again or learned.liked)


def _why(matches: Sequence[MatchedTaste]) -> str:
    if not matches:
        return "refer to the request"
    return "refer to their history above by what they said"
