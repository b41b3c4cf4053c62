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


# --- Model servers ----------------------------------------------------------------------


def test_llm_urls_are_read_comma_separated(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "LLM_PROVIDER=openai\nLLM_URLS=http://gpu1:8000/v1, http://gpu2:8000/v1/\n",
        encoding="utf-8",
    )
    hosts = load_settings(Settings).chat_hosts()

    assert hosts.urls == ("http://gpu1:8000/v1", "http://gpu2:8000/v1")
    assert (hosts.provider, hosts.parallel, hosts.url_setting) == ("openai", 4, "LLM_URLS")


def test_ollama_url_alone_means_ollama_for_both(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("OLLAMA_URL=http://gpu-box:11434\n", encoding="utf-8")
    settings = load_settings(Settings)

    for hosts in (settings.chat_hosts(), settings.embed_hosts()):
        assert (hosts.provider, hosts.urls) == ("ollama", ("http://gpu-box:11434",))
        assert hosts.url_setting == "OLLAMA_URL"
    assert settings.chat_hosts().parallel == 2


def test_set_llm_urls_win_over_ollama_url() -> None:
    settings = load_settings(
        Settings, ollama_url="http://old:11434", llm_urls="http://a:11434,http://b:11434"
    )
    assert settings.chat_hosts().urls == ("http://a:11434", "http://b:11434")
    assert settings.embed_hosts().urls == ("http://a:11434", "http://b:11434")


def test_embeddings_may_use_another_provider_and_key() -> None:
    settings = load_settings(
        Settings,
        llm_provider="openai",
        llm_urls="https://api.example/v1",
        llm_api_key="sk-llm",
        embed_provider="ollama",
        ollama_url="http://embedder:11434",
    )
    embed = settings.embed_hosts()

    assert (embed.provider, embed.urls) == ("ollama", ("http://embedder:11434",))
    assert embed.api_key is not None and embed.api_key.get_secret_value() == "sk-llm"
    assert embed.parallel is None


@pytest.mark.parametrize(
    ("values", "setting"),
    [({"llm_provider": "openai"}, "LLM_URLS"), ({"embed_provider": "openai"}, "EMBED_URLS")],
)
def test_the_openai_provider_needs_its_urls(values: dict[str, str], setting: str) -> None:
    with pytest.raises(ConfigError, match=f"{setting}: is required") as error:
        load_settings(Settings, **values)
    assert "http://gpu1:8000/v1" in str(error.value)


def test_an_ollama_host_with_a_path_points_to_the_openai_provider() -> None:
    with pytest.raises(ConfigError, match=r"LLM_URLS.*LLM_PROVIDER=openai"):
        load_settings(Settings, llm_urls="http://gpu-box:11434/v1")


def test_the_old_timeout_names_still_read_and_the_new_ones_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OLLAMA_FIRST_TOKEN_TIMEOUT", "300")
    monkeypatch.setenv("OLLAMA_IDLE_TIMEOUT", "30")
    monkeypatch.setenv("MODEL_IDLE_TIMEOUT", "45")
    settings = load_settings(Settings)

    assert settings.model_first_token_timeout == 300
    assert settings.model_idle_timeout == 45


def test_the_api_key_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LLM_API_KEY", "sk-very-secret")
    settings = load_settings(Settings)
    with pytest.raises(ConfigError) as error:
        load_settings(Settings, llm_parallel=0)

    assert settings.chat_hosts().api_key is not None
    assert "sk-very-secret" not in repr(settings) + str(settings.chat_hosts())
    assert "sk-very-secret" not in str(error.value)


def test_an_empty_api_key_is_no_key() -> None:
    assert load_settings(Settings, llm_api_key="").chat_hosts().api_key is None


def test_the_hosts_places_are_hosts_times_parallel() -> None:
    settings = load_settings(Settings, llm_urls="http://a:11434,http://b:11434", llm_parallel=3)
    assert settings.chat_hosts().places == 6
    assert settings.embed_hosts().places is None  # embeddings: no limit per host
