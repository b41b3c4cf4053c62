"""All configuration, in one place: environment variables and an optional `.env` file.

`Settings` is what the shared pipeline and every front end need; `DiscordSettings`
adds what only the Discord front end needs (its token is required there and nowhere
else). Both are created once at start with `load_settings` and passed in; a bad
value stops start-up with one line that names the setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import platformdirs
from pydantic import (
    AliasChoices,
    AnyHttpUrl,
    Field,
    SecretStr,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.errors import ConfigError

DEFAULT_SYSTEM_PROMPT = (
    "You are suggest.watch, a friendly film and TV expert who helps people choose what to watch. "
    "You recommend real, existing movies and shows. You never invent titles, you keep "
    "each pick short, and you explain every pick by the member's own stated tastes."
)

# Read from the current folder only, as `docker compose` does; `doctor` says which file
# was read. A relative DATA_DIR in it is therefore relative to the .env's own folder.
ENV_FILE = ".env"
APP_NAME = "suggest-watch"
DEFAULT_WIKIDATA_API_URL = "https://www.wikidata.org/w/api.php"
DISCORD_TOKEN_HELP = (
    "Discord Developer Portal (https://discord.com/developers/applications) > your "
    "application > Bot > Reset Token"
)

_MODEL_CONFIG = SettingsConfigDict(
    env_file=ENV_FILE,
    env_file_encoding="utf-8",
    extra="ignore",
    case_sensitive=False,
    validate_default=True,
    populate_by_name=True,  # a renamed setting reads its old name too (see AliasChoices)
)

Provider = Literal["ollama", "openai"]
# Answers in flight per host unless LLM_PARALLEL says: Ollama's own default is to run
# a few at once; an OpenAI-compatible server (vLLM) batches many.
DEFAULT_PARALLEL: dict[str, int] = {"ollama": 2, "openai": 4}
_URL = TypeAdapter(AnyHttpUrl)
# A comma-separated list in the environment, not JSON.
UrlList = Annotated[tuple[str, ...] | None, NoDecode]


def _renamed(name: str, old_name: str) -> AliasChoices:
    """Read the setting by its name, or by the name it had before (still honoured)."""
    return AliasChoices(name, old_name)


@dataclass(frozen=True, slots=True)
class ModelHostSettings:
    """Where one kind of model request goes: the provider, its hosts, key and limit."""

    provider: Provider
    urls: tuple[str, ...]
    api_key: SecretStr | None
    parallel: int | None  # answers in flight per host; None: no limit
    url_setting: str  # the setting that named the URLs, for messages
    key_setting: str

    @property
    def places(self) -> int | None:
        """Requests the hosts take at once (hosts × parallel); None: no limit."""
        return None if self.parallel is None else self.parallel * len(self.urls)


class Settings(BaseSettings):
    """Settings of the shared pipeline (model servers, storage, generation)."""

    model_config = _MODEL_CONFIG

    # Model servers: Ollama (its own API) or any OpenAI-compatible server, one or more
    ollama_url: AnyHttpUrl = Field(AnyHttpUrl("http://localhost:11434"))
    llm_provider: Provider = "ollama"
    # Comma-separated base URLs, one per host; unset: OLLAMA_URL (Ollama only).
    llm_urls: UrlList = None
    llm_api_key: SecretStr | None = None
    # Answers in flight per host; unset: 2 for Ollama, 4 for OpenAI-compatible servers.
    llm_parallel: int | None = Field(None, ge=1, le=256)
    # Embeddings: each unset means the LLM's (or OLLAMA_URL for an Ollama provider).
    embed_provider: Provider | None = None
    embed_urls: UrlList = None
    embed_api_key: SecretStr | None = None
    embed_model: str = Field("bge-large", min_length=1)
    chat_model: str = Field("llama3.1:8b", min_length=1)
    # Timeouts of every model server (the OLLAMA_* names still read).
    model_connect_timeout: float = Field(
        5.0, gt=0, validation_alias=_renamed("model_connect_timeout", "ollama_connect_timeout")
    )
    model_request_timeout: float = Field(
        60.0, gt=0, validation_alias=_renamed("model_request_timeout", "ollama_request_timeout")
    )
    # A cold 8B model can take a while to load before its first token.
    model_first_token_timeout: float = Field(
        180.0,
        gt=0,
        validation_alias=_renamed("model_first_token_timeout", "ollama_first_token_timeout"),
    )
    # Between two chunks of a healthy stream; not a cap on the whole answer.
    model_idle_timeout: float = Field(
        60.0, gt=0, validation_alias=_renamed("model_idle_timeout", "ollama_idle_timeout")
    )

    # Storage
    qdrant_url: AnyHttpUrl | None = None
    qdrant_api_key: SecretStr | None = None
    # The platform's per-user data folder unless set, so every folder gives the same
    # store (the Docker image sets /data).
    data_dir: Path = Field(default_factory=lambda: default_data_dir())
    # Without QDRANT_URL: edge (a Qdrant Edge shard in DATA_DIR/edge) or local
    # (qdrant-client's local mode in DATA_DIR/qdrant, kept one release for comparisons).
    embedded_store: Literal["edge", "local"] = "edge"
    # With a Qdrant server (or EMBEDDED_STORE=local) only: per-member (one collection per
    # member) or shared (one collection, member as tenant).
    vector_layout: Literal["per-member", "shared"] = "per-member"
    # Seconds a Qdrant server may take to answer one call.
    qdrant_timeout: float = Field(10.0, gt=0, le=600)
    # Milliseconds a SQLite write waits for a lock another process (the terminal) holds.
    sqlite_busy_timeout: int = Field(5000, ge=0, le=600_000)

    # Tastes and retrieval
    taste_max_chars: int = Field(300, ge=10, le=2000)
    max_tastes_per_member: int = Field(200, ge=1, le=10_000)
    query_max_chars: int = Field(300, ge=10, le=2000)
    retrieval_limit: int = Field(3, ge=1, le=20)
    # Cosine similarity a taste needs to shape a suggestion. bge-large-en-v1.5 scores
    # even unrelated short texts around 0.4-0.6 (its model card: scores sit high, only the
    # order is meaningful); see BENCHMARKS.md, "Minimum taste similarity".
    min_taste_similarity: float = Field(0.6, ge=-1, le=1)

    # Learning from ratings
    # Titles shown in the member's last N suggestions are not suggested again (0 = off).
    no_repeat_window: int = Field(10, ge=0, le=1000)
    # Liked picks, the most similar to the request, given to the model as examples.
    liked_examples: int = Field(3, ge=0, le=20)
    # Liked picks compared with a request to choose those examples: the most recent N.
    liked_candidates: int = Field(100, ge=1, le=10_000)
    # Picks asked of the model beyond the count, so the count still holds when a
    # repeat, or a pick the film catalogue does not know, is left out.
    spare_picks: int = Field(2, ge=0, le=10)
    # Titles to avoid named in one prompt (the rest are left out when suggested anyway).
    max_avoided_in_prompt: int = Field(40, ge=0, le=500)

    # The library (issue 18): how much one Letterboxd or IMDb import may hold.
    import_max_bytes: int = Field(8 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    import_max_rows: int = Field(20_000, ge=1, le=1_000_000)

    # Film catalogue: every pick checked against Wikidata (CC0), with facts and links.
    catalogue: Literal["wikidata", "off"] = "wikidata"
    wikidata_api_url: AnyHttpUrl = Field(AnyHttpUrl(DEFAULT_WIKIDATA_API_URL))
    # The owner's URL or email, sent in the User-Agent as Wikimedia asks of every bot.
    catalogue_contact: str | None = Field(None, max_length=200)
    # Language of the catalogue's titles, genres and Wikipedia links (a Wikipedia code).
    catalogue_language: str = Field("en", pattern=r"^[a-z]{2,3}(-[a-z]+)*$")
    # JustWatch's country path for the "where to watch" link: us, uk, de, ...
    watch_region: str = Field("us", pattern=r"^[a-z]{2}$")
    # A pick the catalogue does not know: hide (a spare takes its number) or mark.
    unverified_picks: Literal["hide", "mark"] = "hide"
    # Seconds after the answer ends that lookups may still take (then "not checked").
    catalogue_deadline: float = Field(10.0, gt=0, le=300)
    catalogue_item_ttl_days: float = Field(30.0, gt=0, le=3650)
    catalogue_search_ttl_days: float = Field(7.0, gt=0, le=3650)
    catalogue_cache_max: int = Field(100_000, ge=100, le=10_000_000)

    # Generation options (Ollama's `options`)
    gen_temperature: float = Field(0.7, ge=0, le=2)
    gen_top_p: float = Field(0.9, gt=0, le=1)
    gen_top_k: int = Field(40, ge=1)
    gen_num_predict: int = Field(800, ge=16, le=8192)
    gen_seed: int | None = None
    gen_num_ctx: int | None = Field(None, ge=512)
    gen_repeat_penalty: float | None = Field(None, gt=0)
    gen_presence_penalty: float | None = None
    gen_frequency_penalty: float | None = None
    system_prompt: str = Field(DEFAULT_SYSTEM_PROMPT, min_length=1)

    log_level: str = Field("INFO", pattern=r"(?i)^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")

    @field_validator("*", mode="after")
    @classmethod
    def _is_utf8_text(cls, value: Any) -> Any:
        """Bytes that are not UTF-8 (environment values decoded with surrogateescape)."""
        if isinstance(value, str) and has_undecodable_bytes(value):
            raise ValueError("is not UTF-8 text")
        return value

    @field_validator("data_dir", mode="after")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        if has_undecodable_bytes(str(value)):
            raise ValueError("is not UTF-8 text")
        return value.expanduser().absolute()

    @field_validator("ollama_url", mode="after")
    @classmethod
    def _server_root(cls, value: AnyHttpUrl) -> AnyHttpUrl:
        return _check_server_root(value)

    @field_validator("llm_urls", "embed_urls", mode="before")
    @classmethod
    def _split_urls(cls, value: Any) -> Any:
        if isinstance(value, str):
            urls = tuple(url.strip() for url in value.split(",") if url.strip())
            return urls or None
        return value

    @field_validator("llm_urls", "embed_urls", mode="after")
    @classmethod
    def _check_urls(cls, urls: tuple[str, ...] | None, info: ValidationInfo) -> Any:
        is_embed = info.field_name == "embed_urls"
        llm_provider = info.data.get("llm_provider", "ollama")
        provider = (info.data.get("embed_provider") or llm_provider) if is_embed else llm_provider
        if urls is None:
            # Unset is fine where OLLAMA_URL or the LLM's URLs stand in for it.
            if provider == "openai" and not (is_embed and llm_provider == "openai"):
                raise ValueError(
                    f"is required with the OpenAI-compatible provider: the server's base "
                    f"URL, like http://gpu1:8000/v1 ({'EMBED' if is_embed else 'LLM'}_PROVIDER"
                    "=openai)"
                )
            return None
        for url in urls:
            parsed = _URL.validate_python(url)
            if provider == "ollama":
                _check_server_root(parsed)
        return tuple(url.rstrip("/") for url in urls)

    @field_validator("llm_api_key", "embed_api_key", mode="after")
    @classmethod
    def _empty_key_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        return value if value is not None and value.get_secret_value() else None

    def chat_hosts(self) -> ModelHostSettings:
        """Where chat requests go (LLM_*; OLLAMA_URL when LLM_URLS is unset)."""
        return ModelHostSettings(
            provider=self.llm_provider,
            urls=self.llm_urls or (str(self.ollama_url).rstrip("/"),),
            api_key=self.llm_api_key,
            parallel=self.llm_parallel or DEFAULT_PARALLEL[self.llm_provider],
            url_setting="LLM_URLS" if self.llm_urls else "OLLAMA_URL",
            key_setting="LLM_API_KEY",
        )

    def embed_hosts(self) -> ModelHostSettings:
        """Where embedding requests go (EMBED_*, each defaulting to the LLM's)."""
        chat = self.chat_hosts()
        provider = self.embed_provider or self.llm_provider
        urls, url_setting = self.embed_urls, "EMBED_URLS"
        if urls is None and provider == chat.provider:
            urls, url_setting = chat.urls, chat.url_setting
        elif urls is None:
            urls, url_setting = (str(self.ollama_url).rstrip("/"),), "OLLAMA_URL"
        return ModelHostSettings(
            provider=provider,
            urls=urls,
            api_key=self.embed_api_key or self.llm_api_key,
            # Embeddings are short: no limit per host, but spread over the hosts.
            parallel=None,
            url_setting=url_setting,
            key_setting="EMBED_API_KEY" if self.embed_api_key else "LLM_API_KEY",
        )

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "suggest_watch.sqlite3"

    @property
    def qdrant_path(self) -> Path:
        """qdrant-client's local-mode folder (EMBEDDED_STORE=local, and the move from it)."""
        return self.data_dir / "qdrant"

    @property
    def edge_path(self) -> Path:
        """The Qdrant Edge store's folder (the default without QDRANT_URL)."""
        return self.data_dir / "edge"

    @property
    def embedded_path(self) -> Path:
        """The folder of the embedded vector store in use (without QDRANT_URL)."""
        return self.edge_path if self.embedded_store == "edge" else self.qdrant_path

    @property
    def uses_edge(self) -> bool:
        """Whether the vectors are in the Edge shard (no QDRANT_URL, EMBEDDED_STORE=edge)."""
        return self.qdrant_url is None and self.embedded_store == "edge"

    @property
    def vector_store_label(self) -> str:
        """How `doctor` and `reindex` name where the vectors are."""
        return "Edge store" if self.uses_edge else f"{self.vector_layout} layout"

    @property
    def layout_is_ignored(self) -> bool:
        """VECTOR_LAYOUT was set, but the Edge shard has one layout of its own."""
        return self.uses_edge and "vector_layout" in self.model_fields_set

    @property
    def catalogue_cache_path(self) -> Path:
        """The catalogue's cache: derived data in a file of its own, safe to delete."""
        return self.data_dir / "catalogue_cache.sqlite3"

    @property
    def is_catalogue_on(self) -> bool:
        """Whether picks are checked against the catalogue (CATALOGUE=wikidata)."""
        return self.catalogue == "wikidata"

    def generation_options(self) -> dict[str, Any]:
        """The `options` object sent to Ollama with every chat request."""
        options: dict[str, Any] = {
            "temperature": self.gen_temperature,
            "top_p": self.gen_top_p,
            "top_k": self.gen_top_k,
            "num_predict": self.gen_num_predict,
            "seed": self.gen_seed,
            "num_ctx": self.gen_num_ctx,
            "repeat_penalty": self.gen_repeat_penalty,
            "presence_penalty": self.gen_presence_penalty,
            "frequency_penalty": self.gen_frequency_penalty,
        }
        return {name: value for name, value in options.items() if value is not None}


class DiscordSettings(Settings):
    """Settings of the Discord front end: the pipeline's plus the bot's own."""

    discord_token: SecretStr = Field(min_length=1)
    discord_guild_id: int | None = Field(None, gt=0)
    stream_edit_interval: float = Field(1.0, ge=0.2, le=30)
    max_concurrent_generations: int = Field(2, ge=1, le=100)
    # Seconds a /suggest may wait for a free generation slot before it is turned away.
    suggest_queue_timeout: float = Field(600.0, ge=1, le=3600)


SettingsT = TypeVar("SettingsT", bound=Settings)


def _check_server_root(value: AnyHttpUrl) -> AnyHttpUrl:
    """An Ollama address must be the server's root: its API paths are added to it."""
    if value.path not in (None, "", "/") or value.query or value.fragment:
        root = f"{value.scheme}://{value.host}" + (f":{value.port}" if value.port else "")
        raise ValueError(
            f"should be the Ollama server's address without a path, like {root} "
            "(not /v1 or /api; an OpenAI-compatible server takes LLM_PROVIDER=openai)"
        )
    return value


def default_data_dir() -> Path:
    """The platform's per-user data folder, e.g. ~/.local/share/suggest-watch on Linux."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def env_file_path() -> Path:
    """The .env file the settings are read from (it may not exist)."""
    return Path(ENV_FILE).absolute()


def has_undecodable_bytes(text: str) -> bool:
    """Whether `text` carries bytes that were not UTF-8 (Python keeps them as lone
    surrogates in arguments and environment values)."""
    return any("\ud800" <= char <= "\udfff" for char in text)


def load_settings(cls: type[SettingsT] = Settings, **overrides: Any) -> SettingsT:  # type: ignore[assignment]
    """Create the settings once, turning a validation error into one clear line."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        raise ConfigError(describe_validation_error(exc)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{env_file_path()} is not UTF-8 text (byte {exc.start}: {exc.reason}): "
            "save it as UTF-8."
        ) from None


def describe_validation_error(exc: ValidationError) -> str:
    """One line per bad setting, e.g. `GEN_TOP_P: Input should be ... (got '3')`.

    The value of a secret is never shown.
    """
    problems = []
    for error in exc.errors():
        name = "_".join(str(part) for part in error["loc"]).upper() or "settings"
        message = error["msg"].removeprefix("Value error, ")
        if "token" not in name.lower() and "key" not in name.lower() and error.get("input"):
            message += f" (got {error['input']!r})"
        if error["type"] == "missing":
            message = f"is required but not set (in the environment or {env_file_path()})"
        if name == "DISCORD_TOKEN" and (error["type"] == "missing" or "too_short" in error["type"]):
            message = (
                f"is empty: paste your bot's token into {env_file_path()} or the "
                f"environment. Get it from the {DISCORD_TOKEN_HELP}."
            )
        problems.append(f"{name}: {message}")
    return "Invalid configuration: " + "; ".join(problems)
