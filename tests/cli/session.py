"""Running terminal commands in-process, for tests of the terminal front end."""

from __future__ import annotations

import io

from bot.cli import EXIT_FAILED, build_parser, check_arguments, run
from bot.settings import Settings


class Session:
    """Runs CLI commands in-process against one DATA_DIR and keeps what they printed."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.out = ""
        self.err = ""

    async def __call__(self, *argv: str, stdin: str = "") -> int:
        out, err = io.StringIO(), io.StringIO()
        if error := check_arguments(argv):  # what `main` does first
            self.out, self.err = "", error + "\n"
            return EXIT_FAILED
        args = build_parser().parse_args(list(argv))
        code = await run(args, self.settings, out, err, io.StringIO(stdin))
        self.out, self.err = out.getvalue(), err.getvalue()
        return code
