"""The terminal's command line: the verbs, their arguments, and the options every verb takes.

Every verb is added through `VerbParsers.add`, which gives it the common options
(`--member`, `-v`) and asks for an example of its arguments, so a test can walk
every verb (`verbs(parser)`), including ones added later.
"""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.cli.library import add_library_verbs
from bot.pipeline.domain import Rating
from bot.pipeline.movienight import DEFAULT_PICKS as NIGHT_DEFAULT_PICKS
from bot.pipeline.movienight import MAX_PICKS as NIGHT_MAX_PICKS
from bot.pipeline.movienight import MIN_PICKS as NIGHT_MIN_PICKS
from bot.pipeline.pipeline import DEFAULT_COUNT, MAX_COUNT, MIN_COUNT, PAST_PICKS_LIMIT
from bot.settings import has_undecodable_bytes

# What `rate` takes, and what each means; `clear` takes a rating back.
RATING_WORDS: dict[str, Rating | None] = {
    "liked": Rating.LIKED,
    "not-for-me": Rating.NOT_FOR_ME,
    "seen": Rating.SEEN,
    "clear": None,
}


def default_member() -> str:
    """Whose tastes a command uses when `--member` is not given: the local user's."""
    return f"local-{getpass.getuser()}"


@dataclass(frozen=True)
class Verb:
    """One command of the terminal, with arguments it accepts (for tests and help)."""

    name: str
    parser: argparse.ArgumentParser
    example: tuple[str, ...]


class CommandLine(argparse.ArgumentParser):
    """The `suggest-watch` parser, which knows its verbs."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.verbs: dict[str, Verb] = {}


def verbs(parser: CommandLine) -> list[Verb]:
    """Every verb of the command line, in the order `--help` lists them."""
    return list(parser.verbs.values())


def common_options() -> argparse.ArgumentParser:
    """`--member` and `-v`, accepted before and after the verb: a verb's copies leave
    the value alone unless given (SUPPRESS)."""
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
    return common


def build_parser() -> CommandLine:
    """The whole command line: the common options, then one verb."""
    common = common_options()
    parser = CommandLine(
        prog="suggest-watch",
        description="Movie and show picks from your own tastes, on your own model server.",
        parents=[common],
    )
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=argparse.ArgumentParser
    )

    def add(name: str, help_text: str, example: Sequence[str] = ()) -> argparse.ArgumentParser:
        verb = commands.add_parser(name, help=help_text, parents=[common])
        parser.verbs[name] = Verb(name, verb, tuple(example))
        return verb

    prefer = add("prefer", "store something you like", ["slow sci-fi"])
    prefer.add_argument("text", nargs="+", help='e.g. "slow, thoughtful sci-fi like Arrival"')

    suggest = add("suggest", "get picks for a request, streamed", ["sci-fi", "-n", "2"])
    suggest.add_argument("query", nargs="+", help="e.g. thoughtful sci-fi tonight")
    suggest.add_argument(
        "-n",
        "--count",
        type=int,
        default=DEFAULT_COUNT,
        help=f"how many picks, {MIN_COUNT}-{MAX_COUNT} (default: %(default)s)",
    )

    add_movienight(
        add(
            "movienight",
            "picks for a group, blended from their tastes (no vote here)",
            ["--with", "alice,bob", "comedy"],
        )
    )
    add("tastes", "list your tastes, numbered")
    add_forget(add("forget", "remove one taste by number, or all", ["--all", "--yes"]))

    rate = add("rate", "rate the picks of a suggestion (all, or one with --pick)", ["3", "liked"])
    rate.add_argument("suggestion_id", type=int, help="the suggestion's number (shown at its end)")
    rate.add_argument("rating", choices=list(RATING_WORDS), help="clear takes a rating back")
    rate.add_argument("-p", "--pick", type=int, help="only this pick, by its number")

    history = add("history", "your recent picks with your ratings", ["-n", "5"])
    history.add_argument(
        "-n", "--limit", type=int, default=PAST_PICKS_LIMIT, help="how many (default: %(default)s)"
    )

    add_library_verbs(add, common)
    add("reindex", "rebuild every member's vectors from the records")
    add("doctor", "check the settings, DATA_DIR, every model host, the vector store and SQLite")
    add_copy_arguments(
        add("copy-to-server", "copy the Edge store's vectors into a Qdrant server (bot stopped)")
    )
    return parser


def add_movienight(night: argparse.ArgumentParser) -> None:
    """`movienight`'s arguments: the members, the request, how many picks."""
    night.add_argument(
        "--with",
        dest="with_members",
        required=True,
        help="the members, comma-separated; --member (if given, else the first) asks",
    )
    night.add_argument("query", nargs="*", help="what the group is in the mood for (optional)")
    night.add_argument(
        "-n",
        "--count",
        type=int,
        default=NIGHT_DEFAULT_PICKS,
        help=f"how many picks, {NIGHT_MIN_PICKS}-{NIGHT_MAX_PICKS} (default: %(default)s)",
    )


def add_copy_arguments(copy: argparse.ArgumentParser) -> None:
    """`copy-to-server`'s arguments: where the server is, and the layout to copy into."""
    copy.add_argument("--url", help="the Qdrant server (default: QDRANT_URL)")
    copy.add_argument("--api-key", help="its API key, if it needs one (default: QDRANT_API_KEY)")
    copy.add_argument("--layout", choices=["per-member", "shared"], help="default: VECTOR_LAYOUT")


def add_forget(forget: argparse.ArgumentParser) -> None:
    """`forget`'s arguments: one taste's number, or `--all` (and what goes with it)."""
    which = forget.add_mutually_exclusive_group(required=True)
    which.add_argument("taste_id", nargs="?", type=int, help="the taste's number from `tastes`")
    which.add_argument("--all", action="store_true", help="remove all your tastes")
    forget.add_argument("-y", "--yes", action="store_true", help="do not ask before --all")
    forget.add_argument(
        "--history",
        action="store_true",
        help="with --all: also erase your suggestions, picks and ratings without asking",
    )


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
