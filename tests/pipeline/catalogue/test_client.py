"""The Wikidata client: a good API citizen, and every failure one of our own errors."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest

from bot.errors import CatalogueBusy, CatalogueResponseError, CatalogueUnreachable
from bot.pipeline.catalogue import WikidataClient, user_agent
from tests.fakes.wikidata_server import FakeWikidata, Fault, FaultKind, unused_port
from tests.pipeline.catalogue.conftest import CONTACT


async def test_search_gives_the_hits_and_what_matched(
    client: WikidataClient, fake_wikidata: FakeWikidata
) -> None:
    hits = await client.search("Lantern F", language="en")

    assert [(hit.qid, hit.label, hit.matched_text) for hit in hits] == [
        ("Q9000108", "Lanternfall", "Lantern Fall")
    ]


async def test_every_request_carries_the_user_agent_maxlag_and_json(
    client: WikidataClient, fake_wikidata: FakeWikidata
) -> None:
    await client.search("Moon", language="en")
    await client.get_entities(["Q9000003"], props="labels")

    assert len(fake_wikidata.requests) == 2
    for request in fake_wikidata.requests:
        assert request.user_agent == user_agent(CONTACT)
        assert request.params["maxlag"] == "5"
        assert request.params["format"] == "json"


def test_the_user_agent_names_the_bot_its_version_and_the_contact() -> None:
    assert user_agent("https://example.org/bot").startswith("suggest.watch/")
    assert user_agent("https://example.org/bot").endswith(" (https://example.org/bot)")
    assert user_agent(None).endswith("(no contact set)")


async def test_ids_are_batched_fifty_to_a_request(
    client: WikidataClient, fake_wikidata: FakeWikidata
) -> None:
    ids = [f"Q{9000000 + number}" for number in range(1, 121)]

    found = await client.get_entities(ids, props="labels")

    assert [len(request.ids) for request in fake_wikidata.requests] == [50, 50, 20]
    assert set(found) >= {"Q9000001", "Q9000110"}
    assert "Q9000120" not in found  # missing items are left out


async def test_requests_go_one_at_a_time(
    client: WikidataClient, fake_wikidata: FakeWikidata
) -> None:
    fake_wikidata.latency = 0.03

    await asyncio.gather(*(client.search(title, language="en") for title in ("a", "b", "c", "d")))

    assert len(fake_wikidata.requests) == 4
    assert fake_wikidata.max_in_flight == 1


@pytest.mark.parametrize("kind", [FaultKind.RATE_LIMITED, FaultKind.UNAVAILABLE, FaultKind.MAXLAG])
async def test_asked_to_wait_it_retries_after_retry_after(
    client: WikidataClient, fake_wikidata: FakeWikidata, kind: FaultKind
) -> None:
    fake_wikidata.fault = Fault(kind, times=1, retry_after=0.3)

    hits = await client.search("Moon", language="en")

    first, retry = fake_wikidata.requests
    assert first.answered_at is not None
    assert retry.at - first.answered_at >= 0.29
    assert {hit.qid for hit in hits} == {"Q9300001", "Q9000003", "Q9000111"}


async def test_other_callers_wait_too_when_the_server_asks(
    client: WikidataClient, fake_wikidata: FakeWikidata
) -> None:
    fake_wikidata.fault = Fault(FaultKind.RATE_LIMITED, times=1, retry_after=0.3)

    await asyncio.gather(client.search("Moon", language="en"), client.search("Dark", language="en"))

    refused = fake_wikidata.requests[0]
    assert refused.answered_at is not None
    assert all(later.at - refused.answered_at >= 0.29 for later in fake_wikidata.requests[1:])


async def test_it_gives_up_at_once_when_the_wait_would_pass_its_limit(
    fake_wikidata: FakeWikidata,
) -> None:
    fake_wikidata.fault = Fault(FaultKind.MAXLAG, retry_after=30)
    started = time.monotonic()

    async with WikidataClient(fake_wikidata.api_url, give_up_after=2) as client:
        with pytest.raises(CatalogueBusy, match="busy"):
            await client.search("Moon", language="en")

    assert time.monotonic() - started < 1
    assert len(fake_wikidata.requests) == 1


async def test_a_server_error_is_a_response_error(
    client: WikidataClient, fake_wikidata: FakeWikidata
) -> None:
    fake_wikidata.fault = Fault(FaultKind.SERVER_ERROR)

    with pytest.raises(CatalogueResponseError, match="HTTP 500"):
        await client.search("Moon", language="en")
    assert len(fake_wikidata.requests) == 1  # a 500 is not retried


async def test_an_api_error_body_is_a_response_error(client: WikidataClient) -> None:
    with pytest.raises(CatalogueResponseError, match="badvalue"):
        await client.call({"action": "wbnothing"})


async def test_a_refused_connection_is_unreachable() -> None:
    async with WikidataClient(f"http://127.0.0.1:{unused_port()}/w/api.php") as client:
        with pytest.raises(CatalogueUnreachable, match="Cannot reach Wikidata"):
            await client.search("Moon", language="en")


async def test_no_answer_in_time_is_unreachable(fake_wikidata: FakeWikidata) -> None:
    fake_wikidata.latency = 2

    async with WikidataClient(fake_wikidata.api_url, request_timeout=0.1) as client:
        with pytest.raises(CatalogueUnreachable, match="in time"):
            await client.search("Moon", language="en")


async def test_an_answer_that_is_not_json_is_a_response_error() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, text="<html>"))

    async with WikidataClient("http://wikidata.test/w/api.php", transport=transport) as client:
        with pytest.raises(CatalogueResponseError, match="not JSON"):
            await client.search("Moon", language="en")


async def test_the_full_text_search_keeps_to_the_statements_given(
    client: WikidataClient, fake_wikidata: FakeWikidata
) -> None:
    qids = await client.search_statements("Harbor", statements=["P31=Q11424", "P31=Q5398426"])

    assert qids == ["Q9000112"]  # not the twelve settlements named Harbor
    (request,) = fake_wikidata.requests
    assert request.params["srsearch"] == "Harbor haswbstatement:P31=Q11424|P31=Q5398426"
    assert request.params["maxlag"] == "5"
