"""The terminal front end: the whole pipeline without Discord.

    python -m bot.cli prefer "slow, thoughtful sci-fi like Arrival"
    python -m bot.cli suggest thoughtful sci-fi tonight
    python -m bot.cli tastes | forget 3 | forget --all | reindex | doctor
    python -m bot.cli rate 12 liked | rate 12 seen --pick 2 | history

`--member NAME` and `-v` (before or after any command) pick whose tastes (default: the
local user) and turn the log on. Like the Discord front end, this is a thin adapter: it
parses (`parser`), checks the input, calls the pipeline, and lays out what
`bot.presentation` says as plain lines (`terminal`). Errors are one `Error:` line; log
lines only with `-v`. SIGTERM and Ctrl-C stop it in order (`entry`): a suggestion being
written is recorded as cancelled with its text, the pipeline closes, and the exit code
is 0.
"""

from bot.cli.entry import EXIT_CONFIG, main, run
from bot.cli.parser import build_parser, check_arguments, verbs
from bot.cli.terminal import CUT_BY_LENGTH, EXIT_FAILED, EXIT_OK

__all__ = [
    "CUT_BY_LENGTH",
    "EXIT_CONFIG",
    "EXIT_FAILED",
    "EXIT_OK",
    "build_parser",
    "check_arguments",
    "main",
    "run",
    "verbs",
]
