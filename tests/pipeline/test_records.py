"""The SQLite records: schema, tastes per member, suggestions, feedback, restarts."""

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.errors import DuplicateTaste, RecordsError, TasteLimitReached
from bot.pipeline.events import (
    GenerationStats,
    MatchedTaste,
    PickDraft,
    Rating,
    SuggestionStatus,
    SuggestionTimings,
)
from bot.pipeline.picks import LeftOut, PickDecision
from bot.pipeline.records import MIGRATIONS, SCHEMA_VERSION, Records

LIMIT = 200


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "records.sqlite3"


@pytest.fixture
async def records(db_path: Path) -> AsyncIterator[Records]:
    async with Records.open(db_path) as opened:
        yield opened


async def test_a_new_database_is_migrated_to_the_current_schema(records: Records) -> None:
    assert await records.schema_version() == SCHEMA_VERSION


async def test_the_database_uses_write_ahead_logging(records: Records, db_path: Path) -> None:
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_database_from_a_newer_release_is_refused(db_path: Path) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(RecordsError, match="newer than this release"):
        async with Records.open(db_path):
            pass


async def test_tastes_are_listed_per_member_oldest_first(records: Records) -> None:
    first = await records.add_taste("alice", "noir", limit=LIMIT)
    await records.add_taste("bob", "musicals", limit=LIMIT)
    second = await records.add_taste("alice", "heists", limit=LIMIT)
    assert [t.id for t in await records.list_tastes("alice")] == [first.id, second.id]
    assert [t.text for t in await records.list_tastes("bob")] == ["musicals"]


async def test_get_tastes_never_returns_another_members_taste(records: Records) -> None:
    alices = await records.add_taste("alice", "noir", limit=LIMIT)
    bobs = await records.add_taste("bob", "musicals", limit=LIMIT)
    found = await records.get_tastes("alice", [alices.id, bobs.id])
    assert set(found) == {alices.id}


async def test_erasing_only_touches_the_members_own(records: Records) -> None:
    bobs = await records.add_taste("bob", "musicals", limit=LIMIT)
    assert await records.mark_deleting("alice", [bobs.id]) == []
    assert await records.delete_tastes("alice", [bobs.id]) == 0
    assert await records.count_tastes("bob") == 1
    assert await records.mark_deleting("bob", [bobs.id]) == [bobs.id]
    assert await records.delete_tastes("bob", [bobs.id]) == 1
    assert await records.count_tastes("bob") == 0


async def test_find_taste_ignores_case_and_spacing(records: Records) -> None:
    taste = await records.add_taste("alice", "Film Noir", limit=LIMIT)
    assert await records.find_taste("alice", "film  NOIR") == taste
    assert await records.find_taste("bob", "film noir") is None


async def test_the_database_refuses_a_duplicate_taste(records: Records) -> None:
    taste = await records.add_taste("alice", "Film Noir", limit=LIMIT)
    with pytest.raises(DuplicateTaste, match=f"#{taste.id}"):
        await records.add_taste("alice", "FILM NOIR", limit=LIMIT)
    await records.add_taste("bob", "film noir", limit=LIMIT)  # another member may
    assert await records.count_tastes("alice") == 1


async def test_the_database_refuses_a_taste_over_the_limit(records: Records) -> None:
    await records.add_taste("alice", "noir", limit=2)
    await records.add_taste("alice", "heists", limit=2)
    with pytest.raises(TasteLimitReached, match="2 tastes"):
        await records.add_taste("alice", "musicals", limit=2)
    assert await records.count_tastes("alice") == 2


async def test_a_new_taste_is_pending_until_its_vector_is_stored(records: Records) -> None:
    taste = await records.add_taste("alice", "noir", limit=LIMIT)
    assert taste.is_pending
    [unsettled] = await records.unsettled()
    assert [t.id for t in unsettled.pending] == [taste.id]
    await records.mark_stored("alice", [taste.id])
    assert await records.unsettled() == []
    assert not (await records.list_tastes("alice"))[0].is_pending


