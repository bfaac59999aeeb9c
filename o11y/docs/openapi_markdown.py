"""An OpenAPI 3.1 document as a Markdown reference page: every operation in the document's order, then its schemas."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from o11y.docs.json_schema_words import Link, schema_words, with_default

METHODS = ("get", "put", "post", "patch", "delete")


def _cell(text: str) -> str:
    """Table cells hold one line; a `|` inside one would end it."""
    return " ".join(text.split()).replace("|", "\\|")


def _linker(schemas: Mapping[str, Any]) -> Link:
    """Named schemas of the document link to their section below; others (a model's `$defs`) are named in code."""
    return lambda name: f"[`{name}`](#{name.lower()})" if name in schemas else f"`{name}`"


def _scheme(name: str, scheme: Mapping[str, Any]) -> str:
    if scheme.get("type") == "http" and scheme.get("scheme") == "bearer":
        return "`Authorization: Bearer …`"
    if scheme.get("type") == "apiKey":
        return f"{scheme['in']} `{scheme['name']}`"
    return f"`{name}`"


def _security(operation: Mapping[str, Any], schemes: Mapping[str, Any]) -> str:
    requirements = operation.get("security") or []
    ways = [" and ".join(_scheme(name, schemes.get(name, {})) for name in requirement) for requirement in requirements]
    named = [way for way in ways if way]
    if not named:
        return "none"
    either = named[0] if len(named) == 1 else "any of " + ", ".join(named)
    return either + (", or none" if len(named) < len(ways) else "")


def field_table(schema: Mapping[str, Any], link: Link) -> list[str]:
    """One row per property: name, type in words (with its default), required or not, what it means."""
    required = set(schema.get("required", ()))
    rows = ["| field | type | required | meaning |", "|---|---|---|---|"]
    rows += [f"| `{name}` | {_cell(with_default(prop, link))} | {'yes' if name in required else 'no'} | "
             f"{_cell(prop.get('description', ''))} |" for name, prop in schema["properties"].items()]
    return [*rows, ""]


def _parameters(parameters: list[Mapping[str, Any]], link: Link) -> list[str]:
    if not parameters:
        return []
    rows = ["| parameter | in | required | type | meaning |", "|---|---|---|---|---|"]
    rows += [f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} | "
             f"{_cell(with_default(p.get('schema', {}), link))} | {_cell(p.get('description', ''))} |" for p in parameters]
    return [*rows, ""]


def _definitions(schema: Mapping[str, Any], link: Link) -> list[str]:
    """The `$defs` a request model carries with it, each as its own table."""
    lines: list[str] = []
    for name, definition in schema.get("$defs", {}).items():
        lines += [f"`{name}`: {definition.get('description', '')}".rstrip(), ""]
        lines += field_table(definition, link) if "properties" in definition else [schema_words(definition, link), ""]
    return lines


def _request_body(body: Mapping[str, Any] | None, link: Link) -> list[str]:
    if not body:
        return []
    lines: list[str] = []
    for media, content in body.get("content", {}).items():
        schema = content.get("schema", {})
        needed = "required" if body.get("required") else "optional"
        inline = "properties" in schema and "$ref" not in schema
        lines += [f"Request body (`{media}`, {needed}){':' if inline else ': ' + schema_words(schema, link) + '.'}", ""]
        if inline:
            lines += ([schema["description"], ""] if schema.get("description") else []) + field_table(schema, link)
            lines += _definitions(schema, link)
    return lines


def _answer_body(answer: Mapping[str, Any], link: Link) -> str:
    bodies = [f"`{media}`: {schema_words(content.get('schema', {}), link)}"
              for media, content in answer.get("content", {}).items()]
    return "; ".join(bodies) or "empty"


def _answers(responses: Mapping[str, Any], link: Link) -> list[str]:
    rows = ["| answer | meaning | body |", "|---|---|---|"]
    for status, answer in responses.items():
        headers = "".join(f"; header `{name}`: {header.get('description', schema_words(header.get('schema', {})))}"
                          for name, header in answer.get("headers", {}).items())
        rows.append(f"| `{status}` | {_cell(answer.get('description', '') + headers)} | {_cell(_answer_body(answer, link))} |")
    return [*rows, ""]


def _operation(method: str, path: str, operation: Mapping[str, Any], document: Mapping[str, Any]) -> list[str]:
    components = document.get("components", {})
    link = _linker(components.get("schemas", {}))
    lines = [f"## `{method.upper()} {path}`", "", operation.get("summary", ""), ""]
    lines += [operation["description"], ""] if operation.get("description") else []
    lines += [f"Authentication: {_security(operation, components.get('securitySchemes', {}))}.", ""]
    lines += _parameters(operation.get("parameters", []), link)
    lines += _request_body(operation.get("requestBody"), link)
    return lines + _answers(operation.get("responses", {}), link)


def _schema_section(name: str, schema: Mapping[str, Any], link: Link) -> list[str]:
    lines = [f"### `{name}`", ""]
    lines += [schema["description"], ""] if schema.get("description") else []
    return lines + (field_table(schema, link) if "properties" in schema else [schema_words(schema, link) + ".", ""])


def openapi_markdown(document: Mapping[str, Any], title: str, served_at: str) -> str:
    """The page: `title`, the document's description, where it is served, each operation, each named schema."""
    info = document["info"]
    lines = [f"# {title}", "", info.get("description", ""), "",
             f"Generated from the OpenAPI {document['openapi']} description (version {info['version']}) that {served_at} "
             "serves at `GET /openapi.json`; regenerate with `python -m o11y.docs`.", ""]
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                lines += _operation(method, path, item[method], document)
    schemas = document.get("components", {}).get("schemas", {})
    if schemas:
        lines += ["## Schemas", ""]
        for name, schema in schemas.items():
            lines += _schema_section(name, schema, _linker(schemas))
    return "\n".join(lines).rstrip("\n") + "\n"

