"""The shared recommendation pipeline: every front end's one way in.

`Pipeline` is a thin facade over parts with one job each, all built from the same
`Backends` (the model servers, the vector store, the records):

    tastes.TasteWriter      state, list and forget tastes, in both stores at once
    reconcile.Reconciler    finish what a crash or a fault left between the stores
    suggestion.Suggester    check a request, retrieve, prompt, stream and record
    learning.Learning       what ratings, recent picks and the library teach the next prompt
    library.Library         watchlist, marking watched, imports (`pipeline.library`)
    ratings.Ratings         ratings, past picks, and the messages showing a suggestion
    maintenance.Reindexer   rebuild the vector store from the records
    movienight.MovieNights  picks for a group from several members' tastes, and the vote
    health.Health           `doctor`'s checks and the start-up warnings

With a film catalogue (`catalogue/`, CATALOGUE=wikidata) every pick is checked against
Wikidata beside the stream. Every method takes the member's id and touches only that
member's data. Open it with `open_pipeline(settings)`, which opens the backends, starts
the reconcile and closes everything in order on the way out.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from bot.pipeline.catalogue import Catalogue
from bot.pipeline.catalogue.opening import open_catalogue
from bot.pipeline.data_dir import check_writable
from bot.pipeline.domain import PastPick, Rating, Taste
from bot.pipeline.events import SuggestionEvent
from bot.pipeline.health import Health, HealthCheck
from bot.pipeline.learning import Learning
from bot.pipeline.library.imports import ImportLimits
from bot.pipeline.library.matching import CatalogueMatcher
from bot.pipeline.library.service import Library
from bot.pipeline.locks import MemberLocks
from bot.pipeline.maintenance import Reindexer, ReindexReport
from bot.pipeline.models import Models, open_models
from bot.pipeline.movienight import MovieNights
from bot.pipeline.movienight.planning import Blender
from bot.pipeline.owners import ProcessOwner, remove_files_of_gone_owners
from bot.pipeline.ratings import CHOICE_SOURCE, PAST_PICKS_LIMIT, Ratings
from bot.pipeline.reconcile import Reconciler
from bot.pipeline.records import OpenReply, PickRecord, Records
from bot.pipeline.suggestion import DEFAULT_COUNT, MAX_COUNT, MIN_COUNT, Retriever, Suggester
from bot.pipeline.tastes import TasteWriter
from bot.pipeline.vectors import QdrantServer, TasteVectors, VectorLayout, open_taste_vectors
from bot.pipeline.vectors.edge import EdgeTasteVectors, open_edge_vectors
from bot.pipeline.vectors.moving import move_local_into_edge
from bot.settings import Settings

__all__ = [
    "DEFAULT_COUNT",
    "MAX_COUNT",
    "MIN_COUNT",
    "PAST_PICKS_LIMIT",
    "Backends",
    "HealthCheck",
    "Pipeline",
    "ReindexReport",
    "open_backends",
    "open_pipeline",
]


@dataclass(frozen=True, slots=True)
class Backends:
    """What the pipeline is built on: the model servers (chat and embedding hosts), the
    two stores, and the id of the process that owns the suggestions it starts (see
    `owners.py`)."""

    models: Models
    vectors: TasteVectors
    records: Records
    owner_id: str | None = None
    catalogue: Catalogue | None = None  # None: CATALOGUE=off


class Pipeline:
    """Tastes in, reasoned picks out. Open with `open_pipeline(settings)`, or over
    backends of your own with `async with Pipeline(settings, backends)`."""

    def __init__(self, settings: Settings, backends: Backends) -> None:
        self.settings = settings
        models, vectors, records = backends.models, backends.vectors, backends.records
        tastes, suggestions, picks = records.tastes, records.suggestions, records.picks
        locks = MemberLocks()
        self._reconciler = Reconciler(settings, models, tastes, vectors, locks)
        self._tastes = TasteWriter(
            settings, models, tastes, vectors, locks, on_unsettled=self._reconciler.wake
        )
        learning = Learning(settings, models, picks, records.library)
        self._suggester = Suggester(
            settings,
            models,
            Retriever(settings, models, vectors, tastes),
            learning,
            suggestions,
            picks,
            backends.owner_id,
            catalogue=backends.catalogue,
        )
        self._ratings = Ratings(suggestions, picks)
        # The library's own methods are many and its own: the part itself is public.
        self.library = Library(
            records.library,
            ImportLimits.from_settings(settings.import_max_bytes, settings.import_max_rows),
            CatalogueMatcher(backends.catalogue) if backends.catalogue else None,
            embedder=models,
            embed_model=settings.embed_model,
        )
        self.movie_nights = MovieNights(
            settings,
            models,
            Blender(settings, models, vectors, tastes, picks, learning, records.library),
            tastes,
            suggestions,
            picks,
            records.nights,
            self._ratings,
            backends.owner_id,
            catalogue=backends.catalogue,
        )
        self._reindexer = Reindexer(settings, models, tastes, vectors, locks)
        self._health = Health(
            settings,
            models,
            records,
            vectors,
            first_reconcile=self._reconciler.wait_for_first_pass,
            catalogue=backends.catalogue,
        )

    async def __aenter__(self) -> Self:
        """Finish what a crash left between the stores, and start the background reconcile."""
        await self._reconciler.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop the background reconcile (what it left is finished at the next start)."""
        await self._reconciler.stop()

    # -- tastes ---------------------------------------------------------------------------

    def check_taste(self, text: str) -> str:
        """The taste as it would be stored, or `InputError` saying why it cannot be."""
        return self._tastes.check_taste(text)

    async def prefer(self, member_id: str, text: str) -> Taste:
        """Store a taste for the member, in the records and the vector store."""
        return await self._tastes.prefer(member_id, text)

    async def tastes(self, member_id: str) -> list[Taste]:
        """The member's tastes, oldest first."""
        return await self._tastes.tastes(member_id)

    async def count_tastes(self, member_id: str) -> int:
        """How many tastes the member has."""
        return await self._tastes.count_tastes(member_id)

    async def forget(self, member_id: str, taste_id: int) -> Taste:
        """Erase one of the member's own tastes from the records and the vector store."""
        return await self._tastes.forget(member_id, taste_id)

    async def forget_all(self, member_id: str) -> int:
        """Erase all of the member's tastes; returns how many there were."""
        return await self._tastes.forget_all(member_id)

    async def wait_until_settled(self) -> None:
        """Wait until no taste is waiting for its vector (use with a timeout)."""
        await self._reconciler.wait_until_settled()

    # -- suggestions ----------------------------------------------------------------------

    def check_request(self, query: str, count: int = DEFAULT_COUNT) -> str:
        """Validate a suggestion request before it queues; returns the cleaned query."""
        return self._suggester.check_request(query, count)

    def suggest(
        self, member_id: str, query: str, count: int = DEFAULT_COUNT
    ) -> AsyncGenerator[SuggestionEvent, None]:
        """Stream one suggestion's events (see `Suggester.suggest`); close it to stop."""
        return self._suggester.suggest(member_id, query, count)

    # -- ratings, past picks and the messages showing a suggestion ----------------------

    async def rate(
        self,
        member_id: str,
        suggestion_id: int,
        rating: Rating | None,
        position: int | None = None,
        source: str = CHOICE_SOURCE,
    ) -> list[PickRecord]:
        """Rate one shown pick (`position`, from 1) or all; `None` takes a rating back."""
        return await self._ratings.rate(member_id, suggestion_id, rating, position, source)

    async def unrate(
        self,
        member_id: str,
        suggestion_id: int,
        rating: Rating,
        position: int | None = None,
        source: str = CHOICE_SOURCE,
    ) -> list[PickRecord]:
        """Take back a rating given from `source` (a reaction removed), if it is `rating`."""
        return await self._ratings.unrate(member_id, suggestion_id, rating, position, source)

    async def picks(self, member_id: str, suggestion_id: int) -> list[PickRecord]:
        """The shown picks of one of the member's suggestions, with their ratings."""
        return await self._ratings.picks(member_id, suggestion_id)

    async def past_picks(self, member_id: str, limit: int = PAST_PICKS_LIMIT) -> list[PastPick]:
        """The member's most recently shown picks, newest first, with their ratings."""
        return await self._ratings.past_picks(member_id, limit)

    async def count_suggestions(self, member_id: str) -> int:
        """How many suggestions of the member are recorded (to offer erasing them)."""
        return await self._ratings.count_suggestions(member_id)

    async def erase_suggestions(self, member_id: str) -> int:
        """Erase the member's suggestions, picks and ratings, and their library (watchlist,
        marked watched, imports), in one transaction, then their movie nights and votes;
        returns how many suggestions."""
        await self.movie_nights.erase(member_id)
        return await self._ratings.erase_suggestions(member_id)

    async def reactions_of(self, member_id: str, suggestion_id: int) -> list[str]:
        """The emoji the member has on the suggestion's messages now."""
        return await self._ratings.reactions_of(member_id, suggestion_id)

    async def record_feedback(
        self, member_id: str, message_id: int, emoji: str, added: bool
    ) -> int | None:
        """Store a reaction on a suggestion's message; None for other messages."""
        return await self._ratings.record_feedback(member_id, message_id, emoji, added)

    async def link_message(
        self, suggestion_id: int, message_id: int, channel_id: int | None
    ) -> None:
        """Remember that a front-end message shows this suggestion (open until closed)."""
        await self._ratings.link_message(suggestion_id, message_id, channel_id)

    async def close_reply(self, suggestion_id: int) -> None:
        """The front end made the reply's last edit."""
        await self._ratings.close_reply(suggestion_id)

    async def open_replies(self) -> list[OpenReply]:
        """Replies a killed process left without their last edit, to finish now."""
        return await self._ratings.open_replies()

    # -- maintenance ----------------------------------------------------------------------

    async def reindex(self, progress: Callable[[str, int], None] | None = None) -> ReindexReport:
        """Rebuild every member's vectors from the records, in the configured layout."""
        return await self._reindexer.reindex(progress)

    async def health(self) -> list[HealthCheck]:
        """Check every part the pipeline depends on; never raises for a failed part."""
        return await self._health.health()

    async def start_up_problems(self) -> list[str]:
        """What a front end should tell the owner at start, one line each; never raises."""
        return await self._health.start_up_problems()


