"""Loading the SLO policy: the YAML file of O11Y_SLO_CONFIG, or the built-in seed defaults."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from schemas.alert_policy import AlertPolicy, default_policy, policy_from_document
from storage.agent_sessions import SESSION_METRICS_1M, SESSION_TOOLS_1M
from storage.events import API_METRICS, API_METRICS_1M


class SloConfigError(Exception):
    """The SLO file cannot be used; the message says where and why."""


def load_policy(path: Path | None) -> AlertPolicy:
    if path is None:
        return default_policy()
    return policy_of(read_document(path), str(path))


def read_document(path: Path) -> Any:
    """The YAML document of an SLO file, not yet checked."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise SloConfigError(f"{path}: {err}") from err


def policy_of(document: Any, where: str) -> AlertPolicy:
    """A policy from an SLO document (a file's, or one sent to the API); every problem named, with `where` it is."""
    try:
        return policy_from_document(document)
    except ValidationError as err:
        problems = "\n".join(f"  {'.'.join(map(str, e['loc'])) or 'document'}: {e['msg']}" for e in err.errors())
        raise SloConfigError(f"{where}:\n{problems}") from err
    except ValueError as err:
        raise SloConfigError(f"{where}: {err}") from err


def describe(policy: AlertPolicy, rollup: bool) -> str:
    """`o11y slo check`: the effective SLOs as YAML, plus where the evaluator reads them."""
    body = policy.model_dump(mode="json")
    body["evaluated_from"] = (
        f"{API_METRICS_1M} (rollup)" if rollup else f"{API_METRICS} (raw: a latency threshold is not a rollup bound)"
    )
    sources = {slo.source for slo in policy.slos}
    if "sessions" in sources:
        body["evaluated_from"] += f", {SESSION_METRICS_1M} (sessions)"
    if "tools" in sources:
        body["evaluated_from"] += f", {SESSION_TOOLS_1M} (tool calls)"
    return yaml.safe_dump(body, sort_keys=False)
