"""The model servers of one bot: chat hosts and embedding hosts, opened from the settings.

`Models` is what the pipeline's parts hold: chat goes to the chat hosts (LLM_*),
embeddings to the embedding hosts (EMBED_*, by default the same servers). Each side is
a `ModelHosts` pool of Ollama or OpenAI-compatible clients; `doctor` reaches every host
through `chat_hosts` and `embed_hosts`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from bot.pipeline.model_client import ChatChunk, ModelClient
from bot.pipeline.model_hosts import ModelHosts
from bot.pipeline.ollama import OllamaClient
from bot.pipeline.openai_compat import OpenAICompatClient
from bot.settings import ModelHostSettings, Settings


class Models:
    """Chat and embeddings, each spread over its own hosts, as one `ModelClient`."""

    def __init__(self, chat_hosts: ModelHosts, embed_hosts: ModelHosts) -> None:
        self.chat_hosts = chat_hosts
        self.embed_hosts = embed_hosts

    @property
    def url(self) -> str:
        """The chat hosts' addresses."""
        return self.chat_hosts.url

    def chat_stream(
        self,
        model: str,
        messages: list[dict[str, str]],
        *,
        options: dict[str, Any] | None = None,
        format: dict[str, Any] | None = None,
    ) -> AsyncGenerator[ChatChunk, None]:
        """Stream an answer from the least busy chat host."""
        return self.chat_hosts.chat_stream(model, messages, options=options, format=format)

    async def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        """One embedding per text, from the least busy embedding host."""
        return await self.embed_hosts.embed(model, texts)

    async def embedding_dimension(self, model: str) -> int:
        """The length of `model`'s embeddings."""
        return await self.embed_hosts.embedding_dimension(model)

    async def list_models(self) -> list[str]:
        """The models of the first chat host to answer."""
        return await self.chat_hosts.list_models()

    async def check_model(self, model: str) -> None:
        """`ModelNotFound` unless a chat host that answers has `model`."""
        await self.chat_hosts.check_model(model)

    async def aclose(self) -> None:
        """Close every host's connections."""
        await self.chat_hosts.aclose()
        await self.embed_hosts.aclose()


def open_client(url: str, hosts: ModelHostSettings, settings: Settings) -> ModelClient:
    """One client for `url`, of the provider `hosts` names, with the settings' timeouts."""
    api_key = hosts.api_key.get_secret_value() if hosts.api_key else None
    connect, request = settings.model_connect_timeout, settings.model_request_timeout
    first_token, idle = settings.model_first_token_timeout, settings.model_idle_timeout
    if hosts.provider == "openai":
        return OpenAICompatClient(
            url,
            api_key=api_key,
            url_setting=hosts.url_setting,
            key_setting=hosts.key_setting,
            connect_timeout=connect,
            request_timeout=request,
            first_token_timeout=first_token,
            idle_timeout=idle,
        )
    return OllamaClient(
        url,
        api_key=api_key,
        url_setting=hosts.url_setting,
        connect_timeout=connect,
        request_timeout=request,
        first_token_timeout=first_token,
        idle_timeout=idle,
    )


def open_hosts(hosts: ModelHostSettings, settings: Settings) -> ModelHosts:
    """A pool of one client per URL of `hosts`."""
    clients = [open_client(url, hosts, settings) for url in hosts.urls]
    return ModelHosts(clients, parallel=hosts.parallel)


@asynccontextmanager
async def open_models(settings: Settings) -> AsyncIterator[Models]:
    """The chat and embedding hosts of `settings`, closed on the way out."""
    async with AsyncExitStack() as stack:
        chat = await stack.enter_async_context(open_hosts(settings.chat_hosts(), settings))
        embed = await stack.enter_async_context(open_hosts(settings.embed_hosts(), settings))
        yield Models(chat, embed)