async def open_vector_store(settings: Settings) -> TasteVectors:
    """The configured store: the Qdrant server, else the Edge shard, else local mode."""
    if settings.uses_edge:
        return await open_edge_vectors(settings.edge_path)
    server = None
    if settings.qdrant_url is not None:
        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        server = QdrantServer(str(settings.qdrant_url), api_key, settings.qdrant_timeout)
    layout = VectorLayout(settings.vector_layout)
    return await open_taste_vectors(layout, path=settings.qdrant_path, server=server)


@asynccontextmanager
async def open_backends(settings: Settings) -> AsyncIterator[Backends]:
    """Open the model servers, the vector store and the records; close them all on the
    way out.

    The vector store is opened first: an embedded store is locked to one process, and a
    process refused that lock must change nothing, so the records (migrations, closing
    suggestions whose process is gone) come after it. Suggestions of a live process
    are never touched (see `owners.py`).
    """
    check_writable(settings.data_dir)
    async with AsyncExitStack() as stack:
        models = await stack.enter_async_context(open_models(settings))
        vectors = await open_vector_store(settings)
        stack.push_async_callback(vectors.close)
        owner = ProcessOwner.acquire(settings.data_dir)
        stack.callback(owner.release)
        records = await stack.enter_async_context(
            Records.open(settings.sqlite_path, busy_timeout_ms=settings.sqlite_busy_timeout)
        )
        await records.suggestions.close_abandoned_suggestions(owner.is_gone)
        remove_files_of_gone_owners(settings.data_dir)
        if isinstance(vectors, EdgeTasteVectors):  # local mode's vectors move in, once
            counts = await records.tastes.taste_counts()
            await move_local_into_edge(settings.qdrant_path, vectors, counts)
        catalogue = await stack.enter_async_context(open_catalogue(settings))
        yield Backends(models, vectors, records, owner.id, catalogue)


@asynccontextmanager
async def open_pipeline(settings: Settings) -> AsyncIterator[Pipeline]:
    """Open the backends and the pipeline over them; close both, in order, on the way out.

    Only a process that opened both stores (the vector store's lock first) starts the
    reconcile, which finishes what a crash left before the pipeline is handed out.
    """
    async with AsyncExitStack() as stack:
        backends = await stack.enter_async_context(open_backends(settings))
        yield await stack.enter_async_context(Pipeline(settings, backends))
