"""Packages point one way: o11y (the roof) → api → alerting, ingest → storage → schemas, runtime (the bottom). Nothing
imports the roof, and no package but storage/ names a ClickHouse table."""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"o11y", "api", "alerting", "ingest", "storage", "schemas", "runtime"}
MAY_IMPORT = {
    "schemas": {"schemas"},
    "runtime": {"runtime"},
    "storage": {"storage", "schemas", "runtime"},
    "ingest": {"ingest", "storage", "schemas", "runtime"},
    "alerting": {"alerting", "storage", "schemas", "runtime"},
    "api": {"api", "alerting", "storage", "schemas", "runtime"},
    "o11y": OURS,
}


def imported_modules(path: Path) -> set[str]:
    """Top-level modules and packages a module imports, lazily inside functions included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


def imported_packages(path: Path) -> set[str]:
    return imported_modules(path) & OURS


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_a_package_imports_only_what_is_below_it(package: str) -> None:
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported_packages(path) - MAY_IMPORT[package])
        for path in sorted((ROOT / package).rglob("*.py"))
        if imported_packages(path) - MAY_IMPORT[package]
    }
    assert wrong == {}


def private_reaches(path: Path) -> list[str]:
    """`thing._private` where `thing` is not the class's own `self`/`cls`: a test reaching behind an interface."""
    return [
        f"{path.relative_to(ROOT)}:{node.lineno} {ast.unparse(node)}"
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
        and not (isinstance(node.value, ast.Name) and node.value.id in {"self", "cls"})
    ]


def test_tests_use_seams_not_each_other_or_privates() -> None:
    """Shared test code lives in tests/support; a test never imports another test module or touches a private."""
    files = sorted((ROOT / "tests").rglob("*.py"))
    test_modules = {path.stem for path in files if path.stem.startswith("test_")} | {"conftest"}
    cross = {str(path.relative_to(ROOT)): sorted(mods & test_modules)
             for path in files if (mods := imported_modules(path)) & test_modules}
    assert cross == {}
    assert [reach for path in files for reach in private_reaches(path)] == []



def imported_own_modules(path: Path) -> set[str]:
    """Our modules (dotted names) a module imports, lazily inside functions included; `from pkg import mod` names mod."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        found |= {name for name in names if name.split(".")[0] in OURS and (ROOT / (name.replace(".", "/") + ".py")).is_file()}
    return found


GENERIC_STEPS = ROOT / "ingest" / "loading" / "steps"


def foreign_imports(path: Path) -> list[str]:
    """What a generic step imports beyond the standard library and the other generic steps: rows, ClickHouse or a
    Kafka client would each show here (the loader hands the steps such things as functions instead)."""
    third_party = imported_modules(path) - set(sys.stdlib_module_names) - {"ingest"}
    ours = {module for module in imported_own_modules(path) if not module.startswith("ingest.loading.steps.")}
    return sorted(third_party | ours)


@pytest.mark.parametrize("module", sorted(GENERIC_STEPS.glob("*.py")), ids=lambda path: path.name)
def test_a_generic_step_imports_only_the_standard_library_and_the_other_steps(module: Path) -> None:
    assert foreign_imports(module) == []


def test_a_step_that_knows_rows_clickhouse_or_a_kafka_client_is_refused(tmp_path: Path) -> None:
    step = tmp_path / "decode_step.py"
    step.write_text("import time\nfrom ingest.loading import clickhouse_sink\nfrom ingest.loading.rows import Row\n"
                    "from ingest.loading.steps.step import MessageRejected\nfrom kafka import TopicPartition\n")
    assert foreign_imports(step) == ["ingest.loading.clickhouse_sink", "ingest.loading.rows", "kafka"]


def test_no_two_modules_import_each_other() -> None:
    """Within a package too, imports point one way: a cycle (even through a lazy import) means two modules are one."""
    graph = {".".join(path.relative_to(ROOT).with_suffix("").parts): imported_own_modules(path)
             for package in sorted(OURS) for path in sorted((ROOT / package).rglob("*.py"))}
    cycles = set()
    for start in graph:
        stack: list[tuple[str, tuple[str, ...]]] = [(start, (start,))]
        seen = {start}
        while stack:
            module, trail = stack.pop()
            for target in graph.get(module, set()):
                if target == start:
                    cycles.add(" <-> ".join(sorted(trail)))
                elif target not in seen:
                    seen.add(target)
                    stack.append((target, (*trail, target)))
    assert sorted(cycles) == []


def table_names_in_strings(path: Path, tables: set[str]) -> list[str]:
    """String literals (docstrings aside) that name a table: `o11y.<table>`, or `<table>` after FROM, INTO, JOIN, TABLE."""
    pattern = re.compile(rf"\bo11y\.({'|'.join(tables)})\b|\b(?:FROM|INTO|JOIN|TABLE)\s+({'|'.join(tables)})\b")
    tree = ast.parse(path.read_text(), str(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body
                  and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [f"{path.relative_to(ROOT)}:{node.lineno} {node.value[:80]!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
            and pattern.search(node.value)]


def test_only_storage_names_a_table() -> None:
    """Tables are declared once, in storage/; everyone else takes the handle (`f"FROM {API_METRICS}"`)."""
    from storage.catalog import SCHEMA_MIGRATIONS, TABLES, VIEWS

    tables = {t.name for t in (*TABLES, SCHEMA_MIGRATIONS)} | {v.name for v in VIEWS}
    found = [hit for package in sorted(OURS - {"storage"}) for path in sorted((ROOT / package).rglob("*.py"))
             for hit in table_names_in_strings(path, tables)]
    assert found == []


PAGES = ROOT / "api" / "pages"
PAGES_MAY_USE_OF_API = {"api.auth", "api.sessions", "api.session_revocations", "api.status_api", "api.usage_api",
                        "api.usage_query", "api.incidents_api", "api.responses", "api.csv_text", "api.read_question",
                        "api.session_api", "api.session_query", "api.session_list"}
"""Of the rest of `api`, the pages use the read API's readers and question models, auth and sessions: never a handler's
wiring (`api.app`) or an endpoint of its own."""
DRAWING = ("axis", "svg", "series", "formats", "links", "route_charts", "baseline_view")
"""The pages' pure modules: what they draw and write is a function of plain data."""
IO_LIBRARIES = {"aiohttp", "jinja2", "clickhouse_connect", "chdb", "redis"}
IO_MODULES = {"runtime.clickhouse", "api.pages.data", "api.pages.route_reads", "api.pages.context", "api.pages.session_reads"}


