"""Fixtures for the catalogue tests: a fake Wikidata, a client on it, a cache, a catalogue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.pipeline.catalogue import Catalogue, CatalogueCache, WikidataClient
from tests.fakes.wikidata_server import FakeWikidata

CONTACT = "owner@example.org"


@pytest.fixture
async def client(fake_wikidata: FakeWikidata) -> AsyncIterator[WikidataClient]:
    async with WikidataClient(fake_wikidata.api_url, contact=CONTACT, give_up_after=5) as opened:
        yield opened


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "catalogue_cache.sqlite3"


@pytest.fixture
async def cache(cache_path: Path) -> AsyncIterator[CatalogueCache]:
    async with CatalogueCache(cache_path) as opened:
        yield opened


@pytest.fixture
def catalogue(client: WikidataClient, cache: CatalogueCache) -> Catalogue:
    return Catalogue(client, cache, language="en", watch_region="uk")
