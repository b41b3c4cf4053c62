"""Settings: one clear line per bad value, and the same store from any folder."""

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import DiscordSettings, Settings, default_data_dir, load_settings


@pytest.fixture(autouse=True)
def no_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("DATA_DIR", "OLLAMA_URL", "DISCORD_TOKEN", "CHAT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_the_default_data_dir_is_the_same_from_any_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = load_settings(Settings).data_dir
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert load_settings(Settings).data_dir == first == default_data_dir()
    assert first.is_absolute()


def test_a_relative_data_dir_is_made_absolute_from_the_folder_of_the_env_file(
    tmp_path: Path,
) -> None:
    (tmp_path / ".env").write_text("DATA_DIR=./data\n", encoding="utf-8")
    assert load_settings(Settings).data_dir == tmp_path / "data"


@pytest.mark.parametrize("path", ["/v1", "/api", "/api/chat"])
def test_an_ollama_url_with_a_path_says_what_it_should_look_like(path: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_settings(Settings, ollama_url=f"http://gpu-box:11434{path}")
    message = str(error.value)
    assert message.count("\n") == 0
    assert "OLLAMA_URL" in message
    assert "like http://gpu-box:11434 " in message


def test_an_ollama_url_without_a_path_is_fine() -> None:
    assert str(load_settings(Settings, ollama_url="http://gpu-box:11434/").ollama_url) == (
        "http://gpu-box:11434/"
    )


@pytest.mark.parametrize("token", ["", None], ids=["empty", "missing"])
def test_an_empty_token_says_where_to_get_one(tmp_path: Path, token: str | None) -> None:
    if token is not None:
        (tmp_path / ".env").write_text(f"DISCORD_TOKEN={token}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as error:
        load_settings(DiscordSettings)
    message = str(error.value)
    assert "DISCORD_TOKEN" in message
    assert "Reset Token" in message
    assert str(tmp_path / ".env") in message


def test_an_env_file_that_is_not_utf8_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / ".env").write_bytes(b"CHAT_MODEL=caf\xe9\n")
    with pytest.raises(ConfigError) as error:
        load_settings(Settings)
    assert str(error.value).startswith(f"{tmp_path / '.env'} is not UTF-8 text")


def test_an_environment_value_that_is_not_utf8_names_the_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CHAT_MODEL", b"llama\xff".decode("utf-8", "surrogateescape"))
    with pytest.raises(ConfigError, match="CHAT_MODEL"):
        load_settings(Settings)
