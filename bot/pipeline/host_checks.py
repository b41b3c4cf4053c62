"""`doctor`'s look at every model host: reachable, its models, the embedding size, and
how long a one-word answer takes to start.

One line per host address; a host serving both chat and embeddings is checked for
both. No check raises: a host that is down is a line of the report, not an error.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from dataclasses import dataclass

from bot.errors import ModelNotFound, ModelServerError
from bot.pipeline.model_client import ModelClient
from bot.pipeline.models import Models
from bot.pipeline.ollama import OllamaClient

PROBE_MESSAGES = [{"role": "user", "content": "Answer with one word: are you ready?"}]
# A few tokens are enough to time the first; the rest is not wanted.
PROBE_OPTIONS = {"num_predict": 4, "temperature": 0.0}
MODELS_SHOWN = 8


@dataclass(frozen=True, slots=True)
class HostCheck:
    """One host's line of `doctor` (the fields of `HealthCheck`)."""

    name: str
    ok: bool
    detail: str
    fix: str | None = None


async def check_hosts(models: Models, chat_model: str, embed_model: str) -> list[HostCheck]:
    """One check per host address, chat hosts first, all at once."""
    chat = {host.url: host.client for host in models.chat_hosts.hosts}
    embed = {host.url: host.client for host in models.embed_hosts.hosts}
    urls = list(dict.fromkeys([*chat, *embed]))
    return list(
        await asyncio.gather(
            *(
                check_host(url, chat.get(url), embed.get(url), chat_model, embed_model)
                for url in urls
            )
        )
    )


async def check_host(
    url: str,
    chat: ModelClient | None,
    embed: ModelClient | None,
    chat_model: str,
    embed_model: str,
) -> HostCheck:
    """Reach the host, list its models, and try each of its roles."""
    roles = " and ".join(role for role, client in (("chat", chat), ("embeddings", embed)) if client)
    name = f"Model host {url} ({roles})"
    client = chat or embed
    assert client is not None
    try:
        listed = await client.list_models()
    except ModelServerError as exc:
        return HostCheck(name, False, str(exc), "Start it, or fix the URL in the settings.")
    shown = ", ".join(listed[:MODELS_SHOWN]) + (", …" if len(listed) > MODELS_SHOWN else "")
    found = [f"reachable, {len(listed)} model(s): {shown or 'none'}"]
    problems: list[str] = []
    fixes: list[str] = []
    if embed is not None:
        try:
            size = await embed.embedding_dimension(embed_model)
            found.append(f"{embed_model} gives {size}-d embeddings")
        except ModelServerError as exc:
            problems.append(str(exc))
            fixes += fix_for(exc, embed, "EMBED_MODEL")
    if chat is not None:
        try:
            await chat.check_model(chat_model)
            seconds = await first_token_seconds(chat, chat_model)
            found.append(f"{chat_model} starts a one-word answer in {seconds:.2f} s")
        except ModelServerError as exc:
            problems.append(str(exc))
            fixes += fix_for(exc, chat, "CHAT_MODEL")
    return HostCheck(name, not problems, "; ".join(found + problems), "; ".join(fixes) or None)


def fix_for(error: ModelServerError, client: ModelClient, setting: str) -> list[str]:
    """What to do about a missing model; other faults say it in their message."""
    if not isinstance(error, ModelNotFound):
        return []
    if isinstance(client, OllamaClient):
        return [f"ollama pull {error.model}"]
    return [f"set {setting} to a model the host lists"]


async def first_token_seconds(client: ModelClient, model: str) -> float:
    """Seconds from asking a one-word answer to its first text (or its end)."""
    started = time.perf_counter()
    stream = client.chat_stream(model, PROBE_MESSAGES, options=PROBE_OPTIONS)
    async with aclosing(stream):
        async for chunk in stream:
            if chunk.text or chunk.stats is not None:
                break
    return time.perf_counter() - started
