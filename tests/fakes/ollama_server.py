"""A fake Ollama server that speaks Ollama's real HTTP wire format, with faults on demand.

Tests talk real HTTP to it, so the client's streaming, timeouts and error translation
are exercised end to end without a GPU::

    async with FakeOllama(embed_dim=64) as fake:
        client = OllamaClient(fake.url)
        fake.fault = Fault(FaultKind.STALL, after_tokens=3)
        ...
        await fake.wait_for(lambda: fake.streams_closed_early == 1)

Endpoints: GET /api/version, GET /api/tags, POST /api/show, POST /api/embed and
POST /api/chat (NDJSON stream by default, one JSON object with `"stream": false`).
An unknown model gets Ollama's 404 `{"error": "model \"X\" not found, try pulling it first"}`.

Every attribute set in the constructor (`models`, `embed_dim`, `embed_latency`, `answer`,
`picks`, `ignore_format`, `tokens_per_second`, `first_token_delay`, `fault`) may be
changed between requests.

What the chat answers: a request with a JSON schema as `format` (structured outputs)
gets `{"picks": [...]}` built from `picks`, streamed in small JSON tokens as a real
model writes it; `ignore_format = True` makes it answer in plain text instead, as a
server that ignores the schema would. A request without `format` gets the plain text.
The plain text is `answer` when set, else `DEFAULT_ANSWER`; a scripted `answer` is
sent as is even when a schema was asked for (it is the model's exact output).

Embeddings are deterministic and carry a little meaning: each lowercased word is
feature-hashed (blake2b, stable across runs unlike `hash()`) into one of `embed_dim`
buckets with a +1/-1 sign, and the sum is L2-normalised. Texts that share words
therefore have a higher cosine similarity than texts that share none. A text with no
words gets one fixed vector (every component equal). Every model embeds with `embed_dim`,
whatever its /api/show says.

"Ollama is down" needs no server at all: point the client at `unused_port()`.

Run it standalone for manual trials and benchmarks, with any fault switched on::

    python -m tests.fakes.ollama_server --port 11434 --tokens-per-second 12 --embed-latency 0.005
    python -m tests.fakes.ollama_server --fault error_line --fault-after 20   # error mid-stream
    python -m tests.fakes.ollama_server --fault stall --fault-after 20       # stops sending
    python -m tests.fakes.ollama_server --fault cut --fault-after 20         # drops the line
    python -m tests.fakes.ollama_server --without-model llama3.1:8b          # not pulled
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from aiohttp import web

from tests.fakes._http_fake import HttpFake, read_body
from tests.fakes._http_fake import unused_port as unused_port  # tests import it from here

DEFAULT_MODELS = frozenset({"bge-large", "llama3.1:8b"})
DEFAULT_EMBED_DIM = 1024
CHAT_EMBEDDING_LENGTH = 4096  # llama3.1:8b's hidden size, as /api/show reports it
NDJSON = "application/x-ndjson"

DEFAULT_ANSWER = """\
1. **Arrival (2016)** — A linguist races to understand visitors whose language bends time.
   *Why it matches:* the slow-burn, cerebral science fiction you said you love.
   *Confidence:* 0.9

2. **The Leftovers (2014–2017)** — A small town copes after 2% of the world vanishes.
   *Why it matches:* grief and mystery told through characters, like the dramas you enjoy.
   *Confidence:* 0.7

3. **Moon (2009)** — A lone worker nears the end of a three-year shift on the far side of the Moon.
   *Why it matches:* a quiet, isolated sci-fi story with a twist, as you asked for.
   *Confidence:* 0.8

4. **Dark (2017–2020)** — Four families in a German town unravel a time-travel conspiracy.
   *Why it matches:* the puzzle-box plotting you mentioned in your tastes.
   *Confidence:* 0.6
