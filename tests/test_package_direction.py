"""Packages point one way: o11y (the roof) → alerting, ingest → schemas, runtime (the bottom). Nothing imports the roof."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"o11y", "alerting", "ingest", "schemas", "runtime"}
MAY_IMPORT = {
    "schemas": {"schemas"},
    "runtime": {"runtime"},
    "ingest": {"ingest", "schemas", "runtime"},
    "alerting": {"alerting", "schemas", "runtime"},
    "o11y": OURS,
}


def imported_packages(path: Path) -> set[str]:
    """Top-level packages of ours that a module imports, lazily inside functions included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_a_package_imports_only_what_is_below_it(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - MAY_IMPORT[package])
        for path in sorted((ROOT / package).rglob("*.py"))
        if imported_packages(path) - MAY_IMPORT[package]
    }
    assert wrong == {}