async def test_a_taste_being_erased_is_gone_for_the_member_and_frees_its_text(
    records: Records,
) -> None:
    taste = await records.add_taste("alice", "noir", limit=1)
    await records.mark_stored("alice", [taste.id])
    await records.mark_deleting("alice", None)
    assert await records.list_tastes("alice") == []
    assert await records.get_tastes("alice", [taste.id]) == {}
    assert await records.members_with_tastes() == []
    again = await records.add_taste("alice", "noir", limit=1)  # neither duplicate nor over
    [unsettled] = await records.unsettled()
    assert (unsettled.deleting, [t.id for t in unsettled.pending]) == ((taste.id,), [again.id])


async def test_a_first_release_database_is_migrated_keeping_one_of_each_duplicate(
    db_path: Path,
) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.executescript(MIGRATIONS[0] + "PRAGMA user_version = 1;")
        rows = [("alice", "Noir"), ("alice", "noir "), ("alice", "heists"), ("bob", "NOIR")]
        raw.executemany(
            "INSERT INTO tastes (member_id, text, created_at) VALUES (?, ?, '2026-01-01')", rows
        )
    async with Records.open(db_path) as records:
        assert await records.schema_version() == SCHEMA_VERSION
        assert [t.text for t in await records.list_tastes("alice")] == ["Noir", "heists"]
        assert not any(t.is_pending for t in await records.list_tastes("alice"))
        assert [t.text for t in await records.list_tastes("bob")] == ["NOIR"]
        # The later duplicate is left for start-up to erase from both stores.
        [unsettled] = await records.unsettled()
        assert (unsettled.member_id, unsettled.deleting, unsettled.pending) == ("alice", (2,), ())
        with pytest.raises(DuplicateTaste, match="#1"):
            await records.add_taste("alice", "NOIR", limit=LIMIT)


async def test_a_suggestion_is_recorded_with_matches_timings_and_outcome(records: Records) -> None:
    matches = [MatchedTaste(3, "noir", 0.75)]
    suggestion_id = await records.start_suggestion(
        "alice",
        "dark films",
        4,
        matches,
        "llama3.1:8b",
        SuggestionTimings(embed_seconds=0.01, search_seconds=0.002),
    )
    await records.finish_suggestion(
        suggestion_id,
        text="1. **Se7en (1995)**",
        status=SuggestionStatus.COMPLETE,
        timings=SuggestionTimings(first_token_seconds=0.5, generation_seconds=4.0),
        stats=GenerationStats(completion_tokens=40, eval_seconds=2.0),
    )
    stored = await records.get_suggestion(suggestion_id)
    assert stored is not None
    assert stored.matches == (MatchedTaste(3, "noir", 0.75),)
    assert stored.status is SuggestionStatus.COMPLETE
    assert stored.text == "1. **Se7en (1995)**"
    assert stored.timings.embed_seconds == pytest.approx(0.01)
    assert stored.timings.first_token_seconds == pytest.approx(0.5)
    assert stored.tokens_per_second == pytest.approx(20.0)


async def test_a_suggestion_whose_owner_is_gone_is_interrupted_with_its_checkpoint(
    db_path: Path,
) -> None:
    async with Records.open(db_path) as records:
        suggestion_id = await records.start_suggestion(
            "alice", "q", 4, [], "m", SuggestionTimings(), owner_id="gone"
        )
        await records.checkpoint_suggestion(suggestion_id, "1. **Heat (1995)**")
    async with Records.open(db_path) as reopened:
        assert await reopened.close_abandoned_suggestions(lambda owner: owner == "gone") == 1
        stored = await reopened.get_suggestion(suggestion_id)
    assert stored is not None
    assert stored.status is SuggestionStatus.INTERRUPTED
    assert stored.text == "1. **Heat (1995)**"


