"""The exception tree of suggest.watch.

Adapters translate library errors (httpx, qdrant-client, sqlite) into these at the
boundary, so front ends only ever handle our own types::

    SuggestWatchError
    ├── ConfigError            a setting is missing or invalid (start-up stops)
    ├── InputError             the member's own mistake: empty, too long, control chars
    │   ├── DuplicateTaste     the member already has that taste
    │   ├── TasteLimitReached  the member has MAX_TASTES_PER_MEMBER tastes already
    │   └── ImportRefused      an export file we will not read (each reason its own type)
    │       ├── ImportTooLarge     over IMPORT_MAX_BYTES, or a ZIP over its unpacked limits
    │       ├── TooManyRows        over IMPORT_MAX_ROWS rows
    │       ├── NotAnExport        not a CSV or ZIP, or a CSV that is neither site's export
    │       ├── NoKnownFile        a ZIP holding none of the files an export has
    │       └── MissingColumns     a CSV without the columns its site writes
    ├── TasteNotFound          the member has no taste with that id
    ├── QueueTimeout           a request waited too long for a free generation slot
    ├── ModelServerError       anything from a model server (Ollama or OpenAI-compatible)
    │   ├── ModelServerUnreachable  connection refused / timed out while connecting
    │   ├── ModelServerRefused      HTTP 401/403: the server refused the bot's key
    │   ├── ModelNotFound           the model is not on the server (HTTP 404)
    │   ├── ModelServerResponseError  an error answer, before or during a stream
    │   │   ├── ModelServerBusy     HTTP 429: the server asks the bot to slow down
    │   │   └── ModelServerCut      the connection was reset or closed mid-answer
    │   └── ModelServerStalled      no first token, or no chunk, within the limit
    ├── VectorStoreError       Qdrant failed (down, locked, bad request)
    │   └── DimensionMismatch  stored vectors have another size than the embedding model
    ├── RecordsError           SQLite failed
    └── CatalogueError         the film catalogue (Wikidata) could not answer
        ├── CatalogueUnreachable  connection refused / timed out while connecting
        ├── CatalogueBusy         429, 503 or `maxlag` still asked us to wait at the deadline
        └── CatalogueResponseError  an HTTP error, an `{"error": ...}` body, or not our JSON

Every message is written for a person: it says what went wrong and, where there is
one, what to do about it.

The Ollama names of the first release (`OllamaError`, `OllamaUnreachable`,
`OllamaResponseError`, `OllamaStalled`) are other names for the same classes, so code
that catches them catches a fault of any model server.
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


class ModelServerError(SuggestWatchError):
    """A model server (Ollama or OpenAI-compatible) could not do what we asked."""


class ModelServerUnreachable(ModelServerError):
    """No connection to the model server."""


class ModelServerRefused(ModelServerError):
    """The model server refused the bot (HTTP 401/403): a missing or wrong API key."""


class ModelNotFound(ModelServerError):
    """The model is not available on the model server."""

    def __init__(self, model: str, *, server: str = "Ollama", fix: str | None = None) -> None:
        fix = fix if fix is not None else f"Pull it with: ollama pull {model}"
        super().__init__(f"The model {model!r} is not available on the {server} server. {fix}")
        self.model = model


class ModelServerResponseError(ModelServerError):
    """The server answered with an error, as the response or mid-stream.

    `status` is the HTTP status when the error was an HTTP answer, else None.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ModelServerBusy(ModelServerResponseError):
    """The server answered HTTP 429: too many requests for now."""


class ModelServerCut(ModelServerResponseError):
    """The connection was reset, or closed before the answer was complete."""


class ModelServerStalled(ModelServerError):
    """The server stopped sending: no first token, or no chunk, within the limit."""


# The first release's names, kept so existing code and messages stay valid.
OllamaError = ModelServerError
OllamaUnreachable = ModelServerUnreachable
OllamaResponseError = ModelServerResponseError
OllamaStalled = ModelServerStalled


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


class ImportRefused(InputError):
    """An export file the library will not read; the message says why, in one line."""


class ImportTooLarge(ImportRefused):
    """The file, or what a ZIP unpacks to, is over its limit."""


class TooManyRows(ImportRefused):
    """The export holds more rows than IMPORT_MAX_ROWS allows."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"That export has more than {limit:,} rows, the most one import takes. "
            "Split it, or ask the bot's owner to raise IMPORT_MAX_ROWS."
        )
        self.limit = limit


class NotAnExport(ImportRefused):
    """The file is not a CSV or ZIP, or not a Letterboxd or IMDb export."""


class NoKnownFile(ImportRefused):
    """A ZIP without any of the files a Letterboxd or IMDb export holds."""


class MissingColumns(ImportRefused):
    """A CSV without the columns its site's export has."""

    def __init__(self, file_name: str, missing: list[str]) -> None:
        super().__init__(
            f"{file_name} is missing the column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}: upload the file as the site exported it."
        )
        self.file_name = file_name
        self.missing = missing


class CatalogueError(SuggestWatchError):
    """The film catalogue (Wikidata) could not answer; a pick then shows "not checked"."""


class CatalogueUnreachable(CatalogueError):
    """No connection to the catalogue's API."""


class CatalogueBusy(CatalogueError):
    """The catalogue kept asking us to wait (429, 503, `maxlag`) past our deadline."""


class CatalogueResponseError(CatalogueError):
    """The catalogue answered with an error, or with something we cannot read."""
