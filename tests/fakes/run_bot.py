"""`python -m bot`, pointed at a fake Discord: for tests that need the real process.

    python -m tests.fakes.run_bot http://127.0.0.1:PORT [bot arguments]

Sets discord.py's REST base and gateway to the fake at that address (what
`FakeDiscord.patched_discord` does in-process), then runs the `bot` package as
`__main__` exactly as `python -m bot` does: same signal handling, exit codes, output.
"""

from __future__ import annotations

import runpy
import sys

import discord.gateway
import discord.http
import yarl

from tests.fakes.discord_server import API_PREFIX


def main() -> None:
    url = sys.argv.pop(1).rstrip("/")
    discord.http.Route.BASE = url + API_PREFIX
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
        url.replace("http://", "ws://", 1) + "/gateway"
    )
    runpy.run_module("bot", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
