"""What the front ends say, defined once: a suggestion's header, a pick, the learning
line, the end line, tastes, history lines, ratings and the forget-all questions.

The terminal and Discord choose only the layout. Each passes a `Marks` (how it sets
text strong, emphasised, as code, quoted, or member text made safe to show) and
arranges the lines its own way: indented plain lines, or markdown. Commands are named
by the front end (`/prefer`, or `suggest-watch prefer "…"`) and passed in as text.
Nothing here imports discord.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import groupby

from bot.pipeline.catalogue import CheckState, FilmFacts, FilmLinks, Lookup
from bot.pipeline.domain import PastPick, PickDraft, Rating, Taste, label
from bot.pipeline.events import Finished, Retrieved


def as_written(text: str) -> str:
    """Text left as it is (the plain layout's every mark)."""
    return text


@dataclass(frozen=True)
class Marks:
    """How one front end lays words out; the default is plain text."""

    strong: Callable[[str], str] = as_written
    emphasis: Callable[[str], str] = as_written
    code: Callable[[str], str] = as_written
    quote: Callable[[str], str] = as_written
    # Text a member or the model wrote, made safe to show (no markup, no mentions).
    member_text: Callable[[str], str] = as_written
    # Shown before a rating's name (an emoji on Discord).
    rating_icons: Mapping[Rating, str] = field(default_factory=dict)


PLAIN = Marks()


def plural(count: int, noun: str) -> str:
    """`1 pick`, `3 picks`: a count with its noun."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# -- ratings ------------------------------------------------------------------------------

RATING_NAMES = {Rating.LIKED: "liked", Rating.NOT_FOR_ME: "not for me", Rating.SEEN: "seen it"}
NOT_RATED = "not rated"
RATINGS_SHAPE_PICKS = "Your ratings shape your next picks."


def rating_text(rating: Rating | None, marks: Marks = PLAIN) -> str:
    """A rating as a member reads it (`liked`, `not for me`, `seen it`, `not rated`)."""
    if rating is None:
        return NOT_RATED
    icon = marks.rating_icons.get(rating)
    return f"{icon} {RATING_NAMES[rating]}" if icon else RATING_NAMES[rating]


def rated_pick(
    position: int | None, title: str, rating: Rating | None, marks: Marks = PLAIN
) -> str:
    """One pick with its rating: `2. The Leftovers (2014): seen it`."""
    return f"{position}. {marks.member_text(title)}: {rating_text(rating, marks)}"


# -- the header of a suggestion --------------------------------------------------------------

NO_TASTES_YET = "You have no tastes yet, so these picks come from your request alone."


def request_heading(query: str, count: int, marks: Marks = PLAIN) -> str:
    """What was asked: `4 picks for “noir”`."""
    return f"{plural(count, 'pick')} for “{marks.member_text(query)}”"


def with_detail(sentence: str, detail: str, end: str) -> str:
    """`sentence (detail)` and its ending; no parentheses without a detail."""
    return f"{sentence} ({detail}){end}" if detail else f"{sentence}{end}"


def add_tastes_hint(command: str) -> str:
    """How to add a taste, `command` named the front end's way."""
    return f"Add tastes with: {command}"


def header_lines(
    event: Retrieved, add_taste_command: str, marks: Marks = PLAIN, detail: str = ""
) -> list[str]:
    """Which of the member's tastes shape the answer, and what their ratings teach it.

    `detail` (the timings, in the terminal) follows the first sentence in parentheses."""
    if event.matches:
        lines = [with_detail(f"Matched {len(event.matches)} of your tastes", detail, ":")]
        lines += [
            marks.quote(f"{marks.code(f'{match.score:.2f}')} {marks.member_text(match.text)}")
            for match in event.matches
        ]
    elif event.has_tastes:
        lines = [with_detail("None of your tastes matched this request closely", detail, ".")]
    else:
        lines = [NO_TASTES_YET, add_tastes_hint(add_taste_command)]
    if event.liked_examples or event.avoided_count:
        lines.append(learning_line(event))
    return lines


def learning_line(event: Retrieved) -> str:
    """How the member's ratings shape this answer."""
    return (
        f"Learning from your ratings: {plural(len(event.liked_examples), 'liked pick')} as "
        f"examples, {plural(event.avoided_count, 'title')} kept out."
    )


# -- a pick ---------------------------------------------------------------------------------

PICK_REASON = "Why:"
PICK_CONFIDENCE = "Confidence:"


def pick_title(number: int, pick: PickDraft, marks: Marks = PLAIN) -> str:
    """A pick's first line: its number and title."""
    return marks.strong(f"{number}. {marks.member_text(pick.title)}")


def pick_details(pick: PickDraft) -> list[str]:
    """What follows the title on its line: the year and the kind, as far as known."""
    return [str(part) for part in (pick.year, pick.kind) if part]


def pick_notes(pick: PickDraft, marks: Marks = PLAIN) -> list[str]:
    """The lines under the title: the description, why it fits, how sure the model is."""
    notes = [marks.member_text(pick.description)] if pick.description else []
    if pick.reasoning:
        notes.append(f"{marks.emphasis(PICK_REASON)} {marks.member_text(pick.reasoning)}")
    if pick.confidence is not None:
        notes.append(f"{marks.emphasis(PICK_CONFIDENCE)} {pick.confidence:.0%}")
    return notes


# -- the end of a suggestion ----------------------------------------------------------------

CUT_BY_LENGTH = (
    "This answer was cut off by the length limit, so it stops mid-way. "
    "Ask for fewer picks to get a complete answer."
)
NO_NEW_PICKS = "No new picks this time: try asking differently."
STOPPED = "Stopped. What was written so far is kept."
KEPT_BEFORE_FAULT = "What arrived before the problem is kept above."


def left_out_line(count: int) -> str:
    """Picks the model wrote that the member is not shown again."""
    return (
        f"Left out {plural(count, 'pick')} you disliked, have seen, were suggested lately "
        "or have on your watchlist."
    )


def end_lines(event: Finished, how_to_rate: str) -> list[str]:
    """What follows the picks of a structured answer: repeats left out, and how to rate
    them (`how_to_rate`, the front end's own way); nothing for a plain-text answer."""
    if not event.is_structured:
        return []
    lines = [left_out_line(event.left_out_count)] if event.left_out_count else []
    lines.append(how_to_rate if event.picks else NO_NEW_PICKS)
    return lines


# -- tastes -----------------------------------------------------------------------------------

NOT_SEARCHABLE_YET = "(not searchable yet)"
NO_TASTES_TO_FORGET = "You have no tastes to forget."
KEPT_TASTES = "Kept your tastes."


def no_tastes(add_taste_command: str) -> str:
    """What `tastes` says to a member without any."""
    return f"You have no tastes yet. Add one with: {add_taste_command}"


def tastes_heading(count: int, marks: Marks = PLAIN) -> str:
    """The line above a member's tastes."""
    return marks.strong(f"Your {plural(count, 'taste')}")


def taste_line(taste: Taste, marks: Marks = PLAIN) -> str:
    """One taste, numbered by the id `forget` takes."""
    pending = f" {marks.emphasis(NOT_SEARCHABLE_YET)}" if taste.is_pending else ""
    return f"{marks.code(f'#{taste.id}')} {marks.member_text(taste.text)}{pending}"


def stored_taste(taste: Taste, marks: Marks = PLAIN) -> str:
    """The answer to storing a taste."""
    return f"Stored taste {marks.code(f'#{taste.id}')}: {marks.member_text(taste.text)}"


def forgot_taste(taste: Taste, marks: Marks = PLAIN) -> str:
    """The answer to forgetting one taste."""
    return f"Forgot taste {marks.code(f'#{taste.id}')}: {marks.member_text(taste.text)}"


# -- forgetting all, then perhaps the history ---------------------------------------------

KEPT_HISTORY = "Kept your history and ratings."


def forget_all_question(count: int) -> str:
    """Asked before all of a member's tastes go."""
    return f"Forget all {count} of your tastes? This cannot be undone."


def forgot_all(count: int) -> str:
    """The answer to forgetting all tastes."""
    return f"Forgot all {count} of your tastes."


def erase_history_question(suggestions: int, library_titles: int = 0) -> str | None:
    """Asked once a member's tastes are gone; None when there is no history to erase."""
    if suggestions == 0 and library_titles == 0:
        return None
    library = (
        f", and your library of {plural(library_titles, 'title')} (watchlist and imports)"
        if library_titles
        else ""
    )
    return (
        f"Also erase your history: {plural(suggestions, 'suggestion')}, their picks and "
        f"your ratings{library}? Your next picks will not learn from them."
    )


def erased_history(suggestions: int, library_titles: int = 0) -> str:
    """The answer to erasing a member's history."""
    library = f" and your library of {plural(library_titles, 'title')}" if library_titles else ""
    return f"Erased your history of {plural(suggestions, 'suggestion')} and their ratings{library}."


# -- history --------------------------------------------------------------------------------


def no_picks_yet(suggest_command: str) -> str:
    """What `history` says to a member without any picks."""
    return f"You have no picks yet. Ask for some with: {suggest_command}"


def history_heading(count: int, marks: Marks = PLAIN) -> str:
    """The line above a member's recent picks."""
    return marks.strong(f"Your {plural(count, 'most recent pick')}, newest first")


def history_groups(picks: list[PastPick], marks: Marks = PLAIN) -> list[tuple[str, list[str]]]:
    """The member's picks grouped under their request: (the request's line, its picks)."""
    groups = []
    for _, group in groupby(picks, key=lambda pick: pick.suggestion_id):
        in_request = list(group)
        first = in_request[0]
        heading = (
            f"{marks.code(f'#{first.suggestion_id}')} “{marks.member_text(first.query)}” "
            f"· {first.created_at:%Y-%m-%d}"
        )
        lines = [rated_pick(p.position, label(p), p.rating, marks) for p in in_request]
        groups.append((heading, lines))
    return groups


# -- what the film catalogue says of a pick -----------------------------------------------

CATALOGUE_CREDIT = "Film data: Wikidata, CC0"
CATALOGUE_URL = "https://www.wikidata.org/"
WHERE_TO_WATCH = "Where to watch"
CHECK_MARKS = {
    CheckState.CHECKING: "checking…",
    CheckState.NOT_FOUND: "not found in the catalogue",
    CheckState.NOT_CHECKED: "not checked",
}
KIND_WORDS = {"movie": "film", "show": "series"}
MAX_DIRECTORS_NAMED = 3
# Wikidata's genre labels name the medium too ("drama film"); the kind says it already.
_GENRE_SUFFIXES = (" television series", " film", " series")


def check_mark(check: Lookup | None) -> str | None:
    """What a pick is marked while or because it is not verified; None when found or
    when no catalogue is used."""
    return CHECK_MARKS.get(check.state) if check is not None else None


def genre_name(label: str) -> str:
    """`science fiction film` -> `science fiction`."""
    for suffix in _GENRE_SUFFIXES:
        if label.endswith(suffix) and len(label) > len(suffix):
            return label.removesuffix(suffix)
    return label


def film_facts(facts: FilmFacts) -> str:
    """The catalogue's facts on one line: `film · 116 min · science fiction, drama ·
    directed by Mara Quill`."""
    parts = [KIND_WORDS.get(facts.kind, facts.kind)]
    if facts.runtime_minutes:
        parts.append(f"{facts.runtime_minutes} min")
    if facts.genres:
        parts.append(", ".join(dict.fromkeys(genre_name(genre) for genre in facts.genres)))
    if facts.directors:
        named = ", ".join(facts.directors[:MAX_DIRECTORS_NAMED])
        others = len(facts.directors) - MAX_DIRECTORS_NAMED
        parts.append(
            f"directed by {named}" + (f" and {plural(others, 'other')}" if others > 0 else "")
        )
    return " · ".join(parts)


def film_links(links: FilmLinks) -> list[tuple[str, str]]:
    """The links of a found pick, named: Wikipedia, IMDb, Letterboxd, where to watch."""
    named = [
        ("Wikipedia", links.wikipedia),
        ("IMDb", links.imdb),
        ("Letterboxd", links.letterboxd),
        (WHERE_TO_WATCH, links.justwatch),
    ]
    return [(name, url) for name, url in named if url]


def not_checked_line(count: int) -> str:
    """The footer line when the catalogue could not check some picks in time."""
    return (
        f"{plural(count, 'pick')} could not be checked against the film catalogue "
        "(it did not answer in time)."
    )


def catalogue_end_lines(picks: Sequence[PickDraft]) -> list[str]:
    """After grounded picks: how many could not be checked; nothing without a catalogue."""
    if not any(pick.check is not None for pick in picks):
        return []
    not_checked = sum(
        1 for pick in picks if pick.check is not None and pick.check.state is CheckState.NOT_CHECKED
    )
    return [not_checked_line(not_checked)] if not_checked else []


def uses_catalogue(picks: Sequence[PickDraft]) -> bool:
    """Whether these picks were checked against the film catalogue (to credit it)."""
    return any(pick.check is not None for pick in picks)
