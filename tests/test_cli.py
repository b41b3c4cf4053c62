"""The terminal front end, in-process and as a real `python -m bot.cli` process."""

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from bot.cli import (
    CUT_BY_LENGTH,
    EXIT_CONFIG,
    EXIT_FAILED,
    EXIT_OK,
    build_parser,
    verbs,
)
from bot.pipeline import data_dir
from bot.pipeline.domain import SuggestionStatus
from bot.pipeline.records import Records, SuggestionRecord
from bot.settings import Settings
from tests.cli.session import Session
from tests.fakes.ollama_server import (
    DEFAULT_ANSWER,
    DEFAULT_PICKS,
    MORE_PICKS,
    FakeOllama,
    Fault,
    FaultKind,
    unused_port,
)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def cli(fake_ollama: FakeOllama, tmp_path: Path) -> Session:
    return Session(
        Settings(
            ollama_url=fake_ollama.url,
            data_dir=tmp_path,
            min_taste_similarity=-1.0,  # the fake's embeddings are not bge-large's
            _env_file=None,
        )
    )


async def test_prefer_then_tastes_lists_them_numbered(cli: Session) -> None:
    assert await cli("--member", "alice", "prefer", "slow", "sci-fi", "like", "Arrival") == EXIT_OK
    assert "Stored taste #1: slow sci-fi like Arrival" in cli.out
    await cli("--member", "alice", "prefer", "heist movies")
    assert await cli("--member", "alice", "tastes") == EXIT_OK
    assert "#1 slow sci-fi like Arrival" in cli.out
    assert "#2 heist movies" in cli.out


async def test_tastes_marks_one_whose_vector_waits_for_ollama(
    cli: Session, fake_ollama: FakeOllama
) -> None:
    fake_ollama.models.discard("bge-large")  # the background retry cannot write it yet
    async with Records.open(cli.settings.sqlite_path) as records:  # a crash left the row
        await records.tastes.add_taste("alice", "film noir", limit=10)
    assert await cli("--member", "alice", "tastes") == EXIT_OK
    assert "#1 film noir (not searchable yet)" in cli.out


async def test_suggest_shows_status_matches_with_scores_then_the_picks(
    cli: Session, fake_ollama: FakeOllama
) -> None:
    for taste in ("slow thoughtful sci-fi like Arrival", "heist movies", "baking shows"):
        await cli("--member", "alice", "prefer", taste)
    assert await cli("--member", "alice", "suggest", "thoughtful", "sci-fi", "-n", "3") == EXIT_OK
    lines = cli.out.splitlines()
    assert lines[0] == 'Searching for "thoughtful sci-fi"…'
    assert lines[1].startswith("Matched 3 of your tastes (embed ")
    assert lines[2].split(maxsplit=1)[1] == "slow thoughtful sci-fi like Arrival"
    assert float(lines[2].split()[0]) > float(lines[3].split()[0])
    assert "Asking llama3.1:8b for 3 pick(s)…" in cli.out
    assert "1. Arrival · 2016 · movie\n   A linguist races" in cli.out
    assert f"   Why: {DEFAULT_PICKS[0]['reasoning']}\n   Confidence: 90%" in cli.out
    assert "3. Moon · 2009 · movie" in cli.out and "Dark" not in cli.out
    assert "Rate them: suggest-watch --member alice rate 1 liked|not-for-me|seen" in cli.out
    assert "suggestion #1" in lines[-1]


async def test_an_answer_in_plain_text_is_shown_as_it_came(
    cli: Session, fake_ollama: FakeOllama
) -> None:
    fake_ollama.ignore_format = True
    assert await cli("suggest", "noir") == EXIT_OK
    assert DEFAULT_ANSWER in cli.out
    assert "Rate them" not in cli.out


async def test_rate_a_whole_suggestion_or_one_pick_and_take_it_back(cli: Session) -> None:
    await cli("--member", "alice", "suggest", "noir")

    assert await cli("--member", "alice", "rate", "1", "liked") == EXIT_OK
    assert "  1. Arrival (2016): liked" in cli.out
    assert "  4. Dark (2017): liked" in cli.out
    assert await cli("--member", "alice", "rate", "1", "seen", "--pick", "2") == EXIT_OK
    assert cli.out == "  2. The Leftovers (2014): seen it\n"
    assert await cli("--member", "alice", "rate", "1", "clear", "--pick", "2") == EXIT_OK
    assert cli.out == "  2. The Leftovers (2014): not rated\n"
    assert await cli("--member", "bob", "rate", "1", "liked") == EXIT_FAILED
    assert "no suggestion #1" in cli.err


