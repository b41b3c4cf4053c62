"""The terminal front end: the whole pipeline without Discord.

    python -m bot.cli prefer "slow, thoughtful sci-fi like Arrival"
    python -m bot.cli suggest thoughtful sci-fi tonight
    python -m bot.cli tastes | forget 3 | forget --all | reindex | doctor
    python -m bot.cli rate 12 liked | rate 12 seen --pick 2 | history

`--member NAME` (before or after the command) picks whose tastes (default: the local
user). Like the Discord front end, this is a thin adapter: it parses, checks the input,
calls the pipeline, and renders events. Errors are one `Error:` line; log lines only
with `-v`. SIGTERM and Ctrl-C stop it in order: a suggestion being written is recorded
as cancelled with its text, the pipeline closes, and the exit code is 0.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import os
import shlex
import signal
import sys
from collections.abc import Callable, Sequence
from contextlib import aclosing
from types import FrameType
from typing import TextIO

from bot.errors import ConfigError, SuggestWatchError
from bot.pipeline.data_dir import check_writable, low_space_warning
from bot.pipeline.events import (
    Failed,
    Finished,
    HistoryPick,
    PickDraft,
    PicksUpdated,
    Rating,
    Retrieved,
    TextDelta,
)
from bot.pipeline.pipeline import (
    DEFAULT_COUNT,
    HISTORY_LIMIT,
    MAX_COUNT,
    MIN_COUNT,
    Pipeline,
    label,
    open_pipeline,
)
from bot.pipeline.text import clean_text
from bot.settings import Settings, env_file_path, has_undecodable_bytes, load_settings

ADD_TASTE_EXAMPLE = 'prefer "what you like"'
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2
MEMBER_MAX_CHARS = 100

# What `rate` takes, and what each means; `clear` takes a rating back.
RATING_WORDS: dict[str, Rating | None] = {
    "liked": Rating.LIKED,
    "not-for-me": Rating.NOT_FOR_ME,
    "seen": Rating.SEEN,
    "clear": None,
}
RATING_NAMES = {Rating.LIKED: "liked", Rating.NOT_FOR_ME: "not for me", Rating.SEEN: "seen it"}


def default_member() -> str:
    return f"local-{getpass.getuser()}"


def build_parser() -> argparse.ArgumentParser:
    # --member and -v are accepted before and after the command: the subcommands'
    # copies leave the value alone unless given (SUPPRESS).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--member",
        default=argparse.SUPPRESS,
        help=f"whose tastes to use (default: {default_member()})",
    )
    common.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=argparse.SUPPRESS,
        help="log what the pipeline does (at LOG_LEVEL) to stderr",
    )
    parser = argparse.ArgumentParser(
        prog="suggest-watch",
        description="Movie and show picks from your own tastes, on your local Ollama.",
        parents=[common],
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        return commands.add_parser(name, help=help_text, parents=[common])

    prefer = add("prefer", "store something you like")
    prefer.add_argument("text", nargs="+", help='e.g. "slow, thoughtful sci-fi like Arrival"')

    suggest = add("suggest", "get picks for a request, streamed")
    suggest.add_argument("query", nargs="+", help="e.g. thoughtful sci-fi tonight")
    suggest.add_argument(
        "-n",
        "--count",
        type=int,
        default=DEFAULT_COUNT,
        help=f"how many picks, {MIN_COUNT}-{MAX_COUNT} (default: %(default)s)",
    )

    add("tastes", "list your tastes, numbered")

    forget = add("forget", "remove one taste by number, or all")
    which = forget.add_mutually_exclusive_group(required=True)
    which.add_argument("taste_id", nargs="?", type=int, help="the taste's number from `tastes`")
    which.add_argument("--all", action="store_true", help="remove all your tastes")
    forget.add_argument("-y", "--yes", action="store_true", help="do not ask before --all")
    forget.add_argument(
        "--history",
        action="store_true",
        help="with --all: also erase your suggestions, picks and ratings without asking",
    )

    rate = commands.add_parser(
        "rate", help="rate the picks of a suggestion (all, or one with --pick)"
    )
    rate.add_argument("suggestion_id", type=int, help="the suggestion's number (shown at its end)")
    rate.add_argument("rating", choices=list(RATING_WORDS), help="clear takes a rating back")
    rate.add_argument("-p", "--pick", type=int, help="only this pick, by its number")

    history = commands.add_parser("history", help="your recent picks with your ratings")
    history.add_argument(
        "-n", "--limit", type=int, default=HISTORY_LIMIT, help="how many (default: %(default)s)"
    )

    add("reindex", "rebuild every member's vectors from the records")
    add("doctor", "check the settings, DATA_DIR, Ollama, the models, the vector store and SQLite")
    return parser


class Terminal:
    """Renders pipeline results to a terminal (or any pair of text streams)."""

    def __init__(
        self,
        pipeline: Pipeline,
        out: TextIO,
        err: TextIO,
        stdin: TextIO,
        member_option: str = "",
    ) -> None:
        self.pipeline = pipeline
        self.out = out
        self.err = err
        self.stdin = stdin
        # Repeated in every hint that names a command, so it acts for the same member.
        self.member_option = member_option

    def command(self, text: str) -> str:
        """A command to suggest, for the member this run acts for."""
        return f"suggest-watch{self.member_option} {text}"

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    async def prefer(self, member: str, text: str) -> int:
        self.pipeline.check_taste(text)
        taste = await self.pipeline.prefer(member, text)
        self.say(f"Stored taste #{taste.id}: {taste.text}")
        return EXIT_OK

    async def tastes(self, member: str) -> int:
        tastes = await self.pipeline.tastes(member)
        if not tastes:
            self.say(f"You have no tastes yet. Add one with: {self.command(ADD_TASTE_EXAMPLE)}")
            return EXIT_OK
        self.say(f"Your {len(tastes)} taste(s):")
        for taste in tastes:
            waiting = "  (not searchable yet: its vector is written once Ollama answers)"
            self.say(f"  #{taste.id}  {taste.text}{waiting if taste.is_pending else ''}")
        return EXIT_OK

    async def forget(
        self, member: str, taste_id: int | None, forget_all: bool, yes: bool, history: bool = False
    ) -> int:
        if not forget_all:
            assert taste_id is not None
            taste = await self.pipeline.forget(member, taste_id)
            self.say(f"Forgot taste #{taste.id}: {taste.text}")
            return EXIT_OK
        count = len(await self.pipeline.tastes(member))
        if count == 0:
            self.say("You have no tastes to forget.")
        elif not yes and not self.confirm(f"Forget all {count} of your tastes? [y/N] "):
            self.say("Kept your tastes.")
        else:
            removed = await self.pipeline.forget_all(member)
            self.say(f"Forgot all {removed} of your tastes.")
        await self.offer_to_forget_history(member, ask=not (yes or history), erase=history)
        return EXIT_OK

    async def offer_to_forget_history(self, member: str, *, ask: bool, erase: bool) -> None:
        """Erase the member's suggestions, picks and ratings too, if they say so."""
        suggestions = await self.pipeline.count_history(member)
        if suggestions == 0 or not (erase or ask):
            return
        question = (
            f"Also erase your history: {suggestions} suggestion(s), their picks and your "
            "ratings? The next picks will not learn from them. [y/N] "
        )
        if not erase and not self.confirm(question):
            self.say("Kept your history and ratings.")
            return
        removed = await self.pipeline.forget_history(member)
        self.say(f"Erased your history of {removed} suggestion(s) and their ratings.")

    async def rate(self, member: str, suggestion_id: int, word: str, pick: int | None) -> int:
        rating = RATING_WORDS[word]
        rated = await self.pipeline.rate(member, suggestion_id, rating, position=pick)
        for record in rated:
            now = RATING_NAMES[record.rating] if record.rating else "not rated"
            self.say(f"  {record.shown_position}. {label(record)}: {now}")
        return EXIT_OK

    async def history(self, member: str, limit: int) -> int:
        picks = await self.pipeline.history(member, limit)
        if not picks:
            self.say(f"You have no picks yet. Ask with: {self.command('suggest what you want')}")
            return EXIT_OK
        self.say(f"Your {len(picks)} most recent pick(s), newest first:")
        for line in history_lines(picks):
            self.say(line)
        return EXIT_OK

    def confirm(self, question: str) -> bool:
        print(question, end="", file=self.out, flush=True)
        answer = self.stdin.readline()
        return answer.strip().lower() in {"y", "yes"}

    async def suggest(self, member: str, query: str, count: int) -> int:
        query = self.pipeline.check_request(query, count)  # refused before anything shows
        self.say(f'Searching for "{query}"…')
        # aclosing: if printing fails (the reader went away), the suggestion is closed and
        # recorded as cancelled now, while the records are still open.
        events = self.pipeline.suggest(member, query, count)
        picks = PicksPrinter(self.out)
        async with aclosing(events):
            async for event in events:
                match event:
                    case Retrieved():
                        self.show_retrieved(event)
                    case PicksUpdated():
                        picks.show(event.picks)
                    case TextDelta(text=text):
                        print(text, end="", file=self.out, flush=True)
                    case Finished():
                        self.say()
                        self.say()
                        if event.is_cut:
                            self.say(CUT_BY_LENGTH)
                        for line in describe_picks_end(event, self.command):
                            self.say(line)
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
            self.say(f"Add tastes with: {self.command(ADD_TASTE_EXAMPLE)}")
        if event.liked_titles or event.avoided_titles:
            self.say(describe_learning(event))
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


