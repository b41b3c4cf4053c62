"""Running one command: parse, load the settings, open the pipeline, stop in order."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shlex
import signal
import sys
from collections.abc import Sequence
from types import FrameType
from typing import TextIO

from bot import presentation as say
from bot.cli.copy import copy_to_server
from bot.cli.doctor import doctor
from bot.cli.library import LibraryTerminal
from bot.cli.night import movie_night, split_members
from bot.cli.parser import build_parser, check_arguments, default_member
from bot.cli.terminal import EXIT_FAILED, EXIT_OK, Terminal
from bot.errors import ConfigError, SuggestWatchError
from bot.pipeline.data_dir import low_space_warning
from bot.pipeline.pipeline import open_pipeline
from bot.pipeline.text import clean_text
from bot.settings import Settings, load_settings

EXIT_CONFIG = 2
MEMBER_MAX_CHARS = 100


async def run(
    args: argparse.Namespace, settings: Settings, out: TextIO, err: TextIO, stdin: TextIO
) -> int:
    """Run one parsed command; errors of ours become one line on `err`."""
    given_member: str | None = getattr(args, "member", None)
    member = given_member if given_member is not None else default_member()
    member_option = f" --member {shlex.quote(member)}" if given_member is not None else ""
    try:
        check_member(member)
        if args.command == "doctor":
            return await doctor(settings, out)
        if args.command == "copy-to-server":
            return await copy_to_server(settings, args, out)
        async with open_pipeline(settings) as pipeline:
            terminal = Terminal(pipeline, out, err, stdin, member_option)
            match args.command:
                case "prefer":
                    return await terminal.prefer(member, " ".join(args.text))
                case "tastes":
                    return await terminal.tastes(member)
                case "forget":
                    return await terminal.forget(
                        member, args.taste_id, args.all, args.yes, args.history
                    )
                case "rate":
                    return await terminal.rate(member, args.suggestion_id, args.rating, args.pick)
                case "history":
                    return await terminal.history(member, args.limit)
                case "suggest":
                    return await terminal.suggest(member, " ".join(args.query), args.count)
                case "movienight":
                    members = split_members(args.with_members)
                    asker = given_member or (members[0] if members else member)
                    query = " ".join(args.query)
                    return await movie_night(terminal, asker, members, query, args.count)
                case "reindex":
                    return await terminal.reindex()
                case "watchlist" | "import":
                    shelf = LibraryTerminal(
                        pipeline.library, out, stdin, terminal.command("").rstrip()
                    )
                    return await shelf.run(member, args)
            raise AssertionError(f"unknown command {args.command}")
    except SuggestWatchError as exc:
        print(f"Error: {exc}", file=err, flush=True)
        return EXIT_FAILED


def check_member(member: str) -> None:
    """Refuse a member name nothing downstream can store."""
    clean_text(member, max_chars=MEMBER_MAX_CHARS, what="A member name")


def forward_sigterm_as_sigint() -> None:
    """SIGTERM stops the CLI exactly as Ctrl-C does: asyncio cancels the running command
    (a suggestion is recorded cancelled with its text), then the pipeline closes."""

    def on_sigterm(signal_number: int, frame: FrameType | None) -> None:
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler):
            handler(signal_number, frame)
        else:
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_sigterm)


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: `suggest-watch` and `python -m bot.cli`."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if error := check_arguments(arguments):
        print(error, file=sys.stderr)
        return EXIT_FAILED
    args = build_parser().parse_args(arguments)
    try:
        settings = load_settings(Settings)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    logging.basicConfig(
        # Without -v nothing is logged: an error is the one `Error:` line.
        level=settings.log_level.upper()
        if getattr(args, "verbose", False)
        else logging.CRITICAL + 1,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command != "doctor" and (warning := low_space_warning(settings.data_dir)):
        print(f"Warning: {warning}", file=sys.stderr)
    forward_sigterm_as_sigint()
    try:
        return asyncio.run(run(args, settings, sys.stdout, sys.stderr, sys.stdin))
    except KeyboardInterrupt:
        # asyncio cancelled the command first, so what arrived is recorded.
        print(f"\n{say.STOPPED}", file=sys.stderr)
        return EXIT_OK
    except BrokenPipeError:
        # The reader went away (`| head`); the suggestion is recorded as cancelled.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
