"""What the front ends say about the library (watchlist, marking watched, imports),
defined once beside `bot.presentation` (whose `Marks`, ratings and plurals it uses).

The terminal and Discord choose only the layout, as for the rest of the words.
"""

from __future__ import annotations

from bot.pipeline.domain import Rating
from bot.pipeline.library.imports import ParsedExport
from bot.pipeline.library.service import MatchProgress, StoredImport
from bot.pipeline.records.library import LibraryEntry
from bot.presentation import PLAIN, RATINGS_SHAPE_PICKS, Marks, plural, rating_text

NOT_MATCHED_FILE = "not-imported.txt"


def title_label(title: str, year: int | None) -> str:
    """A title as a person writes it: `Arrival (2016)`."""
    return f"{title} ({year})" if year else title


def saved_to_watchlist(title: str, year: int | None, marks: Marks = PLAIN) -> str:
    """The answer to saving a pick to one's watchlist."""
    return f"Saved {marks.strong(marks.member_text(title_label(title, year)))} to your watchlist."


def already_on_watchlist(title: str, year: int | None, marks: Marks = PLAIN) -> str:
    """The answer to saving a title that is on the watchlist already."""
    shown = marks.strong(marks.member_text(title_label(title, year)))
    return f"{shown} is already on your watchlist."


def empty_watchlist(save_hint: str) -> str:
    """What `watchlist` says to a member without any titles on it."""
    return f"Your watchlist is empty. {save_hint}"


def watchlist_heading(total: int, page: int, pages: int, marks: Marks = PLAIN) -> str:
    """The line above a page of the watchlist."""
    heading = marks.strong(f"Your watchlist: {plural(total, 'title')}")
    return f"{heading} (page {page} of {pages})" if pages > 1 else heading


def watchlist_line(entry: LibraryEntry, marks: Marks = PLAIN) -> str:
    """One title of the watchlist, numbered by the id `watchlist remove` takes."""
    details = [str(part) for part in (entry.year, entry.kind) if part]
    line = f"{marks.code(f'#{entry.id}')} {marks.strong(marks.member_text(entry.title))}"
    if details:
        line += f" ({' · '.join(details)})"
    if entry.rating is not None:
        line += f": {rating_text(entry.rating, marks)}"
    return line


def removed_from_watchlist(entry: LibraryEntry, marks: Marks = PLAIN) -> str:
    """The answer to taking a title off the watchlist."""
    shown = marks.strong(marks.member_text(title_label(entry.title, entry.year)))
    return f"Took {shown} off your watchlist."


def marked_watched(entry: LibraryEntry, rating: Rating, marks: Marks = PLAIN) -> str:
    """The answer to marking a watchlist title watched, with its rating."""
    shown = marks.strong(marks.member_text(title_label(entry.title, entry.year)))
    return f"Marked {shown} watched: {rating_text(rating, marks)}. {RATINGS_SHAPE_PICKS}"


def import_summary(stored: StoredImport) -> list[str]:
    """What an import held and what storing it changed, in a few lines."""
    parsed, counts = stored.parsed, stored.counts
    lines = [
        f"Imported {plural(len(parsed.titles), 'film')} from {parsed.source}: "
        f"{parsed.count(Rating.LIKED)} liked, {parsed.count(Rating.NOT_FOR_ME)} not for me, "
        f"{parsed.count(Rating.SEEN)} seen, {parsed.on_watchlist} to your watchlist."
    ]
    if counts.added == 0 and counts.updated == 0:
        lines.append("Nothing changed: you had imported all of it before.")
    elif counts.added < len(parsed.titles):
        lines.append(f"{counts.added} new, {counts.updated} updated, the rest unchanged.")
    if parsed.skipped_types:
        what = "is not a film or series" if parsed.skipped_types == 1 else "are not films or series"
        lines.append(
            f"Skipped {plural(parsed.skipped_types, 'title')} that {what} "
            "(episodes, shorts, games, …)."
        )
    if parsed.broken_rows:
        lines.append(
            f"Skipped {plural(len(parsed.broken_rows), 'broken row')}: "
            f"{parsed.broken_rows[0].describe()}"
            + (" (all listed in the file)." if len(parsed.broken_rows) > 1 else ".")
        )
    return lines


def matching_line(progress: MatchProgress) -> str:
    """How far matching the imported titles to the catalogue has come."""
    if progress.is_interrupted:
        return (
            f"The film catalogue stopped answering after {progress.checked} of "
            f"{progress.total} titles; the rest are kept by title and year and matched "
            "at your next import."
        )
    if not progress.is_done:
        return f"Matching titles to the film catalogue: {progress.checked} of {progress.total}…"
    if progress.not_found:
        return (
            f"Matched {progress.checked - progress.not_found} of {progress.total} titles to "
            f"the film catalogue; {progress.not_found} not matched (kept by title and year, "
            "listed in the file)."
        )
    return f"Matched all {plural(progress.total, 'title')} to the film catalogue."


def not_embedded(error: Exception) -> str:
    """When the imported titles could not be prepared for comparing with requests."""
    return (
        f"The titles are stored, but could not be compared with requests yet ({error}); "
        "until then the newest are named to the model first."
    )


def not_imported_text(parsed: ParsedExport, not_found: list[LibraryEntry]) -> str:
    """The attached list of what an import could not use or match, one line each."""
    lines = []
    if not_found:
        lines.append("Not found in the film catalogue (kept by title and year):")
        lines += [f"  {title_label(entry.title, entry.year)}" for entry in not_found]
    if parsed.broken_rows:
        lines.append("Rows that could not be read (skipped):")
        lines += [f"  {row.describe()}" for row in parsed.broken_rows]
    return "\n".join(lines) + "\n" if lines else ""


def erased_imports(count: int) -> str:
    """The answer to erasing one's imports."""
    if count == 0:
        return "You have nothing imported to erase."
    return f"Erased {plural(count, 'imported title')}. What you rated or saved in the bot is kept."
