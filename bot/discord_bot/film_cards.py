"""Discord cards (embeds) for the picks the film catalogue found, within Discord's limits.

One card per found pick, in the reply's order and numbered like it: the catalogue's
title and year (linked to the Wikipedia article, else the Wikidata item), the facts
line, and the links. A message holds at most 10 embeds and 6,000 characters across
them; cards that would pass either limit are left out (the reply's text still names
every pick). The last card carries the credit, "Film data: Wikidata, CC0".
"""

from __future__ import annotations

from collections.abc import Sequence

import discord

from bot import presentation as say
from bot.discord_bot import escaped
from bot.pipeline.catalogue import Lookup

MAX_EMBEDS = 10  # per message
MAX_EMBED_CHARS = 6000  # titles, descriptions and footers of all a message's embeds
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
CARD_COLOUR = discord.Colour.from_rgb(51, 102, 153)  # Wikidata's blue


def film_cards(picks: Sequence[tuple[int, Lookup]]) -> list[discord.Embed]:
    """The cards for the found ones of `picks` (number as shown, the catalogue's answer)."""
    cards: list[discord.Embed] = []
    used = len(say.CATALOGUE_CREDIT)
    for number, lookup in picks:
        if not lookup.is_found or lookup.facts is None or lookup.links is None:
            continue
        card = film_card(number, lookup)
        size = len(card.title or "") + len(card.description or "")
        if len(cards) == MAX_EMBEDS or used + size > MAX_EMBED_CHARS:
            break
        cards.append(card)
        used += size
    if cards:
        cards[-1].set_footer(text=say.CATALOGUE_CREDIT)
    return cards


def film_card(number: int, lookup: Lookup) -> discord.Embed:
    """One found pick's card."""
    assert lookup.facts is not None and lookup.links is not None
    facts, links = lookup.facts, lookup.links
    year = f" ({facts.year})" if facts.year else ""
    title = f"{number}. {facts.title}{year}"[:TITLE_LIMIT]
    link_line = " · ".join(f"[{name}]({url})" for name, url in say.film_links(links))
    return discord.Embed(
        title=title,
        url=links.wikipedia or links.wikidata,
        description="\n".join([escaped(say.film_facts(facts)), link_line])[:DESCRIPTION_LIMIT],
        colour=CARD_COLOUR,
    )
