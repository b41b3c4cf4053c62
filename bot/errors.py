"""The exception tree of suggest.watch.

Adapters translate library errors (httpx, qdrant-client, sqlite) into these at the
boundary, so front ends only ever handle our own types::

    SuggestWatchError
    ├── ConfigError            a setting is missing or invalid (start-up stops)
    ├── InputError             the member's own mistake: empty, too long, control chars
    │   ├── DuplicateTaste     the member already has that taste
    │   └── TasteLimitReached  the member has MAX_TASTES_PER_MEMBER tastes already
    ├── TasteNotFound          the member has no taste with that id
    ├── QueueTimeout           a request waited too long for a free generation slot
    ├── OllamaError            anything from the Ollama server
    │   ├── OllamaUnreachable  connection refused / timed out while connecting
    │   ├── ModelNotFound      the model is not pulled (HTTP 404)
    │   ├── OllamaResponseError  an {"error": ...} body, before or during a stream
    │   └── OllamaStalled      no first token, or no chunk, within the limit
    ├── VectorStoreError       Qdrant failed (down, locked, bad request)
    │   └── DimensionMismatch  stored vectors have another size than the embedding model
    ├── RecordsError           SQLite failed
    └── CatalogueError         the film catalogue (Wikidata) could not answer
        ├── CatalogueUnreachable  connection refused / timed out while connecting
        ├── CatalogueBusy         429, 503 or `maxlag` still asked us to wait at the deadline
        └── CatalogueResponseError  an HTTP error, an `{"error": ...}` body, or not our JSON

Every message is written for a person: it says what went wrong and, where there is
one, what to do about it.
"""

from __future__ import annotations


class SuggestWatchError(Exception):
    """Base of every error suggest.watch raises on purpose."""


class ConfigError(SuggestWatchError):
    """A setting is missing or has a value we cannot use."""


class InputError(SuggestWatchError):
    """The member gave text we cannot accept; the message tells them why."""


class DuplicateTaste(InputError):
    """The member already stated this taste (ignoring case and spacing)."""

    def __init__(self, taste_id: int) -> None:
        super().__init__(f"You already have that taste (#{taste_id}).")
        self.taste_id = taste_id


class TasteLimitReached(InputError):
    """The member has as many tastes as MAX_TASTES_PER_MEMBER allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"You have {limit} tastes, the most allowed. Forget some before adding more."
        )
        self.limit = limit


class TasteNotFound(SuggestWatchError):
    """The member asked for a taste they do not have."""


class QueueTimeout(SuggestWatchError):
    """A request's turn did not come within the queue's wait limit; nothing ran."""


class OllamaError(SuggestWatchError):
    """The Ollama server could not do what we asked."""


class OllamaUnreachable(OllamaError):
    """No connection to the Ollama server."""


class ModelNotFound(OllamaError):
    """The model is not pulled on the Ollama server."""

    def __init__(self, model: str) -> None:
        super().__init__(
            f"The model {model!r} is not available on the Ollama server. "
            f"Pull it with: ollama pull {model}"
        )
        self.model = model


class OllamaResponseError(OllamaError):
    """Ollama answered with an error, either as the response or mid-stream."""


class OllamaStalled(OllamaError):
    """Ollama stopped sending: no first token, or no chunk, within the limit."""


class VectorStoreError(SuggestWatchError):
    """The vector store (Qdrant) failed."""


class DimensionMismatch(VectorStoreError):
    """Stored taste vectors have another size than the embedding model gives."""

    def __init__(self, stored: int, model: int) -> None:
        super().__init__(
            f"The stored tastes hold {stored}-d vectors but the embedding model "
            f"gives {model}-d ones (EMBED_MODEL changed?). "
            "Rebuild the vectors from the records with: python -m bot.cli reindex"
        )
        self.stored = stored
        self.model = model


class RecordsError(SuggestWatchError):
    """The SQLite records failed."""


class CatalogueError(SuggestWatchError):
    """The film catalogue (Wikidata) could not answer; a pick then shows "not checked"."""


class CatalogueUnreachable(CatalogueError):
    """No connection to the catalogue's API."""


class CatalogueBusy(CatalogueError):
    """The catalogue kept asking us to wait (429, 503, `maxlag`) past our deadline."""


class CatalogueResponseError(CatalogueError):
    """The catalogue answered with an error, or with something we cannot read."""
