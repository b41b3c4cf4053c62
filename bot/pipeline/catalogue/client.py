"""A small typed client for the two Wikidata Action API calls we make, over httpx.

A good API citizen, as Wikimedia's API etiquette asks: every request carries a
descriptive User-Agent (`suggest.watch/<version> (<contact>)`) and `maxlag=5`; requests
go one at a time per client (a lock; the process has one client); ids are batched, at
most 50 per wbgetentities call; every call has timeouts. When the server asks us to
wait (HTTP 429, HTTP 503, or an HTTP 200 `maxlag` error), the next request of any caller
waits `Retry-After` seconds, and the call is retried until `give_up_after` seconds
have passed since it began.

Failures become our own tree at this boundary (`bot.errors.CatalogueError`):

- connection refused, connect or read timeout -> `CatalogueUnreachable`
- still asked to wait when the call would give up -> `CatalogueBusy`
- any other HTTP error, an `{"error": ...}` body, or not JSON -> `CatalogueResponseError`
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any, Self

import httpx

from bot.errors import CatalogueBusy, CatalogueResponseError, CatalogueUnreachable

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://www.wikidata.org/w/api.php"
MAX_IDS_PER_CALL = 50  # wbgetentities' own limit for ids
MAXLAG_SECONDS = 5  # what Wikimedia recommends for bots
DEFAULT_RETRY_AFTER = 5.0  # when a 503 or maxlag comes without a usable Retry-After
MAX_RETRY_AFTER = 120.0  # a longer wait is never worth holding a pick for
_MAX_ERROR_CHARS = 200


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One wbsearchentities result: the item and the label or alias that matched."""

    qid: str
    label: str
    matched_text: str


@dataclass(frozen=True, slots=True)
class _Wait:
    """The server asked us to wait this long before the next request."""

    seconds: float
    reason: str


def user_agent(contact: str | None) -> str:
    """`suggest.watch/<version> (<contact>)`, the User-Agent Wikimedia asks bots to send."""
    try:
        version = metadata.version("suggest-watch")
    except metadata.PackageNotFoundError:
        version = "0"
    return f"suggest.watch/{version} ({contact or 'no contact set'})"


