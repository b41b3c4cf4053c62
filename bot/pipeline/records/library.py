"""A member's film library: their watchlist, titles they marked watched, and imports.

One row per member and title (`key`: picks.pick_key, so "The Thing (1982)" and
"Thing (1982)" are one row). A row holds up to three things, each with its own
columns, so none can overwrite another: the watchlist (`watchlist_source`: saved in
the bot, or imported), a rating the member gave in the bot (`rating`, when they mark
a watchlist title watched) and an imported rating (`imported_rating`). The member's
rating of a title is the bot's one when there is one, else the imported one; an
import only ever writes `imported_rating` and the watchlist. A row with none of the
three is deleted. `match_state` and `qid` say what the catalogue made of the title.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence

from bot.pipeline.domain import Rating
from bot.pipeline.records.database import Database, Transaction
from bot.pipeline.records.rows import (
    ImportCounts,
    LibraryEntry,
    NewTitle,
    WatchlistSource,
    library_entry_from_row,
    now,
)

_COLUMNS = """id, member_id, key, title, year, kind, description, link, imdb_id, qid,
    watchlist_source, COALESCE(rating, imported_rating) AS current_rating,
    rating IS NULL AND imported_rating IS NOT NULL AS is_imported"""
_CHUNK = 10_000
_EMPTY_ROWS = """SELECT id FROM library WHERE member_id = ? AND rating IS NULL
    AND imported_rating IS NULL AND watchlist_source IS NULL"""


class LibraryRecords:
    """The `library` and `library_vectors` tables."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def store_import(self, member_id: str, titles: Sequence[NewTitle]) -> ImportCounts:
        """Store an import's titles in one transaction: all of them or none.

        A title already there gets the new imported rating and joins the watchlist if
        the export says so; the member's own rating and a removal are left alone."""
        stamp = now()
        async with self._database.transaction("store the import") as transaction:
            existing = await _imported_state(transaction, member_id)
            added, updated = [], []
            for title in titles:
                before = existing.get(title.key)
                if before is None:
                    added.append(title)
                    existing[title.key] = (title.imported_rating, title.is_on_watchlist)
                elif _import_changes(before, title):
                    updated.append(title)
            await transaction.execute_many(
                """INSERT INTO library (member_id, key, title, year, kind, link, imdb_id,
                       imported_rating, imported_at, watchlist_source, watchlisted_at,
                       created_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                [_import_row(member_id, title, stamp) for title in added],
            )
            await transaction.execute_many(
                """UPDATE library SET
                       imported_rating = COALESCE(?, imported_rating),
                       imported_at = ?,
                       watchlist_source = COALESCE(watchlist_source, ?),
                       watchlisted_at = COALESCE(watchlisted_at, ?),
                       imdb_id = COALESCE(imdb_id, ?), link = COALESCE(link, ?)
                   WHERE member_id = ? AND key = ?""",
                [_update_row(member_id, title, stamp) for title in updated],
            )
        return ImportCounts(len(added), len(updated), len(titles) - len(added) - len(updated))

    async def add_to_watchlist(self, member_id: str, title: NewTitle) -> LibraryEntry | None:
        """Put a title on the watchlist; None when it is on it already."""
        stamp = now()
        async with self._database.transaction("save to the watchlist") as transaction:
            written = await transaction.execute(
                """INSERT INTO library (member_id, key, title, year, kind, description,
                       watchlist_source, watchlisted_at, created_at)
                   VALUES (?, ?, ?, ?, ?, ?, 'bot', ?, ?)
                   ON CONFLICT (member_id, key) DO UPDATE SET
                       watchlist_source = 'bot', watchlisted_at = excluded.watchlisted_at,
                       description = CASE WHEN description = '' THEN excluded.description
                                     ELSE description END
                   WHERE watchlist_source IS NULL""",
                (
                    member_id,
                    title.key,
                    title.title,
                    title.year,
                    title.kind,
                    title.description,
                    stamp,
                    stamp,
                ),
            )
            if written.rowcount == 0:
                return None
            rows = await transaction.fetch_all(
                f"SELECT {_COLUMNS} FROM library WHERE member_id = ? AND key = ?",
                (member_id, title.key),
            )
        return library_entry_from_row(rows[0])

    async def shown_picks(self, suggestion_id: int) -> list[NewTitle]:
        """A suggestion's shown picks in order, as titles anyone may save to their list."""
        async with self._database.read("read the picks to save") as reader:
            rows = await reader.fetch_all(
                """SELECT key, title, year, kind, description FROM picks
                   WHERE suggestion_id = ? AND shown_position IS NOT NULL
                   ORDER BY shown_position""",
                (suggestion_id,),
            )
        return [
            NewTitle(
                key=row["key"],
                title=row["title"],
                year=row["year"],
                kind=row["kind"],
                description=row["description"],
            )
            for row in rows
        ]

    async def watchlist(self, member_id: str, offset: int, limit: int) -> list[LibraryEntry]:
        """A page of the member's watchlist, newest first."""
        async with self._database.read("read the watchlist") as reader:
            rows = await reader.fetch_all(
                f"""SELECT {_COLUMNS} FROM library
                    WHERE member_id = ? AND watchlist_source IS NOT NULL
                    ORDER BY watchlisted_at DESC, id DESC LIMIT ? OFFSET ?""",
                (member_id, limit, offset),
            )
        return [library_entry_from_row(row) for row in rows]

    async def count_watchlist(self, member_id: str) -> int:
        """How many titles are on the member's watchlist."""
        async with self._database.read("count the watchlist") as reader:
            row = await reader.fetch_one(
                "SELECT COUNT(*) FROM library WHERE member_id = ? AND watchlist_source IS NOT NULL",
                (member_id,),
            )
        return int(row[0])

    async def count_titles(self, member_id: str) -> int:
        """How many titles the member's library holds (watchlist, rated, imported)."""
        async with self._database.read("count the library") as reader:
            row = await reader.fetch_one(
                "SELECT COUNT(*) FROM library WHERE member_id = ?", (member_id,)
            )
        return int(row[0])

    async def entry(self, member_id: str, entry_id: int) -> LibraryEntry | None:
        """One title of the member's library, if it is theirs."""
        async with self._database.read("read the library") as reader:
            rows = await reader.fetch_all(
                f"SELECT {_COLUMNS} FROM library WHERE member_id = ? AND id = ?",
                (member_id, entry_id),
            )
        return library_entry_from_row(rows[0]) if rows else None

    async def remove_from_watchlist(self, member_id: str, entry_id: int) -> bool:
        """Take a title off the watchlist; False when it was not on it."""
        async with self._database.transaction("remove from the watchlist") as transaction:
            written = await transaction.execute(
                """UPDATE library SET watchlist_source = NULL, watchlisted_at = NULL
                   WHERE member_id = ? AND id = ? AND watchlist_source IS NOT NULL""",
                (member_id, entry_id),
            )
            await _delete_empty(transaction, member_id)
        return written.rowcount > 0

    async def mark_watched(self, member_id: str, entry_id: int, rating: Rating) -> bool:
        """The member watched a title: their rating, and off the watchlist."""
        async with self._database.transaction("mark the title watched") as transaction:
            written = await transaction.execute(
                """UPDATE library SET rating = ?, rated_at = ?,
                       watchlist_source = NULL, watchlisted_at = NULL
                   WHERE member_id = ? AND id = ?""",
                (rating, now(), member_id, entry_id),
            )
        return written.rowcount > 0

    async def lessons(self, member_id: str) -> list[LibraryEntry]:
        """Every title that teaches: rated or on the watchlist, most recently rated first."""
        async with self._database.read("read the library") as reader:
            rows = await reader.fetch_all(
                f"""SELECT {_COLUMNS} FROM library WHERE member_id = ?
                    ORDER BY COALESCE(rated_at, imported_at, watchlisted_at) DESC, id DESC""",
                (member_id,),
            )
        return [library_entry_from_row(row) for row in rows]

    async def unchecked(self, member_id: str, limit: int) -> list[LibraryEntry]:
        """Titles the catalogue has not been asked about yet, oldest first."""
        async with self._database.read("read the unmatched titles") as reader:
            rows = await reader.fetch_all(
                f"""SELECT {_COLUMNS} FROM library
                    WHERE member_id = ? AND match_state = 'unchecked' ORDER BY id LIMIT ?""",
                (member_id, limit),
            )
        return [library_entry_from_row(row) for row in rows]

    async def count_unchecked(self, member_id: str) -> int:
        """How many of the member's titles the catalogue has not been asked about yet."""
        async with self._database.read("count the unmatched titles") as reader:
            row = await reader.fetch_one(
                "SELECT COUNT(*) FROM library WHERE member_id = ? AND match_state = 'unchecked'",
                (member_id,),
            )
        return int(row[0])

    async def set_matches(self, matches: dict[int, str | None]) -> None:
        """Keep what the catalogue said: a QID, or None for not found."""
        if not matches:
            return
        async with self._database.transaction("keep the catalogue's matches") as transaction:
            await transaction.execute_many(
                "UPDATE library SET qid = ?, match_state = ? WHERE id = ?",
                [
                    (qid, "matched" if qid else "not_found", entry_id)
                    for entry_id, qid in matches.items()
                ],
            )

    async def not_found(self, member_id: str) -> list[LibraryEntry]:
        """Imported titles the catalogue did not find."""
        async with self._database.read("read the unmatched titles") as reader:
            rows = await reader.fetch_all(
                f"""SELECT {_COLUMNS} FROM library
                    WHERE member_id = ? AND match_state = 'not_found' ORDER BY id""",
                (member_id,),
            )
        return [library_entry_from_row(row) for row in rows]

    async def vectors(self, entry_ids: Iterable[int], model: str) -> dict[int, list[float]]:
        """Stored embeddings of these titles made with `model`."""
        ids = list(entry_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        async with self._database.read("read the library vectors") as reader:
            rows = await reader.fetch_all(
                f"SELECT entry_id, vector FROM library_vectors "
                f"WHERE model = ? AND entry_id IN ({marks})",
                (model, *ids),
            )
        return {row[0]: array("f", row[1]).tolist() for row in rows}

    async def vector_blobs(self, entry_ids: Iterable[int], model: str) -> dict[int, bytes]:
        """Stored embeddings of these titles as float32 bytes (for ranking many at once)."""
        ids = list(entry_ids)
        found: dict[int, bytes] = {}
        async with self._database.read("read the library vectors") as reader:
            # SQLite takes at most 32,766 parameters per statement: read in chunks.
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = await reader.fetch_all(
                    f"SELECT entry_id, vector FROM library_vectors "
                    f"WHERE model = ? AND entry_id IN ({marks})",
                    (model, *chunk),
                )
                found.update((row[0], bytes(row[1])) for row in rows)
        return found

    async def without_vectors(self, member_id: str, model: str, limit: int) -> list[LibraryEntry]:
        """Titles of the member with no embedding made with `model` yet, newest first."""
        async with self._database.read("read the titles to embed") as reader:
            rows = await reader.fetch_all(
                f"""SELECT {_COLUMNS} FROM library WHERE member_id = ? AND NOT EXISTS
                        (SELECT 1 FROM library_vectors
                         WHERE entry_id = library.id AND model = ?)
                    ORDER BY id DESC LIMIT ?""",
                (member_id, model, limit),
            )
        return [library_entry_from_row(row) for row in rows]

    async def store_vectors(self, model: str, vectors: dict[int, list[float]]) -> None:
        """Keep embeddings of library titles made with `model`."""
        rows = [
            (entry_id, model, array("f", vector).tobytes()) for entry_id, vector in vectors.items()
        ]
        async with self._database.transaction("store the library vectors") as transaction:
            await transaction.execute_many(
                "INSERT OR REPLACE INTO library_vectors (entry_id, model, vector) "
                "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM library WHERE id = ?)",
                [(*row, row[0]) for row in rows],
            )

    async def erase_imports(self, member_id: str) -> int:
        """Erase what the member imported, keeping what they did in the bot; titles gone."""
        async with self._database.transaction("erase the imports") as transaction:
            imported = await transaction.fetch_one(
                """SELECT COUNT(*) FROM library WHERE member_id = ?
                   AND (imported_rating IS NOT NULL OR watchlist_source = 'import')""",
                (member_id,),
            )
            await transaction.execute(
                "UPDATE library SET imported_rating = NULL, imported_at = NULL WHERE member_id = ?",
                (member_id,),
            )
            await transaction.execute(
                """UPDATE library SET watchlist_source = NULL, watchlisted_at = NULL
                   WHERE member_id = ? AND watchlist_source = 'import'""",
                (member_id,),
            )
            await _delete_empty(transaction, member_id)
        return int(imported[0])

    async def erase_library(self, member_id: str) -> int:
        """Erase the member's whole library; returns how many titles it held."""
        async with self._database.transaction("erase the library") as transaction:
            return await erase_member_library(transaction, member_id)


async def erase_member_library(transaction: Transaction, member_id: str) -> int:
    """Within another erase's transaction: the member's library vectors and titles."""
    await transaction.execute(
        "DELETE FROM library_vectors WHERE entry_id IN "
        "(SELECT id FROM library WHERE member_id = ?)",
        (member_id,),
    )
    written = await transaction.execute("DELETE FROM library WHERE member_id = ?", (member_id,))
    return written.rowcount


async def _imported_state(
    transaction: Transaction, member_id: str
) -> dict[str, tuple[Rating | None, bool]]:
    rows = await transaction.fetch_all(
        "SELECT key, imported_rating, watchlist_source IS NOT NULL FROM library "
        "WHERE member_id = ?",
        (member_id,),
    )
    return {row[0]: (Rating(row[1]) if row[1] else None, bool(row[2])) for row in rows}


def _import_changes(before: tuple[Rating | None, bool], title: NewTitle) -> bool:
    rating, is_on_watchlist = before
    changes_rating = title.imported_rating is not None and title.imported_rating != rating
    return changes_rating or (title.is_on_watchlist and not is_on_watchlist)


def _import_row(member_id: str, title: NewTitle, stamp: str) -> tuple[object, ...]:
    on_watchlist = title.is_on_watchlist
    return (
        member_id,
        title.key,
        title.title,
        title.year,
        title.kind,
        title.link,
        title.imdb_id,
        title.imported_rating,
        stamp if title.imported_rating else None,
        WatchlistSource.IMPORT.value if on_watchlist else None,
        stamp if on_watchlist else None,
        stamp,
    )


def _update_row(member_id: str, title: NewTitle, stamp: str) -> tuple[object, ...]:
    on_watchlist = title.is_on_watchlist
    return (
        title.imported_rating,
        stamp,
        WatchlistSource.IMPORT.value if on_watchlist else None,
        stamp if on_watchlist else None,
        title.imdb_id,
        title.link,
        member_id,
        title.key,
    )


async def _delete_empty(transaction: Transaction, member_id: str) -> None:
    await transaction.execute(
        f"DELETE FROM library_vectors WHERE entry_id IN ({_EMPTY_ROWS})", (member_id,)
    )
    await transaction.execute(f"DELETE FROM library WHERE id IN ({_EMPTY_ROWS})", (member_id,))
