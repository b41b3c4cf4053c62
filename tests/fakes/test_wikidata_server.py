"""The fake Wikidata itself: it must answer in the real shapes, or client tests prove nothing."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.wikidata_server import FakeWikidata, Fault, FaultKind, unused_port

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
async def fake() -> AsyncIterator[FakeWikidata]:
    async with FakeWikidata() as started:
        yield started


@pytest.fixture
async def http(fake: FakeWikidata) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


async def api(http: httpx.AsyncClient, fake: FakeWikidata, **params: str) -> httpx.Response:
    return await http.get(fake.api_url, params={"format": "json", **params})


async def test_search_finds_labels_from_their_start_best_known_first(
    http: httpx.AsyncClient, fake: FakeWikidata
) -> None:
    response = await api(http, fake, action="wbsearchentities", search="moo", language="en")

    hits = response.json()["search"]
    assert [hit["id"] for hit in hits] == ["Q9300001", "Q9000003", "Q9000111"]  # best known first
    assert hits[1]["match"] == {"type": "label", "language": "en", "text": "Moon"}
    assert hits[1]["concepturi"] == "http://www.wikidata.org/entity/Q9000003"
    assert response.json()["success"] == 1


async def test_search_finds_aliases_in_any_language(
    http: httpx.AsyncClient, fake: FakeWikidata
) -> None:
    response = await api(http, fake, action="wbsearchentities", search="la chute", language="en")

    (hit,) = response.json()["search"]
    assert hit["id"] == "Q9000108"
    assert hit["match"]["type"] == "alias"
    assert hit["match"]["language"] == "fr"


async def test_search_pages_with_limit_and_continue(
    http: httpx.AsyncClient, fake: FakeWikidata
) -> None:
    first = (
        await api(http, fake, action="wbsearchentities", search="s", language="en", limit="1")
    ).json()

    assert len(first["search"]) == 1
    assert first["search-continue"] == 1


async def test_get_entities_renders_claims_in_the_real_shapes(
    http: httpx.AsyncClient, fake: FakeWikidata
) -> None:
    response = await api(
        http,
        fake,
        action="wbgetentities",
        ids="Q9000001|Q9999999",
        props="labels|aliases|descriptions|claims|sitelinks/urls",
    )

    entities = response.json()["entities"]
    assert entities["Q9999999"] == {"id": "Q9999999", "missing": ""}
    arrival = entities["Q9000001"]
    assert arrival["labels"]["en"] == {"language": "en", "value": "Arrival"}
    instance_of = arrival["claims"]["P31"][0]["mainsnak"]["datavalue"]
    assert instance_of == {
        "value": {"entity-type": "item", "numeric-id": 11424, "id": "Q11424"},
        "type": "wikibase-entityid",
    }
    published = arrival["claims"]["P577"][0]["mainsnak"]["datavalue"]["value"]
    assert published["time"] == "+2016-09-01T00:00:00Z"
    assert published["precision"] == 11
    runtime = arrival["claims"]["P2047"][0]["mainsnak"]["datavalue"]["value"]
    assert runtime == {"amount": "+116", "unit": "http://www.wikidata.org/entity/Q7727"}
    imdb = arrival["claims"]["P345"][0]["mainsnak"]
    assert imdb["datatype"] == "external-id"
    assert imdb["datavalue"] == {"value": "tt9000001", "type": "string"}
    assert arrival["sitelinks"]["enwiki"]["url"] == "https://en.wikipedia.org/wiki/Arrival_(film)"


async def test_get_entities_gives_only_the_props_and_languages_asked(
    http: httpx.AsyncClient, fake: FakeWikidata
) -> None:
    response = await api(
        http, fake, action="wbgetentities", ids="Q9000108", props="labels|sitelinks", languages="de"
    )

    entity = response.json()["entities"]["Q9000108"]
    assert entity["labels"] == {"de": {"language": "de", "value": "Laternenfall"}}
    assert "claims" not in entity
    assert "url" not in entity["sitelinks"]["enwiki"]


async def test_get_entities_refuses_more_than_fifty_ids(
    http: httpx.AsyncClient, fake: FakeWikidata
) -> None:
    ids = "|".join(f"Q{number}" for number in range(1, 52))

    response = await api(http, fake, action="wbgetentities", ids=ids)

    assert response.json()["error"]["code"] == "toomanyvalues"


@pytest.mark.parametrize(
    ("kind", "status"),
    [(FaultKind.RATE_LIMITED, 429), (FaultKind.UNAVAILABLE, 503), (FaultKind.MAXLAG, 200)],
)
async def test_waiting_faults_carry_retry_after(
    http: httpx.AsyncClient, fake: FakeWikidata, kind: FaultKind, status: int
) -> None:
    fake.fault = Fault(kind, times=1, retry_after=3)

    faulty = await api(http, fake, action="wbgetentities", ids="Q9000001")
    healthy = await api(http, fake, action="wbgetentities", ids="Q9000001")

    assert faulty.status_code == status
    assert faulty.headers["Retry-After"] == "3"
    assert "entities" in healthy.json()


async def test_maxlag_is_the_apis_error_body_with_the_lag(
    http: httpx.AsyncClient, fake: FakeWikidata
) -> None:
    fake.fault = Fault(FaultKind.MAXLAG, lag=6)

    response = await api(http, fake, action="wbsearchentities", search="x", language="en")

    assert response.json()["error"]["code"] == "maxlag"
    assert response.json()["error"]["lag"] == 6
    assert response.headers["X-Database-Lag"] == "6"


async def test_server_error_is_an_html_500(http: httpx.AsyncClient, fake: FakeWikidata) -> None:
    fake.fault = Fault(FaultKind.SERVER_ERROR)

    response = await api(http, fake, action="wbsearchentities", search="x", language="en")

    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("text/html")


async def test_the_recorder_keeps_params_user_agent_and_concurrency(
    http: httpx.AsyncClient, fake: FakeWikidata
) -> None:
    fake.latency = 0.05
    headers = {"User-Agent": "probe/1"}

    await api(http, fake, action="wbgetentities", ids="Q9000001|Q9000002")
    await http.get(
        fake.api_url,
        params={"action": "wbgetentities", "ids": "Q1", "format": "json"},
        headers=headers,
    )

    first, second = fake.requests
    assert first.ids == ["Q9000001", "Q9000002"]
    assert second.user_agent == "probe/1"
    assert first.answered_at is not None and first.answered_at - first.at >= 0.05
    assert fake.max_in_flight == 1
    assert fake.in_flight == 0


async def test_runs_from_the_command_line_with_a_fault() -> None:
    port = unused_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.fakes.wikidata_server",
        "--port",
        str(port),
        "--fault",
        "maxlag",
        "--retry-after",
        "7",
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        started = await asyncio.wait_for(process.stdout.readline(), 30)
        assert b"Fake Wikidata API" in started
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(
                f"http://127.0.0.1:{port}/w/api.php",
                params={"action": "wbgetentities", "ids": "Q9000001", "format": "json"},
            )
    finally:
        process.terminate()
        await process.wait()

    assert response.json()["error"]["code"] == "maxlag"
    assert response.headers["Retry-After"] == "7"
