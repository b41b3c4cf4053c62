"""Opening the catalogue from the settings (without a contact, start-up warns: `health.py`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from bot.pipeline.catalogue.cache import CatalogueCache
from bot.pipeline.catalogue.client import WikidataClient
from bot.pipeline.catalogue.lookup import Catalogue
from bot.settings import Settings

NO_CONTACT_WARNING = (
    "CATALOGUE_CONTACT is not set: Wikimedia asks every bot to name a contact in its "
    "User-Agent. Set it to your URL or email."
)


@asynccontextmanager
async def open_catalogue(settings: Settings) -> AsyncIterator[Catalogue | None]:
    """The catalogue the settings ask for (None with CATALOGUE=off); closed on exit."""
    if not settings.is_catalogue_on:
        yield None
        return
    async with AsyncExitStack() as stack:
        client = await stack.enter_async_context(
            WikidataClient(str(settings.wikidata_api_url), contact=settings.catalogue_contact)
        )
        cache = await stack.enter_async_context(
            CatalogueCache(
                settings.catalogue_cache_path,
                max_entries=settings.catalogue_cache_max,
                busy_timeout_ms=settings.sqlite_busy_timeout,
            )
        )
        yield Catalogue(
            client,
            cache,
            language=settings.catalogue_language,
            watch_region=settings.watch_region,
            item_ttl_days=settings.catalogue_item_ttl_days,
            search_ttl_days=settings.catalogue_search_ttl_days,
        )