"""

DEFAULT_PICKS: tuple[dict[str, Any], ...] = (
    {
        "title": "Arrival",
        "year": 2016,
        "kind": "movie",
        "description": "A linguist races to understand visitors whose language bends time.",
        "reasoning": "The slow-burn, cerebral science fiction you said you love.",
        "confidence": 0.9,
    },
    {
        "title": "The Leftovers",
        "year": 2014,
        "kind": "show",
        "description": "A small town copes after 2% of the world vanishes.",
        "reasoning": "Grief and mystery told through characters, like the dramas you enjoy.",
        "confidence": 0.7,
    },
    {
        "title": "Moon",
        "year": 2009,
        "kind": "movie",
        "description": "A lone worker nears the end of a three-year shift on the Moon.",
        "reasoning": "A quiet, isolated sci-fi story with a twist, as you asked for.",
        "confidence": 0.8,
    },
    {
        "title": "Dark",
        "year": 2017,
        "kind": "show",
        "description": "Four families in a German town unravel a time-travel conspiracy.",
        "reasoning": "The puzzle-box plotting you mentioned in your tastes.",
        "confidence": 0.6,
    },
)
# Two more, for tests of spares: the pipeline asks for a spare or two beyond the count.
MORE_PICKS: tuple[dict[str, Any], ...] = (
    {
        "title": "Annihilation",
        "year": 2018,
        "kind": "movie",
        "description": "A biologist leads an expedition into a zone where nature mutates.",
        "reasoning": "Eerie, thoughtful sci-fi that leaves questions open.",
        "confidence": 0.6,
    },
    {
        "title": "Severance",
        "year": 2022,
        "kind": "show",
        "description": "Office workers have their work memories split from their lives.",
        "reasoning": "A slow-burn mystery with a cold, clever premise.",
        "confidence": 0.5,
    },
)

_WORD = re.compile(r"\w+")
# JSON as a model streams it: punctuation, quotes and words as separate small tokens.
_JSON_TOKEN = re.compile(r'\s*(?:[{}\[\],:"]|\w+|[^\w\s{}\[\],:"]+)|\s+')
# A "token" is a word with its leading whitespace (or trailing whitespace at the end),
# so the tokens joined give back the answer exactly.
_TOKEN = re.compile(r"\s*\S+|\s+")


class FaultKind(StrEnum):
    """What goes wrong; see `Fault`."""

    HTTP_ERROR = "http_error"  # /api/chat answers HTTP `status` with {"error": message}
    ERROR_LINE = "error_line"  # HTTP 200, then {"error": message} after `after_tokens`
    MALFORMED_LINE = "malformed_line"  # a non-JSON line after `after_tokens`, then carries on
    STALL = "stall"  # after `after_tokens`, sends nothing until the client disconnects
    CUT = "cut"  # after `after_tokens`, drops the connection without a done chunk
    EMBED_ERROR = "embed_error"  # /api/embed answers HTTP `status` with {"error": message}


@dataclass(slots=True)
class Fault:
    """A fault the fake injects into every matching request until `fake.fault` is reset."""

    kind: FaultKind
    after_tokens: int = 0
    message: str = "llama runner process has terminated: signal: killed"
    status: int = 500


class RecordedRequest(NamedTuple):
    """One request the fake received; `at` is `time.monotonic()` on arrival."""

    method: str
    path: str
    body: Any
    at: float


def fake_embedding(text: str, dim: int) -> list[float]:
    """The fake's deterministic embedding of `text` (see the module docstring)."""
    vector = [0.0] * dim
    for word in _WORD.findall(text.lower()):
        digest = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=8).digest(), "big")
        sign = 1.0 if digest >> 63 else -1.0
        vector[digest % dim] += sign
    norm = math.sqrt(sum(value * value for value in vector))
    if norm == 0:
        return [1.0 / math.sqrt(dim)] * dim
    return [value / norm for value in vector]


def split_tokens(text: str) -> list[str]:
    """Split an answer into the pieces the fake streams, one per chunk."""
    return _TOKEN.findall(text)


def split_json_tokens(text: str) -> list[str]:
    """Split a JSON answer into the small pieces the fake streams, one per chunk."""
    return _JSON_TOKEN.findall(text)


def picks_answer(picks: Iterable[dict[str, Any]]) -> str:
    """The JSON answer the fake writes for a structured request."""
    return json.dumps({"picks": list(picks)}, ensure_ascii=False)


def full_name(model: str) -> str:
    """`bge-large` -> `bge-large:latest`, as Ollama names a model pulled without a tag."""
    return model if ":" in model else f"{model}:latest"


def is_embedding_model(model: str) -> bool:
    """Guess like a person would: embedding models carry `embed`, `bge` or `minilm` in the name."""
    return any(marker in model.lower() for marker in ("embed", "bge", "minilm"))


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def _ns(seconds: float) -> int:
    return max(1, round(seconds * 1e9))


