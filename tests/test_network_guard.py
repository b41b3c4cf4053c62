"""The suite's guard: no test reaches beyond 127.0.0.1, even by accident."""

from __future__ import annotations

import socket

import httpx
import pytest

from tests.conftest import OutboundConnectionBlocked
from tests.fakes.ollama_server import FakeOllama

TEST_NET_ADDRESS = "192.0.2.1"  # TEST-NET-1 (RFC 5737): never routed, never a real host


def test_a_connection_beyond_loopback_is_refused_and_recorded(
    only_loopback_connections: list[str],
) -> None:
    with pytest.raises(OutboundConnectionBlocked):
        socket.create_connection((TEST_NET_ADDRESS, 80), timeout=1)

    assert only_loopback_connections == [f"connect to {(TEST_NET_ADDRESS, 80)!r}"]
    only_loopback_connections.clear()  # this test wanted it; do not fail it at teardown


def test_a_name_lookup_beyond_loopback_is_refused(only_loopback_connections: list[str]) -> None:
    with pytest.raises(socket.gaierror):
        socket.getaddrinfo("www.wikidata.org", 443)

    assert only_loopback_connections == ["name lookup of 'www.wikidata.org'"]
    only_loopback_connections.clear()


async def test_an_http_client_cannot_leave_either(only_loopback_connections: list[str]) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://{TEST_NET_ADDRESS}/w/api.php")

    assert only_loopback_connections
    only_loopback_connections.clear()


async def test_loopback_connections_work(
    fake_ollama: FakeOllama, only_loopback_connections: list[str]
) -> None:
    async with httpx.AsyncClient(timeout=2) as client:
        for url in (fake_ollama.url, fake_ollama.url.replace("127.0.0.1", "localhost")):
            response = await client.get(f"{url}/api/version")
            assert response.status_code == 200

    assert only_loopback_connections == []
