"""The terminal front end with the Edge store: one opener, the move in, the copy out."""

from __future__ import annotations

import os
from pathlib import Path

from bot.cli import EXIT_FAILED, EXIT_OK
from bot.pipeline.pipeline import open_pipeline
from bot.settings import Settings
from tests.cli.session import Session
from tests.fakes.ollama_server import FakeOllama
from tests.test_cli import cli_env, run_process


def session(fake: FakeOllama, data_dir: Path, **settings: str) -> Session:
    return Session(
        Settings(
            ollama_url=fake.url,
            data_dir=data_dir,
            min_taste_similarity=-1.0,
            _env_file=None,
            **settings,  # type: ignore[arg-type]
        )
    )


def folders(parent: Path, pattern: str) -> list[str]:
    return sorted(path.name for path in parent.glob(pattern))


async def test_a_command_beside_the_running_bot_says_who_holds_the_store(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    settings = Settings(ollama_url=fake_ollama.url, data_dir=tmp_path, _env_file=None)
    async with open_pipeline(settings):  # the bot, in this process
        code, out, err = await run_process(cli_env(fake_ollama, tmp_path), "tastes")
    assert (code, out) == (EXIT_FAILED, "")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert err.startswith("Error: The vector store at ")
    assert f"in use by another suggest.watch process (pid {os.getpid()}:" in err
    assert "Stop that process" in err


async def test_local_mode_tastes_move_into_the_edge_store_at_first_start(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    local = session(fake_ollama, tmp_path, embedded_store="local")
    assert await local("--member", "alice", "prefer", "cozy baking shows") == EXIT_OK
    assert await local("--member", "alice", "prefer", "heist movies") == EXIT_OK
    edge = session(fake_ollama, tmp_path)
    assert await edge("--member", "alice", "suggest", "baking") == EXIT_OK
    assert "cozy baking shows" in edge.out.splitlines()[2]  # found through the shard
    assert folders(tmp_path, "qdrant*") == ["qdrant.migrated"]
    assert await edge("doctor") == EXIT_OK
    assert f'fix: rm -rf "{tmp_path / "qdrant.migrated"}"' in edge.out
    assert "[ok] Vector store: Edge store, 1 member(s) with vectors" in edge.out


async def test_doctor_says_vector_layout_needs_a_server(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    cli = session(fake_ollama, tmp_path, vector_layout="shared")
    assert await cli("doctor") == EXIT_OK
    assert "VECTOR_LAYOUT is set, but it applies to a Qdrant server only" in cli.out


async def test_copy_to_server_needs_a_server_and_says_so_in_one_line(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    cli = session(fake_ollama, tmp_path)
    assert await cli("copy-to-server") == EXIT_FAILED
    assert cli.err == "Error: Say which server with --url (or set QDRANT_URL).\n"
    assert await cli("copy-to-server", "--url", "http://127.0.0.1:9") == EXIT_FAILED
    assert cli.err.startswith("Error: Cannot open the vector store at http://127.0.0.1:9")
    assert cli.err.count("\n") == 1
