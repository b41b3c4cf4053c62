"""Overhead on one suggestion: what the bot adds to the model's own time.

For each front end (the pipeline called directly, the terminal front end as a real
process, the Discord bot against the fake Discord) suggestions run one after another
for a member with 20 tastes, at 12 and at 100 tokens/s. The answer is structured picks
(JSON, parsed while it streams) as the bot asks for; rows marked "plain text" have the
fake ignore the schema, so the first visible pick title can be compared with the first
visible plain text; rows marked "OpenAI-compatible" talk to the fake OpenAI-compatible
server (server-sent events, `response_format`) instead of the fake Ollama, at the same
rates, to set the two clients side by side. The fake model servers run in another
process and logs, on its side, when each request arrived, when it wrote its first
text token and its final `done` chunk; "model" time is the embed request plus the chat
stream up to `done`, as the fake served them, and the bot's own time is end to end
minus that.

    .venv/bin/python -m bench.overhead [--quick] [--front pipeline cli discord]
                                       [--provider ollama openai]
    .venv/bin/python -m bench.overhead --movienight-only   # section 1c alone

It also times movie night's prompt build for ten participants with 200 tastes and
1,000 rated titles each (`bench/_movienight.py`), written as a section of its own.
    .venv/bin/python -m bench.overhead --catalogue-only [--quick]   # grounded picks only
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import _catalogue as catalogue_bench
from bench import _common as common
from bench import _movienight as movie_night
from bench._harness import (
    EDIT_INTERVAL,
    EMBED_DIM,
    NO_REPEAT_WINDOW,
    add_tastes,
    discord_settings,
    pipeline_settings,
    request_text,
    running_bot,
)
from bench._remote import RemoteFakes, Served
from bot.pipeline.events import Finished, PicksUpdated, Retrieved, TextDelta
from bot.pipeline.pipeline import Pipeline, open_pipeline
from tests.fakes.ollama_server import (
    DEFAULT_ANSWER,
    DEFAULT_PICKS,
    picks_answer,
    split_json_tokens,
    split_tokens,
)

TASTES = 20
FRONTS = ("pipeline", "cli", "discord")
PROVIDERS = ("ollama", "openai")
MEMBER = "100000000000000001"
ANSWER_TOKENS = split_tokens(DEFAULT_ANSWER)
PICKS_TOKENS = split_json_tokens(picks_answer(DEFAULT_PICKS))
PICKS = "picks"
PLAIN_TEXT = "plain text"
WARM_UP_RATE = 1000.0  # tokens/s of the uncounted first suggestion of each condition
# A real model's time to first token varies (prompt length, load); spreading it evenly
# over this range also makes the answers end at evenly spread points of the edit
# interval, as real answers do, instead of at one point that flatters or hurts.
FIRST_TOKEN_SPREAD = 1.0
DISCORD_ROUND_TRIP = 0.1  # s: a REST round trip to Discord from a home connection


@dataclass(frozen=True)
class Condition:
    front: str
    tokens_per_second: float
    first_token_delay: float | None = None  # None: spread over 0..FIRST_TOKEN_SPREAD
    edit_interval: float = EDIT_INTERVAL
    discord_round_trip: float = 0.0  # s, added by the fake Discord to every REST request
    answer: str = PICKS  # or PLAIN_TEXT: the fake ignores the schema
    provider: str = "ollama"  # or "openai": the fake OpenAI-compatible server

    def describe(self) -> str:
        first_token = (
            f"0–{FIRST_TOKEN_SPREAD:g} s"
            if self.first_token_delay is None
            else f"{self.first_token_delay:g} s"
        )
        parts = [f"TTFT {first_token}"]
        if self.answer == PLAIN_TEXT:
            parts.insert(0, "**plain text**")
        if self.provider == "openai":
            parts.insert(0, "**OpenAI-compatible**")
        if self.front == "discord":
            parts.append(f"interval {self.edit_interval:g} s")
            parts.append(f"RTT {self.discord_round_trip * 1000:g} ms")
        return ", ".join(parts)

    def first_token_delays(self, runs: int) -> list[float]:
        if self.first_token_delay is not None:
            return [self.first_token_delay] * runs
        return [(k + 0.5) / runs * FIRST_TOKEN_SPREAD for k in range(runs)]

    def runs(self, quick: bool) -> int:
        if self.tokens_per_second < 50:
            return 2 if quick else 4
        return 3 if quick else 10


CONDITIONS = (
    Condition("pipeline", 12),
    Condition("pipeline", 12, answer=PLAIN_TEXT),
    Condition("pipeline", 100),
    Condition("cli", 12),
    Condition("cli", 12, answer=PLAIN_TEXT),
    Condition("cli", 100),
    Condition("discord", 12),
    Condition("discord", 12, answer=PLAIN_TEXT),
    Condition("discord", 100),
    # A model that answers at once: the worst case for the first visible text.
    Condition("discord", 100, first_token_delay=0.0),
    # The smallest edit interval the settings allow: how much of "own" is the throttle.
    Condition("discord", 12, edit_interval=0.2),
    # Discord is not on the same machine: a REST round trip like a home server's.
    Condition("discord", 12, discord_round_trip=DISCORD_ROUND_TRIP),
    Condition("discord", 100, first_token_delay=0.0, discord_round_trip=DISCORD_ROUND_TRIP),
    # The same through an OpenAI-compatible server instead of Ollama.
    Condition("pipeline", 12, provider="openai"),
    Condition("pipeline", 100, provider="openai"),
    Condition("cli", 12, provider="openai"),
    Condition("discord", 12, provider="openai"),
    Condition("discord", 100, provider="openai"),
)


def provider_settings(condition: Condition, fakes: RemoteFakes) -> dict[str, Any]:
    """The settings that point the bot at the condition's fake model server."""
    if condition.provider == "openai":
        return {"llm_provider": "openai", "llm_urls": fakes.openai_url}
    return {}