async def test_history_lists_recent_picks_with_ratings(cli: Session) -> None:
    await cli("--member", "alice", "suggest", "noir", "-n", "2")
    await cli("--member", "alice", "rate", "1", "not-for-me", "--pick", "1")

    assert await cli("--member", "alice", "history") == EXIT_OK

    assert "#1 “noir” · " in cli.out
    assert "  1. Arrival (2016): not for me" in cli.out
    assert "  2. The Leftovers (2014): not rated" in cli.out
    await cli("--member", "bob", "history")
    assert "You have no picks yet" in cli.out


async def test_the_next_suggestion_leaves_out_a_disliked_pick(
    cli: Session, fake_ollama: FakeOllama
) -> None:
    await cli("--member", "alice", "suggest", "noir", "-n", "2")
    await cli("--member", "alice", "rate", "1", "not-for-me", "--pick", "1")
    fake_ollama.picks = [DEFAULT_PICKS[0], *MORE_PICKS]

    await cli("--member", "alice", "suggest", "noir", "-n", "2")

    assert "Arrival" not in cli.out
    prompt = fake_ollama.chat_requests[-1].body["messages"][-1]["content"]
    assert '- "Arrival (2016)"' in prompt.split("not for me")[1]
    assert '- "The Leftovers (2014)"' in prompt.split("Do not suggest these again")[1]
    assert "1. Annihilation" in cli.out and "2. Severance" in cli.out
    assert "Left out 1 pick you disliked" in cli.out
    assert "Learning from your ratings" in cli.out


async def test_forget_all_offers_to_erase_the_history_too(cli: Session) -> None:
    await cli("--member", "alice", "prefer", "noir")
    await cli("--member", "alice", "suggest", "noir")

    await cli("--member", "alice", "forget", "--all", stdin="y\nn\n")
    assert "Kept your history and ratings." in cli.out
    await cli("--member", "alice", "history")
    assert "Arrival" in cli.out

    await cli("--member", "alice", "forget", "--all", stdin="y\n")
    assert "Erased your history of 1 suggestion and" in cli.out
    await cli("--member", "alice", "history")
    assert "You have no picks yet" in cli.out


async def test_an_answer_cut_by_the_length_limit_says_so(cli: Session) -> None:
    cli.settings = cli.settings.model_copy(update={"gen_num_predict": 16})

    assert await cli("--member", "alice", "suggest", "heists") == EXIT_OK

    assert CUT_BY_LENGTH in cli.out
    assert cli.out.index(CUT_BY_LENGTH) < cli.out.index("suggestion #1")


async def test_a_complete_answer_is_not_called_cut(cli: Session) -> None:
    assert await cli("--member", "alice", "suggest", "heists") == EXIT_OK
    assert CUT_BY_LENGTH not in cli.out


async def test_suggest_without_tastes_says_how_to_add_them(cli: Session) -> None:
    assert await cli("--member", "newbie", "suggest", "comedy") == EXIT_OK
    assert "You have no tastes yet" in cli.out
    assert 'suggest-watch --member newbie prefer "what you like"' in cli.out


async def test_a_hint_without_member_names_no_member(cli: Session) -> None:
    assert await cli("tastes") == EXIT_OK
    assert 'Add one with: suggest-watch prefer "what you like"' in cli.out


async def test_member_works_after_the_command_too(cli: Session) -> None:
    await cli("prefer", "--member", "alice", "film noir")
    assert await cli("tastes", "--member", "alice") == EXIT_OK
    assert "#1 film noir" in cli.out
    await cli("--member", "bob", "tastes")
    assert "film noir" not in cli.out
    assert "suggest-watch --member bob prefer" in cli.out


def test_every_verb_takes_member_and_verbose_before_and_after_it() -> None:
    parser = build_parser()
    names = [verb.name for verb in verbs(parser)]
    assert {"prefer", "suggest", "tastes", "forget", "rate", "history", "doctor"} <= set(names)
    for verb in verbs(parser):
        for argv in (
            [verb.name, *verb.example, "--member", "x", "-v"],
            ["--member", "x", "-v", verb.name, *verb.example],
            [verb.name, "--member", "x", *verb.example, "--verbose"],
        ):
            args = parser.parse_args(argv)
            assert (args.command, args.member, args.verbose) == (verb.name, "x", True), argv


