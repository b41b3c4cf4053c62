"""All configuration, in one place: environment variables and an optional `.env` file.

`Settings` is what the shared pipeline and every front end need; `DiscordSettings`
adds what only the Discord front end needs (its token is required there and nowhere
else). Both are created once at start with `load_settings` and passed in; a bad
value stops start-up with one line that names the setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, TypeVar

import platformdirs
from pydantic import AnyHttpUrl, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

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
)


class Settings(BaseSettings):
    """Settings of the shared pipeline (Ollama, storage, generation)."""

    model_config = _MODEL_CONFIG

    # Ollama
    ollama_url: AnyHttpUrl = Field(AnyHttpUrl("http://localhost:11434"))
    embed_model: str = Field("bge-large", min_length=1)
    chat_model: str = Field("llama3.1:8b", min_length=1)
    ollama_connect_timeout: float = Field(5.0, gt=0)
    ollama_request_timeout: float = Field(60.0, gt=0)
    # A cold 8B model can take a while to load before its first token.
    ollama_first_token_timeout: float = Field(180.0, gt=0)
    # Between two chunks of a healthy stream; not a cap on the whole answer.
    ollama_idle_timeout: float = Field(60.0, gt=0)

    # Storage
    qdrant_url: AnyHttpUrl | None = None
    qdrant_api_key: SecretStr | None = None
    # The platform's per-user data folder unless set, so every folder gives the same
    # store (the Docker image sets /data).
    data_dir: Path = Field(default_factory=lambda: default_data_dir())
    # per-member: one Qdrant collection per member; shared: one collection, member as tenant.
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
    # repeat (or, later, a title missing from the catalogue) is left out.
    spare_picks: int = Field(2, ge=0, le=10)
    # Titles to avoid named in one prompt (the rest are left out when suggested anyway).
    max_avoided_in_prompt: int = Field(40, ge=0, le=500)

    # The library (issue 18): how much one Letterboxd or IMDb import may hold.
    import_max_bytes: int = Field(8 * 1024 * 1024, ge=1024, le=100 * 1024 * 1024)
    import_max_rows: int = Field(20_000, ge=1, le=1_000_000)

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
        if value.path not in (None, "", "/") or value.query or value.fragment:
            root = f"{value.scheme}://{value.host}" + (f":{value.port}" if value.port else "")
            raise ValueError(
                f"should be the Ollama server's address without a path, like {root} "
                "(not /v1 or /api)"
            )
        return value

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "suggest_watch.sqlite3"

    @property
    def qdrant_path(self) -> Path:
        return self.data_dir / "qdrant"

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
