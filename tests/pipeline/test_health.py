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
from tests.fakes.wikidata_server import FakeWikidata


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
        "Film catalogue",
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
    store = pipeline.settings.vector_store_label
    assert checks["Vector store"].detail.startswith(f"{store}, 1 member(s) with vectors")


async def catalogue_check(settings: Settings, **changes: object) -> HealthCheck:
    changed = settings.model_copy(update={"catalogue": "wikidata", **changes})
    async with open_pipeline(changed) as pipeline:
        checks = {check.name: check for check in await pipeline.health()}
    return checks["Film catalogue"]


async def test_health_says_the_catalogue_answers_with_the_contact_set(
    settings: Settings, fake_wikidata: FakeWikidata
) -> None:
    check = await catalogue_check(
        settings, wikidata_api_url=fake_wikidata.api_url, catalogue_contact="me@example.org"
    )

    assert check.ok, check
    assert "contact me@example.org" in check.detail
    assert fake_wikidata.requests_for("wbgetentities")[0].ids == ["Q11424"]


async def test_health_asks_for_a_contact(settings: Settings, fake_wikidata: FakeWikidata) -> None:
    check = await catalogue_check(settings, wikidata_api_url=fake_wikidata.api_url)

    assert not check.ok
    assert check.fix == "Set CATALOGUE_CONTACT to your URL or email."


async def test_health_says_the_catalogue_is_down(settings: Settings) -> None:
    check = await catalogue_check(
        settings,
        wikidata_api_url=f"http://127.0.0.1:{unused_port()}/w/api.php",
        catalogue_contact="me@example.org",
    )

    assert not check.ok
    assert "Cannot reach Wikidata" in check.detail


async def test_health_says_when_the_catalogue_is_off(pipeline: Pipeline) -> None:
    checks = {check.name: check for check in await pipeline.health()}

    assert checks["Film catalogue"].ok
    assert checks["Film catalogue"].detail.startswith("off")


async def test_start_up_warns_without_a_contact(
    settings: Settings, fake_wikidata: FakeWikidata
) -> None:
    changed = settings.model_copy(
        update={"catalogue": "wikidata", "wikidata_api_url": fake_wikidata.api_url}
    )
    async with open_pipeline(changed) as pipeline:
        problems = await pipeline.start_up_problems()

    assert any("CATALOGUE_CONTACT" in problem for problem in problems)