def test_without_the_options_no_member_is_set_and_nothing_is_logged() -> None:
    parser = build_parser()
    for verb in verbs(parser):
        args = parser.parse_args([verb.name, *verb.example])
        assert getattr(args, "member", None) is None
        assert not getattr(args, "verbose", False)


async def test_rate_and_history_take_member_after_the_verb(cli: Session) -> None:
    await cli("suggest", "noir", "--member", "alice", "-n", "2")
    assert await cli("rate", "1", "liked", "--member", "alice") == EXIT_OK
    assert "  1. Arrival (2016): liked" in cli.out
    assert await cli("history", "--member", "alice") == EXIT_OK
    assert "  2. The Leftovers (2014): liked" in cli.out


async def test_a_bad_request_is_refused_before_anything_is_printed(cli: Session) -> None:
    assert await cli("suggest", "\u200b") == EXIT_FAILED
    assert cli.out == ""
    assert cli.err == "Error: A request has no visible characters: write a few words.\n"


async def test_members_only_see_their_own_tastes(cli: Session) -> None:
    await cli("--member", "alice", "prefer", "film noir")
    await cli("--member", "bob", "tastes")
    assert "film noir" not in cli.out
    assert await cli("--member", "bob", "forget", "1") == EXIT_FAILED
    assert "no taste #1" in cli.err
    await cli("--member", "alice", "tastes")
    assert "film noir" in cli.out


async def test_forget_one_and_forget_all_with_confirmation(cli: Session) -> None:
    for taste in ("noir", "heists", "musicals"):
        await cli("--member", "alice", "prefer", taste)
    assert await cli("--member", "alice", "forget", "2") == EXIT_OK
    assert "Forgot taste #2: heists" in cli.out
    await cli("--member", "alice", "forget", "--all", stdin="n\n")
    assert "Kept your tastes." in cli.out
    await cli("--member", "alice", "forget", "--all", stdin="y\n")
    assert "Forgot all 2 of your tastes." in cli.out
    await cli("--member", "alice", "tastes")
    assert "You have no tastes yet" in cli.out


async def test_bad_input_is_one_clear_line_and_a_failing_exit(cli: Session) -> None:
    assert await cli("prefer", "   ") == EXIT_FAILED
    assert cli.err == "Error: A taste cannot be empty: write a few words.\n"
    assert await cli("suggest", "noir", "-n", "11") == EXIT_FAILED
    assert cli.err == "Error: Ask for 1 to 10 picks, not 11.\n"


async def test_a_fault_mid_stream_keeps_the_text_and_explains(
    cli: Session, fake_ollama: FakeOllama
) -> None:
    fake_ollama.fault = Fault(FaultKind.ERROR_LINE, after_tokens=100, message="CUDA out of memory")
    assert await cli("suggest", "noir") == EXIT_FAILED
    assert "1. Arrival · 2016 · movie" in cli.out  # what arrived stays on screen
    assert "CUDA out of memory" in cli.err
    assert "What arrived before the problem is kept above." in cli.err


async def test_reindex_reports_what_it_rebuilt(cli: Session) -> None:
    await cli("--member", "alice", "prefer", "noir")
    await cli("--member", "bob", "prefer", "musicals")
    assert await cli("reindex") == EXIT_OK
    assert "Reindexed 2 taste(s) of 2 member(s), 1024-d" in cli.out


async def test_doctor_passes_when_all_is_well(cli: Session) -> None:
    assert await cli("doctor") == EXIT_OK
    assert "All good." in cli.out


async def test_doctor_prints_the_pull_line_for_a_missing_model(
    cli: Session, fake_ollama: FakeOllama
) -> None:
    fake_ollama.models.discard("bge-large")
    assert await cli("doctor") == EXIT_FAILED
    assert f"[FAIL] Model host {fake_ollama.url} (chat and embeddings): reachable" in cli.out
    assert "The model 'bge-large' is not available on the Ollama server" in cli.out
    assert "fix: ollama pull bge-large" in cli.out


# -- the real process ------------------------------------------------------------------------


