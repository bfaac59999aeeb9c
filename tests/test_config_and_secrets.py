"""Configuration parsing and client-secret lookup."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from ingest.client_secrets import ClientSecrets
from o11y.settings import Settings


def test_client_secrets_come_from_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O11Y_CLIENT_SECRETS", '{"kilo-gateway": ["s1", "s2"], "batch-job": "s3"}')
    secrets = ClientSecrets(Settings().client_secrets)
    assert [secrets.client_for(s) for s in ("s1", "s2", "s3", "s4")] == ["kilo-gateway", "kilo-gateway", "batch-job", None]


def test_client_secrets_come_from_a_file_with_an_at_sign(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"kilo-gateway": ["from-file"]}))
    monkeypatch.setenv("O11Y_CLIENT_SECRETS", f"@{path}")
    assert ClientSecrets(Settings().client_secrets).client_for("from-file") == "kilo-gateway"


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("not json", "JSON object"),
        ('["a"]', "JSON object"),
        ('{"kilo-gateway": []}', "at least one non-blank secret"),
        ('{"kilo-gateway": ["  "]}', "at least one non-blank secret"),
        ("@/nonexistent/secrets.json", "cannot read client secrets file"),
    ],
)
def test_bad_client_secrets_fail_with_a_clear_message(monkeypatch: pytest.MonkeyPatch, raw: str, fragment: str) -> None:
    monkeypatch.setenv("O11Y_CLIENT_SECRETS", raw)
    with pytest.raises(ValidationError) as error:
        Settings()
    assert fragment in str(error.value)


def test_secrets_never_appear_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O11Y_CLIENT_SECRETS", '{"kilo-gateway": ["hunter2-very-secret"]}')
    monkeypatch.setenv("O11Y_SLACK_PAGE_WEBHOOK_URL", "https://hooks.example/T000/B000/xyz-webhook")
    text = repr(Settings()) + str(Settings().model_dump())
    assert "hunter2-very-secret" not in text and "xyz-webhook" not in text


def test_secret_lookup_trims_like_the_seed_and_refuses_blank() -> None:
    secrets = ClientSecrets({"kilo-gateway": ["abc"]})
    assert secrets.client_for("  abc\n") == "kilo-gateway"
    assert secrets.client_for("") is None
    assert secrets.client_for("   ") is None
    assert secrets.client_for(None) is None
    assert secrets.client_for("ab") is None
    assert secrets.client_for("abcd") is None