@dataclass
class Run:
    """One suggestion, timed (seconds)."""

    end_to_end: float
    acknowledged: float  # request to the first sign of life (see the notes)
    before_model: float  # own time before the chat request reached the model
    first_token_to_visible: float
    done_to_final: float  # the model's final (done) chunk to the final text shown
    model: float  # embed + chat up to `done`, as the fake Ollama served them
    cpu: float
    edits: int | None = None

    @property
    def own(self) -> float:
        return self.end_to_end - self.model

    @property
    def own_share(self) -> float:
        return self.own / self.end_to_end


def served_for(log: Sequence[Served], tag: int) -> tuple[Served, Served]:
    """The embed of the request and its chat stream, by the request's tag."""
    embed = next(s for s in log if s.kind == "embed" and s.tag == tag)
    chat = next(s for s in log if s.kind == "chat" and s.tag == tag)
    assert chat.first_token is not None and chat.done is not None
    return embed, chat


def model_seconds(embed: Served, chat: Served) -> float:
    assert chat.done is not None
    return embed.seconds + (chat.done - chat.started)


def before_model(started: float, embed: Served, chat: Served) -> float:
    return (embed.started - started) + (chat.started - embed.ended)


async def suggestions(
    fakes: RemoteFakes,
    condition: Condition,
    runs: int,
    first_tag: int,
    one: Callable[[int], Awaitable[Run | None]],
) -> list[Run]:
    """A warm-up at a high token rate, then `runs` suggestions at the condition's rate."""
    await fakes.call(
        "set_ollama",
        tokens_per_second=WARM_UP_RATE,
        first_token_delay=0.0,
        ignore_format=condition.answer == PLAIN_TEXT,
    )
    await one(first_tag)
    results = []
    for number, delay in enumerate(condition.first_token_delays(runs), start=1):
        await fakes.call(
            "set_ollama",
            tokens_per_second=condition.tokens_per_second,
            first_token_delay=delay,
        )
        run = await one(first_tag + number)
        assert run is not None
        results.append(run)
    return results


# -- the pipeline, in this process ----------------------------------------------------


async def bench_pipeline(
    fakes: RemoteFakes, data_dir: Path, condition: Condition, runs: int, first_tag: int
) -> list[Run]:
    settings = pipeline_settings(fakes, data_dir, **provider_settings(condition, fakes))
    async with open_pipeline(settings) as pipeline:
        if not await pipeline.tastes(MEMBER):
            await add_tastes(pipeline, MEMBER, TASTES)

        async def one(tag: int) -> Run:
            return await _one_pipeline_run(fakes, pipeline, tag)

        return await suggestions(fakes, condition, runs, first_tag, one)


