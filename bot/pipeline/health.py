"""Health: `doctor`'s checks of every part the pipeline depends on, and start-up warnings.

Each check says what was checked, whether it is fine, and what to do if not. No check
raises for a failed part: a part that is down is a line of the report, not an error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass

from bot.errors import DimensionMismatch, SuggestWatchError
from bot.pipeline.catalogue import Catalogue
from bot.pipeline.catalogue.opening import NO_CONTACT_WARNING
from bot.pipeline.data_dir import low_space_warning
from bot.pipeline.host_checks import check_hosts
from bot.pipeline.models import Models
from bot.pipeline.records import Records
from bot.pipeline.vectors import TasteVectors, VectorCensus
from bot.settings import Settings

# How long `doctor` waits for the start-up reconcile before reporting what is left.
HEALTH_SETTLE_WAIT = 5.0
REINDEX_COMMAND = "python -m bot.cli reindex"


@dataclass(frozen=True, slots=True)
class HealthCheck:
    """One line of `doctor`: what was checked, whether it is fine, and what to do if not."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None


class Health:
    """Checks every model host and its models, the vector store against the records, and
    the records."""

    def __init__(
        self,
        settings: Settings,
        models: Models,
        records: Records,
        vectors: TasteVectors,
        first_reconcile: Callable[[], Awaitable[None]] | None = None,
        catalogue: Catalogue | None = None,
    ) -> None:
        """`first_reconcile` waits for the start-up reconcile's first pass, if any;
        `catalogue` is the film catalogue (None: CATALOGUE=off)."""
        self._catalogue = catalogue
        self._settings = settings
        self._models = models
        self._records = records
        self._vectors = vectors
        self._first_reconcile = first_reconcile

    async def health(self) -> list[HealthCheck]:
        """Check every part the pipeline depends on; never raises for a failed part."""
        settings = self._settings
        hosts = await check_hosts(self._models, settings.chat_model, settings.embed_model)
        checks = [HealthCheck(host.name, host.ok, host.detail, host.fix) for host in hosts]
        checks.append(await self._check_vectors())
        checks.append(await self._check_records())
        checks.append(await self._check_catalogue())
        return checks

    async def start_up_problems(self) -> list[str]:
        """What a front end should tell the owner at start, one line each (vectors of
        the wrong size, a nearly full disk); never raises."""
        problems: list[str] = []
        if warning := low_space_warning(self._settings.data_dir):
            problems.append(warning)
        if self._catalogue is not None and not self._settings.catalogue_contact:
            problems.append(NO_CONTACT_WARNING)
        # A model server that is down is said when a member asks; it may start after the bot.
        if sizes := await self._wrong_vector_sizes():
            problems.append(f"Vector store: {sizes}")
        return problems

    async def _wrong_vector_sizes(self) -> str:
        """'' unless stored vectors have another size than the embedding model's."""
        try:
            dimension = await self._models.embedding_dimension(self._settings.embed_model)
            census = await self._vectors.census(list(await self._records.tastes.taste_counts()))
        except SuggestWatchError:
            return ""  # the model or a store is unavailable: said when a member asks
        return describe_wrong_sizes(census, dimension)

    async def _check_vectors(self) -> HealthCheck:
        """Compare the records with the vectors, member by member, and their sizes."""
        name = "Vector store"
        if self._first_reconcile is not None:
            # Let the start-up reconcile try once before counting.
            with suppress(TimeoutError):
                await asyncio.wait_for(self._first_reconcile(), HEALTH_SETTLE_WAIT)
        try:
            counts = await self._records.tastes.taste_counts()
            census = await self._vectors.census(list(counts))
        except SuggestWatchError as exc:
            return HealthCheck(name, False, str(exc))
        layout = self._settings.vector_store_label
        if census.other_layout:
            other = (
                "some tastes' vectors are still in the other layout (VECTOR_LAYOUT "
                "changed?); reindex moves them"
            )
            return HealthCheck(name, False, f"{layout}; {other}", REINDEX_COMMAND)
        if drift := describe_drift(counts, census.vectors, census.strangers):
            return HealthCheck(name, False, f"{layout}; drift: {drift}", REINDEX_COMMAND)
        if pending := sum(pending for _, pending in counts.values()):
            return HealthCheck(
                name,
                False,
                f"{layout}; {pending} taste(s) wait for their vectors (model server down?); "
                "they are written as soon as it answers",
                f"Start the embedding host, or run: {REINDEX_COMMAND}",
            )
        members = f"{layout}, {len(census.vectors)} member(s) with vectors"
        return await self._check_sizes(census, members)

    async def _check_sizes(self, census: VectorCensus, members: str) -> HealthCheck:
        """The vectors' sizes against the embedding model's (`members` says how many)."""
        name = "Vector store"
        try:
            dimension = await self._models.embedding_dimension(self._settings.embed_model)
        except SuggestWatchError:
            return HealthCheck(name, True, f"{members}; sizes not checked without the model")
        if wrong := describe_wrong_sizes(census, dimension):
            return HealthCheck(name, False, wrong, REINDEX_COMMAND)
        model = self._settings.embed_model
        return HealthCheck(name, True, f"{members}; {model} gives {dimension}-d")

    async def _check_catalogue(self) -> HealthCheck:
        """Wikidata answers for a known item, and the contact Wikimedia asks for is set."""
        name = "Film catalogue"
        if self._catalogue is None:
            return HealthCheck(name, True, "off (CATALOGUE=off): picks are not checked")
        url = self._settings.wikidata_api_url
        if trouble := await self._catalogue.check():
            fix = "Check WIKIDATA_API_URL and this machine's internet access."
            return HealthCheck(name, False, f"{url}: {trouble} Picks show as not checked.", fix)
        if not self._settings.catalogue_contact:
            fix = "Set CATALOGUE_CONTACT to your URL or email."
            return HealthCheck(name, False, f"{url} answers; {NO_CONTACT_WARNING}", fix)
        return HealthCheck(name, True, f"{url} answers; contact {self._settings.catalogue_contact}")

    async def _check_records(self) -> HealthCheck:
        try:
            version = await self._records.schema_version()
            suggestions = await self._records.suggestions.count_suggestions()
            members = await self._records.tastes.members_with_tastes()
        except SuggestWatchError as exc:
            return HealthCheck("Records", False, str(exc))
        return HealthCheck(
            "Records",
            True,
            f"{self._settings.sqlite_path}, schema v{version}, {len(members)} member(s) with "
            f"tastes, {suggestions} suggestion(s)",
        )


