"""The model servers opened from the settings: the right client per provider, chat and
embeddings each to their own hosts, and what `doctor` says of every host."""

from __future__ import annotations

import httpx

from bot.pipeline.host_checks import check_hosts
from bot.pipeline.models import open_models
from bot.pipeline.ollama import OllamaClient
from bot.pipeline.openai_compat import OpenAICompatClient
from bot.settings import Settings
from tests.fakes.ollama_server import DEFAULT_ANSWER, FakeOllama, unused_port
from tests.fakes.openai_server import FakeOpenAI

MESSAGES = [{"role": "user", "content": "Something like Arrival, please."}]


async def test_ollama_is_the_default_on_ollama_url(fake_ollama: FakeOllama) -> None:
    settings = Settings(ollama_url=fake_ollama.url, _env_file=None)  # type: ignore[call-arg]
    async with open_models(settings) as models:
        text = "".join([chunk.text async for chunk in models.chat_stream("llama3.1:8b", MESSAGES)])
        [vector] = await models.embed("bge-large", ["noir"])

        assert all(isinstance(h.client, OllamaClient) for h in models.chat_hosts.hosts)
        assert models.chat_hosts.parallel == 2
    assert text == DEFAULT_ANSWER
    assert len(vector) == fake_ollama.embed_dim


async def test_chat_and_embeddings_go_to_their_own_hosts(fake_ollama: FakeOllama) -> None:
    async with FakeOpenAI(api_key="sk-test") as first, FakeOpenAI(api_key="sk-test") as second:
        settings = Settings(  # type: ignore[call-arg]
            llm_provider="openai",
            llm_urls=f"{first.url},{second.url}",
            llm_api_key="sk-test",
            embed_provider="ollama",
            embed_urls=fake_ollama.url,
            _env_file=None,
        )
        async with open_models(settings) as models:
            for _ in range(2):
                async for _chunk in models.chat_stream("llama3.1:8b", MESSAGES):
                    pass
            await models.embed("bge-large", ["noir"])

            assert all(isinstance(h.client, OpenAICompatClient) for h in models.chat_hosts.hosts)
            assert models.chat_hosts.parallel == 4
        assert [len(fake.chat_requests) for fake in (first, second)] == [1, 1]
        assert first.chat_requests[0].headers["authorization"] == "Bearer sk-test"
    assert len(fake_ollama.embed_requests) == 1
    assert fake_ollama.chat_requests == []


async def test_doctor_lists_every_host_with_its_models_size_and_first_token() -> None:
    dead = f"http://127.0.0.1:{unused_port()}/v1"
    async with FakeOpenAI(embed_dim=32) as fake:
        settings = Settings(  # type: ignore[call-arg]
            llm_provider="openai", llm_urls=f"{fake.url},{dead}", _env_file=None
        )
        async with open_models(settings) as models:
            checks = await check_hosts(models, "llama3.1:8b", "bge-large")

    assert [check.ok for check in checks] == [True, False]
    assert checks[0].name == f"Model host {fake.url} (chat and embeddings)"
    assert "2 model(s): bge-large, llama3.1:8b" in checks[0].detail
    assert "bge-large gives 32-d embeddings" in checks[0].detail
    assert "llama3.1:8b starts a one-word answer in" in checks[0].detail
    assert "Cannot reach" in checks[1].detail and "LLM_URLS" in checks[1].detail


async def test_doctor_names_a_missing_model_on_its_host(fake_ollama: FakeOllama) -> None:
    fake_ollama.models.discard("llama3.1:8b")
    settings = Settings(ollama_url=fake_ollama.url, _env_file=None)  # type: ignore[call-arg]
    async with open_models(settings) as models:
        [check] = await check_hosts(models, "llama3.1:8b", "bge-large")

    assert not check.ok
    assert "ollama pull llama3.1:8b" in check.detail
    assert "1024-d" in check.detail


async def test_an_ollama_behind_a_proxy_gets_the_key_too() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"embeddings": [[0.5, 0.5]]})

    client = OllamaClient(
        "http://ollama.test", api_key="sk-x", transport=httpx.MockTransport(handler)
    )
    async with client:
        await client.embed("bge-large", ["noir"])

    assert seen == ["Bearer sk-x"]
