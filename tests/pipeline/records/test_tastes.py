"""Tastes per member: listing, the duplicate and limit rules, and the vector state."""

import pytest

from bot.errors import DuplicateTaste, TasteLimitReached
from bot.pipeline.records import Records

LIMIT = 200


async def test_tastes_are_listed_per_member_oldest_first(records: Records) -> None:
    first = await records.tastes.add_taste("alice", "noir", limit=LIMIT)
    await records.tastes.add_taste("bob", "musicals", limit=LIMIT)
    second = await records.tastes.add_taste("alice", "heists", limit=LIMIT)
    assert [t.id for t in await records.tastes.list_tastes("alice")] == [first.id, second.id]
    assert [t.text for t in await records.tastes.list_tastes("bob")] == ["musicals"]


async def test_get_tastes_never_returns_another_members_taste(records: Records) -> None:
    alices = await records.tastes.add_taste("alice", "noir", limit=LIMIT)
    bobs = await records.tastes.add_taste("bob", "musicals", limit=LIMIT)
    found = await records.tastes.get_tastes("alice", [alices.id, bobs.id])
    assert set(found) == {alices.id}


async def test_erasing_only_touches_the_members_own(records: Records) -> None:
    bobs = await records.tastes.add_taste("bob", "musicals", limit=LIMIT)
    assert await records.tastes.mark_deleting("alice", [bobs.id]) == []
    assert await records.tastes.delete_tastes("alice", [bobs.id]) == 0
    assert await records.tastes.count_tastes("bob") == 1
    assert await records.tastes.mark_deleting("bob", [bobs.id]) == [bobs.id]
    assert await records.tastes.delete_tastes("bob", [bobs.id]) == 1
    assert await records.tastes.count_tastes("bob") == 0


async def test_find_taste_ignores_case_and_spacing(records: Records) -> None:
    taste = await records.tastes.add_taste("alice", "Film Noir", limit=LIMIT)
    assert await records.tastes.find_taste("alice", "film  NOIR") == taste
    assert await records.tastes.find_taste("bob", "film noir") is None


async def test_the_database_refuses_a_duplicate_taste(records: Records) -> None:
    taste = await records.tastes.add_taste("alice", "Film Noir", limit=LIMIT)
    with pytest.raises(DuplicateTaste, match=f"#{taste.id}"):
        await records.tastes.add_taste("alice", "FILM NOIR", limit=LIMIT)
    await records.tastes.add_taste("bob", "film noir", limit=LIMIT)  # another member may
    assert await records.tastes.count_tastes("alice") == 1


async def test_the_database_refuses_a_taste_over_the_limit(records: Records) -> None:
    await records.tastes.add_taste("alice", "noir", limit=2)
    await records.tastes.add_taste("alice", "heists", limit=2)
    with pytest.raises(TasteLimitReached, match="2 tastes"):
        await records.tastes.add_taste("alice", "musicals", limit=2)
    assert await records.tastes.count_tastes("alice") == 2


async def test_a_new_taste_is_pending_until_its_vector_is_stored(records: Records) -> None:
    taste = await records.tastes.add_taste("alice", "noir", limit=LIMIT)
    assert taste.is_pending
    [unsettled] = await records.tastes.unsettled()
    assert [t.id for t in unsettled.pending] == [taste.id]
    await records.tastes.mark_stored("alice", [taste.id])
    assert await records.tastes.unsettled() == []
    assert not (await records.tastes.list_tastes("alice"))[0].is_pending


async def test_a_taste_being_erased_is_gone_for_the_member_and_frees_its_text(
    records: Records,
) -> None:
    taste = await records.tastes.add_taste("alice", "noir", limit=1)
    await records.tastes.mark_stored("alice", [taste.id])
    await records.tastes.mark_deleting("alice", None)
    assert await records.tastes.list_tastes("alice") == []
    assert await records.tastes.get_tastes("alice", [taste.id]) == {}
    assert await records.tastes.members_with_tastes() == []
    again = await records.tastes.add_taste("alice", "noir", limit=1)  # neither duplicate nor over
    [unsettled] = await records.tastes.unsettled()
    assert (unsettled.deleting, [t.id for t in unsettled.pending]) == ((taste.id,), [again.id])
