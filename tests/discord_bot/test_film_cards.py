"""Cards for found picks: what each says, and Discord's limits on a message's embeds."""

from __future__ import annotations

from bot.discord_bot.film_cards import MAX_EMBED_CHARS, MAX_EMBEDS, film_cards
from bot.pipeline.catalogue import NOT_FOUND, CheckState, FilmFacts, FilmLinks, Lookup
from bot.presentation import CATALOGUE_CREDIT


def found(title: str, year: int = 2016, directors: tuple[str, ...] = ("Mara Quill",)) -> Lookup:
    links = FilmLinks(
        wikidata="https://www.wikidata.org/wiki/Q1",
        wikipedia=f"https://en.wikipedia.org/wiki/{title}",
        imdb="https://www.imdb.com/title/tt1/",
        justwatch=f"https://www.justwatch.com/us/search?q={title}",
    )
    facts = FilmFacts(title, year, "movie", ("science fiction film",), 116, directors)
    return Lookup(CheckState.VERIFIED, "Q1", facts, links)


def test_a_card_shows_the_catalogues_title_facts_and_links() -> None:
    (card,) = film_cards([(1, found("Arrival"))])

    assert card.title == "1. Arrival (2016)"
    assert card.url == "https://en.wikipedia.org/wiki/Arrival"
    assert card.description is not None
    assert "film · 116 min · science fiction · directed by Mara Quill" in card.description
    assert "[IMDb](https://www.imdb.com/title/tt1/)" in card.description
    assert "[Where to watch](https://www.justwatch.com/us/search?q=Arrival)" in card.description
    assert "Letterboxd" not in card.description  # no id, no link
    assert card.footer.text == CATALOGUE_CREDIT


def test_picks_not_found_get_no_card_and_numbers_stay_as_shown() -> None:
    cards = film_cards([(1, NOT_FOUND), (2, found("Moon", 2009))])

    assert [card.title for card in cards] == ["2. Moon (2009)"]


def test_no_more_than_ten_cards() -> None:
    cards = film_cards([(number, found(f"Film {number}")) for number in range(1, 13)])

    assert len(cards) == MAX_EMBEDS
    assert cards[-1].footer.text == CATALOGUE_CREDIT


def test_the_cards_stay_within_six_thousand_characters() -> None:
    long_titles = [f"{number} " + "A Very Long Title " * 14 for number in range(1, 11)]
    cards = film_cards([(number, found(title)) for number, title in enumerate(long_titles, 1)])

    total = sum(len(card.title or "") + len(card.description or "") for card in cards)
    total += len(CATALOGUE_CREDIT)
    assert 0 < len(cards) < 10
    assert total <= MAX_EMBED_CHARS
    assert cards[-1].footer.text == CATALOGUE_CREDIT
