"""The library's records: watchlist, marked watched, imports, and their erasure."""

from __future__ import annotations

from bot.pipeline.domain import Rating
from bot.pipeline.picks import pick_key
from bot.pipeline.records import Records
from bot.pipeline.records.library import NewTitle


def imported(title: str, year: int, rating: Rating | None, *, watchlist: bool = False) -> NewTitle:
    return NewTitle(
        key=pick_key(title, year),
        title=title,
        year=year,
        imported_rating=rating,
        is_on_watchlist=watchlist,
    )


def saved(title: str, year: int) -> NewTitle:
    return NewTitle(key=pick_key(title, year), title=title, year=year, description="d")


async def ratings(records: Records, member: str = "alice") -> dict[str, Rating | None]:
    return {entry.title: entry.rating for entry in await records.library.lessons(member)}


async def test_an_import_is_stored_and_the_same_import_again_changes_nothing(
    records: Records,
) -> None:
    titles = [
        imported("Alien", 1979, Rating.LIKED),
        imported("Cats", 2019, Rating.NOT_FOR_ME),
        imported("Stalker", 1979, None, watchlist=True),
    ]
    first = await records.library.store_import("alice", titles)
    second = await records.library.store_import("alice", titles)

    assert (first.added, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.added, second.updated, second.unchanged) == (0, 0, 3)
    assert await ratings(records) == {
        "Alien": Rating.LIKED,
        "Cats": Rating.NOT_FOR_ME,
        "Stalker": None,
    }
    assert [entry.title for entry in await records.library.watchlist("alice", 0, 10)] == ["Stalker"]
    assert await ratings(records, "bob") == {}


async def test_a_newer_export_updates_the_imported_rating(records: Records) -> None:
    await records.library.store_import("alice", [imported("Alien", 1979, Rating.SEEN)])
    counts = await records.library.store_import("alice", [imported("Alien", 1979, Rating.LIKED)])
    assert counts.updated == 1
    assert await ratings(records) == {"Alien": Rating.LIKED}


async def test_an_import_never_overwrites_a_rating_given_in_the_bot(records: Records) -> None:
    entry = await records.library.add_to_watchlist("alice", saved("Alien", 1979))
    assert entry is not None
    await records.library.mark_watched("alice", entry.id, Rating.NOT_FOR_ME)

    await records.library.store_import("alice", [imported("Alien", 1979, Rating.LIKED)])

    [after] = await records.library.lessons("alice")
    assert (after.rating, after.is_imported) == (Rating.NOT_FOR_ME, False)


async def test_saving_twice_says_it_is_on_the_watchlist_already(records: Records) -> None:
    assert await records.library.add_to_watchlist("alice", saved("Alien", 1979)) is not None
    assert await records.library.add_to_watchlist("alice", saved("alien", 1979)) is None
    assert await records.library.add_to_watchlist("bob", saved("Alien", 1979)) is not None
    assert await records.library.count_watchlist("alice") == 1


async def test_removing_from_the_watchlist_keeps_an_imported_rating(records: Records) -> None:
    await records.library.store_import("alice", [imported("Alien", 1979, Rating.SEEN)])
    entry = await records.library.add_to_watchlist("alice", saved("Alien", 1979))
    assert entry is not None and entry.rating is Rating.SEEN
    other = await records.library.add_to_watchlist("alice", saved("Ran", 1985))
    assert other is not None

    assert await records.library.remove_from_watchlist("alice", entry.id)
    assert await records.library.remove_from_watchlist("alice", other.id)
    assert not await records.library.remove_from_watchlist("alice", other.id)

    assert await ratings(records) == {"Alien": Rating.SEEN}  # Ran had nothing else: gone


async def test_another_member_cannot_touch_a_title(records: Records) -> None:
    entry = await records.library.add_to_watchlist("alice", saved("Alien", 1979))
    assert entry is not None
    assert not await records.library.remove_from_watchlist("bob", entry.id)
    assert not await records.library.mark_watched("bob", entry.id, Rating.LIKED)
    assert await records.library.entry("bob", entry.id) is None
    assert await records.library.count_watchlist("alice") == 1


async def test_marking_watched_rates_it_and_takes_it_off_the_watchlist(records: Records) -> None:
    entry = await records.library.add_to_watchlist("alice", saved("Alien", 1979))
    assert entry is not None
    assert await records.library.mark_watched("alice", entry.id, Rating.LIKED)
    assert await records.library.count_watchlist("alice") == 0
    assert await ratings(records) == {"Alien": Rating.LIKED}


async def test_erasing_imports_keeps_what_the_member_did_in_the_bot(records: Records) -> None:
    await records.library.store_import(
        "alice",
        [
            imported("Alien", 1979, Rating.LIKED),
            imported("Stalker", 1979, None, watchlist=True),
            imported("Heat", 1995, Rating.SEEN),
        ],
    )
    entry = await records.library.add_to_watchlist("alice", saved("Ran", 1985))
    heat = await records.library.add_to_watchlist("alice", saved("Heat", 1995))
    assert entry is not None and heat is not None
    await records.library.mark_watched("alice", heat.id, Rating.NOT_FOR_ME)
    await records.library.store_vectors("m", {heat.id: [1.0, 0.0]})

    assert await records.library.erase_imports("alice") == 3

    assert await ratings(records) == {"Heat": Rating.NOT_FOR_ME, "Ran": None}
    assert await records.library.vectors([heat.id], "m") == {heat.id: [1.0, 0.0]}


async def test_erasing_the_library_removes_titles_and_vectors(records: Records) -> None:
    await records.library.store_import("alice", [imported("Alien", 1979, Rating.LIKED)])
    [entry] = await records.library.lessons("alice")
    await records.library.store_vectors("m", {entry.id: [0.5, 0.5]})
    await records.library.store_import("bob", [imported("Alien", 1979, Rating.LIKED)])

    assert await records.library.erase_library("alice") == 1

    assert await records.library.lessons("alice") == []
    assert await records.library.vectors([entry.id], "m") == {}
    assert len(await records.library.lessons("bob")) == 1


async def test_catalogue_matches_are_kept_and_not_found_listed(records: Records) -> None:
    await records.library.store_import(
        "alice", [imported("Alien", 1979, Rating.LIKED), imported("Nope", 2001, Rating.SEEN)]
    )
    alien, nope = await records.library.unchecked("alice", 10)
    await records.library.set_matches({alien.id: "Q103569", nope.id: None})

    assert await records.library.unchecked("alice", 10) == []
    assert [entry.title for entry in await records.library.not_found("alice")] == ["Nope"]
    assert (await records.library.entry("alice", alien.id)).qid == "Q103569"  # type: ignore[union-attr]


async def test_ten_thousand_titles_import_in_one_transaction(records: Records) -> None:
    titles = [imported(f"Film {n}", 2000, Rating.SEEN) for n in range(10_000)]
    counts = await records.library.store_import("alice", titles)
    assert counts.added == 10_000
    assert len(await records.library.lessons("alice")) == 10_000
