"""The words both front ends use, and the two layouts of them."""

from __future__ import annotations

import itertools
from datetime import datetime

from bot import presentation as say
from bot.cli.terminal import render_pick
from bot.discord_bot import layout
from bot.pipeline.domain import MatchedTaste, PastPick, PickDraft, Rating, SuggestionTimings
from bot.pipeline.events import Finished, Retrieved

ARRIVAL = PickDraft(
    "Arrival", 2016, "movie", "A linguist meets *aliens*.", "Slow and thoughtful.", 0.9
)


def retrieved(**fields: object) -> Retrieved:
    values: dict[str, object] = {
        "suggestion_id": 7,
        "query": "noir",
        "count": 3,
        "matches": (MatchedTaste(1, "film noir", 0.83),),
        "has_tastes": True,
        "embed_seconds": 0.01,
        "search_seconds": 0.002,
    }
    return Retrieved(**{**values, **fields})  # type: ignore[arg-type]


def finished(picks: int, **fields: object) -> Finished:
    return Finished(  # type: ignore[misc]
        7,
        "",
        SuggestionTimings(),
        None,
        picks=(ARRIVAL,) * picks,
        is_structured=True,
        **fields,
    )


def test_counts_take_the_singular_for_one() -> None:
    assert say.plural(1, "pick") == "1 pick"
    assert say.plural(0, "pick") == "0 picks"
    assert say.plural(3, "title") == "3 titles"


def test_a_pick_says_the_same_words_in_both_layouts() -> None:
    terminal = render_pick(1, ARRIVAL)
    discord = layout.pick_text(1, ARRIVAL)
    assert terminal == (
        "1. Arrival · 2016 · movie\n"
        "   A linguist meets *aliens*.\n"
        "   Why: Slow and thoughtful.\n"
        "   Confidence: 90%"
    )
    assert discord == (
        "**1. Arrival** (2016 · movie)\n"
        "A linguist meets \\*aliens\\*.\n"
        "*Why:* Slow and thoughtful.\n"
        "*Confidence:* 90%"
    )


def test_a_terminal_pick_grows_by_appending_only() -> None:
    versions = [
        PickDraft("Arrival"),
        PickDraft("Arrival", 2016),
        PickDraft("Arrival", 2016, "movie"),
        PickDraft("Arrival", 2016, "movie", "A linguist meets"),
        ARRIVAL,
    ]
    texts = [render_pick(1, version) for version in versions]
    for earlier, later in itertools.pairwise(texts):
        assert later.startswith(earlier)


def test_the_header_names_matches_and_what_the_ratings_teach() -> None:
    event = retrieved(liked_examples=("Heat (1995)",), avoided_count=2)
    lines = say.header_lines(event, "/prefer", detail="embed 10 ms")
    assert lines == [
        "Matched 1 of your tastes (embed 10 ms):",
        "0.83 film noir",
        "Learning from your ratings: 1 liked pick as examples, 2 titles kept out.",
    ]
    discord = layout.retrieved(event)
    assert discord.splitlines()[1:] == [
        "Matched 1 of your tastes:",
        "> `0.83` film noir",
        "Learning from your ratings: 1 liked pick as examples, 2 titles kept out.",
    ]


def test_a_header_without_tastes_names_the_command_to_add_one() -> None:
    lines = say.header_lines(retrieved(matches=(), has_tastes=False), "`/prefer`")
    assert lines == [say.NO_TASTES_YET, "Add tastes with: `/prefer`"]


def test_the_discord_header_counts_the_picks_shown_once_known() -> None:
    event = retrieved(count=3)
    assert layout.retrieved(event).startswith("🎬 **3 picks for “noir”**")
    assert layout.retrieved(event, shown=1).startswith("🎬 **1 pick for “noir”**")


def test_the_end_says_what_was_left_out_and_how_to_rate() -> None:
    assert say.end_lines(finished(2, left_out_count=1), "Rate them.") == [
        "Left out 1 pick you disliked, have seen, were suggested lately or have on your watchlist.",
        "Rate them.",
    ]
    assert say.end_lines(finished(0, left_out_count=3), "Rate them.") == [
        "Left out 3 picks you disliked, have seen, were suggested lately "
        "or have on your watchlist.",
        say.NO_NEW_PICKS,
    ]


def test_the_rating_hint_names_one_pick_by_its_number_alone() -> None:
    assert layout.keycap_range(1) == "1️⃣"
    assert layout.keycap_range(3) == "1️⃣–3️⃣"
    assert "(1️⃣)" in layout.finished(finished(1))
    assert "(1️⃣–4️⃣)" in layout.finished(finished(4))


def test_history_groups_picks_under_their_request_with_ratings() -> None:
    when = datetime(2025, 3, 1)
    picks = [
        PastPick(2, 1, "Heat", 1995, "movie", "heists", Rating.LIKED, when),
        PastPick(2, 2, "Ronin", None, "movie", "heists", None, when),
        PastPick(1, 1, "Dark", 2017, "show", "*twisty*", Rating.SEEN, when),
    ]
    assert say.history_groups(picks) == [
        ("#2 “heists” · 2025-03-01", ["1. Heat (1995): liked", "2. Ronin: not rated"]),
        ("#1 “*twisty*” · 2025-03-01", ["1. Dark (2017): seen it"]),
    ]
    [_, (heading, lines)] = say.history_groups(picks, layout.DISCORD)
    assert heading == "`#1` “\\*twisty\\*” · 2025-03-01"
    assert lines == ["1. Dark (2017): 👁️ seen it"]


def test_the_history_question_is_asked_only_when_there_is_history() -> None:
    assert say.erase_history_question(0) is None
    question = say.erase_history_question(1)
    assert question is not None and "1 suggestion," in question
    assert say.erased_history(2) == "Erased your history of 2 suggestions and their ratings."


# -- what the film catalogue says -------------------------------------------------------


def test_a_pick_is_marked_until_the_catalogue_finds_it() -> None:
    from bot.pipeline.catalogue import CHECKING, NOT_CHECKED, NOT_FOUND, CheckState, Lookup

    assert say.check_mark(None) is None  # no catalogue: nothing to say
    assert say.check_mark(CHECKING) == "checking…"
    assert say.check_mark(NOT_FOUND) == "not found in the catalogue"
    assert say.check_mark(NOT_CHECKED) == "not checked"
    assert say.check_mark(Lookup(CheckState.VERIFIED, "Q1")) is None


def test_the_facts_line_names_kind_runtime_genres_and_director() -> None:
    from bot.pipeline.catalogue import FilmFacts

    facts = FilmFacts(
        "Dark", 2017, "show", ("science fiction film", "mystery television series"), None, ()
    )

    assert say.film_facts(facts) == "series · science fiction, mystery"


def test_links_are_named_and_only_those_the_item_has() -> None:
    from bot.pipeline.catalogue import FilmLinks

    links = FilmLinks(wikidata="w", imdb="i", justwatch="j")

    assert say.film_links(links) == [("IMDb", "i"), ("Where to watch", "j")]
