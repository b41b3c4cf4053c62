"""A fake Wikidata Action API that speaks the real wire format, with faults on demand.

Tests talk real HTTP to it, so the catalogue client's batching, retries and error
translation are exercised end to end without the internet::

    async with FakeWikidata(latency=0.05) as fake:
        client = WikidataClient(fake.api_url, contact="owner@example.org")
        fake.fault = Fault(FaultKind.RATE_LIMITED, times=1, retry_after=0.2)
        ...
        await fake.wait_for(lambda: len(fake.requests) == 3)

Endpoint: GET /w/api.php with `action=wbsearchentities` (labels and aliases in
`language`, then `mul` and `en`, then any language, matched from the start, case
ignored, best known first), `action=query&list=search` (full text: every word in a
label, alias or description; `haswbstatement:P31=...|P31=...` narrows it) and
`action=wbgetentities` (`ids=Q1|Q2`, at most 50, `props`, `languages`; an unknown id
comes back `missing`). Anything else gets the
API's `{"error": ...}` body. The catalogue is `wikidata_catalogue.DEFAULT_CATALOGUE`
unless one is given.

Every attribute set in the constructor (`items`, `latency`, `fault`) may be changed
between requests; a `Fault` can start after some good requests and stop after a few.
The recorder: `requests` (params, User-Agent, arrival and end time), `in_flight` and
`max_in_flight` (the most requests it was answering at once).

"Wikidata is down" needs no server: point the client at `unused_port()`.

Run it standalone for manual trials and benchmarks::

    python -m tests.fakes.wikidata_server --port 8181 --latency 0.05
    python -m tests.fakes.wikidata_server --fault maxlag --retry-after 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self

from aiohttp import web

from tests.fakes.ollama_server import unused_port
from tests.fakes.wikidata_catalogue import DEFAULT_CATALOGUE, ENTITY_URI, FakeItem

__all__ = ["FakeWikidata", "Fault", "FaultKind", "RecordedRequest", "unused_port"]

API_PATH = "/w/api.php"
MAX_IDS = 50
MAX_SEARCH_LIMIT = 50
DEFAULT_SEARCH_LIMIT = 7
FALLBACK_LANGUAGES = ("mul", "en")


class FaultKind(StrEnum):
    """What goes wrong; see `Fault`."""

    RATE_LIMITED = "rate_limited"  # HTTP 429 with Retry-After
    UNAVAILABLE = "unavailable"  # HTTP 503 with Retry-After
    MAXLAG = "maxlag"  # HTTP 200, {"error": {"code": "maxlag", ...}}, Retry-After, X-Database-Lag
    SERVER_ERROR = "server_error"  # HTTP 500 with an HTML page


@dataclass(slots=True)
class Fault:
    """A fault for `times` requests (all while None), once `after` requests have gone well."""

    kind: FaultKind
    times: int | None = None
    after: int = 0
    retry_after: float = 1.0
    lag: float = 6.0


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    """One request the fake received; times are `time.monotonic()`."""

    params: dict[str, str]
    user_agent: str
    at: float
    answered_at: float | None = None

    @property
    def action(self) -> str:
        """The API action asked for, e.g. `wbgetentities`."""
        return self.params.get("action", "")

    @property
    def ids(self) -> list[str]:
        """The ids a wbgetentities request asked for."""
        return [qid for qid in self.params.get("ids", "").split("|") if qid]


class FakeWikidata:
    """An aiohttp server on 127.0.0.1 speaking Wikidata's Action API; `async with` runs it."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        items: Iterable[FakeItem] = DEFAULT_CATALOGUE,
        latency: float = 0.0,
        fault: Fault | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.items: list[FakeItem] = list(items)
        self.latency = latency
        self.fault = fault

        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on `host:port` (port 0 picks a free one; see `api_url`)."""
        self._changed = asyncio.Condition()
        app = web.Application()
        app.router.add_get(API_PATH, self._api)
        app.router.add_post(API_PATH, self._api)
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def url(self) -> str:
        """The server's base URL, e.g. `http://127.0.0.1:54321`."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_url(self) -> str:
        """The Action API's URL, what WIKIDATA_API_URL is set to."""
        return f"{self.url}{API_PATH}"

    # -- what tests look at ------------------------------------------------------------

    def requests_for(self, action: str) -> list[RecordedRequest]:
        """The recorded requests for one action, oldest first."""
        return [request for request in self.requests if request.action == action]

    # A `timeout` argument reads better in tests than wrapping every call in asyncio.timeout.
    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until `predicate()` holds; checked whenever a request arrives or is answered."""
        assert self._changed is not None, "start the fake first"
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    async def _notify(self) -> None:
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    # -- the API -----------------------------------------------------------------------

    async def _api(self, request: web.Request) -> web.StreamResponse:
        params = dict(request.query)
        if request.method == "POST":
            params.update({key: str(value) for key, value in (await request.post()).items()})
        user_agent = request.headers.get("User-Agent", "")
        index = len(self.requests)
        self.requests.append(RecordedRequest(params, user_agent, time.monotonic()))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        await self._notify()
        try:
            if self.latency:
                await asyncio.sleep(self.latency)
            return self._fault_response() or self._answer(params)
        finally:
            self.in_flight -= 1
            self.requests[index] = RecordedRequest(
                params, user_agent, self.requests[index].at, time.monotonic()
            )
            await self._notify()

    def _fault_response(self) -> web.Response | None:
        fault = self.fault
        if fault is None:
            return None
        if fault.after > 0:
            fault.after -= 1
            return None
        if fault.times is not None:
            if fault.times <= 0:
                return None
            fault.times -= 1
        retry_after = {"Retry-After": f"{fault.retry_after:g}"}
        if fault.kind is FaultKind.RATE_LIMITED:
            return web.Response(status=429, text="Too many requests", headers=retry_after)
        if fault.kind is FaultKind.UNAVAILABLE:
            return web.Response(status=503, text="Service Unavailable", headers=retry_after)
        if fault.kind is FaultKind.SERVER_ERROR:
            return web.Response(
                status=500,
                text="<html><body>Internal error</body></html>",
                content_type="text/html",
            )
        error = {
            "code": "maxlag",
            "info": f"Waiting for 10.64.48.35: {fault.lag:g} seconds lagged.",
            "host": "10.64.48.35",
            "lag": fault.lag,
            "type": "db",
            "*": "See https://www.wikidata.org/w/api.php for API usage.",
        }
        headers = {**retry_after, "X-Database-Lag": f"{fault.lag:g}"}
        return web.json_response({"error": error, "servedby": "mw-fake"}, headers=headers)

    def _answer(self, params: dict[str, str]) -> web.Response:
        if params.get("format") != "json":
            return _api_error("badvalue", 'Unrecognized value for parameter "format".')
        action = params.get("action")
        if action == "wbsearchentities":
            return self._search(params)
        if action == "wbgetentities":
            return self._get_entities(params)
        if action == "query" and params.get("list") == "search":
            return self._full_text_search(params)
        return _api_error("badvalue", f'Unrecognized value for parameter "action": {action}.')

    def _search(self, params: dict[str, str]) -> web.Response:
        text = params.get("search", "").strip().casefold()
        language = params.get("language", "")
        if not text or not language:
            missing = "search" if not text else "language"
            return _api_error("missingparam", f'The "{missing}" parameter must be set.')
        if params.get("type", "item") != "item":
            return web.json_response({"searchinfo": {"search": text}, "search": [], "success": 1})
        limit = min(int(params.get("limit", DEFAULT_SEARCH_LIMIT)), MAX_SEARCH_LIMIT)
        offset = int(params.get("continue", 0))
        languages = (language, *FALLBACK_LANGUAGES)
        hits = [
            hit for item in self._best_known_first() if (hit := _search_hit(item, text, languages))
        ]
        body: dict[str, Any] = {
            "searchinfo": {"search": params.get("search", "")},
            "search": hits[offset : offset + limit],
            "success": 1,
        }
        if offset + limit < len(hits):
            body["search-continue"] = offset + limit
        return web.json_response(body)

    def _full_text_search(self, params: dict[str, str]) -> web.Response:
        """`list=search`: every word in a label, alias or description; `haswbstatement`
        (P31 only, `|` for or) narrows it."""
        words, classes = _parse_srsearch(params.get("srsearch", ""))
        if not words and not classes:
            return _api_error("nosearch", 'The "search" parameter must be set.')
        limit = min(int(params.get("srlimit", 10)), MAX_SEARCH_LIMIT)
        found = [
            item
            for item in self._best_known_first()
            if (classes is None or item.instance_of in classes) and _has_words(item, words)
        ]
        hits = [{"ns": 0, "title": item.qid, "pageid": int(item.qid[1:])} for item in found[:limit]]
        query = {"searchinfo": {"totalhits": len(found)}, "search": hits}
        return web.json_response({"batchcomplete": "", "query": query})

    def _best_known_first(self) -> list[FakeItem]:
        return sorted(self.items, key=lambda item: -len(item.sitelinks))

    def _get_entities(self, params: dict[str, str]) -> web.Response:
        ids = [qid for qid in params.get("ids", "").split("|") if qid]
        if not ids:
            return _api_error(
                "param-missing", 'Either provide the item "ids" or pairs of "sites" and "titles".'
            )
        if len(ids) > MAX_IDS:
            return _api_error(
                "toomanyvalues",
                f'Too many values supplied for parameter "ids". The limit is {MAX_IDS}.',
            )
        props = set(
            params.get("props", "info|sitelinks|aliases|labels|descriptions|claims|datatype").split(
                "|"
            )
        )
        languages = set(params["languages"].split("|")) if params.get("languages") else None
        by_id = {item.qid: item for item in self.items}
        entities: dict[str, Any] = {}
        for qid in ids:
            item = by_id.get(qid)
            entities[qid] = item.entity(props, languages) if item else {"id": qid, "missing": ""}
        return web.json_response({"entities": entities, "success": 1})


def _search_hit(item: FakeItem, text: str, languages: tuple[str, ...]) -> dict[str, Any] | None:
    """The wbsearchentities entry for `item` if a label or alias starts with `text`."""
    labels = item.all_labels()
    match: dict[str, str] | None = None
    # Like Wikidata's search: the asked language and its fallbacks first, then any.
    every_language = [*languages, *sorted({*labels, *item.aliases} - set(languages))]
    for language in every_language:
        terms = [("label", labels[language])] if language in labels else []
        terms += [("alias", alias) for alias in item.aliases.get(language, ())]
        for term_type, term in terms:
            if term.casefold().startswith(text):
                match = {"type": term_type, "language": language, "text": term}
                break
        if match:
            break
    if match is None:
        return None
    label = next((labels[language] for language in languages if language in labels), item.label)
    hit: dict[str, Any] = {
        "id": item.qid,
        "title": item.qid,
        "pageid": int(item.qid[1:]),
        "concepturi": f"{ENTITY_URI}{item.qid}",
        "repository": "wikidata",
        "url": f"//www.wikidata.org/wiki/{item.qid}",
        "display": {"label": {"value": label, "language": "en"}},
        "label": label,
        "match": match,
    }
    if item.description:
        hit["description"] = item.description
        hit["display"]["description"] = {"value": item.description, "language": "en"}
    if match["type"] == "alias":
        hit["aliases"] = [match["text"]]
    return hit


def _parse_srsearch(text: str) -> tuple[list[str], set[str] | None]:
    """The words of a full-text query, and the P31 classes its `haswbstatement` allows."""
    words: list[str] = []
    classes: set[str] | None = None
    for token in text.split():
        if token.startswith("haswbstatement:"):
            statements = token.removeprefix("haswbstatement:").split("|")
            classes = {
                value for prop, _, value in (s.partition("=") for s in statements) if prop == "P31"
            }
        else:
            words.append(token.casefold())
    return words, classes


def _has_words(item: FakeItem, words: list[str]) -> bool:
    terms = [*item.all_labels().values(), *(a for values in item.aliases.values() for a in values)]
    text = " ".join([*terms, item.description]).casefold()
    return all(word in text for word in words)


def _api_error(code: str, info: str) -> web.Response:
    """The Action API's error: HTTP 200, an `error` object, a `MediaWiki-API-Error` header."""
    body = {
        "error": {
            "code": code,
            "info": info,
            "*": "See https://www.wikidata.org/w/api.php for API usage.",
        },
        "servedby": "mw-fake",
    }
    return web.json_response(body, headers={"MediaWiki-API-Error": code})


async def _serve(args: argparse.Namespace) -> None:
    fault = Fault(FaultKind(args.fault), retry_after=args.retry_after) if args.fault else None
    async with FakeWikidata(
        host=args.host, port=args.port, latency=args.latency, fault=fault
    ) as fake:
        print(f"Fake Wikidata API at {fake.api_url} (Ctrl-C to stop)", flush=True)
        if fake.fault:
            print(f"Injecting {fake.fault}", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Run the fake standalone until interrupted."""
    parser = argparse.ArgumentParser(description="A fake Wikidata API for trials and benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8181)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument(
        "--fault", choices=[kind.value for kind in FaultKind], help="answer every request with it"
    )
    parser.add_argument("--retry-after", type=float, default=5.0, help="seconds (%(default)s)")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
