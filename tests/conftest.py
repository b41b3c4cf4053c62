"""Shared fixtures for the whole test suite.

No test may reach beyond this machine: `only_loopback_connections` (autouse) refuses
every connection, and every name lookup, that would leave 127.0.0.1, and fails the
test that tried, even when the code under test swallowed the refusal. The film
catalogue is off unless a test points it at the fake Wikidata (`CATALOGUE=wikidata`,
`WIKIDATA_API_URL=<fake.api_url>`); set in the environment, so bots the tests start as
processes (which the guard cannot see) inherit it too.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.fakes.ollama_server import FakeOllama
from tests.fakes.wikidata_server import FakeWikidata

os.environ.setdefault("CATALOGUE", "off")

_LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", ""})
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class OutboundConnectionBlocked(ConnectionRefusedError):
    """A test tried to connect beyond 127.0.0.1."""


def is_loopback(host: object) -> bool:
    """Whether `host` (an address or a name) stays on this machine."""
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    if not isinstance(host, str):
        return False
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _is_ip_address(host: object) -> bool:
    if isinstance(host, bytes):
        host = host.decode(errors="replace")
    try:
        ipaddress.ip_address(str(host).split("%", 1)[0])
    except ValueError:
        return False
    return True


def _is_local_address(address: object) -> bool:
    # A str or bytes address is a Unix socket's path: local by nature.
    if isinstance(address, str | bytes):
        return True
    return isinstance(address, tuple) and bool(address) and is_loopback(address[0])


@pytest.fixture(autouse=True)
def only_loopback_connections(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Refuse connections and name lookups beyond 127.0.0.1; the list holds what was refused."""
    refused: list[str] = []

    def refuse(what: str) -> OutboundConnectionBlocked:
        refused.append(what)
        return OutboundConnectionBlocked(f"tests may not leave 127.0.0.1: {what}")

    def connect(sock: socket.socket, address: Any) -> None:
        if not _is_local_address(address):
            raise refuse(f"connect to {address!r}")
        return _real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        if not _is_local_address(address):
            raise refuse(f"connect to {address!r}")
        return _real_connect_ex(sock, address)

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        # An address needs no lookup (its connect is checked); a name other than
        # localhost would ask a DNS server.
        if host is not None and not is_loopback(host) and not _is_ip_address(host):
            refused.append(f"name lookup of {host!r}")
            raise socket.gaierror(socket.EAI_NONAME, f"tests may not look up {host!r}")
        return _real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield refused
    if refused:
        pytest.fail(f"The test tried to leave 127.0.0.1: {'; '.join(refused)}")


@pytest.fixture
async def fake_ollama() -> AsyncIterator[FakeOllama]:
    """A started fake Ollama server on a free port; `fake_ollama.url` is its address."""
    async with FakeOllama() as fake:
        yield fake


@pytest.fixture
async def fake_wikidata() -> AsyncIterator[FakeWikidata]:
    """A started fake Wikidata on a free port; `fake_wikidata.api_url` is its API."""
    async with FakeWikidata() as fake:
        yield fake