def cli_env(fake: FakeOllama, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GEN_", "OLLAMA_", "LLM_", "EMBED_", "MODEL_"))
    }
    env.update(OLLAMA_URL=fake.url, DATA_DIR=str(data_dir), PYTHONPATH=str(REPO))
    env.update(MIN_TASTE_SIMILARITY="-1", **extra)  # the fake's embeddings are not bge-large's
    return env


async def start_process(env: dict[str, str], *argv: str) -> asyncio.subprocess.Process:
    """`python -m bot.cli ARGV` in DATA_DIR, so no developer's .env is read."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.cli",
        *argv,
        env=env,
        cwd=env["DATA_DIR"],
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def run_process(env: dict[str, str], *argv: str) -> tuple[int, str, str]:
    process = await start_process(env, *argv)
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_process_streams_the_answer_before_it_is_complete(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.tokens_per_second = 40  # the default answer takes a few seconds
    env = cli_env(fake_ollama, tmp_path)
    code, _, err = await run_process(env, "--member", "alice", "prefer", "noir films")
    assert code == EXIT_OK, err
    process = await start_process(env, "--member", "alice", "suggest", "noir")
    assert process.stdout is not None
    line = b""
    while not line.startswith(b"1. Arrival"):
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line, "the process ended before any pick arrived"
    # The first pick is on screen while the model is still generating the rest.
    assert fake_ollama.streams_finished == 0
    rest, _ = await process.communicate()
    assert process.returncode == EXIT_OK
    assert fake_ollama.streams_finished == 1
    assert b"suggestion #1" in rest


async def test_a_bad_setting_stops_the_process_with_one_line_naming_it(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    code, _, err = await run_process(cli_env(fake_ollama, tmp_path, GEN_TOP_P="3"), "tastes")
    assert code == EXIT_CONFIG
    assert err.count("\n") == 1
    assert err.startswith("Invalid configuration: GEN_TOP_P:")
    assert "Traceback" not in err


async def test_records_and_vectors_survive_between_processes(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    env = cli_env(fake_ollama, tmp_path)
    await run_process(env, "--member", "alice", "prefer", "cozy baking shows")
    await run_process(env, "--member", "alice", "prefer", "heist movies")
    code, out, _ = await run_process(env, "--member", "alice", "suggest", "baking")
    assert code == EXIT_OK
    assert out.splitlines()[2].endswith("cozy baking shows")


async def test_a_reader_that_goes_away_ends_the_process_quietly(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.tokens_per_second = 100
    env = cli_env(fake_ollama, tmp_path)
    script = f'"{sys.executable}" -m bot.cli suggest noir | head -1; exit "${{PIPESTATUS[0]}}"'
    process = await asyncio.create_subprocess_exec(
        "bash",
        "-c",
        script,
        env=env,
        cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert out.decode().startswith("Searching for")
    assert process.returncode == EXIT_FAILED
    assert "Traceback" not in err.decode()


async def test_a_suggestion_whose_reader_went_away_is_recorded_as_cancelled(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    fake_ollama.tokens_per_second = 100
    env = cli_env(fake_ollama, tmp_path)
    script = f'"{sys.executable}" -m bot.cli suggest noir | head -1'
    process = await asyncio.create_subprocess_exec("bash", "-c", script, env=env, cwd=tmp_path)
    await process.wait()
    async with Records.open(Settings(data_dir=tmp_path, _env_file=None).sqlite_path) as records:
        stored = await records.suggestions.get_suggestion(1)
    assert stored is not None
    assert stored.status is SuggestionStatus.CANCELLED


async def read_until_a_pick(process: asyncio.subprocess.Process) -> None:
    assert process.stdout is not None
    line = b""
    while not line.startswith((b"1. **", b"1. Arrival")):
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        assert line, "the process ended before any pick arrived"


async def stored_suggestion(data_dir: Path, suggestion_id: int = 1) -> SuggestionRecord:
    async with Records.open(Settings(data_dir=data_dir, _env_file=None).sqlite_path) as records:
        stored = await records.suggestions.get_suggestion(suggestion_id)
    assert stored is not None
    return stored


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
async def test_a_signal_mid_stream_records_the_text_as_cancelled_and_exits_0(
    fake_ollama: FakeOllama, tmp_path: Path, stop_signal: int
) -> None:
    fake_ollama.tokens_per_second = 10
    fake_ollama.ignore_format = True  # a plain-text answer: its text is what is checkpointed
    process = await start_process(cli_env(fake_ollama, tmp_path), "suggest", "noir")
    await read_until_a_pick(process)

    process.send_signal(stop_signal)
    _, err = await asyncio.wait_for(process.communicate(), 30)

    assert process.returncode == EXIT_OK, err.decode()
    assert "Stopped. What was written so far is kept." in err.decode()
    assert "Traceback" not in err.decode()
    stored = await stored_suggestion(tmp_path)
    assert stored.status is SuggestionStatus.CANCELLED
    assert stored.text.startswith("1. **Arrival")
    assert DEFAULT_ANSWER.startswith(stored.text)
    await fake_ollama.wait_for(lambda: fake_ollama.streams_closed_early == 1)


async def test_a_second_process_beside_a_live_suggestion_leaves_it_unharmed(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    # ~12 s of answer: still streaming while a second process starts on a busy machine.
    fake_ollama.tokens_per_second = 10
    fake_ollama.ignore_format = True
    env = cli_env(fake_ollama, tmp_path)
    live = await start_process(env, "suggest", "noir")
    await read_until_a_pick(live)

    code, _, err = await run_process(env, "tastes")

    # The embedded store is locked by the live process: refused in one line, nothing changed.
    assert code == EXIT_FAILED
    assert err.startswith("Error: ") and err.count("\n") == 1
    assert (await stored_suggestion(tmp_path)).status is SuggestionStatus.RUNNING
    await asyncio.wait_for(live.communicate(), 30)
    assert live.returncode == EXIT_OK
    stored = await stored_suggestion(tmp_path)
    assert stored.status is SuggestionStatus.COMPLETE
    assert stored.text == DEFAULT_ANSWER


async def test_doctor_names_the_settings_file_and_the_absolute_data_dir(cli: Session) -> None:
    assert await cli("doctor") == EXIT_OK
    assert "[ok] Settings: " in cli.out
    assert f"[ok] Data folder: DATA_DIR is {cli.settings.data_dir}" in cli.out


async def test_doctor_reports_an_unusable_data_dir_in_one_line(
    fake_ollama: FakeOllama, tmp_path: Path
) -> None:
    (tmp_path / "file").write_text("")
    settings = Settings(ollama_url=fake_ollama.url, data_dir=tmp_path / "file" / "data")
    doctor = Session(settings)
    assert await doctor("doctor") == EXIT_FAILED
    [failure] = [line for line in doctor.out.splitlines() if line.startswith("[FAIL]")]
    assert failure.startswith(f"[FAIL] Data folder: DATA_DIR ({tmp_path / 'file' / 'data'})")
    assert "1 problem(s) found." in doctor.out


async def test_doctor_reports_a_nearly_full_disk(
    cli: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(data_dir, "MIN_FREE_BYTES", 2**62)  # more than any disk has
    assert await cli("doctor") == EXIT_FAILED
    assert "[FAIL] Disk space: The disk holding DATA_DIR" in cli.out


async def test_an_error_is_printed_once_without_log_lines(tmp_path: Path) -> None:
    env = cli_env_without_ollama(tmp_path)
    (tmp_path / "suggest_watch.sqlite3").write_bytes(b"not a database " * 100)
    code, out, err = await run_process(env, "--member", "alice", "tastes")
    assert code == EXIT_FAILED
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("Error: ")
    assert "records database failed" in err
    _, _, verbose = await run_process(env, "-v", "tastes")
    assert verbose.count("\n") > 1  # -v adds the log


async def test_bytes_that_are_not_utf8_in_an_argument_are_one_line(tmp_path: Path) -> None:
    env = cli_env_without_ollama(tmp_path)
    for command in (b"prefer", b"suggest"):
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            command,
            b"noir \xff films",
            env=env,
            cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
        assert process.returncode == EXIT_FAILED
        assert out == b""
        assert err.count(b"\n") == 1
        assert err.startswith(b"Error: an argument is not UTF-8 text")


def cli_env_without_ollama(data_dir: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("GEN_", "OLLAMA_", "LLM_", "EMBED_", "MODEL_"))
    }
    env.update(
        OLLAMA_URL=f"http://127.0.0.1:{unused_port()}", DATA_DIR=str(data_dir), PYTHONPATH=str(REPO)
    )
    return env
