"""A fake OpenAI-compatible model server (the API vLLM, llama.cpp's server, LM Studio and
hosted APIs share), speaking the real wire format, with quirks and faults on demand::

    async with FakeOpenAI(api_key="sk-test") as fake:
        client = OpenAICompatClient(fake.url, api_key="sk-test")
        fake.quirks = Quirks(comments=True, crlf=True, split_every=7)
        fake.fault = Fault(FaultKind.STALL, after_tokens=3)
        ...
        await fake.wait_for(lambda: fake.streams_closed_early == 1)

`fake.url` ends in `/v1`, as an owner's LLM_URLS does. Endpoints: POST
/v1/chat/completions (server-sent events with `"stream": true`, else one
`chat.completion` object), POST /v1/embeddings and GET /v1/models. With `api_key` set,
every request needs `Authorization: Bearer <api_key>` or gets OpenAI's 401 body. An
unknown model gets a 404 with `"code": "model_not_found"`.

A stream is what OpenAI sends: a first chunk with the role, one
`chat.completion.chunk` per token (`choices[0].delta.content`), a last chunk with the
`finish_reason` (`"length"` when `max_tokens` cut it), a usage chunk with empty
`choices` when `stream_options.include_usage` is set, then `data: [DONE]`.

`response_format` is answered as `formats` says (see `FormatSupport`): honoured (the
picks JSON, for both `json_schema` and `json_object`), ignored (plain text), refused
with OpenAI's 400 body, refused for json_schema only, or refused as
llama-cpp-python's server does (HTTP 500 "Input should be 'text' or 'json_object'").

`Quirks` make the bytes harder to read without changing what they say: keep-alive
comment lines (`: OPENROUTER PROCESSING`), CRLF line ends, JSON spread over several
`data:` lines, writes split every N bytes (inside UTF-8 characters and CRLFs), and
embeddings listed out of order. Faults are those of the fake Ollama plus 429s.

Every attribute set in the constructor may be changed between requests. Run it
standalone for trials and benchmarks::

    python -m tests.fakes.openai_server --port 8000 --tokens-per-second 12
    python -m tests.fakes.openai_server --api-key sk-test --formats reject
    python -m tests.fakes.openai_server --quirk comments --quirk crlf --split-every 7
    python -m tests.fakes.openai_server --fault http_error --fault-status 429
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple, Self

from aiohttp import web

from tests.fakes.ollama_server import (
    DEFAULT_ANSWER,
    DEFAULT_EMBED_DIM,
    DEFAULT_MODELS,
    DEFAULT_PICKS,
    fake_embedding,
    picks_answer,
    split_json_tokens,
    split_tokens,
    unused_port,
)

__all__ = ["DEFAULT_ANSWER", "DEFAULT_PICKS", "FakeOpenAI", "unused_port"]

EVENT_STREAM = "text/event-stream"
KEEP_ALIVE = ": OPENROUTER PROCESSING"
LLAMA_CPP_PYTHON_REFUSAL = (
    "1 validation error for CreateChatCompletionRequest\nresponse_format.type\n"
    "  Input should be 'text' or 'json_object' [type=literal_error, input_value='json_schema', "
    "input_type=str]"
)


class FormatSupport(StrEnum):
    """How the fake answers a request with a `response_format`."""

    HONOUR = "honour"  # json_schema and json_object: the picks JSON
    IGNORE = "ignore"  # accepted, and answered in plain text
    REJECT = "reject"  # HTTP 400 for any response_format
    REJECT_SCHEMA = "reject_schema"  # HTTP 400 for json_schema; json_object honoured
    LLAMA_CPP_PYTHON = "llama_cpp_python"  # HTTP 500 for json_schema; json_object honoured


class FaultKind(StrEnum):
    """What goes wrong; see `Fault`."""

    HTTP_ERROR = "http_error"  # chat answers HTTP `status` (429, 500, 503...) with an error body
    ERROR_EVENT = "error_event"  # HTTP 200, then `data: {"error": ...}` after `after_tokens`
    STALL = "stall"  # after `after_tokens` (0: before the first), sends nothing more
    CUT = "cut"  # after `after_tokens`, drops the connection
    EMBED_ERROR = "embed_error"  # /v1/embeddings answers HTTP `status`


@dataclass(slots=True)
class Fault:
    """A fault the fake injects into every matching request until `fake.fault` is reset."""

    kind: FaultKind
    after_tokens: int = 0
    message: str = "The server had an error while processing your request."
    status: int = 500


@dataclass(slots=True)
class Quirks:
    """Legal but awkward ways of writing the same stream (see the module docstring)."""

    comments: bool = False
    crlf: bool = False
    multiline_data: bool = False
    split_every: int | None = None  # bytes per write
    embeddings_out_of_order: bool = False


class RecordedRequest(NamedTuple):
    """One request the fake received; `at` is `time.monotonic()` on arrival."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]
    at: float


