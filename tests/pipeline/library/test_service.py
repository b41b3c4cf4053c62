"""The library part: importing, matching in batches, saving picks, the watchlist."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.errors import InputError, NotAnExport
from bot.pipeline.domain import PickDraft, Rating, SuggestionTimings
from bot.pipeline.library.imports import ImportLimits
from bot.pipeline.library.service import Library, MatchProgress, MatchState
from bot.pipeline.picks import PickDecision
from bot.pipeline.records import Records
from tests.fakes.exports import imdb_csv, imdb_row, letterboxd_row, letterboxd_zip


class FakeMatcher:
    """Finds every title but those named; fails (not checked) from `fail_after` on."""

    def __init__(
        self, missing: frozenset[str] = frozenset(), fail_after: int | None = None
    ) -> None:
        self.missing = missing
        self.fail_after = fail_after
        self.asked: list[tuple[str, str | None]] = []

    async def match(
        self, title: str, year: int | None, kind: str | None, imdb_id: str | None
    ) -> tuple[MatchState, str | None]:
        if self.fail_after is not None and len(self.asked) >= self.fail_after:
            return MatchState.NOT_CHECKED, None
        self.asked.append((title, imdb_id))
        if title in self.missing:
            return MatchState.NOT_FOUND, None
        return MatchState.MATCHED, f"Q{len(self.asked)}"

    async def details(self, title: str, year: int | None, kind: str | None) -> None:
        return None


@pytest.fixture
async def records(tmp_path: Path) -> AsyncIterator[Records]:
    async with Records.open(tmp_path / "records.sqlite3") as opened:
        yield opened


def export() -> bytes:
    return letterboxd_zip(
        {
            "ratings.csv": [letterboxd_row("Alien", 1979, 4.5), letterboxd_row("Cats", 2019, 1)],
            "watched.csv": [letterboxd_row("Ran", 1985)],
            "watchlist.csv": [letterboxd_row("Stalker", 1979)],
        }
    )


async def test_an_export_is_read_then_stored_once(records: Records) -> None:
    library = Library(records.library, ImportLimits())
    parsed = library.read_import(export(), "letterboxd.zip")

    first = await library.store_import("alice", parsed)
    second = await library.store_import("alice", parsed)

    assert first.counts.added == 4
    assert (second.counts.added, second.counts.updated, second.counts.unchanged) == (0, 0, 4)
    page = await library.watchlist_page("alice")
    assert [entry.title for entry in page.entries] == ["Stalker"]


async def test_a_refused_file_stores_nothing(records: Records) -> None:
    library = Library(records.library, ImportLimits())
    with pytest.raises(NotAnExport):
        library.read_import(b"Account,Amount\n1,2\n", "bank.csv")
    assert (await library.watchlist_page("alice")).total == 0


async def test_titles_are_matched_in_batches_and_not_found_ones_listed(records: Records) -> None:
    matcher = FakeMatcher(missing=frozenset({"Cats"}))
    library = Library(records.library, ImportLimits(), matcher)
    await library.store_import("alice", library.read_import(export(), "x.zip"))
    seen: list[MatchProgress] = []

    async def progress(update: MatchProgress) -> None:
        seen.append(update)

    done = await library.match_titles("alice", progress)

    assert (done.checked, done.total, done.not_found, done.is_done) == (4, 4, 1, True)
    assert seen[-1].checked == 4
    assert [entry.title for entry in await library.not_found("alice")] == ["Cats"]
    assert await library.match_titles("alice") == MatchProgress(0, 0, 0, is_done=True)


async def test_imdb_ids_are_passed_to_the_matcher(records: Records) -> None:
    matcher = FakeMatcher()
    library = Library(records.library, ImportLimits(), matcher)
    parsed = library.read_import(imdb_csv([imdb_row("tt0078748", "Alien", 1979, 9)]), "r.csv")
    await library.store_import("alice", parsed)
    await library.match_titles("alice")
    assert matcher.asked == [("Alien", "tt0078748")]


async def test_matching_stopped_by_a_failing_catalogue_resumes_next_time(
    records: Records,
) -> None:
    library = Library(records.library, ImportLimits(), FakeMatcher(fail_after=2))
    await library.store_import("alice", library.read_import(export(), "x.zip"))

    stopped = await library.match_titles("alice")
    resumed = await Library(records.library, ImportLimits(), FakeMatcher()).match_titles("alice")

    assert (stopped.checked, stopped.is_interrupted) == (2, True)
    assert (resumed.checked, resumed.total, resumed.is_done) == (2, 2, True)


async def shown_suggestion(records: Records, member: str) -> int:
    suggestion_id = await records.suggestions.start_suggestion(
        member, "space", 2, (), "model", SuggestionTimings()
    )
    await records.picks.add_picks(
        suggestion_id,
        member,
        [
            PickDecision(PickDraft("Arrival", 2016, "movie", "Aliens land."), 1, None),
            PickDecision(PickDraft("Moon", 2009, "movie", "Alone on the moon."), 2, None),
        ],
    )
    return suggestion_id


async def test_any_member_saves_a_shown_pick_to_their_own_watchlist(records: Records) -> None:
    library = Library(records.library, ImportLimits())
    suggestion_id = await shown_suggestion(records, "alice")

    by_asker = await library.save_pick("alice", suggestion_id, 2)
    by_other = await library.save_pick("bob", suggestion_id, 2)
    again = await library.save_pick("bob", suggestion_id, 2)

    assert by_asker.entry is not None and by_asker.entry.title == "Moon"
    assert by_other.entry is not None and by_other.entry.member_id == "bob"
    assert again.was_there
    assert [e.description for e in (await library.watchlist_page("bob")).entries] == [
        "Alone on the moon."
    ]
    with pytest.raises(InputError, match="has no pick 3"):
        await library.save_pick("bob", suggestion_id, 3)


async def test_the_watchlist_is_paged(records: Records) -> None:
    library = Library(records.library, ImportLimits(), page_size=2)
    rows = [letterboxd_row(f"Film {n}", 2000 + n) for n in range(5)]
    parsed = library.read_import(letterboxd_zip({"watchlist.csv": rows}), "x.zip")
    await library.store_import("alice", parsed)

    pages = [await library.watchlist_page("alice", page) for page in (1, 2, 3, 9)]

    assert [len(page.entries) for page in pages] == [2, 2, 1, 1]
    assert (pages[3].page, pages[3].pages, pages[3].total) == (3, 3, 5)


async def test_removing_and_marking_watched_only_touch_the_members_watchlist(
    records: Records,
) -> None:
    library = Library(records.library, ImportLimits())
    suggestion_id = await shown_suggestion(records, "alice")
    arrival = (await library.save_pick("alice", suggestion_id, 1)).entry
    moon = (await library.save_pick("alice", suggestion_id, 2)).entry
    assert arrival is not None and moon is not None

    with pytest.raises(InputError, match="not on your watchlist"):
        await library.remove("bob", arrival.id)
    await library.mark_watched("alice", arrival.id, Rating.LIKED)
    await library.remove("alice", moon.id)

    assert (await library.watchlist_page("alice")).total == 0
    with pytest.raises(InputError):
        await library.mark_watched("alice", arrival.id, Rating.SEEN)
    [entry] = await records.library.lessons("alice")
    assert (entry.title, entry.rating) == ("Arrival", Rating.LIKED)


async def test_an_upload_over_the_limit_is_refused_before_reading(records: Records) -> None:
    library = Library(records.library, ImportLimits(max_bytes=100))
    with pytest.raises(InputError, match="at most"):
        library.check_upload_size(101)
    library.check_upload_size(100)
