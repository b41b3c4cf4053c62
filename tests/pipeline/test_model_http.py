"""The shared httpx error translation, in each provider's words."""

from __future__ import annotations

import httpx
import pytest

from bot.errors import ModelServerCut, ModelServerError, ModelServerStalled, ModelServerUnreachable
from bot.pipeline.model_http import ServerNames, shown_url, translate_errors

OLLAMA = ServerNames("http://ollama:11434", "OLLAMA_URL", name="Ollama", says_url=False)
OPENAI = ServerNames("http://vllm:8000/v1", "LLM_URLS")
REQUEST = httpx.Request("GET", "http://ignored/models")


def raised_by(error: Exception, names: ServerNames) -> ModelServerError:
    """The error of our tree that `translate_errors` turns `error` into."""
    with pytest.raises(ModelServerError) as caught, translate_errors("/models", names):
        raise error
    return caught.value


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (httpx.ConnectError("refused", request=REQUEST), ModelServerUnreachable),
        (httpx.PoolTimeout("full", request=REQUEST), ModelServerUnreachable),
        (httpx.ReadTimeout("slow", request=REQUEST), ModelServerStalled),
        (httpx.RemoteProtocolError("reset", request=REQUEST), ModelServerCut),
        (httpx.ReadError("closed", request=REQUEST), ModelServerCut),
    ],
)
def test_httpx_errors_become_ours(error: httpx.HTTPError, expected: type[Exception]) -> None:
    assert type(raised_by(error, OPENAI)) is expected


def test_ollama_messages_name_ollama_and_its_setting() -> None:
    unreachable = str(raised_by(httpx.ConnectError("refused", request=REQUEST), OLLAMA))
    cut = str(raised_by(httpx.ReadError("closed", request=REQUEST), OLLAMA))

    assert unreachable.startswith("Cannot reach Ollama at http://ollama:11434")
    assert "Check OLLAMA_URL" in unreachable
    assert cut.startswith("The connection to Ollama was cut during /models")
    assert "Ollama may have crashed" in cut


def test_openai_messages_name_the_model_server_at_its_address() -> None:
    stalled = str(raised_by(httpx.ReadTimeout("slow", request=REQUEST), OPENAI))
    cut = str(raised_by(httpx.ReadError("closed", request=REQUEST), OPENAI))

    assert stalled.startswith("The model server at http://vllm:8000/v1 did not answer /models")
    assert cut.startswith("The connection to the model server at http://vllm:8000/v1 was cut")


def test_our_own_errors_pass_through_untouched() -> None:
    ours = ModelServerStalled("already ours")

    assert raised_by(ours, OLLAMA) is ours


def test_shown_url_drops_credentials_and_a_trailing_slash() -> None:
    assert shown_url("http://admin:s3cret@host:11434/", "OLLAMA_URL") == "http://host:11434"