def _model_not_found(model: str) -> web.Response:
    return web.json_response(
        {"error": f'model "{model}" not found, try pulling it first'}, status=404
    )


class _StreamCut(Exception):
    """Raised inside a handler to drop the connection, as a crashed Ollama would."""


class FakeOllama(HttpFake):
    """An aiohttp server on 127.0.0.1 speaking Ollama's API; `async with` starts and stops it."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        models: Iterable[str] = DEFAULT_MODELS,
        embed_dim: int = DEFAULT_EMBED_DIM,
        embed_latency: float = 0.0,
        answer: str | None = None,
        picks: Iterable[dict[str, Any]] = DEFAULT_PICKS,
        ignore_format: bool = False,
        tokens_per_second: float | None = None,
        first_token_delay: float = 0.0,
        fault: Fault | None = None,
    ) -> None:
        super().__init__(host, port)
        self.models: set[str] = set(models)
        self.embed_dim = embed_dim
        self.embed_latency = embed_latency
        self.answer = answer
        self.picks: list[dict[str, Any]] = [dict(pick) for pick in picks]
        self.ignore_format = ignore_format
        self.tokens_per_second = tokens_per_second
        self.first_token_delay = first_token_delay
        self.fault = fault
        self.version = "0.6.2"

        self.requests: list[RecordedRequest] = []
        self.streams_started = 0
        self.streams_finished = 0  # sent their done chunk
        self.streams_closed_early = 0  # the client went away before the done chunk

    # -- routes ------------------------------------------------------------------------

    def _application(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/api/version", self._version)
        app.router.add_get("/api/tags", self._tags)
        app.router.add_post("/api/show", self._show)
        app.router.add_post("/api/embed", self._embed)
        app.router.add_post("/api/chat", self._chat)
        return app

    # -- what tests look at ------------------------------------------------------------

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The recorded POST /api/chat requests, oldest first."""
        return [request for request in self.requests if request.path == "/api/chat"]

    @property
    def embed_requests(self) -> list[RecordedRequest]:
        """The recorded POST /api/embed requests, oldest first."""
        return [request for request in self.requests if request.path == "/api/embed"]

    async def _record(self, request: web.Request) -> Any:
        body = await read_body(request)
        self.requests.append(RecordedRequest(request.method, request.path, body, time.monotonic()))
        await self.notify()
        return body

    # -- endpoints ---------------------------------------------------------------------

    def _has_model(self, model: object) -> bool:
        if not isinstance(model, str):
            return False
        return full_name(model) in {full_name(name) for name in self.models}

    def _refusal(self, model: object, fault_kind: FaultKind) -> web.Response | None:
        """Ollama's answer when the model is not pulled, or the injected error; else None."""
        if not self._has_model(model):
            return _model_not_found(str(model))
        fault = self.fault
        if fault is not None and fault.kind is fault_kind:
            return web.json_response({"error": fault.message}, status=fault.status)
        return None

    async def _version(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"version": self.version})

    async def _tags(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"models": [self._tag(name) for name in sorted(self.models)]})

    def _tag(self, model: str) -> dict[str, Any]:
        name = full_name(model)
        return {
            "name": name,
            "model": name,
            "modified_at": "2025-01-01T12:00:00.000000000Z",
            "size": 670_000_000 if is_embedding_model(model) else 4_920_753_328,
            "digest": hashlib.sha256(name.encode()).hexdigest(),
            "details": self._details(model),
        }

    def _details(self, model: str) -> dict[str, Any]:
        family = "bert" if is_embedding_model(model) else "llama"
        return {
            "parent_model": "",
            "format": "gguf",
            "family": family,
            "families": [family],
            "parameter_size": "334M" if family == "bert" else "8.0B",
            "quantization_level": "F16" if family == "bert" else "Q4_K_M",
        }

    async def _show(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        model = (body or {}).get("model") or (body or {}).get("name")
        if not self._has_model(model):
            return _model_not_found(str(model))
        if is_embedding_model(model):
            model_info: dict[str, Any] = {
                "general.architecture": "bert",
                "bert.embedding_length": self.embed_dim,
                "bert.context_length": 512,
            }
            capabilities = ["embedding"]
        else:
            model_info = {
                "general.architecture": "llama",
                "llama.embedding_length": CHAT_EMBEDDING_LENGTH,
                "llama.context_length": 131072,
            }
            capabilities = ["completion", "tools"]
        return web.json_response(
            {
                "license": "fake license",
                "modelfile": f"FROM {full_name(model)}",
                "parameters": "",
                "template": "{{ .Prompt }}",
                "details": self._details(model),
                "model_info": model_info,
                "capabilities": capabilities,
                "modified_at": "2025-01-01T12:00:00.000000000Z",
            }
        )

    async def _embed(self, request: web.Request) -> web.Response:
        started = time.monotonic()
        body = await self._record(request) or {}
        model = body.get("model")
        if refusal := self._refusal(model, FaultKind.EMBED_ERROR):
            return refusal
        texts = body.get("input", [])
        if isinstance(texts, str):
            texts = [texts]
        if self.embed_latency:
            await asyncio.sleep(self.embed_latency)
        return web.json_response(
            {
                "model": model,
                "embeddings": [fake_embedding(text, self.embed_dim) for text in texts],
                "total_duration": _ns(time.monotonic() - started),
                "load_duration": _ns(0.001),
                "prompt_eval_count": sum(len(_WORD.findall(text)) for text in texts),
            }
        )

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        body = await self._record(request) or {}
        model = body.get("model")
        if refusal := self._refusal(model, FaultKind.HTTP_ERROR):
            return refusal
        fault = self.fault  # as it was when the request arrived
        # Like a model loading: nothing at all, not even headers, before the first token.
        if self.first_token_delay:
            await asyncio.sleep(self.first_token_delay)
        _, tokens = self._answer_for(body)
        # Like Ollama, stop at `num_predict` tokens and say so with done_reason "length".
        num_predict = (body.get("options") or {}).get("num_predict")
        done_reason = "stop"
        if isinstance(num_predict, int) and 0 <= num_predict < len(tokens):
            tokens, done_reason = tokens[:num_predict], "length"
        prompt_tokens = sum(
            len(_WORD.findall(str(message.get("content", ""))))
            for message in body.get("messages", [])
        )
        if body.get("stream", True) is False:
            final = self._final_chunk(
                model, tokens, prompt_tokens, started, time.monotonic(), done_reason
            )
            final["message"]["content"] = "".join(tokens)
            return web.json_response(final)
        return await self._stream_chat(
            request, model, tokens, prompt_tokens, started, fault, done_reason
        )

    def _answer_for(self, body: dict[str, Any]) -> tuple[str, list[str]]:
        """The answer to this chat request and the tokens it is streamed in."""
        if self.answer is not None:
            return self.answer, split_tokens(self.answer)
        if isinstance(body.get("format"), dict) and not self.ignore_format:
            answer = picks_answer(self.picks)
            return answer, split_json_tokens(answer)
        return DEFAULT_ANSWER, split_tokens(DEFAULT_ANSWER)

    async def _stream_chat(
        self,
        request: web.Request,
        model: str,
        tokens: list[str],
        prompt_tokens: int,
        started: float,
        fault: Fault | None,
        done_reason: str = "stop",
    ) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": NDJSON})
        await response.prepare(request)
        self.streams_started += 1
        first_token_at = time.monotonic()
        try:
            for index, token in enumerate(tokens):
                if fault is not None and index == fault.after_tokens:
                    await self._inject(request, response, fault)
                    if fault.kind is not FaultKind.MALFORMED_LINE:
                        return response
                await self._write_line(response, self._token_chunk(model, token))
                if self.tokens_per_second:
                    await asyncio.sleep(1 / self.tokens_per_second)
            if fault is not None and fault.after_tokens >= len(tokens):
                await self._inject(request, response, fault)
                if fault.kind is not FaultKind.MALFORMED_LINE:
                    return response
            final = self._final_chunk(
                model, tokens, prompt_tokens, started, first_token_at, done_reason
            )
            await self._write_line(response, final)
            await response.write_eof()
        except (asyncio.CancelledError, ConnectionResetError):
            # The client hung up (a Stop, or its own timeout) before the done chunk.
            self.streams_closed_early += 1
            await self.notify()
            raise
        except _StreamCut:
            await self.notify()
            return response
        self.streams_finished += 1
        await self.notify()
        return response

    async def _inject(
        self, request: web.Request, response: web.StreamResponse, fault: Fault
    ) -> None:
        if fault.kind is FaultKind.ERROR_LINE:
            await self._write_line(response, {"error": fault.message})
            await response.write_eof()
        elif fault.kind is FaultKind.MALFORMED_LINE:
            await response.write(b'{"model": "oops", this is not json\n')
        elif fault.kind is FaultKind.STALL:
            await self.until_stopped()
            raise _StreamCut
        elif fault.kind is FaultKind.CUT:
            if request.transport is not None:
                request.transport.abort()
            raise _StreamCut

    @staticmethod
    async def _write_line(response: web.StreamResponse, chunk: dict[str, Any]) -> None:
        await response.write(json.dumps(chunk).encode() + b"\n")

    @staticmethod
    def _token_chunk(model: str, token: str) -> dict[str, Any]:
        return {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": token},
            "done": False,
        }

    @staticmethod
    def _final_chunk(
        model: str,
        tokens: list[str],
        prompt_tokens: int,
        started: float,
        first_token_at: float,
        done_reason: str = "stop",
    ) -> dict[str, Any]:
        now = time.monotonic()
        return {
            "model": model,
            "created_at": _now(),
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": done_reason,
            "total_duration": _ns(now - started),
            "load_duration": _ns(first_token_at - started),
            "prompt_eval_count": prompt_tokens,
            "prompt_eval_duration": _ns(0.001 * max(prompt_tokens, 1)),
            "eval_count": len(tokens),
            "eval_duration": _ns(now - first_token_at),
        }


async def _serve(args: argparse.Namespace, answer: str | None) -> None:
    fake = FakeOllama(
        host=args.host,
        port=args.port,
        embed_dim=args.embed_dim,
        embed_latency=args.embed_latency,
        answer=answer,
        ignore_format=args.ignore_format,
        tokens_per_second=args.tokens_per_second,
        first_token_delay=args.first_token_delay,
        models=DEFAULT_MODELS - set(args.without_model),
        fault=fault_from_arguments(args),
    )
    async with fake:
        print(f"Fake Ollama listening on {fake.url} (Ctrl-C to stop)", flush=True)
        if fake.fault:
            print(f"Injecting {fake.fault}", flush=True)
        if args.without_model:
            print(f"Models not pulled: {', '.join(args.without_model)}", flush=True)
        await asyncio.Event().wait()


def fault_from_arguments(args: argparse.Namespace) -> Fault | None:
    if not args.fault:
        return None
    return Fault(
        FaultKind(args.fault),
        after_tokens=args.fault_after,
        message=args.fault_message,
        status=args.fault_status,
    )


def main(argv: list[str] | None = None) -> None:
    """Run the fake standalone until interrupted."""
    parser = argparse.ArgumentParser(description="A fake Ollama server for trials and benchmarks.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11434)
    parser.add_argument("--embed-dim", type=int, default=DEFAULT_EMBED_DIM)
    parser.add_argument("--embed-latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--tokens-per-second", type=float, default=None)
    parser.add_argument("--first-token-delay", type=float, default=0.0, help="seconds")
    parser.add_argument("--answer-file", help="a text file with the scripted reply, sent as is")
    parser.add_argument(
        "--fault",
        choices=[kind.value for kind in FaultKind],
        help="inject this fault into every matching request (see FaultKind)",
    )
    parser.add_argument(
        "--fault-after", type=int, default=0, metavar="TOKENS", help="tokens sent before it"
    )
    defaults = Fault(FaultKind.ERROR_LINE)
    parser.add_argument(
        "--fault-message", default=defaults.message, help="the error text sent (%(default)s)"
    )
    parser.add_argument(
        "--fault-status", type=int, default=defaults.status, help="for http_error (%(default)s)"
    )
    parser.add_argument(
        "--without-model",
        action="append",
        default=[],
        metavar="NAME",
        help=f"answer as if this model were not pulled (of {', '.join(sorted(DEFAULT_MODELS))})",
    )
    parser.add_argument(
        "--ignore-format",
        action="store_true",
        help="answer in plain text even when a JSON schema is asked for",
    )
    args = parser.parse_args(argv)
    answer = None
    if args.answer_file:
        with open(args.answer_file, encoding="utf-8") as file:
            answer = file.read()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args, answer))


if __name__ == "__main__":
    main()
