"""The records' schema: one numbered migration script per version, and `migrate`.

A database at version N runs scripts N+1 onwards, each in its own transaction with the
version it reaches, so a failed migration leaves the database at the last good version.
"""

from __future__ import annotations

import logging

from bot.errors import RecordsError
from bot.pipeline.records.database import Database

log = logging.getLogger(__name__)

# One script per schema version; a database at version N runs scripts N+1 onwards.
# Never edit a released script: add the next one.
MIGRATIONS: tuple[str, ...] = (
    # 1: the first release.
    """
    CREATE TABLE tastes (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id   TEXT    NOT NULL,
        text        TEXT    NOT NULL,
        created_at  TEXT    NOT NULL
    );
    CREATE INDEX tastes_by_member ON tastes (member_id, id);

    CREATE TABLE suggestions (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id            TEXT    NOT NULL,
        query                TEXT    NOT NULL,
        count                INTEGER NOT NULL,
        matches              TEXT    NOT NULL,  -- JSON: [{taste_id, text, score}]
        model                TEXT    NOT NULL,
        text                 TEXT    NOT NULL DEFAULT '',
        status               TEXT    NOT NULL,
        error                TEXT,
        embed_seconds        REAL,
        search_seconds       REAL,
        first_token_seconds  REAL,
        generation_seconds   REAL,
        prompt_tokens        INTEGER,
        completion_tokens    INTEGER,
        tokens_per_second    REAL,
        created_at           TEXT    NOT NULL,
        finished_at          TEXT
    );
    CREATE INDEX suggestions_by_member ON suggestions (member_id, id);

    CREATE TABLE suggestion_messages (
        message_id     INTEGER PRIMARY KEY,
        suggestion_id  INTEGER NOT NULL REFERENCES suggestions (id),
        channel_id     INTEGER
    );

    CREATE TABLE feedback (
        id             INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id      TEXT    NOT NULL,
        suggestion_id  INTEGER NOT NULL REFERENCES suggestions (id),
        message_id     INTEGER NOT NULL,
        emoji          TEXT    NOT NULL,
        action         TEXT    NOT NULL CHECK (action IN ('added', 'removed')),
        created_at     TEXT    NOT NULL
    );
    CREATE INDEX feedback_by_suggestion ON feedback (suggestion_id, id);
    """,
    # 2: crash-safe tastes. `vector_state` says whether the taste's vector is known to be
    # written ('stored'), may not be yet ('pending'), or is being erased ('deleting');
    # start-up finishes whatever a crash left. `key` (taste_key: NFC, spacing and case
    # folded) is unique per member, so the duplicate rule holds in the database itself.
    # Duplicates an older release let in are kept once (the oldest); the others become
    # 'deleting' with no key, and start-up removes them from both stores.
    """
    ALTER TABLE tastes ADD COLUMN key TEXT;
    ALTER TABLE tastes ADD COLUMN vector_state TEXT NOT NULL DEFAULT 'stored'
        CHECK (vector_state IN ('pending', 'stored', 'deleting'));
    UPDATE tastes SET key = taste_key(text);
    UPDATE tastes SET key = NULL, vector_state = 'deleting'
        WHERE id NOT IN (SELECT MIN(id) FROM tastes GROUP BY member_id, key);
    CREATE UNIQUE INDEX tastes_member_key ON tastes (member_id, key);
    CREATE INDEX tastes_unsettled ON tastes (vector_state) WHERE vector_state != 'stored';
    """,
    # 3 (issue 9): who owns a running suggestion, when its text was last saved, and
    # whether a front end's reply to it still needs its last edit.
    """
    ALTER TABLE suggestions ADD COLUMN owner_id TEXT;  -- see bot/pipeline/owners.py
    ALTER TABLE suggestions ADD COLUMN checkpointed_at TEXT;
    -- NULL: no linked reply; 'open': its last edit is not done yet; 'closed': it is.
    ALTER TABLE suggestions ADD COLUMN reply_state TEXT;
    CREATE INDEX suggestions_by_status ON suggestions (status);
    """,
    # 4 (issue 11): structured picks, one row each, and the member's ratings of them.
    """
    ALTER TABLE suggestions ADD COLUMN is_structured INTEGER NOT NULL DEFAULT 0;

    CREATE TABLE picks (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        suggestion_id    INTEGER NOT NULL REFERENCES suggestions (id),
        member_id        TEXT    NOT NULL,
        answer_position  INTEGER NOT NULL,  -- 1.. in the model's answer
        shown_position   INTEGER,           -- 1.. as the member saw it; NULL if left out
        left_out         TEXT,              -- why it was not shown (picks.LeftOut)
        title            TEXT    NOT NULL,
        year             INTEGER,
        kind             TEXT,
        description      TEXT    NOT NULL DEFAULT '',
        reasoning        TEXT    NOT NULL DEFAULT '',
        confidence       REAL,
        key              TEXT    NOT NULL,  -- picks.pick_key: the same film, recognised
        created_at       TEXT    NOT NULL
    );
    CREATE INDEX picks_by_suggestion ON picks (suggestion_id, answer_position);
    CREATE INDEX picks_by_member ON picks (member_id, id);

    -- One row per pick and way of rating it (a reaction on the whole answer, a number
    -- reaction, a choice); the newest row is the pick's rating. Undo deletes the row.
    CREATE TABLE pick_ratings (
        pick_id     INTEGER NOT NULL REFERENCES picks (id),
        member_id   TEXT    NOT NULL,
        source      TEXT    NOT NULL,
        rating      TEXT    NOT NULL CHECK (rating IN ('liked', 'not_for_me', 'seen')),
        created_at  TEXT    NOT NULL,
        PRIMARY KEY (pick_id, source)
    );
    CREATE INDEX pick_ratings_by_member ON pick_ratings (member_id);

    -- Embeddings of liked picks, per embedding model: derived, made again when missing.
    CREATE TABLE pick_vectors (
        pick_id  INTEGER NOT NULL REFERENCES picks (id),
        model    TEXT    NOT NULL,
        vector   BLOB    NOT NULL,  -- float32, native byte order
        PRIMARY KEY (pick_id, model)
    );
    """,
    # 5 (issue 15): the film each pick names in the catalogue (Wikidata), and its check.
    """
    ALTER TABLE picks ADD COLUMN qid TEXT;          -- the Wikidata item; NULL: not found
    ALTER TABLE picks ADD COLUMN check_state TEXT;  -- catalogue.CheckState; NULL: no catalogue
    CREATE INDEX picks_by_member_film ON picks (member_id, qid);
    """,
    # 6 (issue 18): each member's library: watchlist, titles marked watched, imports
    # (see records/library.py). One row per member and title; vectors are derived.
    """
    CREATE TABLE library (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        member_id         TEXT    NOT NULL,
        key               TEXT    NOT NULL,  -- picks.pick_key: the same film, recognised
        title             TEXT    NOT NULL,
        year              INTEGER,
        kind              TEXT,
        description       TEXT    NOT NULL DEFAULT '',
        link              TEXT,              -- the title on the site it was imported from
        imdb_id           TEXT,
        qid               TEXT,              -- the catalogue's id, once matched
        match_state       TEXT    NOT NULL DEFAULT 'unchecked'
            CHECK (match_state IN ('unchecked', 'matched', 'not_found')),
        watchlist_source  TEXT    CHECK (watchlist_source IN ('bot', 'import')),
        watchlisted_at    TEXT,
        rating            TEXT    CHECK (rating IN ('liked', 'not_for_me', 'seen')),
        rated_at          TEXT,
        imported_rating   TEXT    CHECK (imported_rating IN ('liked', 'not_for_me', 'seen')),
        imported_at       TEXT,
        created_at        TEXT    NOT NULL,
        UNIQUE (member_id, key)
    );
    CREATE INDEX library_watchlist ON library (member_id, watchlisted_at)
        WHERE watchlist_source IS NOT NULL;
    CREATE INDEX library_unchecked ON library (member_id) WHERE match_state = 'unchecked';

    -- Embeddings of library titles, per embedding model: derived, made again when missing.
    CREATE TABLE library_vectors (
        entry_id  INTEGER NOT NULL REFERENCES library (id),
        model     TEXT    NOT NULL,
        vector    BLOB    NOT NULL,  -- float32, native byte order
        PRIMARY KEY (entry_id, model)
    );
    """,
    # 7 (issue 19): movie nights. A night blends several members' tastes into picks the
    # group votes on in a Discord poll; its deadline is kept here because Discord sends
    # no event when a poll ends. Each participant gets their own copy of the picks as a
    # suggestion (`member_suggestion_id`), so the picks count as suggested to them and
    # their vote rates their own copy. `member_privacy` holds a member's choice not to
    # be blended into other members' nights.
    """
    CREATE TABLE movie_nights (
        id                   INTEGER PRIMARY KEY AUTOINCREMENT,
        asker_id             TEXT    NOT NULL,
        query                TEXT    NOT NULL,
        suggestion_id        INTEGER,           -- the asker's suggestion (the streamed one)
        state                TEXT    NOT NULL
            CHECK (state IN ('picking', 'no_vote', 'voting', 'decided', 'announced')),
        channel_id           INTEGER,
        poll_message_id      INTEGER UNIQUE,
        deadline             TEXT,              -- ISO 8601 UTC: when the poll ends
        winner_position      INTEGER,
        is_tie_broken        INTEGER NOT NULL DEFAULT 0,
        announcement_id      INTEGER,
        created_at           TEXT    NOT NULL,
        decided_at           TEXT
    );
    CREATE INDEX movie_nights_due ON movie_nights (state, deadline);

    CREATE TABLE movie_night_members (
        night_id              INTEGER NOT NULL REFERENCES movie_nights (id),
        member_id             TEXT    NOT NULL,
        label                 TEXT    NOT NULL,  -- "Member A": what the prompt called them
        member_suggestion_id  INTEGER,           -- their copy of the picks
        PRIMARY KEY (night_id, member_id)
    );
    CREATE INDEX movie_night_members_by_member ON movie_night_members (member_id);

    CREATE TABLE movie_night_picks (
        night_id    INTEGER NOT NULL REFERENCES movie_nights (id),
        position    INTEGER NOT NULL,  -- 1.., as shown and as the poll's answers
        title       TEXT    NOT NULL,
        year        INTEGER,
        kind        TEXT,
        reasoning   TEXT    NOT NULL DEFAULT '',  -- already free of anyone's taste text
        confidence  REAL,
        key         TEXT    NOT NULL,
        PRIMARY KEY (night_id, position)
    );

    -- One row per participant and pick they voted for (a poll allows one choice).
    CREATE TABLE movie_night_votes (
        night_id    INTEGER NOT NULL REFERENCES movie_nights (id),
        member_id   TEXT    NOT NULL,
        position    INTEGER NOT NULL,
        created_at  TEXT    NOT NULL,
        PRIMARY KEY (night_id, member_id, position)
    );
    CREATE INDEX movie_night_votes_by_member ON movie_night_votes (member_id);

    CREATE TABLE member_privacy (
        member_id             TEXT PRIMARY KEY,
        no_movie_night        INTEGER NOT NULL DEFAULT 0,
        updated_at            TEXT    NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)


async def schema_version(database: Database) -> int:
    """The schema version the database is at (0: empty)."""
    async with database.read("read the schema version") as reader:
        return int((await reader.fetch_one("PRAGMA user_version"))[0])


async def migrate(database: Database) -> None:
    """Bring the database to `SCHEMA_VERSION`; refuse one from a newer release."""
    version = await schema_version(database)
    if version > SCHEMA_VERSION:
        raise RecordsError(
            f"The records database is at schema version {version}, newer than this "
            f"release knows ({SCHEMA_VERSION}). Upgrade suggest.watch."
        )
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        log.info("Migrating the records database to schema version %d", number)
        await database.run_script(
            f"migrate the database to schema version {number}",
            f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {number};\nCOMMIT;",
        )
