"""`python -m bot` turns a bad configuration into one line and exit code 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import EXIT_CONFIG, main


def test_a_missing_token_stops_start_up_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env here
    monkeypatch.delenv("DISCORD_TOKEN", raising=False)

    with pytest.raises(SystemExit) as exit_info:
        main()

    assert exit_info.value.code == EXIT_CONFIG
    error = capsys.readouterr().err
    assert error.count("\n") == 1
    assert "DISCORD_TOKEN" in error


def test_a_bad_value_names_the_setting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DISCORD_TOKEN", "secret-token-value")
    monkeypatch.setenv("STREAM_EDIT_INTERVAL", "0.01")

    with pytest.raises(SystemExit) as exit_info:
        main()

    assert exit_info.value.code == EXIT_CONFIG
    error = capsys.readouterr().err
    assert "STREAM_EDIT_INTERVAL" in error
    assert "secret-token-value" not in error
