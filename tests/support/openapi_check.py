"""Answers checked against the API's own OpenAPI description (JSON Schema 2020-12, `$ref`s resolved in the document)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft202012Validator


def check_answer(document: dict[str, Any], path: str, body: Any, method: str = "get", status: str = "200",
                 content: str = "application/json") -> None:
    """Raises (with the path in the body that is wrong) unless `body` is what the description promises."""
    escaped = path.replace("~", "~0").replace("/", "~1")
    content = content.replace("~", "~0").replace("/", "~1")
    root = {"$ref": f"#/paths/{escaped}/{method}/responses/{status}/content/{content}/schema",
            "paths": document["paths"], "components": document["components"]}
    Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER).validate(body)
