"""The terminal with the film catalogue: facts and plain URLs after the picks, a spare in
place of an invented pick, "not checked" when the catalogue is down."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from bot.cli import EXIT_OK, build_parser, run
from bot.pipeline.catalogue import user_agent
from bot.settings import Settings
from tests.cli.session import Session
from tests.fakes.ollama_server import DEFAULT_PICKS, MORE_PICKS, FakeOllama
from tests.fakes.wikidata_server import FakeWikidata, Fault, FaultKind, unused_port

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


async def test_a_wrong_year_is_corrected(cli: Session, fake_ollama: FakeOllama) -> None:
    fake_ollama.picks = [{**DEFAULT_PICKS[0], "year": 2017}, *DEFAULT_PICKS[1:]]

    assert await cli("--member", "alice", "suggest", "sci-fi", "-n", "1") == EXIT_OK

    assert "1. Arrival (2016): film" in cli.out


async def test_a_second_suggestion_with_the_same_titles_asks_the_catalogue_nothing(
    cli: Session, fake_wikidata: FakeWikidata
) -> None:
    cli.settings = cli.settings.model_copy(update={"no_repeat_window": 0})
    await cli("--member", "alice", "suggest", "sci-fi", "-n", "2")
    asked = len(fake_wikidata.requests)

    assert await cli("--member", "alice", "suggest", "more", "-n", "2") == EXIT_OK

    assert asked > 0
    assert len(fake_wikidata.requests) == asked
    assert "directed by Mara Quill" in cli.out


class TimedOutput(io.StringIO):
    """Output that notes when `marker` was first written."""

    def __init__(self, marker: str) -> None:
        super().__init__()
        self.marker = marker
        self.written_at: float | None = None

    def write(self, text: str) -> int:
        written = super().write(text)
        if self.written_at is None and self.marker in self.getvalue():
            self.written_at = time.monotonic()
        return written


async def test_a_slow_catalogue_does_not_delay_the_first_answer_text(
    cli: Session, fake_wikidata: FakeWikidata
) -> None:
    fake_wikidata.latency = 2.0
    settings = cli.settings.model_copy(update={"catalogue_deadline": 0.2})
    out = TimedOutput("1. Arrival")
    args = build_parser().parse_args(["--member", "alice", "suggest", "sci-fi", "-n", "1"])
    started = time.monotonic()

    assert await run(args, settings, out, io.StringIO(), io.StringIO()) == EXIT_OK

    assert out.written_at is not None and out.written_at - started < 1.5
    first_answer = fake_wikidata.requests[0].answered_at
    assert first_answer is None or first_answer > out.written_at
    assert "1. Arrival (2016): not checked" in out.getvalue()


@pytest.mark.parametrize("kind", [FaultKind.RATE_LIMITED, FaultKind.UNAVAILABLE, FaultKind.MAXLAG])
async def test_a_busy_catalogue_is_asked_again_after_retry_after(
    cli: Session, fake_wikidata: FakeWikidata, kind: FaultKind
) -> None:
    fake_wikidata.fault = Fault(kind, times=1, retry_after=0.3)

    assert await cli("--member", "alice", "suggest", "sci-fi", "-n", "2") == EXIT_OK

    refused, *later = fake_wikidata.requests
    assert refused.answered_at is not None
    assert all(request.at - refused.answered_at >= 0.29 for request in later)
    assert "directed by Mara Quill" in cli.out


async def test_one_request_at_a_time_each_with_user_agent_and_maxlag(
    cli: Session, fake_wikidata: FakeWikidata
) -> None:
    fake_wikidata.latency = 0.02

    await cli("--member", "alice", "suggest", "sci-fi")

    assert fake_wikidata.max_in_flight == 1
    assert {r.user_agent for r in fake_wikidata.requests} == {user_agent("owner@example.org")}
    assert {r.params["maxlag"] for r in fake_wikidata.requests} == {"5"}


async def test_a_variant_title_of_a_disliked_film_never_stays(
    cli: Session, fake_ollama: FakeOllama
) -> None:
    await cli("--member", "alice", "suggest", "sci-fi", "-n", "1")
    await cli("--member", "alice", "rate", "1", "not-for-me")
    fake_ollama.picks = [{**DEFAULT_PICKS[0], "title": "Arrival: First Contact"}, *MORE_PICKS]

    assert await cli("--member", "alice", "suggest", "sci-fi", "-n", "1") == EXIT_OK

    catalogue_part = cli.out.split("Film data: Wikidata, CC0")[1]
    assert "1. Annihilation (2018): film" in catalogue_part
    assert "Arrival" not in catalogue_part
