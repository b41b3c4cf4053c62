"""The terminal front end: the whole pipeline without Discord.

    python -m bot.cli prefer "slow, thoughtful sci-fi like Arrival"
    python -m bot.cli suggest thoughtful sci-fi tonight
    python -m bot.cli tastes | forget 3 | forget --all | reindex | doctor

`--member NAME` picks whose tastes (default: the local user). Like the Discord front
end, this is a thin adapter: it parses, calls the pipeline, and renders events.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import sys
from collections.abc import Sequence
from contextlib import aclosing
from typing import TextIO

from bot.errors import ConfigError, SuggestWatchError
from bot.pipeline.events import Failed, Finished, Retrieved, TextDelta
from bot.pipeline.pipeline import DEFAULT_COUNT, MAX_COUNT, MIN_COUNT, Pipeline, open_pipeline
from bot.settings import Settings, load_settings

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
EXIT_INTERRUPTED = 130


def default_member() -> str:
    return f"local-{getpass.getuser()}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="suggest-watch",
        description="Movie and show picks from your own tastes, on your local Ollama.",
    )
    parser.add_argument(
        "--member", default=default_member(), help="whose tastes to use (default: %(default)s)"
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="log what the pipeline does (at LOG_LEVEL) to stderr",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    prefer = commands.add_parser("prefer", help="store something you like")
    prefer.add_argument("text", nargs="+", help='e.g. "slow, thoughtful sci-fi like Arrival"')

    suggest = commands.add_parser("suggest", help="get picks for a request, streamed")
    suggest.add_argument("query", nargs="+", help="e.g. thoughtful sci-fi tonight")
    suggest.add_argument(
        "-n",
        "--count",
        type=int,
        default=DEFAULT_COUNT,
        help=f"how many picks, {MIN_COUNT}-{MAX_COUNT} (default: %(default)s)",
    )

    commands.add_parser("tastes", help="list your tastes, numbered")

    forget = commands.add_parser("forget", help="remove one taste by number, or all")
    which = forget.add_mutually_exclusive_group(required=True)
    which.add_argument("taste_id", nargs="?", type=int, help="the taste's number from `tastes`")
    which.add_argument("--all", action="store_true", help="remove all your tastes")
    forget.add_argument("-y", "--yes", action="store_true", help="do not ask before --all")

    commands.add_parser("reindex", help="rebuild every member's vectors from the records")
    commands.add_parser("doctor", help="check Ollama, the models, the vector store and SQLite")
    return parser


class Terminal:
    """Renders pipeline results to a terminal (or any pair of text streams)."""

    def __init__(self, pipeline: Pipeline, out: TextIO, err: TextIO, stdin: TextIO) -> None:
        self.pipeline = pipeline
        self.out = out
        self.err = err
        self.stdin = stdin

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    async def prefer(self, member: str, text: str) -> int:
        taste = await self.pipeline.prefer(member, text)
        self.say(f"Stored taste #{taste.id}: {taste.text}")
        return EXIT_OK

    async def tastes(self, member: str) -> int:
        tastes = await self.pipeline.tastes(member)
        if not tastes:
            self.say('You have no tastes yet. Add one with: suggest-watch prefer "what you like"')
            return EXIT_OK
        self.say(f"Your {len(tastes)} taste(s):")
        for taste in tastes:
            waiting = "  (not searchable yet: its vector is written once Ollama answers)"
            self.say(f"  #{taste.id}  {taste.text}{waiting if taste.is_pending else ''}")
        return EXIT_OK

    async def forget(self, member: str, taste_id: int | None, forget_all: bool, yes: bool) -> int:
        if not forget_all:
            assert taste_id is not None
            taste = await self.pipeline.forget(member, taste_id)
            self.say(f"Forgot taste #{taste.id}: {taste.text}")
            return EXIT_OK
        count = len(await self.pipeline.tastes(member))
        if count == 0:
            self.say("You have no tastes to forget.")
            return EXIT_OK
        if not yes and not self.confirm(f"Forget all {count} of your tastes? [y/N] "):
            self.say("Kept your tastes.")
            return EXIT_OK
        removed = await self.pipeline.forget_all(member)
        self.say(f"Forgot all {removed} of your tastes.")
        return EXIT_OK

    def confirm(self, question: str) -> bool:
        print(question, end="", file=self.out, flush=True)
        answer = self.stdin.readline()
        return answer.strip().lower() in {"y", "yes"}

    async def suggest(self, member: str, query: str, count: int) -> int:
        self.say(f'Searching for "{" ".join(query.split())}"…')
        # aclosing: if printing fails (the reader went away), the suggestion is closed and
        # recorded as cancelled now, while the records are still open.
        events = self.pipeline.suggest(member, query, count)
        async with aclosing(events):
            async for event in events:
                match event:
                    case Retrieved():
                        self.show_retrieved(event)
                    case TextDelta(text=text):
                        print(text, end="", file=self.out, flush=True)
                    case Finished():
                        self.say()
                        self.say()
                        if event.is_cut:
                            self.say(CUT_BY_LENGTH)
                        self.say(describe_finish(event))
                    case Failed():
                        if event.text:
                            self.say()
                        self.say()
                        print(f"Error: {event.error}", file=self.err, flush=True)
                        if event.text:
                            print(
                                "(The text above is what arrived before the fault; it is saved.)",
                                file=self.err,
                                flush=True,
                            )
                        return EXIT_FAILED
        return EXIT_OK

    def show_retrieved(self, event: Retrieved) -> None:
        embed_ms, search_ms = event.embed_seconds * 1000, event.search_seconds * 1000
        timing = f"embed {embed_ms:.0f} ms, search {search_ms:.0f} ms"
        if event.matches:
            self.say(f"Matched {len(event.matches)} of your tastes ({timing}):")
            for match in event.matches:
                self.say(f"  {match.score:.2f}  {match.text}")
        elif event.has_tastes:
            self.say(f"None of your tastes matched ({timing}).")
        else:
            self.say("You have no tastes yet, so these picks come from your request alone.")
            self.say('Add tastes with: suggest-watch prefer "what you like"')
        self.say(f"Asking {self.pipeline.settings.chat_model} for {event.count} pick(s)…")
        self.say()

    async def reindex(self) -> int:
        def progress(member_id: str, tastes: int) -> None:
            self.say(f"  {member_id}: {tastes} taste(s)")

        settings = self.pipeline.settings
        self.say(
            f"Rebuilding the vectors with {settings.embed_model} ({settings.vector_layout} layout)…"
        )
        report = await self.pipeline.reindex(progress)
        dimension = f", {report.dimension}-d" if report.dimension else ""
        self.say(
            f"Reindexed {report.tastes} taste(s) of {report.members} member(s){dimension}, "
            f"{report.layout} layout; removed the vectors of {report.removed_members} "
            "member(s) without tastes."
        )
        return EXIT_OK

    async def doctor(self) -> int:
        checks = await self.pipeline.health()
        for check in checks:
            self.say(f"[{'ok' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
            if check.fix:
                self.say(f"       fix: {check.fix}")
        failed = [check for check in checks if not check.ok]
        self.say("All good." if not failed else f"{len(failed)} problem(s) found.")
        return EXIT_FAILED if failed else EXIT_OK


CUT_BY_LENGTH = (
    "Cut off: the answer reached the length limit (GEN_NUM_PREDICT) and stops mid-way. "
    "Ask for fewer picks, or raise GEN_NUM_PREDICT."
)


def describe_finish(event: Finished) -> str:
    parts = [f"Done in {event.timings.generation_seconds or 0:.1f} s"]
    if event.stats and event.stats.tokens_per_second:
        parts.append(
            f"{event.stats.completion_tokens} tokens at "
            f"{event.stats.tokens_per_second:.1f} tokens/s"
        )
    parts.append(f"suggestion #{event.suggestion_id}")
    return " · ".join(parts)


async def run(
    args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO, stdin: TextIO
) -> int:
    """Run one parsed command; errors of ours become one line on `err`."""
    try:
        async with open_pipeline(settings) as pipeline:
            terminal = Terminal(pipeline, out, err, stdin)
            match args.command:
                case "prefer":
                    return await terminal.prefer(args.member, " ".join(args.text))
                case "tastes":
                    return await terminal.tastes(args.member)
                case "forget":
                    return await terminal.forget(args.member, args.taste_id, args.all, args.yes)
                case "suggest":
                    return await terminal.suggest(args.member, " ".join(args.query), args.count)
                case "reindex":
                    return await terminal.reindex()
                case "doctor":
                    return await terminal.doctor()
            raise AssertionError(f"unknown command {args.command}")
    except SuggestWatchError as exc:
        print(f"Error: {exc}", file=err, flush=True)
        return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: `suggest-watch` and `python -m bot.cli`."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(Settings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(
        level=settings.log_level.upper() if args.verbose else logging.ERROR,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        return asyncio.run(run(args, settings, sys.stdout, sys.stderr, sys.stdin))
    except KeyboardInterrupt:
        print("\nStopped. What arrived so far is saved.", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`); the suggestion is recorded as cancelled.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
