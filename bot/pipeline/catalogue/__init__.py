"""The film catalogue: each pick checked against Wikidata, with facts and links.

`WikidataClient` (client.py) speaks the Action API as a good citizen; `items.py` reads
what we keep of an item; `matching.py` decides which item a pick names; `cache.py`
keeps answers in their own SQLite file; `lookup.py` is what the pipeline calls:
`Catalogue.lookup(title, year, kind) -> Lookup`.
"""

from bot.pipeline.catalogue.cache import CatalogueCache
from bot.pipeline.catalogue.client import DEFAULT_API_URL, WikidataClient, user_agent
from bot.pipeline.catalogue.items import SCREEN_CLASSES, CatalogueItem
from bot.pipeline.catalogue.lookup import (
    CHECKING,
    NOT_CHECKED,
    NOT_FOUND,
    Catalogue,
    CheckState,
    Deadline,
    FilmFacts,
    FilmLinks,
    Lookup,
)
from bot.pipeline.catalogue.matching import find_match, names_match

__all__ = [
    "CHECKING",
    "DEFAULT_API_URL",
    "NOT_CHECKED",
    "NOT_FOUND",
    "SCREEN_CLASSES",
    "Catalogue",
    "CatalogueCache",
    "CatalogueItem",
    "CheckState",
    "Deadline",
    "FilmFacts",
    "FilmLinks",
    "Lookup",
    "WikidataClient",
    "find_match",
    "names_match",
    "user_agent",
]