async def _one_pipeline_run(fakes: RemoteFakes, pipeline: Pipeline, tag: int) -> Run:
    cpu_before = common.cpu_seconds()
    started = time.monotonic()
    retrieved_at = first_text_at = finished_at = 0.0
    async for event in pipeline.suggest(MEMBER, request_text(tag)):
        now = time.monotonic()
        match event:
            case Retrieved():
                retrieved_at = now
            case TextDelta() | PicksUpdated():
                first_text_at = first_text_at or now
            case Finished():
                finished_at = now
            case _:
                raise RuntimeError(f"suggestion {tag} failed: {event}")
    cpu = common.cpu_seconds() - cpu_before
    embed, chat = served_for(await fakes.call("ollama_log", clear=True), tag)
    assert chat.first_token and chat.done
    return Run(
        end_to_end=finished_at - started,
        acknowledged=retrieved_at - started,
        before_model=before_model(started, embed, chat),
        first_token_to_visible=first_text_at - chat.first_token,
        done_to_final=finished_at - chat.done,
        model=model_seconds(embed, chat),
        cpu=cpu,
    )


# -- the terminal front end, as a real process ---------------------------------------

ASKING_LINE = "pick(s)…\n\n".encode()  # "Asking <model> for N pick(s)…" and a blank line


def cli_environment(
    fakes: RemoteFakes, data_dir: Path, condition: Condition | None = None
) -> dict[str, str]:
    chosen = provider_settings(condition, fakes) if condition else {}
    return {
        **os.environ,
        **{name.upper(): str(value) for name, value in chosen.items()},
        "OLLAMA_URL": fakes.ollama_url,
        "DATA_DIR": str(data_dir),
        "MAX_TASTES_PER_MEMBER": "10000",
        "CATALOGUE": "off",
        "NO_REPEAT_WINDOW": str(NO_REPEAT_WINDOW),
        # A clean checkout runs its own code, whatever the venv has installed.
        "PYTHONPATH": str(common.REPO_ROOT),
    }


async def bench_cli(
    fakes: RemoteFakes, data_dir: Path, condition: Condition, runs: int, first_tag: int
) -> list[Run]:
    settings = pipeline_settings(fakes, data_dir, **provider_settings(condition, fakes))
    async with open_pipeline(settings) as pipeline:
        if not await pipeline.tastes(MEMBER):
            await add_tastes(pipeline, MEMBER, TASTES)
    environment = cli_environment(fakes, data_dir, condition)
    with tempfile.TemporaryDirectory() as workdir:  # so that no stray .env is read

        async def one(tag: int) -> Run:
            timed = await _one_cli_run(environment, workdir, tag)
            embed, chat = served_for(await fakes.call("ollama_log", clear=True), tag)
            assert chat.first_token and chat.done
            return Run(
                end_to_end=timed["exited"] - timed["started"],
                acknowledged=timed["first_output"] - timed["started"],
                before_model=before_model(timed["started"], embed, chat),
                first_token_to_visible=timed["first_text"] - chat.first_token,
                done_to_final=timed["exited"] - chat.done,
                model=model_seconds(embed, chat),
                cpu=timed["cpu"],
            )

        return await suggestions(fakes, condition, runs, first_tag, one)


