"""The generated reference pages of the site (docs/reference/): both APIs from their OpenAPI documents, and the schema."""

from __future__ import annotations

from pathlib import Path

from api.openapi import api_document
from ingest.edge.openapi import openapi_document
from o11y.docs.openapi_markdown import openapi_markdown
from o11y.docs.schema_reference import Table, schema_reference
from schemas.api_metrics import wire_json_schema
from schemas.field_table import field_table
from schemas.session_event import SessionMetricsParams
from storage.migrations import migrations
from storage.table import Retention

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"
DATABASE = "o11y"
ANALYSTS = "How to read it: [Tables and columns](../analysts/tables.md)."
ALERTING = "What its rows mean: [The alert log](../on-call/alert-log.md)."
SEE_ALSO = {
    **{name: ANALYSTS for name in ("api_metrics", "api_metrics_1m", "usage_1d", "usage_1h", "silences",
                                   "slo_override_changes", "revoked_sessions", "loaded_offsets", "event_ids",
                                   "schema_migrations")},
    **{name: ALERTING for name in ("alert_events", "incidents", "alert_ticks", "loader_progress")},
}
"""Where the prose about each table is; a table without an entry is described by its columns alone."""


def api_pages() -> dict[str, str]:
    """File name → page: the ingest API's and the read API's OpenAPI documents, as `/openapi.json` serves them."""
    return {"ingest-api.md": openapi_markdown(openapi_document(), "Ingest API reference", "`o11y ingest`") + _event_fields(),
            "read-api.md": openapi_markdown(api_document(), "Read API reference", "`o11y api`")}


def schema_page(tables: list[Table]) -> str:
    return schema_reference(tables, DATABASE, SEE_ALSO) + _versions()


def _versions() -> str:
    """Every schema version, in words (the migrations page includes this section)."""
    rows = [f"| {m.version} | {m.description[0].upper()}{m.description[1:]}. |" for m in migrations(Retention())]
    return ("\n## Schema versions\n\nOne module each in `storage/migrations/`, applied in order by `o11y migrate`.\n\n"
            "<!-- --8<-- [start:versions] -->\n| version | what it does |\n|---|---|\n" + "\n".join(rows)
            + "\n<!-- --8<-- [end:versions] -->\n")


def _event_fields() -> str:
    """The event's fields as gateway teams read them (the event fields page includes this section)."""
    return ("\n## Event fields\n\nFrom the JSON Schema of one event (`o11y schema`), which the declaration of the event "
            "(`schemas/request_event.py`) generates.\n\n<!-- --8<-- [start:event-fields] -->\n" + field_table()
            + "<!-- --8<-- [end:event-fields] -->\n"
            "\n## Session fields\n\nFrom the JSON Schema of one session (`POST /ingest/session-metrics`), which its "
            "declaration (`schemas/session_event.py`) generates.\n\n<!-- --8<-- [start:session-fields] -->\n"
            + field_table(wire_json_schema(SessionMetricsParams, "/ingest/session-metrics", "One finished agent session"))
            + "<!-- --8<-- [end:session-fields] -->\n")
