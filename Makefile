# The two Quickstart commands (`make dev`, `make test`) install what they need into .venv first.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: dev test test-fast generate clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

dev: $(BIN)/.installed
	$(BIN)/o11y dev

# The page tests drive Debian's chromium (headless): installed here when it is missing.
CHROMIUM ?= /usr/bin/chromium

$(CHROMIUM):
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium

# The docs site (mkdocs.yml, docs/) must build with no broken link or anchor; the notice Material prints about
# MkDocs 2 is news, not a problem with this site.
test: $(BIN)/.installed $(CHROMIUM)
	$(BIN)/ruff check .
	$(BIN)/mypy
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet
	$(BIN)/python -m pytest

# The edit-run loop: pure and in-process tests only (no broker, ClickHouse, Redis, browser or o11y process), under a
# minute. `make test` is the whole suite, and what CI runs.
test-fast: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -m "not component" -q

# Every generated file, from its one source (tests keep each current): the request event's models, the ingest API's
# OpenAPI document, the cluster DDL, the site's reference pages.
generate: $(BIN)/.installed
	$(BIN)/python -m schemas.event_codegen
	$(BIN)/python -m ingest.edge.openapi > ingest/edge/openapi.json
	$(BIN)/python -m storage.cluster o11y > deploy/clickhouse/cluster.sql
	$(BIN)/python -m o11y.docs

clean:
	rm -rf $(VENV) var
