"""What the pipeline needs of one model server, whichever API it speaks.

`OllamaClient` (Ollama's own API) and `OpenAICompatClient` (the OpenAI chat API that
vLLM, llama.cpp's server, LM Studio and hosted APIs share) both satisfy `ModelClient`,
and `ModelHosts` spreads the work of several of them. Every fault is raised as one of
`bot.errors.ModelServerError`'s subclasses, with the same meaning whichever server.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.pipeline.domain import GenerationStats


@dataclass(frozen=True, slots=True)
class ChatChunk:
    """A piece of a streamed answer; `stats` is set only on the final chunk."""

    text: str
    stats: GenerationStats | None = None


class ModelClient(Protocol):
    """One model server: streamed chat, embeddings, and what `doctor` asks of it."""

    @property
    def url(self) -> str:
        """The server's address as shown to the owner (never with credentials)."""
        ...

    def chat_stream(
        self,
        model: str,
        messages: list[dict[str, str]],
        *,
        options: dict[str, Any] | None = None,
        format: dict[str, Any] | None = None,
    ) -> AsyncGenerator[ChatChunk, None]:
        """Stream the answer; `options` are Ollama-named generation settings, `format`
        the JSON schema the answer should follow."""
        ...

    async def embed(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        """One embedding per text, in order."""
        ...

    async def embedding_dimension(self, model: str) -> int:
        """The length of `model`'s embeddings."""
        ...

    async def list_models(self) -> list[str]:
        """The models the server offers, by the names requests use."""
        ...

    async def check_model(self, model: str) -> None:
        """Return if the server has `model`; raise `ModelNotFound` if it has not."""
        ...

    async def aclose(self) -> None:
        """Close the connection pool."""
        ...