def describe_settings_source() -> str:
    env_file = env_file_path()
    if env_file.is_file():
        return f"read {env_file} and the environment"
    return f"the environment and defaults (no .env in {env_file.parent})"


def storage_checks(settings: Settings) -> tuple[list[str], int]:
    """`doctor`'s first lines, which need no open pipeline: where the settings and the
    data come from, whether DATA_DIR is usable and has room. Returns lines, failures."""
    lines = [f"[ok] Settings: {describe_settings_source()}"]
    try:
        check_writable(settings.data_dir)
    except ConfigError as exc:
        return [*lines, f"[FAIL] Data folder: {exc}"], 1
    lines.append(f"[ok] Data folder: DATA_DIR is {settings.data_dir}")
    if warning := low_space_warning(settings.data_dir):
        return [*lines, f"[FAIL] Disk space: {warning}"], 1
    return lines, 0


CUT_BY_LENGTH = (
    "Cut off: the answer reached the length limit (GEN_NUM_PREDICT) and stops mid-way. "
    "Ask for fewer picks, or raise GEN_NUM_PREDICT."
)


class PicksPrinter:
    """Prints picks as they grow: only what is new is written, so it works in a pipe too."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.printed = ""

    def show(self, picks: tuple[PickDraft, ...]) -> None:
        text = render_picks(picks)
        # A field that arrived out of the schema's order means writing the picks again.
        is_growing = text.startswith(self.printed)
        new = text[len(self.printed) :] if is_growing else "\n\n" + text
        print(new, end="", file=self.out, flush=True)
        self.printed = text


def render_picks(picks: tuple[PickDraft, ...]) -> str:
    """The picks as plain text, written so that each version extends the one before."""
    return "\n\n".join(render_pick(number, pick) for number, pick in enumerate(picks, 1))


def render_pick(number: int, pick: PickDraft) -> str:
    text = f"{number}. {pick.title}"
    if pick.year is not None:
        text += f" · {pick.year}"
    if pick.kind:
        text += f" · {pick.kind}"
    if pick.description:
        text += f"\n   {pick.description}"
    if pick.reasoning:
        text += f"\n   Why: {pick.reasoning}"
    if pick.confidence is not None:
        text += f"\n   Confidence: {pick.confidence:.0%}"
    return text


def describe_learning(event: Retrieved) -> str:
    return (
        f"Learning from your ratings: {len(event.liked_titles)} liked pick(s) as examples, "
        f"{event.avoided_titles} title(s) to avoid."
    )


def describe_picks_end(event: Finished, command: Callable[[str], str]) -> list[str]:
    """What follows the picks: repeats left out, and how to rate them."""
    if not event.is_structured:
        return []
    lines = []
    if event.left_out:
        lines.append(
            f"Left out {event.left_out} pick(s) you disliked, have seen or were suggested lately."
        )
    if not event.picks:
        lines.append("No new picks this time; try asking differently.")
        return lines
    lines.append(
        "Rate them: " + command(f"rate {event.suggestion_id} liked|not-for-me|seen [--pick N]")
    )
    return lines


def history_lines(picks: list[HistoryPick]) -> list[str]:
    """The member's picks grouped under their request, each with its rating."""
    lines: list[str] = []
    current: int | None = None
    for pick in picks:
        if pick.suggestion_id != current:
            current = pick.suggestion_id
            lines.append(f'#{pick.suggestion_id} "{pick.query}" ({pick.created_at:%Y-%m-%d})')
        rating = RATING_NAMES[pick.rating] if pick.rating else "not rated"
        lines.append(f"  {pick.position}. {label(pick)}: {rating}")
    return lines


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
    given_member: str | None = getattr(args, "member", None)
    member = given_member if given_member is not None else default_member()
    member_option = f" --member {shlex.quote(member)}" if given_member is not None else ""
    try:
        check_member(member)
        if args.command == "doctor":
            return await doctor(settings, out)
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
                case "reindex":
                    return await terminal.reindex()
            raise AssertionError(f"unknown command {args.command}")
    except SuggestWatchError as exc:
        print(f"Error: {exc}", file=err, flush=True)
        return EXIT_FAILED


async def doctor(settings: Settings, out: TextIO) -> int:
    """Check everything; a DATA_DIR that cannot be used is a line, not a stop."""
    lines, failures = storage_checks(settings)
    for line in lines:
        print(line, file=out, flush=True)
    if failures:
        print(f"{failures} problem(s) found.", file=out, flush=True)
        return EXIT_FAILED
    async with open_pipeline(settings) as pipeline:
        return await Terminal(pipeline, out, out, sys.stdin).doctor()


def check_member(member: str) -> None:
    clean_text(member, max_chars=MEMBER_MAX_CHARS, what="A member name")


def check_arguments(argv: Sequence[str]) -> str | None:
    """The error line for arguments holding bytes that are not UTF-8 (which Python
    keeps as lone surrogates and nothing downstream can store), else None."""
    for argument in argv:
        if has_undecodable_bytes(argument):
            return (
                f"Error: an argument is not UTF-8 text ({argument!a}); "
                "check your terminal's encoding (e.g. LANG=C.UTF-8)."
            )
    return None


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
        print("\nStopped. What arrived so far is saved.", file=sys.stderr)
        return EXIT_OK
    except BrokenPipeError:
        # The reader went away (`| head`); the suggestion is recorded as cancelled.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