def describe_wrong_sizes(census: VectorCensus, dimension: int) -> str:
    """'' unless some members' vectors have another size than `dimension`."""
    mismatched = sorted(m for m, size in census.dimensions.items() if size != dimension)
    if not mismatched:
        return ""
    error = DimensionMismatch(census.dimensions[mismatched[0]], dimension)
    return f"{len(mismatched)} member(s) with vectors of another size: {error}"


def describe_drift(
    counts: dict[str, tuple[int, int]], vectors: dict[str, int], strangers: int
) -> str:
    """'' when every member's vectors match their tastes; else what is wrong, briefly.

    A member with `stored` tastes and `pending` ones should have between `stored`
    and `stored + pending` vectors (a pending taste's vector may be written already).
    """
    wrong = [
        f"{member_id}: {stored + pending} taste(s), {vectors.get(member_id, 0)} vector(s)"
        for member_id, (stored, pending) in sorted(counts.items())
        if not stored <= vectors.get(member_id, 0) <= stored + pending
    ]
    parts = []
    if wrong:
        examples = "; ".join(wrong[:3]) + ("; …" if len(wrong) > 3 else "")
        parts.append(f"{len(wrong)} member(s) whose vectors do not match their tastes ({examples})")
    if strangers:
        parts.append(f"vectors of {strangers} member(s) without tastes")
    return " and ".join(parts)
