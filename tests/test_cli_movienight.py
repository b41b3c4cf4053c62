"""`movienight --with alice,bob,carol [request]` in the terminal: blended picks, no vote."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import EXIT_FAILED, EXIT_OK
from bot.pipeline.movienight.privacy import word_runs
from bot.settings import Settings
from tests.cli.session import Session
from tests.fakes.ollama_server import DEFAULT_PICKS, FakeOllama

TASTES = {
    "alice": "slow thoughtful science fiction with big ideas about language",
    "bob": "clever heist movies with a charming crew and a twist at the end",
}


@pytest.fixture
def terminal(fake_ollama: FakeOllama, tmp_path: Path) -> Session:
    return Session(Settings(ollama_url=fake_ollama.url, data_dir=tmp_path, _env_file=None))


async def test_movienight_prints_blended_picks_with_names_for_labels(
    terminal: Session, fake_ollama: FakeOllama
) -> None:
    for member, taste in TASTES.items():
        await terminal("--member", member, "prefer", taste)
    fake_ollama.picks = [
        {**pick, "reasoning": f"Member A and Member B: {TASTES['bob']}"} for pick in DEFAULT_PICKS
    ]

    code = await terminal("movienight", "--with", "alice,bob,carol", "something", "fun")

    assert code == EXIT_OK
    assert "Blending the tastes of alice and bob." in terminal.out
    hint = 'carol has no tastes yet: suggest-watch prefer "what you like" adds some.'
    assert hint in terminal.out
    assert "1. Arrival · 2016 · movie" in terminal.out
    assert "Why: alice and bob: …" in terminal.out
    assert not word_runs(terminal.out) & word_runs(TASTES["bob"])
    assert "Member A" not in terminal.out
    prompt = fake_ollama.chat_requests[-1].body["messages"][-1]["content"]
    assert '"something fun"' in prompt and "alice" not in prompt
    for label, member in (("Member A", "alice"), ("Member B", "bob")):
        section = prompt.split(f"{label}'s tastes, in their words:")[1].split("\n\n")[0]
        assert TASTES[member] in section


async def test_movienight_with_one_member_with_tastes_says_why_not(terminal: Session) -> None:
    await terminal("--member", "alice", "prefer", TASTES["alice"])

    code = await terminal("movienight", "--with", "alice,bob")

    assert code == EXIT_FAILED
    assert "at least two members with tastes" in terminal.err
    assert "bob has no tastes yet" in terminal.err
