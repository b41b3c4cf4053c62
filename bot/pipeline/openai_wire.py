"""The OpenAI chat API's wire format: what we send, and what its answers and errors mean.

`OpenAICompatClient` does the talking; this module knows the shapes. Errors are
translated into our tree here (see `raise_for_status` and `translate_errors`), each
message naming the server and the setting that fixes it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import httpx

from bot.errors import (
    ModelNotFound,
    ModelServerBusy,
    ModelServerCut,
    ModelServerError,
    ModelServerRefused,
    ModelServerResponseError,
    ModelServerStalled,
    ModelServerUnreachable,
)
from bot.pipeline.domain import GenerationStats
from bot.pipeline.strict_schema import strict_schema

SCHEMA_NAME = "pick_list"
DONE = "[DONE]"
MAX_ERROR_CHARS = 300  # an HTML error page is not a message
# Ollama's option names -> the OpenAI API's; the rest (top_k, num_ctx, repeat_penalty)
# are Ollama's own and are never sent.
OPTION_NAMES = {
    "temperature": "temperature",
    "top_p": "top_p",
    "num_predict": "max_tokens",
    "seed": "seed",
    "presence_penalty": "presence_penalty",
    "frequency_penalty": "frequency_penalty",
}
# Words of an error message that say the server refused the `response_format` asked.
_FORMAT_WORDS = ("response_format", "json_schema", "json_object", "schema")


class ResponseFormat(StrEnum):
    """How structured picks are asked for, in the order tried."""

    JSON_SCHEMA = "json_schema"
    JSON_OBJECT = "json_object"
    NONE = "none"


NEXT_FORMAT = {
    ResponseFormat.JSON_SCHEMA: ResponseFormat.JSON_OBJECT,
    ResponseFormat.JSON_OBJECT: ResponseFormat.NONE,
}


class FormatRefused(Exception):
    """The server refused the `response_format` before any token (the client retries)."""


@dataclass(frozen=True, slots=True)
class ServerNames:
    """How messages name one server: its address and the settings that configure it."""

    url: str
    url_setting: str = "LLM_URLS"
    key_setting: str = "LLM_API_KEY"

    @property
    def where(self) -> str:
        return f"The model server at {self.url}"


def request_settings(options: dict[str, Any] | None) -> dict[str, Any]:
    """The generation settings an OpenAI-compatible server knows, from Ollama's options."""
    return {
        OPTION_NAMES[name]: value
        for name, value in (options or {}).items()
        if name in OPTION_NAMES and value is not None
    }