async def test_a_suggestion_whose_owner_lives_is_left_running(db_path: Path) -> None:
    async with Records.open(db_path) as records:
        live = await records.start_suggestion(
            "alice", "q", 4, [], "m", SuggestionTimings(), owner_id="live"
        )
        assert await records.close_abandoned_suggestions(lambda owner: owner != "live") == 0
        stored = await records.get_suggestion(live)
    assert stored is not None
    assert stored.status is SuggestionStatus.RUNNING


async def test_a_checkpoint_never_reopens_a_finished_suggestion(db_path: Path) -> None:
    async with Records.open(db_path) as records:
        suggestion_id = await records.start_suggestion(
            "alice", "q", 4, [], "m", SuggestionTimings()
        )
        await records.finish_suggestion(
            suggestion_id, text="all", status=SuggestionStatus.COMPLETE, timings=SuggestionTimings()
        )
        await records.checkpoint_suggestion(suggestion_id, "al")
        stored = await records.get_suggestion(suggestion_id)
    assert stored is not None
    assert stored.text == "all"


async def test_a_reply_is_open_from_its_first_link_until_closed(db_path: Path) -> None:
    async with Records.open(db_path) as records:
        suggestion_id = await records.start_suggestion(
            "alice", "q", 4, [], "m", SuggestionTimings(), owner_id="gone"
        )
        await records.link_message(suggestion_id, 222, 9)
        await records.link_message(suggestion_id, 111, 9)
        assert await records.open_replies() == []  # still running: its owner finishes it
        await records.close_abandoned_suggestions(lambda owner: True)
        [reply] = await records.open_replies()
        assert reply.suggestion_id == suggestion_id
        assert reply.status is SuggestionStatus.INTERRUPTED
        assert reply.messages == ((111, 9), (222, 9))
        await records.close_reply(suggestion_id)
        await records.link_message(suggestion_id, 333, 9)  # a late link does not reopen it
        assert await records.open_replies() == []


async def test_feedback_is_kept_per_linked_message_across_a_restart(db_path: Path) -> None:
    async with Records.open(db_path) as records:
        suggestion_id = await records.start_suggestion(
            "alice", "q", 4, [], "m", SuggestionTimings()
        )
        await records.link_message(suggestion_id, 111, 222)
    async with Records.open(db_path) as records:
        assert await records.suggestion_for_message(111) == suggestion_id
        assert await records.suggestion_for_message(999) is None
        await records.add_feedback("bob", suggestion_id, 111, "👍", added=True)
        await records.add_feedback("bob", suggestion_id, 111, "👍", added=False)
        feedback = await records.list_feedback(suggestion_id)
    assert [(f.member_id, f.emoji, f.added) for f in feedback] == [
        ("bob", "👍", True),
        ("bob", "👍", False),
    ]


async def test_sqlite_errors_become_records_errors(db_path: Path) -> None:
    async with Records.open(db_path) as records:
        await records._db.execute("DROP TABLE tastes")
        with pytest.raises(RecordsError, match="Could not read the tastes"):
            await records.list_tastes("alice")


async def test_an_unopenable_path_is_a_records_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(RecordsError, match="Cannot open the records database"):
        async with Records.open(blocker / "records.sqlite3"):
            pass


# -- picks and ratings (schema v5) -------------------------------------------------------


async def suggestion_with_picks(records: Records, member: str = "alice") -> int:
    suggestion_id = await records.start_suggestion(
        member, "space", 2, (), "llama3.1:8b", SuggestionTimings()
    )
    await records.add_picks(
        suggestion_id,
        member,
        [
            PickDecision(PickDraft("Arrival", 2016, "movie", "d", "r", 0.9, True), 1, None),
            PickDecision(PickDraft("Moon", 2009, "movie"), None, LeftOut.DISLIKED),
            PickDecision(PickDraft("Dark", 2017, "show"), 2, None),
        ],
    )
    return suggestion_id


