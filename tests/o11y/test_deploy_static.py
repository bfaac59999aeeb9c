"""docker-compose.yml, the Dockerfile, the Kubernetes manifests and the cluster DDL, checked without a Docker engine."""

from __future__ import annotations

import copy
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from check_jsonschema.builtin_schemas import get_builtin_schema
from jsonschema.validators import validator_for
from pydantic.fields import FieldInfo

from o11y.cli import build_parser
from runtime.settings import Settings
from storage.cluster import cluster_ddl
from support.docs_pages import doc_page

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
MANIFESTS = [doc for path in sorted((ROOT / "deploy" / "k8s").glob("*.yaml"))
             for doc in yaml.safe_load_all(path.read_text()) if doc]
SETTINGS = {f"O11Y_{name.upper()}" for name in Settings.model_fields}
O11Y_SERVICES = ("migrate", "ingest", "loader", "alert", "api")


def containers() -> list[dict[str, Any]]:
    out = []
    for doc in MANIFESTS:
        spec = doc.get("spec", {})
        pod = spec.get("template", {}).get("spec", {})
        out.extend(pod.get("containers", []))
    return out


def env_names_in_manifests() -> set[str]:
    names = set()
    for doc in MANIFESTS:
        if doc["kind"] in {"ConfigMap", "Secret"}:
            names |= {k for k in {**doc.get("data", {}), **doc.get("stringData", {})} if k.startswith("O11Y_")}
    for container in containers():
        names |= {e["name"] for e in container.get("env", [])}
    return names


def test_every_o11y_variable_set_anywhere_exists_in_the_settings_model() -> None:
    compose_vars = {k for name in O11Y_SERVICES for k in COMPOSE["services"][name]["environment"]}
    example = {line.split("=", 1)[0] for line in (ROOT / "deploy" / "o11y.env.example").read_text().splitlines()
               if line.startswith("O11Y_")}
    used = compose_vars | example | env_names_in_manifests()
    assert used and used <= SETTINGS, used - SETTINGS


def documented_defaults() -> dict[str, str]:
    """Variable → its default cell in the operators' configuration table."""
    rows = re.finditer(r"^\| `(O11Y_[A-Z0-9_]+)` \| ([^|]*) \|", doc_page("operators/configuration.md"), flags=re.M)
    return {row.group(1): row.group(2).strip() for row in rows}


DERIVED = {"O11Y_API_PORT", "O11Y_LOG_FORMAT"}
"""Unset in the model, computed from other settings or the command: the table says how instead of a value."""


def default_in_words(field: FieldInfo) -> str:
    """How the table writes a default: `8080`, `false`, `10` for 10.0, unset for None, empty for an empty collection."""
    if field.default_factory is not None:
        return "empty"
    if field.default is None:
        return "unset"
    if isinstance(field.default, bool):
        return f"`{str(field.default).lower()}`"
    if isinstance(field.default, float) and field.default.is_integer():
        return f"`{int(field.default)}`"
    return f"`{field.default}`"


def test_every_settings_variable_is_documented_with_its_default() -> None:
    documented = documented_defaults()
    assert SETTINGS - set(documented) == set(), "variables missing from docs/operators/configuration.md"
    wrong = {f"O11Y_{name.upper()}": (default_in_words(field), documented[f"O11Y_{name.upper()}"])
             for name, field in Settings.model_fields.items() if f"O11Y_{name.upper()}" not in DERIVED
             and not documented[f"O11Y_{name.upper()}"].startswith(default_in_words(field))}
    assert wrong == {}, "variable: (the model's default, the docs' default)"


@pytest.mark.parametrize("command", sorted({tuple(COMPOSE["services"][s]["command"]) for s in O11Y_SERVICES}
                                            | {tuple(c["args"]) for c in containers()}))
def test_every_service_command_is_an_o11y_subcommand(command: tuple[str, ...]) -> None:
    build_parser().parse_args(list(command))


def test_compose_wires_health_and_ordering() -> None:
    services = COMPOSE["services"]
    for name in ("kafka", "clickhouse", "redis", "ingest"):
        assert "healthcheck" in services[name], name
    assert services["loader"]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert services["ingest"]["depends_on"]["kafka-init"]["condition"] == "service_completed_successfully"
    assert services["ingest"]["ports"] == ["8080:8080"]
    assert set(COMPOSE["volumes"]) == {"kafka-data", "clickhouse-data", "redis-data"}
    assert services["ingest"]["environment"]["O11Y_HTTP_PORT"] == "8080"
    topics = services["kafka-init"]["command"][0]
    assert "--topic api-metrics " in topics and "--topic api-metrics-dlq " in topics


def test_the_image_is_multi_stage_non_root_and_serves_on_the_probed_port() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", dockerfile, flags=re.M)) == 2
    assert re.search(r"^USER 10001$", dockerfile, flags=re.M) and 'ENTRYPOINT ["o11y"]' in dockerfile
    assert "EXPOSE 8080" in dockerfile
    for container in containers():
        ports = {p["containerPort"] for p in container.get("ports", [])}
        assert ports in ({8080}, set()), container["name"]
        if ports:
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["image"] == COMPOSE["services"]["ingest"]["image"]


def test_the_deployed_slo_file_is_the_validated_default() -> None:
    from alerting.policy.slo_config import load_policy
    from schemas.alert_policy import default_policy

    assert load_policy(ROOT / "deploy" / "slo.yaml") == default_policy()
    [slo_map] = [d for d in MANIFESTS if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "o11y-slo"]
    assert yaml.safe_load(slo_map["data"]["slo.yaml"]) == yaml.safe_load((ROOT / "deploy" / "slo.yaml").read_text())


