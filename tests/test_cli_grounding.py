"""The terminal with the film catalogue: facts and plain URLs after the picks, a spare in
place of an invented pick, "not checked" when the catalogue is down."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import EXIT_OK
from bot.settings import Settings
from tests.fakes.ollama_server import DEFAULT_PICKS, MORE_PICKS, FakeOllama
from tests.fakes.wikidata_server import FakeWikidata, unused_port
from tests.test_cli import Session

INVENTED = {**DEFAULT_PICKS[0], "title": "Zorblax Rising", "year": 2001}


@pytest.fixture
def cli(fake_ollama: FakeOllama, fake_wikidata: FakeWikidata, tmp_path: Path) -> Session:
    return Session(
        Settings(
            ollama_url=fake_ollama.url,
            data_dir=tmp_path,
            min_taste_similarity=-1.0,
            catalogue="wikidata",
            wikidata_api_url=fake_wikidata.api_url,
            catalogue_contact="owner@example.org",
            catalogue_deadline=1.0,
            _env_file=None,
        )
    )


async def test_a_real_pick_shows_its_facts_and_links_as_plain_urls(cli: Session) -> None:
    assert await cli("--member", "alice", "suggest", "sci-fi", "-n", "2") == EXIT_OK

    assert "Film data: Wikidata, CC0 (https://www.wikidata.org/):" in cli.out
    assert (
        "1. Arrival (2016): film · 116 min · science fiction, drama · directed by Mara Quill"
        in cli.out
    )
    assert "   IMDb: https://www.imdb.com/title/tt9000001/" in cli.out
    assert "   Where to watch: https://www.justwatch.com/us/search?q=Arrival" in cli.out
    assert "2. The Leftovers (2014): series" in cli.out


async def test_an_invented_pick_is_replaced_by_a_spare(
    cli: Session, fake_ollama: FakeOllama
) -> None:
    fake_ollama.picks = [INVENTED, *DEFAULT_PICKS[1:], *MORE_PICKS]

    assert await cli("--member", "alice", "suggest", "sci-fi") == EXIT_OK

    catalogue_part = cli.out.split("Film data: Wikidata, CC0")[1]
    assert "1. Annihilation (2018): film" in catalogue_part
    assert "Zorblax" not in catalogue_part


async def test_a_catalogue_that_is_down_shows_not_checked(cli: Session) -> None:
    cli.settings = cli.settings.model_copy(
        update={"wikidata_api_url": f"http://127.0.0.1:{unused_port()}/w/api.php"}
    )

    assert await cli("--member", "alice", "suggest", "sci-fi", "-n", "2") == EXIT_OK

    assert "1. Arrival (2016): not checked" in cli.out
    assert "2 picks could not be checked against the film catalogue" in cli.out