async def test_a_database_of_the_first_release_keeps_its_data_when_migrated(
    db_path: Path,
) -> None:
    with sqlite3.connect(db_path) as raw:
        raw.executescript(MIGRATIONS[0])
        raw.execute(
            "INSERT INTO suggestions (member_id, query, count, matches, model, status, "
            "created_at) VALUES ('alice', 'noir', 3, '[]', 'm', 'complete', '2026-01-01')"
        )
        raw.execute("PRAGMA user_version = 1")
    async with Records.open(db_path) as records:
        old = await records.get_suggestion(1)
        assert old is not None and old.query == "noir" and not old.is_structured
        assert await records.list_picks("alice", 1) == []


async def test_every_pick_is_recorded_with_its_position_key_and_fate(records: Records) -> None:
    suggestion_id = await suggestion_with_picks(records)

    picks = await records.list_picks("alice", suggestion_id)

    assert [(p.answer_position, p.shown_position, p.left_out) for p in picks] == [
        (1, 1, None),
        (2, None, LeftOut.DISLIKED),
        (3, 2, None),
    ]
    assert picks[0].key == "arrival|2016"
    assert picks[0].confidence == 0.9
    assert await records.list_picks("bob", suggestion_id) == []


async def test_the_newest_rating_counts_and_undo_takes_back_only_its_own(
    records: Records,
) -> None:
    suggestion_id = await suggestion_with_picks(records)
    arrival = (await records.list_picks("alice", suggestion_id))[0]

    await records.rate_pick("alice", arrival.id, "message", Rating.LIKED)
    await records.rate_pick("alice", arrival.id, "choice", Rating.SEEN)
    assert (await records.list_picks("alice", suggestion_id))[0].rating is Rating.SEEN

    assert not await records.unrate_pick("alice", arrival.id, "message", Rating.NOT_FOR_ME)
    assert await records.unrate_pick("alice", arrival.id, "choice")
    assert (await records.list_picks("alice", suggestion_id))[0].rating is Rating.LIKED
    assert await records.unrate_pick("alice", arrival.id, "message", Rating.LIKED)
    assert (await records.list_picks("alice", suggestion_id))[0].rating is None


async def test_recently_shown_keys_cover_only_the_last_suggestions(records: Records) -> None:
    first = await suggestion_with_picks(records)
    second = await records.start_suggestion(
        "alice", "more", 1, (), "llama3.1:8b", SuggestionTimings()
    )
    await records.add_picks(
        second, "alice", [PickDecision(PickDraft("Her", 2013, "movie"), 1, None)]
    )

    assert [p.key for p in await records.recently_shown("alice", 1)] == ["her|2013"]
    assert [p.key for p in await records.recently_shown("alice", 2)] == [
        "her|2013",
        "arrival|2016",
        "dark|2017",
    ]
    assert await records.recently_shown("bob", 2) == []
    assert first < second


async def test_pick_vectors_round_trip_per_model(records: Records) -> None:
    suggestion_id = await suggestion_with_picks(records)
    arrival = (await records.list_picks("alice", suggestion_id))[0]

    await records.store_pick_vectors("bge-large", {arrival.id: [0.5, -0.25]})

    assert await records.pick_vectors([arrival.id], "bge-large") == {arrival.id: [0.5, -0.25]}
    assert await records.pick_vectors([arrival.id], "other-model") == {}


async def test_erasing_history_removes_only_that_members_suggestions(records: Records) -> None:
    mine = await suggestion_with_picks(records)
    theirs = await suggestion_with_picks(records, "bob")
    arrival = (await records.list_picks("alice", mine))[0]
    await records.rate_pick("alice", arrival.id, "message", Rating.LIKED)
    await records.store_pick_vectors("bge-large", {arrival.id: [1.0]})

    assert await records.delete_member_history("alice") == 1

    assert await records.get_suggestion(mine) is None
    assert await records.history("alice", 10) == []
    assert await records.rated_picks("alice", [Rating.LIKED], 10) == []
    assert len(await records.history("bob", 10)) == 2
    assert await records.get_suggestion(theirs) is not None
