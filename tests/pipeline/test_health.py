"""`doctor`'s checks: every part fine, and each part's failure named with its fix."""

from bot.pipeline.health import Health, HealthCheck
from bot.pipeline.models import open_models
from bot.pipeline.pipeline import Backends, Pipeline, open_pipeline
from bot.pipeline.records import SCHEMA_VERSION
from bot.settings import Settings
from tests.fakes.ollama_server import (
    FakeOllama,
    unused_port,
)


async def test_health_reports_every_part_fine(pipeline: Pipeline) -> None:
    await pipeline.prefer("alice", "noir")
    checks = {check.name: check for check in await pipeline.health()}
    assert all(check.ok for check in checks.values()), checks
    assert "1024-d" in checks["Vector store"].detail
    assert f"schema v{SCHEMA_VERSION}" in checks["Records"].detail


def host_check(checks: dict[str, HealthCheck], url: str) -> HealthCheck:
    """The one model host's line: it serves both chat and embeddings here."""
    return checks[f"Model host {url} (chat and embeddings)"]


async def test_health_names_the_pull_for_a_missing_model(
    pipeline: Pipeline, fake_ollama: FakeOllama
) -> None:
    fake_ollama.models.discard("llama3.1:8b")
    checks = {check.name: check for check in await pipeline.health()}
    host = host_check(checks, fake_ollama.url)
    assert not host.ok
    assert host.fix == "ollama pull llama3.1:8b"
    assert "bge-large gives 1024-d embeddings" in host.detail


async def checks_after_a_restart(settings: Settings, backends: Backends) -> dict[str, HealthCheck]:
    """`doctor` as a new process runs it: new model clients, so nothing cached."""
    async with open_models(settings) as models:
        health = Health(settings, models, backends.records, backends.vectors)
        return {check.name: check for check in await health.health()}


async def test_health_names_reindex_for_a_dimension_mismatch(
    pipeline: Pipeline, settings: Settings, backends: Backends, fake_ollama: FakeOllama
) -> None:
    await pipeline.prefer("alice", "noir")
    fake_ollama.embed_dim = 768  # a restart with another EMBED_MODEL
    checks = await checks_after_a_restart(settings, backends)
    assert not checks["Vector store"].ok
    assert checks["Vector store"].fix == "python -m bot.cli reindex"


async def test_health_with_ollama_down_says_so(settings: Settings) -> None:
    down = settings.model_copy(update={"ollama_url": f"http://127.0.0.1:{unused_port()}"})
    async with open_pipeline(down) as pipeline:
        checks = await pipeline.health()
    url = str(down.ollama_url).rstrip("/")
    assert [c.name for c in checks] == [
        f"Model host {url} (chat and embeddings)",
        "Vector store",
        "Records",
    ]
    assert not checks[0].ok and "Cannot reach Ollama" in checks[0].detail


async def test_health_still_counts_collections_when_the_embedding_model_is_missing(
    pipeline: Pipeline, settings: Settings, backends: Backends, fake_ollama: FakeOllama
) -> None:
    await pipeline.prefer("alice", "noir")
    fake_ollama.models.discard("bge-large")
    checks = await checks_after_a_restart(settings, backends)
    assert not host_check(checks, fake_ollama.url).ok
    assert checks["Vector store"].ok
    layout = pipeline.settings.vector_layout
    assert checks["Vector store"].detail.startswith(f"{layout} layout, 1 member(s) with vectors")