def test_alerting_runs_two_replicas_and_loaders_fit_the_partitions() -> None:
    by_name = {
        d["metadata"]["name"]: d
        for d in MANIFESTS
        if d["kind"] not in {"PodDisruptionBudget", "Service", "HorizontalPodAutoscaler"}
    }
    assert by_name["o11y-alert"]["spec"]["replicas"] == 2
    partitions = int(by_name["o11y-env"]["data"]["O11Y_KAFKA_PARTITIONS"])
    assert by_name["o11y-loader"]["spec"]["replicas"] <= partitions
    assert by_name["o11y-ingest"]["kind"] == "Deployment" and by_name["o11y-ingest"]["spec"]["replicas"] >= 2
    assert any(d["kind"] == "HorizontalPodAutoscaler" for d in MANIFESTS)


def columns(ddl: str, table: str) -> list[str]:
    body = re.search(rf"CREATE TABLE IF NOT EXISTS o11y\.{table}\b[^(]*\((.*?)\n\) ENGINE", ddl, flags=re.S)
    assert body, table
    return [line.strip().split()[0] for line in body.group(1).strip().splitlines()]


def test_the_checked_in_cluster_ddl_is_current_and_matches_the_single_node_schema(clickhouse: Any) -> None:
    ddl = (ROOT / "deploy" / "clickhouse" / "cluster.sql").read_text()
    assert ddl == cluster_ddl("o11y"), "regenerate: python -m storage.cluster o11y > deploy/clickhouse/cluster.sql"
    for table in (
        "api_metrics",
        "api_metrics_1m",
        "loaded_offsets",
        "alert_events",
        "loader_progress",
        "incidents",
        "alert_ticks",
        "silences",
        "slo_override_changes",
        "revoked_sessions",
    ):
        live = [
            r[0]
            for r in clickhouse.query(
                f"SELECT name FROM system.columns WHERE database = 'o11y' AND table = '{table}' ORDER BY position"
            ).result_rows
        ]
        assert columns(ddl, f"{table}_local") == live, table


KUBERNETES_VERSIONS = ("1.33", "1.37")
"""The version docs/operators/deployment.md names for the manifests, and the newest the pinned kubernetes-validate ships."""


def manifest_errors(document: dict[str, Any], kubernetes: str) -> list[str]:
    """What the API server of that version would refuse in one manifest, strictly: unknown fields too."""
    name = f"{document.get('kind')}/{document.get('metadata', {}).get('name')}"
    try:
        kubernetes_validate.validate(document, kubernetes, strict=True)
    except kubernetes_validate.ValidationError as err:
        return [f"{name}: {err.message} at {'.'.join(map(str, err.absolute_path))}"]
    except kubernetes_validate.SchemaNotFoundError as err:
        return [f"{name}: {err.message}"]
    return []


@pytest.mark.parametrize("kubernetes", KUBERNETES_VERSIONS)
def test_every_kubernetes_manifest_is_valid_for_the_versions_the_docs_name(kubernetes: str) -> None:
    assert [error for doc in MANIFESTS for error in manifest_errors(doc, kubernetes)] == []


def ingest_deployment() -> dict[str, Any]:
    return copy.deepcopy(next(d for d in MANIFESTS if d["kind"] == "Deployment" and d["metadata"]["name"] == "o11y-ingest"))


def misspelt_field(doc: dict[str, Any]) -> None:
    doc["spec"]["replica"] = doc["spec"].pop("replicas")


def wrong_type(doc: dict[str, Any]) -> None:
    doc["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eighty-eighty"


def removed_api(doc: dict[str, Any]) -> None:
    doc["apiVersion"] = "extensions/v1beta1"  # Deployments left it in Kubernetes 1.16


@pytest.mark.parametrize("breaking", [misspelt_field, wrong_type, removed_api])
def test_a_broken_manifest_is_refused(breaking: Any) -> None:
    broken = ingest_deployment()
    breaking(broken)
    for kubernetes in KUBERNETES_VERSIONS:
        assert manifest_errors(broken, kubernetes), (breaking.__name__, kubernetes)


def compose_errors(document: dict[str, Any]) -> list[str]:
    """What the Compose Specification's JSON schema refuses in a compose file (check-jsonschema's vendored copy)."""
    schema = get_builtin_schema("vendor.compose-spec")
    validator = validator_for(schema)(schema)
    return [f"{'.'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_the_compose_file_follows_the_compose_specification() -> None:
    assert compose_errors(COMPOSE) == []


@pytest.mark.parametrize("path, value", [
    (("services", "ingest", "depends_onn"), {"kafka": {"condition": "service_healthy"}}),  # a misspelt key
    (("services", "ingest", "ports"), 8080),  # a list of ports, not one number
    (("services", "migrate", "depends_on"), "clickhouse"),  # a list or a map of services, not one name
])
def test_a_broken_compose_file_is_refused(path: tuple[str, ...], value: Any) -> None:
    broken = copy.deepcopy(COMPOSE)
    parent = broken
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    assert compose_errors(broken), path


def test_the_deployment_docs_name_the_versions_the_checks_use() -> None:
    page = doc_page("operators/deployment.md")
    assert f"Kubernetes {KUBERNETES_VERSIONS[0]}" in page and f"of {KUBERNETES_VERSIONS[-1]}" in page
    for package in ("kubernetes-validate", "check-jsonschema"):
        assert f"`{package}` {version(package)}" in page, package