async def _one_cli_run(environment: dict[str, str], workdir: str, tag: int) -> dict[str, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        "--member",
        MEMBER,
        "suggest",
        request_text(tag),
        cwd=workdir,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    output = b""
    first_output = first_text = 0.0
    while chunk := await process.stdout.read(65536):
        now = time.monotonic()
        output += chunk
        first_output = first_output or now
        _, found, answer = output.partition(ASKING_LINE)
        if not first_text and found and answer:
            first_text = now
    errors = await process.stderr.read()
    code = await process.wait()
    exited = time.monotonic()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if code != 0 or not first_text:
        raise RuntimeError(f"the CLI failed ({code}): {errors.decode()[-500:]}")
    return {
        "started": started,
        "first_output": first_output,
        "first_text": first_text,
        "exited": exited,
        "cpu": (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime),
    }


async def cli_start_up(fakes: RemoteFakes, data_dir: Path, runs: int) -> tuple[float, float]:
    """Median seconds of `python -c 'import bot.cli'` and of a whole `bot.cli tastes`."""
    environment = cli_environment(fakes, data_dir)
    imports: list[float] = []
    tastes: list[float] = []
    with tempfile.TemporaryDirectory() as workdir:
        for _ in range(runs):
            for command, sink in (
                (["-c", "import bot.cli"], imports),
                (["-m", "bot.cli", "--member", MEMBER, "tastes"], tastes),
            ):
                started = time.monotonic()
                process = await asyncio.create_subprocess_exec(
                    sys.executable,
                    *command,
                    cwd=workdir,
                    env=environment,
                    stdout=asyncio.subprocess.DEVNULL,
                )
                if await process.wait() != 0:
                    raise RuntimeError(f"{command} failed")
                sink.append(time.monotonic() - started)
    return common.median(imports), common.median(tastes)


# -- the Discord bot, against the fake Discord ----------------------------------------


async def bench_discord(
    fakes: RemoteFakes, data_dir: Path, condition: Condition, runs: int, first_tag: int
) -> list[Run]:
    settings = await discord_settings(
        fakes,
        data_dir,
        stream_edit_interval=condition.edit_interval,
        **provider_settings(condition, fakes),
    )
    async with open_pipeline(settings) as pipeline:
        if not await pipeline.tastes(MEMBER):
            await add_tastes(pipeline, MEMBER, TASTES)
        async with running_bot(fakes, pipeline, settings) as (_bot, completed):

            async def one(tag: int) -> Run:
                cpu_before = common.cpu_seconds()
                interaction = await fakes.call(
                    "dispatch_slash", "suggest", {"query": request_text(tag)}, int(MEMBER)
                )
                await completed.wait_for([interaction.id], timeout=120)
                cpu = common.cpu_seconds() - cpu_before
                state = await fakes.call("discord_state")
                await fakes.call("clear_discord_log")
                embed, chat = served_for(await fakes.call("ollama_log", clear=True), tag)
                return discord_run(state, interaction.token, embed, chat, cpu)

            return await suggestions(fakes, condition, runs, first_tag, one)


def reply_writes(state: dict[str, Any], token: str) -> list[Any]:
    """The successful sends and edits of one reply's messages, in order (not the ack)."""
    reply_ids = set(state["replies"][token])
    return [
        request
        for request in state["requests"]
        if request.message_id in reply_ids
        and request.method in ("POST", "PATCH")
        and 200 <= request.status < 300
        and not request.path.startswith("/interactions/")
    ]


def check_complete(state: dict[str, Any], token: str) -> None:
    """The reply shows the whole answer and is no longer marked as being written."""
    text = "\n".join(state["messages"][i].content for i in state["replies"][token])
    picks_words = [w for p in DEFAULT_PICKS for w in str(p["description"]).split()]
    wanted = picks_words if "**1. " in text else DEFAULT_ANSWER.split()
    missing = [word for word in wanted if word not in text]
    if missing or "still writing" in text:
        raise RuntimeError(f"reply {token} is incomplete: missing {missing[:5]}")


def first_text_write(writes: list[Any]) -> Any:
    """The first write that shows answer text (below the header, which is the first):
    a pick's title, or the first words of a plain-text answer."""
    markers = ("\n\n**1. ", "\n\n" + ANSWER_TOKENS[0])
    return next(w for w in writes if any(m in (w.json or {}).get("content", "") for m in markers))


def discord_run(state: dict[str, Any], token: str, embed: Served, chat: Served, cpu: float) -> Run:
    """Read one suggestion's timings off the fake Discord's log."""
    interaction = state["interactions"][token]
    writes = reply_writes(state, token)
    check_complete(state, token)
    assert chat.first_token and chat.done and interaction.callback_at
    final = writes[-1].time
    return Run(
        end_to_end=final - interaction.dispatched_at,
        acknowledged=interaction.callback_at - interaction.dispatched_at,
        before_model=before_model(interaction.dispatched_at, embed, chat),
        first_token_to_visible=first_text_write(writes).time - chat.first_token,
        done_to_final=final - chat.done,
        model=model_seconds(embed, chat),
        cpu=cpu,
        edits=len(writes),
    )


# -- report ----------------------------------------------------------------------------

FRONT_RUNNERS = {"pipeline": bench_pipeline, "cli": bench_cli, "discord": bench_discord}
HEADERS = (
    "front end",
    "tokens/s",
    "conditions",
    "runs",
    "end to end",
    "model",
    "ack",
    "own before model",
    "first token → visible (max)",
    "model done → final",
    "own",
    "own share",
    "edits",
    "CPU",
)
NOTES = """\
*ack*: pipeline, `suggest()` called → `Retrieved` event; cli, process started → first \
line printed; discord, interaction dispatched → acknowledgement (deferred) received by \
Discord. *own before model*: request → embed request at the model, plus embed answered → \
chat request at the model. *first token → visible* and *model done → final* run from \
the fake Ollama writing the first text token (for picks, `{`: the title is complete \
some 14 JSON tokens later, so at 12 tokens/s about 1.1 s of this is the model writing \
`{"picks": [{"title": "Arrival"`), and its final `done` chunk (which, as in \
Ollama, follows the last text token by one token's time), to: pipeline, the \
first `PicksUpdated` (a title) or `TextDelta` / `Finished` event; cli, the first answer \
bytes read from its stdout (a pick's title, or plain text) / the process exited; \
discord, the first edit showing a pick's title (or plain text) / the final edit, as \
they reached Discord. *own* = end to end − model; *own share* = own / end to end. *edits*: \
sends and edits of the reply's messages after the acknowledgement. *CPU*: the bot \
process's CPU time (all threads, user + system) per suggestion. *conditions*: TTFT is \
the fake Ollama's time to first token (a range: the runs' delays spread evenly over \
it); interval is STREAM_EDIT_INTERVAL; RTT is a network round trip the fake Discord \
adds to every REST request (half before it records the request, half after). \
*Picks vs plain text*: a pick's title can show only once the model has written its \
closing quote, 13 tokens after the first token (`{"picks": [{"title": "Arrival"`: \
1,083 ms at 12 tokens/s, 130 ms at 100); the bot's own part of *first token → visible* \
for picks is the rest, about 20 ms (6 ms at 100 tokens/s)."""


def row(condition: Condition, runs: list[Run]) -> list[object]:
    def mid(attribute: str) -> float:
        return common.median([getattr(run, attribute) for run in runs])

    edits = common.median([run.edits for run in runs if run.edits is not None])
    return [
        condition.front,
        f"{condition.tokens_per_second:g}",
        condition.describe(),
        len(runs),
        f"{mid('end_to_end'):.2f} s",
        f"{mid('model'):.2f} s",
        common.ms(mid("acknowledged")),
        common.ms(mid("before_model")),
        common.ms(mid("first_token_to_visible"))
        + f" ({common.ms(max(run.first_token_to_visible for run in runs))})",
        common.ms(mid("done_to_final")),
        common.ms(mid("own")),
        common.pct(mid("own_share")),
        "–" if edits != edits else f"{edits:g}",
        common.ms(mid("cpu")),
    ]


async def run_front(
    front: str, quick: bool, providers: Sequence[str] = PROVIDERS
) -> tuple[list[list[object]], list[str]]:
    rows: dict[int, list[object]] = {}  # by the condition's place in CONDITIONS
    notes: list[str] = []
    conditions = [c for c in CONDITIONS if c.front == front and c.provider in providers]
    round_trips = sorted({c.discord_round_trip for c in conditions})
    with tempfile.TemporaryDirectory(prefix="bench-overhead-") as tmp:
        for round_trip in round_trips:  # one fakes' process (and data dir) per round trip
            data_dir = Path(tmp) / f"data-{round_trip}"
            async with RemoteFakes(
                embed_dim=EMBED_DIM,
                with_discord=front == "discord",
                discord_round_trip=round_trip,
            ) as fakes:
                for condition in conditions:
                    if condition.discord_round_trip != round_trip:
                        continue
                    number = CONDITIONS.index(condition) + 1
                    runs = await FRONT_RUNNERS[front](
                        fakes, data_dir, condition, condition.runs(quick), 1000 * number
                    )
                    rows[number] = row(condition, runs)
                    print(common.table(HEADERS, [rows[number]]), file=sys.stderr)
                if front == "cli":
                    imports, whole = await cli_start_up(fakes, data_dir, 3)
                    notes.append(
                        f"Terminal start-up, included in its rows: `python -c 'import bot.cli'` "
                        f"takes {common.ms(imports)} and a whole `bot.cli tastes` (start, open "
                        f"SQLite and embedded Qdrant, list, close) {common.ms(whole)} "
                        "(medians of 3)."
                    )
    return [rows[number] for number in sorted(rows)], notes


async def run_catalogue(quick: bool) -> list[list[object]]:
    """The grounded-picks rows (see `bench/_catalogue.py`)."""
    with tempfile.TemporaryDirectory(prefix="bench-catalogue-") as tmp:
        async with RemoteFakes(embed_dim=EMBED_DIM, with_discord=False) as fakes:
            return await catalogue_bench.bench_catalogue(fakes, Path(tmp), 3 if quick else 8)


async def main(argv: Sequence[str] | None = None) -> None:
    parser = common.parser(__doc__.splitlines()[0])
    parser.add_argument("--front", nargs="+", choices=FRONTS, default=list(FRONTS))
    parser.add_argument("--provider", nargs="+", choices=PROVIDERS, default=list(PROVIDERS))
    parser.add_argument(
        "--section",
        default="overhead",
        help="the BENCHMARKS.md section to write (a partial run may keep the full one)",
    )
    parser.add_argument(
        "--catalogue-only",
        action="store_true",
        help="only the grounded-picks rows (catalogue off, at 50 ms and at 300 ms)",
    )
    parser.add_argument(
        "--movienight-only", action="store_true", help="only movie night's prompt build"
    )
    args = parser.parse_args(argv)
    common.configure_logging(args.verbose)
    if not args.catalogue_only:
        await movie_night_section(args.quick, write=not args.no_write)
    if args.movienight_only:
        return
    rows: list[list[object]] = []
    notes: list[str] = []
    load_before = common.load_average()
    for front in [] if args.catalogue_only else args.front:
        front_rows, front_notes = await run_front(front, args.quick, args.provider)
        rows += front_rows
        notes += front_notes
    grounding = await run_catalogue(args.quick)
    grounding_body = "\n\n".join(
        [
            "**Grounded picks** (issue 15): the pipeline with the film catalogue. "
            + " ".join((catalogue_bench.__doc__ or "").split("\n\n", 1)[1].split()),
            common.table(catalogue_bench.HEADERS, grounding),
            catalogue_bench.NOTES,
        ]
    )
    if args.catalogue_only:
        title = "1b. Overhead of the film catalogue on one suggestion"
        common.write_section(
            "overhead-catalogue", title, grounding_body, quick=args.quick, write=not args.no_write
        )
        return
    body = "\n\n".join(
        [
            f"One member with {TASTES} tastes; the fake's scripted answer: "
            f"{len(DEFAULT_PICKS)} picks as JSON ({len(PICKS_TOKENS)} tokens), or in the "
            f"plain-text rows its text ({len(ANSWER_TOKENS)} tokens, {len(DEFAULT_ANSWER)} "
            f"characters); embedding dimension {EMBED_DIM}; NO_REPEAT_WINDOW="
            f"{NO_REPEAT_WINDOW} (the fake repeats its picks). Medians (and the worst run "
            "where marked). Each row starts with one uncounted warm-up suggestion. "
            + common.load_note(load_before, common.load_average()),
            common.table(HEADERS, rows),
            NOTES,
            *notes,
            grounding_body,
        ]
    )
    title = "1. Overhead on one suggestion"
    if args.section != "overhead":
        title = (
            f"1b. Overhead on one suggestion ({', '.join(args.front)}; {', '.join(args.provider)})"
        )
    common.write_section(args.section, title, body, quick=args.quick, write=not args.no_write)


async def movie_night_section(quick: bool, *, write: bool) -> None:
    """Movie night's prompt build for ten participants, as its own section (1c)."""
    with tempfile.TemporaryDirectory(prefix="bench-movienight-") as tmp:
        rows, note = await movie_night.prompt_build_rows(Path(tmp))
    body = "\n\n".join([note, common.table(movie_night.HEADERS, rows)])
    common.write_section(
        "overhead-movienight",
        "1c. Movie night: the blended prompt for ten participants",
        body,
        quick=quick,
        write=write,
    )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(main())