def response_format(mode: ResponseFormat, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The `response_format` object for `mode` (None: send none)."""
    if mode is ResponseFormat.JSON_SCHEMA:
        return {
            "type": "json_schema",
            "json_schema": {"name": SCHEMA_NAME, "schema": strict_schema(schema), "strict": True},
        }
    if mode is ResponseFormat.JSON_OBJECT:
        return {"type": "json_object"}
    return None


def names_format(message: str) -> bool:
    """Whether an error message is about the `response_format` (or its schema)."""
    lowered = message.lower()
    return any(word in lowered for word in _FORMAT_WORDS)


def message_of(body: object) -> str:
    """The error text of an OpenAI-style body: `{"error": {"message"}}`, `{"error": "..."}`
    or vLLM's older `{"object": "error", "message": ...}`."""
    if not isinstance(body, dict):
        return ""
    error = body.get("error")
    if isinstance(error, dict) and error.get("message"):
        return str(error["message"])
    if isinstance(error, str) and error:
        return error
    if body.get("message"):
        return str(body["message"])
    return ""


def error_text(response: httpx.Response) -> str:
    """The server's own error message when it sent one, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    message = message_of(body)[:MAX_ERROR_CHARS]
    return message or response.text.strip()[:MAX_ERROR_CHARS] or response.reason_phrase


async def raise_for_status(
    response: httpx.Response,
    path: str,
    model: str,
    names: ServerNames,
    *,
    may_refuse_format: bool = False,
) -> None:
    """Raise the error of our tree an unsuccessful answer stands for; `FormatRefused`
    when `may_refuse_format` and the message is about the format."""
    if response.is_success:
        return
    await response.aread()
    status = response.status_code
    error = error_text(response)
    if status in (401, 403):
        raise ModelServerRefused(
            f"{names.where} refused the bot (HTTP {status}: {error}). Check {names.key_setting}."
        )
    if may_refuse_format and status not in (404, 429) and names_format(error):
        raise FormatRefused(f"HTTP {status}: {error}")
    if status == 404 and model and "model" in error.lower():
        raise ModelNotFound(
            model,
            server=f"model server at {names.url}",
            fix=f"It said: {error} Check the model name (doctor lists the server's models).",
        )
    if status == 404:
        raise ModelServerResponseError(
            f"{names.where} has no {path} (HTTP 404: {error}). Is {names.url_setting} the "
            "API's base URL? It usually ends in /v1.",
            status=status,
        )
    if status == 429:
        raise ModelServerBusy(
            f"{names.where} is limiting the bot's requests (HTTP 429: {error}); try again shortly.",
            status=status,
        )
    raise ModelServerResponseError(
        f"{names.where} answered HTTP {status} to {path}: {error}", status=status
    )


@contextlib.contextmanager
def translate_errors(path: str, names: ServerNames) -> Iterator[None]:
    """Turn httpx's errors into ours; our own pass through untouched."""
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise ModelServerUnreachable(
            f"Cannot reach the model server at {names.url} ({type(exc).__name__}). "
            f"Is it running? Check {names.url_setting}."
        ) from None
    except httpx.TimeoutException as exc:
        raise ModelServerStalled(
            f"{names.where} did not answer {path} in time ({type(exc).__name__}); it may be "
            "busy or loading a model. Try again shortly."
        ) from None
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
        raise ModelServerCut(
            f"The connection to the model server at {names.url} was cut during {path} "
            f"({exc}). It may have crashed or restarted; check its logs."
        ) from None
    except httpx.HTTPError as exc:
        raise ModelServerError(
            f"Talking to the model server at {names.url} failed: {exc}"
        ) from None


class AnswerStats:
    """What one streamed answer said about itself: finish reason, usage, timings."""

    def __init__(self, started: float) -> None:
        self.started = started
        self.first_text_at: float | None = None
        self.last_text_at: float | None = None
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.text_events = 0

    @property
    def has_text(self) -> bool:
        """Some text of the answer has arrived."""
        return self.first_text_at is not None

    def read(self, data: dict[str, Any]) -> str:
        """The text of one `chat.completion.chunk`, noting its finish reason and usage."""
        if isinstance(data.get("usage"), dict):
            self.usage = data["usage"]
        choices = data.get("choices") or []
        choice = choices[0] if isinstance(choices, list) and choices else {}
        if not isinstance(choice, dict):
            return ""
        if choice.get("finish_reason"):
            self.finish_reason = str(choice["finish_reason"])
        delta = choice.get("delta") or {}
        text = delta.get("content") if isinstance(delta, dict) else None
        if not isinstance(text, str) or not text:
            return ""
        now = time.perf_counter()
        self.first_text_at = self.first_text_at or now
        self.last_text_at = now
        self.text_events += 1
        return text

    def stats(self) -> GenerationStats:
        """The counts the server gave (else one token per text event) and our timings.

        `done_reason` is the finish reason: "length" means cut, as with Ollama.
        """
        now = time.perf_counter()
        first = self.first_text_at or now
        return GenerationStats(
            prompt_tokens=int(self.usage.get("prompt_tokens") or 0),
            completion_tokens=int(self.usage.get("completion_tokens") or self.text_events),
            total_seconds=now - self.started,
            load_seconds=first - self.started,
            eval_seconds=(self.last_text_at or first) - first,
            done_reason=self.finish_reason,
        )