class WikidataClient:
    """Wikidata's search and get-entities calls, one request at a time; use with `async with`."""

    def __init__(
        self,
        api_url: str = DEFAULT_API_URL,
        *,
        contact: str | None = None,
        connect_timeout: float = 5.0,
        request_timeout: float = 10.0,
        give_up_after: float = 60.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._api_url = api_url
        self._give_up_after = give_up_after
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(request_timeout, connect=connect_timeout, pool=connect_timeout),
            headers={"User-Agent": user_agent(contact), "Accept": "application/json"},
            transport=transport,
        )
        self._turn = asyncio.Lock()
        self._not_before = 0.0  # loop time before which no request may be sent

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def search(self, text: str, *, language: str, limit: int = 10) -> list[SearchHit]:
        """Items whose label or alias in `language` starts with `text`, best known first."""
        body = await self.call(
            {
                "action": "wbsearchentities",
                "search": text,
                "language": language,
                "uselang": language,
                "type": "item",
                "limit": str(limit),
            }
        )
        hits = body.get("search")
        if not isinstance(hits, list):
            raise CatalogueResponseError("Wikidata's search answer has no result list.")
        return [hit for raw in hits if (hit := _search_hit(raw)) is not None]

    async def search_statements(
        self, text: str, *, statements: Sequence[str], limit: int = 10
    ) -> list[str]:
        """QIDs of items matching `text` in full-text search that have one of `statements`
        (like `P31=Q11424`), best first: CirrusSearch's `haswbstatement`."""
        query = f"{text} haswbstatement:{'|'.join(statements)}"
        body = await self.call(
            {
                "action": "query",
                "list": "search",
                "srsearch": query,
                "srnamespace": "0",
                "srlimit": str(limit),
                "srprop": "",
            }
        )
        hits = (body.get("query") or {}).get("search")
        if not isinstance(hits, list):
            raise CatalogueResponseError("Wikidata's full-text search answer has no result list.")
        return [
            str(hit["title"])
            for hit in hits
            if isinstance(hit, dict) and isinstance(hit.get("title"), str)
        ]

    async def get_entities(
        self, ids: Sequence[str], *, props: str, languages: str | None = None
    ) -> dict[str, dict[str, Any]]:
        """The entities for `ids` (missing ones left out), fetched 50 ids per call."""
        unique = list(dict.fromkeys(ids))
        entities: dict[str, dict[str, Any]] = {}
        for start in range(0, len(unique), MAX_IDS_PER_CALL):
            params = {
                "action": "wbgetentities",
                "ids": "|".join(unique[start : start + MAX_IDS_PER_CALL]),
                "props": props,
            }
            if languages:
                params["languages"] = languages
            body = await self.call(params)
            found = body.get("entities")
            if not isinstance(found, dict):
                raise CatalogueResponseError("Wikidata's entities answer has no entities.")
            for qid, entity in found.items():
                if isinstance(entity, dict) and "missing" not in entity:
                    entities[qid] = entity
        return entities

    async def call(self, params: dict[str, str]) -> dict[str, Any]:
        """One API call with `format=json` and `maxlag`, retried while the server asks to wait."""
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + self._give_up_after
        full_params = {**params, "format": "json", "maxlag": str(MAXLAG_SECONDS)}
        while True:
            async with self._turn:
                await asyncio.sleep(max(0.0, self._not_before - loop.time()))
                answer = await self._send(full_params)
                if not isinstance(answer, _Wait):
                    return answer
                # Every caller waits, even when this one gives up: the server asked us.
                self._not_before = max(self._not_before, loop.time() + answer.seconds)
                if self._not_before > give_up_at:
                    raise CatalogueBusy(
                        f"Wikidata is busy ({answer.reason}) and asked us to wait "
                        f"{answer.seconds:g}s more; giving up on this lookup."
                    )
                log.info("Wikidata asked us to wait %gs (%s)", answer.seconds, answer.reason)

    async def _send(self, params: dict[str, str]) -> dict[str, Any] | _Wait:
        """Send one request: its JSON body, or how long the server asked us to wait."""
        with self._translate_errors():
            response = await self._http.get(self._api_url, params=params)
        if response.status_code in (429, 503):
            return _Wait(_retry_after(response), f"HTTP {response.status_code}")
        if not response.is_success:
            raise CatalogueResponseError(
                f"Wikidata answered HTTP {response.status_code}: "
                f"{response.text.strip()[:_MAX_ERROR_CHARS] or response.reason_phrase}"
            )
        try:
            body = response.json()
        except ValueError:
            raise CatalogueResponseError("Wikidata sent something that is not JSON.") from None
        if not isinstance(body, dict):
            raise CatalogueResponseError(f"Wikidata sent an unexpected answer: {body!r:.200}")
        error = body.get("error")
        if isinstance(error, dict):
            if error.get("code") == "maxlag":
                return _Wait(_retry_after(response), f"database lagged {error.get('lag', '?')}s")
            raise CatalogueResponseError(
                f"Wikidata refused the request ({error.get('code')}): "
                f"{str(error.get('info', ''))[:_MAX_ERROR_CHARS]}"
            )
        return body

    @contextlib.contextmanager
    def _translate_errors(self) -> Iterator[None]:
        """Turn httpx's errors into ours."""
        try:
            yield
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise CatalogueUnreachable(
                f"Cannot reach Wikidata at {self._api_url} ({type(exc).__name__})."
            ) from None
        except httpx.TimeoutException as exc:
            raise CatalogueUnreachable(
                f"Wikidata did not answer in time ({type(exc).__name__})."
            ) from None
        except httpx.HTTPError as exc:
            raise CatalogueResponseError(f"Talking to Wikidata failed: {exc}") from None


def _retry_after(response: httpx.Response) -> float:
    """Seconds the `Retry-After` header asks for (a number; a date counts as the default)."""
    try:
        seconds = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _search_hit(raw: object) -> SearchHit | None:
    """One search result, or None when it is not an item we can read."""
    if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
        return None
    raw_match = raw.get("match")
    match: dict[str, Any] = raw_match if isinstance(raw_match, dict) else {}
    label = str(raw.get("label") or "")
    return SearchHit(raw["id"], label, str(match.get("text") or label))
