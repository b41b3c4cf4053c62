"""The recommendation prompt: the request, the matched tastes, and what to write.

Member text (the request, each taste) enters as a JSON string literal: its quotes and
line breaks are escaped, so no taste can close its quote and write lines that look
like the prompt's own structure.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.pipeline.events import MatchedTaste

ChatMessage = dict[str, str]


def build_messages(
    *,
    system_prompt: str,
    query: str,
    matches: Sequence[MatchedTaste],
    count: int,
) -> list[ChatMessage]:
    """The chat messages for one suggestion: the system prompt, then one user turn."""
    return [
        {"role": "system", "content": system_prompt},
        {"role": "user", "content": build_request(query=query, matches=matches, count=count)},
    ]


def build_request(*, query: str, matches: Sequence[MatchedTaste], count: int) -> str:
    """The user turn, in the structure that works: request, history, instructions."""
    picks = "pick" if count == 1 else "picks"
    sections = [f"The member asks for: {quoted(query)}", _history(matches)]
    sections.append(
        f"Recommend {count} specific movies or shows ({count} {picks}) as a numbered list. "
        "For each, give:\n"
        "- the title and year, in bold: **Title (Year)**\n"
        "- a one-two sentence description\n"
        "- why it matches: " + _why(matches) + "\n"
        "- confidence: a number from 0.0 to 1.0 for how well it fits\n"
        "Recommend only real titles, none the member already named, and nothing else "
        "before or after the list."
    )
    return "\n\n".join(sections)


def _history(matches: Sequence[MatchedTaste]) -> str:
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


def _why(matches: Sequence[MatchedTaste]) -> str:
    if not matches:
        return "refer to the request"
    return "refer to their history above by what they said"
