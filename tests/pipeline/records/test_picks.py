"""Picks, ratings, pick vectors, and a member's past picks and their erasure."""

from bot.pipeline.domain import PickDraft, Rating, SuggestionTimings
from bot.pipeline.picks import LeftOut, PickDecision
from bot.pipeline.records import Records
from bot.pipeline.records.rows import VOTE_SOURCE


async def suggestion_with_picks(records: Records, member: str = "alice") -> int:
    suggestion_id = await records.suggestions.start_suggestion(
        member, "space", 2, (), "llama3.1:8b", SuggestionTimings()
    )
    await records.picks.add_picks(
        suggestion_id,
        member,
        [
            PickDecision(PickDraft("Arrival", 2016, "movie", "d", "r", 0.9, True), 1, None),
            PickDecision(PickDraft("Moon", 2009, "movie"), None, LeftOut.DISLIKED),
            PickDecision(PickDraft("Dark", 2017, "show"), 2, None),
        ],
    )
    return suggestion_id


async def test_every_pick_is_recorded_with_its_position_key_and_fate(records: Records) -> None:
    suggestion_id = await suggestion_with_picks(records)

    picks = await records.picks.list_picks("alice", suggestion_id)

    assert [(p.answer_position, p.shown_position, p.left_out) for p in picks] == [
        (1, 1, None),
        (2, None, LeftOut.DISLIKED),
        (3, 2, None),
    ]
    assert picks[0].key == "arrival|2016"
    assert picks[0].confidence == 0.9
    assert await records.picks.list_picks("bob", suggestion_id) == []


async def test_the_newest_rating_counts_and_undo_takes_back_only_its_own(
    records: Records,
) -> None:
    suggestion_id = await suggestion_with_picks(records)
    arrival = (await records.picks.list_picks("alice", suggestion_id))[0]

    await records.picks.rate_pick("alice", arrival.id, "message", Rating.LIKED)
    await records.picks.rate_pick("alice", arrival.id, "choice", Rating.SEEN)
    assert (await records.picks.list_picks("alice", suggestion_id))[0].rating is Rating.SEEN

    assert not await records.picks.unrate_pick("alice", arrival.id, "message", Rating.NOT_FOR_ME)
    assert await records.picks.unrate_pick("alice", arrival.id, "choice")
    assert (await records.picks.list_picks("alice", suggestion_id))[0].rating is Rating.LIKED
    assert await records.picks.unrate_pick("alice", arrival.id, "message", Rating.LIKED)
    assert (await records.picks.list_picks("alice", suggestion_id))[0].rating is None


async def test_recently_shown_keys_cover_only_the_last_suggestions(records: Records) -> None:
    first = await suggestion_with_picks(records)
    second = await records.suggestions.start_suggestion(
        "alice", "more", 1, (), "llama3.1:8b", SuggestionTimings()
    )
    await records.picks.add_picks(
        second, "alice", [PickDecision(PickDraft("Her", 2013, "movie"), 1, None)]
    )

    assert [p.key for p in await records.picks.recently_shown("alice", 1)] == ["her|2013"]
    assert [p.key for p in await records.picks.recently_shown("alice", 2)] == [
        "her|2013",
        "arrival|2016",
        "dark|2017",
    ]
    assert await records.picks.recently_shown("bob", 2) == []
    assert first < second


async def test_pick_vectors_round_trip_per_model(records: Records) -> None:
    suggestion_id = await suggestion_with_picks(records)
    arrival = (await records.picks.list_picks("alice", suggestion_id))[0]

    await records.picks.store_pick_vectors("bge-large", {arrival.id: [0.5, -0.25]})

    assert await records.picks.pick_vectors([arrival.id], "bge-large") == {arrival.id: [0.5, -0.25]}
    assert await records.picks.pick_vectors([arrival.id], "other-model") == {}


async def test_erasing_suggestions_removes_only_that_members(records: Records) -> None:
    mine = await suggestion_with_picks(records)
    theirs = await suggestion_with_picks(records, "bob")
    arrival = (await records.picks.list_picks("alice", mine))[0]
    await records.picks.rate_pick("alice", arrival.id, "message", Rating.LIKED)
    await records.picks.store_pick_vectors("bge-large", {arrival.id: [1.0]})

    assert await records.picks.erase_member_suggestions("alice") == 1

    assert await records.suggestions.get_suggestion(mine) is None
    assert await records.picks.past_picks("alice", 10) == []
    assert await records.picks.rated_picks("alice", [Rating.LIKED], 10) == []
    assert len(await records.picks.past_picks("bob", 10)) == 2
    assert await records.suggestions.get_suggestion(theirs) is not None


async def test_a_members_own_rating_of_a_film_takes_back_their_vote_for_it(
    records: Records,
) -> None:
    # Voted for Arrival at a movie night (kept as a liked rating), then rated another
    # pick of the same film "not for me": the own rating wins, so the film is no longer
    # liked anywhere (it would otherwise be both an example and a title to avoid).
    night_copy = (await records.picks.list_picks("alice", await suggestion_with_picks(records)))[0]
    own_copy = (await records.picks.list_picks("alice", await suggestion_with_picks(records)))[0]
    bobs_copy = (
        await records.picks.list_picks("bob", await suggestion_with_picks(records, "bob"))
    )[0]
    await records.picks.rate_pick("alice", night_copy.id, VOTE_SOURCE, Rating.LIKED)
    await records.picks.rate_pick("bob", bobs_copy.id, VOTE_SOURCE, Rating.LIKED)

    await records.picks.rate_pick("alice", own_copy.id, "choice", Rating.NOT_FOR_ME)

    assert await records.picks.rated_picks("alice", [Rating.LIKED], 10) == []
    [disliked] = await records.picks.rated_picks("alice", [Rating.NOT_FOR_ME], 10)
    assert disliked.id == own_copy.id
    [still_liked] = await records.picks.rated_picks("bob", [Rating.LIKED], 10)
    assert still_liked.id == bobs_copy.id  # another member's vote is theirs