def error_body(message: str, kind: str, code: str | None = None, param: str | None = None) -> Any:
    """OpenAI's error object."""
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _error(status: int, message: str, kind: str, code: str | None = None) -> web.Response:
    return web.json_response(error_body(message, kind, code), status=status)


# The request's JSON body, read once by the middleware that records it.
BODY = web.RequestKey("body", dict)


class _StreamCut(Exception):
    """Raised inside a handler to stop it once the connection is dropped or released."""


class FakeOpenAI:
    """An aiohttp server on 127.0.0.1 speaking the OpenAI API; `async with` starts it."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: str | None = None,
        models: Iterable[str] = DEFAULT_MODELS,
        embed_dim: int = DEFAULT_EMBED_DIM,
        embed_latency: float = 0.0,
        answer: str | None = None,
        picks: Iterable[dict[str, Any]] = DEFAULT_PICKS,
        formats: FormatSupport = FormatSupport.HONOUR,
        quirks: Quirks | None = None,
        tokens_per_second: float | None = None,
        first_token_delay: float = 0.0,
        fault: Fault | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.api_key = api_key
        self.models: set[str] = set(models)
        self.embed_dim = embed_dim
        self.embed_latency = embed_latency
        self.answer = answer
        self.picks: list[dict[str, Any]] = [dict(pick) for pick in picks]
        self.formats = formats
        self.quirks = quirks or Quirks()
        self.tokens_per_second = tokens_per_second
        self.first_token_delay = first_token_delay
        self.fault = fault

        self.requests: list[RecordedRequest] = []
        self.streams_started = 0
        self.streams_finished = 0  # sent their [DONE]
        self.streams_closed_early = 0  # the client went away first
        self.active_streams = 0
        self.most_active_streams = 0
        self._completions = 0
        self._changed: asyncio.Condition | None = None
        self._shutting_down: asyncio.Event | None = None
        self._runner: web.AppRunner | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        """Listen on `host:port` (port 0 picks a free one; see `url`)."""
        self._changed = asyncio.Condition()
        self._shutting_down = asyncio.Event()
        app = web.Application(middlewares=[self._recorded_and_authorised])
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/embeddings", self._embeddings)
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(
            app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        """Release stalled streams and stop listening."""
        if self._runner is None:
            return
        assert self._shutting_down is not None
        self._shutting_down.set()
        await self._runner.cleanup()
        self._runner = None

    @property
    def url(self) -> str:
        """The base URL to give the client, e.g. `http://127.0.0.1:54321/v1`."""
        return f"http://{self.host}:{self.port}/v1"

    # -- what tests look at ------------------------------------------------------------

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The recorded chat requests, oldest first."""
        return [r for r in self.requests if r.path == "/v1/chat/completions"]

    @property
    def embed_requests(self) -> list[RecordedRequest]:
        """The recorded embedding requests, oldest first."""
        return [r for r in self.requests if r.path == "/v1/embeddings"]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until `predicate()` holds; checked on every request and stream change."""
        assert self._changed is not None, "start the fake first"
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(predicate)

    def wrote_event(self, data: dict[str, Any] | None) -> None:
        """Called after each event of a stream is written (None: the `[DONE]`); a
        subclass that times the stream overrides it. Runs in the request's task."""

    async def until_stopped(self) -> None:
        """Return once the fake is stopping (a stalled stream waits for this)."""
        assert self._shutting_down is not None
        await self._shutting_down.wait()

    async def notify(self) -> None:
        """Wake `wait_for` to check its predicate again (after any change)."""
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    @web.middleware
    async def _recorded_and_authorised(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        body: Any = None
        if request.can_read_body:
            raw = await request.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode(errors="replace")
        headers = {name.lower(): value for name, value in request.headers.items()}
        self.requests.append(
            RecordedRequest(request.method, request.path, body, headers, time.monotonic())
        )
        await self.notify()
        if self.api_key and headers.get("authorization") != f"Bearer {self.api_key}":
            given = headers.get("authorization", "").removeprefix("Bearer ")
            message = (
                f"Incorrect API key provided: {given[:3]}***. You can find your API key "
                "at https://platform.openai.com/account/api-keys."
                if given
                else "You didn't provide an API key. Provide it in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
            )
            return _error(401, message, "invalid_request_error", "invalid_api_key")
        request[BODY] = body if isinstance(body, dict) else {}
        response: web.StreamResponse = await handler(request)
        return response

    # -- plain endpoints ---------------------------------------------------------------

    def _missing_model(self, model: object) -> web.Response | None:
        if isinstance(model, str) and model in self.models:
            return None
        return _error(
            404,
            f"The model `{model}` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model_not_found",
        )

    async def _models(self, request: web.Request) -> web.Response:
        data = [
            {"id": name, "object": "model", "created": 1_700_000_000, "owned_by": "fake"}
            for name in sorted(self.models)
        ]
        return web.json_response({"object": "list", "data": data})

    async def _embeddings(self, request: web.Request) -> web.Response:
        body = request[BODY]
        model = body.get("model")
        if refusal := self._missing_model(model):
            return refusal
        fault = self.fault
        if fault is not None and fault.kind is FaultKind.EMBED_ERROR:
            return _error(fault.status, fault.message, "server_error")
        texts = body.get("input", [])
        texts = [texts] if isinstance(texts, str) else texts
        if self.embed_latency:
            await asyncio.sleep(self.embed_latency)
        data = [
            {
                "object": "embedding",
                "index": index,
                "embedding": fake_embedding(text, self.embed_dim),
            }
            for index, text in enumerate(texts)
        ]
        if self.quirks.embeddings_out_of_order:
            data.reverse()
        words = sum(len(str(text).split()) for text in texts)
        return web.json_response(
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": words, "total_tokens": words},
            }
        )

    # -- chat --------------------------------------------------------------------------

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = request[BODY]
        model = body.get("model")
        if refusal := self._missing_model(model) or self._format_refusal(body):
            return refusal
        fault = self.fault  # as it was when the request arrived
        if fault is not None and fault.kind is FaultKind.HTTP_ERROR:
            kind = "rate_limit_exceeded" if fault.status == 429 else "server_error"
            return _error(fault.status, fault.message, kind, kind)
        tokens = self._tokens_for(body)
        finish_reason = "stop"
        max_tokens = body.get("max_tokens")
        if isinstance(max_tokens, int) and 0 <= max_tokens < len(tokens):
            tokens, finish_reason = tokens[:max_tokens], "length"
        self._completions += 1
        completion_id = f"chatcmpl-fake{self._completions}"
        prompt_tokens = sum(
            len(str(message.get("content", "")).split()) for message in body.get("messages", [])
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(tokens),
            "total_tokens": prompt_tokens + len(tokens),
        }
        if body.get("stream") is not True:
            return web.json_response(
                self._completion(completion_id, model, "".join(tokens), finish_reason, usage)
            )
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        stream = _Stream(self, request, completion_id, model, include_usage)
        return await stream.run(tokens, finish_reason, usage, fault)

    def _format_refusal(self, body: dict[str, Any]) -> web.Response | None:
        wanted = (body.get("response_format") or {}).get("type")
        if wanted not in ("json_schema", "json_object"):
            return None
        if self.formats is FormatSupport.REJECT or (
            self.formats is FormatSupport.REJECT_SCHEMA and wanted == "json_schema"
        ):
            return _error(
                400,
                f"Invalid parameter: 'response_format' of type '{wanted}' is not supported "
                "with this model.",
                "invalid_request_error",
            )
        if self.formats is FormatSupport.LLAMA_CPP_PYTHON and wanted == "json_schema":
            return _error(500, LLAMA_CPP_PYTHON_REFUSAL, "internal_server_error")
        return None

    def _tokens_for(self, body: dict[str, Any]) -> list[str]:
        if self.answer is not None:
            return split_tokens(self.answer)
        wanted = (body.get("response_format") or {}).get("type")
        if wanted in ("json_schema", "json_object") and self.formats is not FormatSupport.IGNORE:
            return split_json_tokens(picks_answer(self.picks))
        return split_tokens(DEFAULT_ANSWER)

    @staticmethod
    def _completion(
        completion_id: str, model: str, text: str, finish_reason: str, usage: dict[str, int]
    ) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "logprobs": None,
                    "finish_reason": finish_reason,
                }
            ],
            "usage": usage,
        }


