"""Configuration parsing and client-secret lookup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from runtime.client_secrets import ClientSecrets
from runtime.settings import Settings

S1, S2, S3 = "secret-one-0123456789", "secret-two-0123456789", "secret-three-012345678"


def test_client_secrets_come_from_json_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("O11Y_CLIENT_SECRETS", f'{{"kilo-gateway": ["{S1}", "{S2}"], "batch-job": "{S3}"}}')
    secrets = ClientSecrets(Settings().client_secrets)
    assert [secrets.client_for(s) for s in (S1, S2, S3, S1 + "x")] == ["kilo-gateway", "kilo-gateway", "batch-job", None]


def test_client_secrets_come_from_a_file_with_an_at_sign(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"kilo-gateway": ["from-file-0123456789"]}))
    path.chmod(0o600)
    monkeypatch.setenv("O11Y_CLIENT_SECRETS", f"@{path}")
    assert ClientSecrets(Settings().client_secrets).client_for("from-file-0123456789") == "kilo-gateway"


def test_a_secrets_file_others_can_read_is_warned_about(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: Any) -> None:
    path = tmp_path / "secrets.json"
    path.write_text(json.dumps({"kilo-gateway": ["from-file-0123456789"]}))
    path.chmod(0o644)
    monkeypatch.setenv("O11Y_CLIENT_SECRETS", f"@{path}")
    Settings()
    assert f"client secrets file {path} can be read by group or others (mode 644): chmod 600 it" in caplog.text


@pytest.mark.parametrize(
    "raw, fragment",
    [
        ("not json", "JSON object"),
        ('["a"]', "JSON object"),
        ('{"kilo-gateway": []}', "at least one non-blank secret"),
        ('{"kilo-gateway": ["  "]}', "at least one non-blank secret"),
        ("@/nonexistent/secrets.json", "cannot read client secrets file"),
        ('{"kilo-gateway": ["padded-secret-0123456789 "]}', "a secret of client 'kilo-gateway' starts or ends with white space"),
        ('{"kilo-gateway": ["short"]}', "a secret of client 'kilo-gateway' is shorter than 16 characters"),
        ('{"a": ["shared-secret-0123456789"], "b": ["shared-secret-0123456789"]}', "clients 'a' and 'b' share a secret"),
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


def test_an_inflight_budget_that_cannot_hold_the_largest_batch_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="O11Y_HTTP_MAX_INFLIGHT_BYTES must be at least"):
        Settings(http_max_batch_bytes=8 << 20, http_max_inflight_bytes=64 << 20)
    assert Settings(http_max_batch_bytes=8 << 20, http_max_inflight_bytes=80 << 20).http_max_inflight_bytes == 80 << 20