def test_only_the_api_app_wires_the_pages() -> None:
    """The JSON API never depends on the pages: removing `/ui/` would leave every endpoint as it is."""
    users = {str(path.relative_to(ROOT)) for package in sorted(OURS) for path in sorted((ROOT / package).rglob("*.py"))
             if not path.is_relative_to(PAGES) and any(m.startswith("api.pages.") for m in imported_own_modules(path))}
    assert users == {"api/app.py"}


def test_the_pages_use_of_the_api_only_its_readers_auth_and_sessions() -> None:
    wrong = {str(path.relative_to(ROOT)): sorted(outside) for path in sorted(PAGES.rglob("*.py"))
             if (outside := {m for m in imported_own_modules(path) if m.startswith("api.") and not m.startswith("api.pages.")}
                 - PAGES_MAY_USE_OF_API)}
    assert wrong == {}


@pytest.mark.parametrize("module", DRAWING)
def test_what_the_pages_draw_is_pure(module: str) -> None:
    path = PAGES / f"{module}.py"
    assert (imported_modules(path) & IO_LIBRARIES, imported_own_modules(path) & IO_MODULES) == (set(), set())


SUB_FLOORS: dict[str, tuple[tuple[str, ...], ...]] = {
    "alerting": (("rules",), ("incidents",), ("delivery",), ("receivers",), ("policy",), ("evaluation",), ("backtest",),
                 ("service",)),
    "ingest": (("kafka",), ("edge", "loading")),
}
"""Within a package, sub-packages on floors, bottom first: each imports only its own and the floors below (two
sub-packages on one floor never import each other)."""


def sub_package(module: str, package: str) -> str | None:
    parts = module.split(".")
    return parts[1] if parts[0] == package and len(parts) > 2 else None


@pytest.mark.parametrize("package", sorted(SUB_FLOORS))
def test_sub_packages_import_only_their_own_floor_and_below(package: str) -> None:
    floor_of = {sub: i for i, floor in enumerate(SUB_FLOORS[package]) for sub in floor}
    assert sorted(p.name for p in (ROOT / package).iterdir() if (p / "__init__.py").is_file()) == sorted(floor_of)
    wrong = []
    for path in sorted((ROOT / package).rglob("*.py")):
        own = sub_package(".".join(path.relative_to(ROOT).with_suffix("").parts), package)
        for target in imported_own_modules(path):
            other = sub_package(target, package)
            if own and other and other != own and floor_of[other] >= floor_of[own]:
                wrong.append(f"{path.relative_to(ROOT)} imports {target}")
    assert wrong == []


@pytest.mark.parametrize("package", sorted(OURS))
def test_every_package_says_what_it_owns_and_may_import(package: str) -> None:
    for init in sorted((ROOT / package).rglob("__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "import" in doc.lower(), f"{init.relative_to(ROOT)}: say what it owns and what it may import"