class _Stream:
    """One streamed answer: its chunks, written with the fake's quirks and fault."""

    def __init__(
        self,
        fake: FakeOpenAI,
        request: web.Request,
        completion_id: str,
        model: str,
        include_usage: bool,
    ) -> None:
        self.fake = fake
        self.request = request
        self.quirks = fake.quirks
        self.completion_id = completion_id
        self.model = model
        self.include_usage = include_usage
        self.created = int(time.time())
        self.response = web.StreamResponse(
            headers={"Content-Type": EVENT_STREAM, "Cache-Control": "no-cache"}
        )

    async def run(
        self, tokens: list[str], finish_reason: str, usage: dict[str, int], fault: Fault | None
    ) -> web.StreamResponse:
        fake = self.fake
        if fake.first_token_delay:
            await asyncio.sleep(fake.first_token_delay)
        await self.response.prepare(self.request)
        fake.streams_started += 1
        fake.active_streams += 1
        fake.most_active_streams = max(fake.most_active_streams, fake.active_streams)
        await fake.notify()
        try:
            await self._write_all(tokens, finish_reason, usage, fault)
        except (asyncio.CancelledError, ConnectionResetError):
            fake.streams_closed_early += 1
            raise
        except _StreamCut:
            return self.response
        else:
            fake.streams_finished += 1
        finally:
            fake.active_streams -= 1
            await fake.notify()
        return self.response

    async def _write_all(
        self, tokens: list[str], finish_reason: str, usage: dict[str, int], fault: Fault | None
    ) -> None:
        await self._event(self._chunk({"role": "assistant", "content": ""}))
        for index, token in enumerate(tokens):
            if fault is not None and index == fault.after_tokens:
                await self._inject(fault)
            await self._event(self._chunk({"content": token}))
            if self.fake.tokens_per_second:
                await asyncio.sleep(1 / self.fake.tokens_per_second)
        if fault is not None and fault.after_tokens >= len(tokens):
            await self._inject(fault)
        await self._event(self._chunk({}, finish_reason))
        if self.include_usage:
            await self._event({**self._chunk({}), "choices": [], "usage": usage})
        await self._write_event(["[DONE]"])
        self.fake.wrote_event(None)
        await self.response.write_eof()

    async def _inject(self, fault: Fault) -> None:
        if fault.kind is FaultKind.ERROR_EVENT:
            await self._event(error_body(fault.message, "server_error", "server_error"))
            await self.response.write_eof()
            raise _StreamCut
        if fault.kind is FaultKind.STALL:
            await self.fake.until_stopped()
            raise _StreamCut
        if fault.kind is FaultKind.CUT:
            if self.request.transport is not None:
                self.request.transport.abort()
            raise _StreamCut

    def _chunk(self, delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
        chunk: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "system_fingerprint": "fp_fake",
            "choices": [
                {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
            ],
        }
        if self.include_usage:
            chunk["usage"] = None
        return chunk

    async def _event(self, data: dict[str, Any]) -> None:
        if self.quirks.multiline_data:
            await self._write_event(json.dumps(data, indent=1).split("\n"))
        else:
            await self._write_event([json.dumps(data)])
        self.fake.wrote_event(data)

    async def _write_event(self, data_lines: list[str]) -> None:
        end = "\r\n" if self.quirks.crlf else "\n"
        text = "".join(f"data: {line}{end}" for line in data_lines) + end
        if self.quirks.comments:
            text = f"{KEEP_ALIVE}{end}{end}{text}"
        raw = text.encode()
        step = self.quirks.split_every
        if not step:
            await self.response.write(raw)
            return
        for start in range(0, len(raw), step):
            await self.response.write(raw[start : start + step])
            # Each write is its own send (aiohttp sets TCP_NODELAY); yielding lets the
            # client read between them, so reads end at these awkward offsets.
            await asyncio.sleep(0)


async def _serve(args: argparse.Namespace) -> None:
    fault = None
    if args.fault:
        fault = Fault(
            FaultKind(args.fault),
            after_tokens=args.fault_after,
            message=args.fault_message,
            status=args.fault_status,
        )
    quirks = Quirks(
        comments="comments" in args.quirk,
        crlf="crlf" in args.quirk,
        multiline_data="multiline" in args.quirk,
        split_every=args.split_every,
        embeddings_out_of_order="unordered" in args.quirk,
    )
    fake = FakeOpenAI(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        models=DEFAULT_MODELS - set(args.without_model),
        embed_dim=args.embed_dim,
        embed_latency=args.embed_latency,
        formats=FormatSupport(args.formats),
        quirks=quirks,
        tokens_per_second=args.tokens_per_second,
        first_token_delay=args.first_token_delay,
        fault=fault,
    )
    async with fake:
        print(f"Fake OpenAI-compatible server on {fake.url} (Ctrl-C to stop)", flush=True)
        if fault:
            print(f"Injecting {fault}", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Run the fake standalone until interrupted."""
    parser = argparse.ArgumentParser(description="A fake OpenAI-compatible model server.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--api-key", help="require `Authorization: Bearer <this>`")
    parser.add_argument("--embed-dim", type=int, default=DEFAULT_EMBED_DIM)
    parser.add_argument("--embed-latency", type=float, default=0.0, help="seconds per request")
    parser.add_argument("--tokens-per-second", type=float, default=None)
    parser.add_argument("--first-token-delay", type=float, default=0.0, help="seconds")
    parser.add_argument(
        "--formats",
        choices=[support.value for support in FormatSupport],
        default=FormatSupport.HONOUR.value,
        help="how response_format is answered (see FormatSupport)",
    )
    parser.add_argument(
        "--quirk",
        action="append",
        default=[],
        choices=["comments", "crlf", "multiline", "unordered"],
        help="write the stream this awkward way (repeatable)",
    )
    parser.add_argument("--split-every", type=int, default=None, metavar="BYTES")
    parser.add_argument("--fault", choices=[kind.value for kind in FaultKind])
    parser.add_argument("--fault-after", type=int, default=0, metavar="TOKENS")
    defaults = Fault(FaultKind.HTTP_ERROR)
    parser.add_argument("--fault-message", default=defaults.message)
    parser.add_argument("--fault-status", type=int, default=defaults.status)
    parser.add_argument("--without-model", action="append", default=[], metavar="NAME")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
