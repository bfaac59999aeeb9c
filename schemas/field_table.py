"""The table of event fields on docs/gateways/event-fields.md, rendered from the JSON Schema that validates them."""

from __future__ import annotations

from typing import Any

from schemas.api_metrics import MAX_SAFE_INTEGER, wire_json_schema


def _length(prop: dict[str, Any], noun: str) -> str:
    low, high = prop.get("minLength"), prop.get("maxLength")
    if low and high:
        return f"{noun}, {low}–{high} characters"
    if high:
        return f"{noun}, at most {high} characters"
    return f"{noun}, at least {low} character{'s' if low != 1 else ''}" if low else noun


def _integer(prop: dict[str, Any]) -> str:
    high = prop.get("maximum")
    return f"integer, {prop.get('minimum', 0)} to {'2^53−1' if high == MAX_SAFE_INTEGER else high}"


def type_and_rule(prop: dict[str, Any], definitions: dict[str, Any]) -> str:
    """One property's type and limits in words, e.g. "string, 1–256 characters"."""
    if "$ref" in prop:
        target = definitions[prop["$ref"].rsplit("/", 1)[-1]]
        return f"object: {', '.join(f'`{name}`' for name in target['properties'])} (see below)"
    if "anyOf" in prop:
        return " or ".join(f"{v['format'].replace('ipv', 'IPv')}" for v in prop["anyOf"]) + " address"
    kind = prop.get("type")
    if prop.get("format") == "uuid":
        return "UUID string"
    if "enum" in prop:
        return "one of " + ", ".join(f"`{value}`" for value in prop["enum"])
    if kind == "string":
        return _length(prop, "string")
    if kind == "number":
        return f"number, {prop.get('minimum', 0)} to {prop['maximum']:,.0f}" if "maximum" in prop else "number"
    if kind == "object" and "additionalProperties" in prop:
        key = _length(prop.get("propertyNames", {}), "name")
        return (f"object of at most {prop['maxProperties']} entries (may be empty): {key} → "
                f"{type_and_rule(prop['additionalProperties'], definitions)}")
    if kind == "integer":
        return _integer(prop)
    if kind == "array":
        items = type_and_rule(prop["items"], definitions)
        return f"array of at most {prop['maxItems']} items (may be empty), each a {items}"
    return str(kind)


def _rows(definition: dict[str, Any], definitions: dict[str, Any]) -> list[str]:
    required = set(definition.get("required", []))
    return [f"| `{name}` | {type_and_rule(prop, definitions)} | {_required(name in required, prop)} | "
            f"{prop.get('description', '')} |" for name, prop in definition["properties"].items()]


def _required(required: bool, prop: dict[str, Any]) -> str:
    if required:
        return "yes"
    return f"no (`{prop['default']!r}`)".replace("'", '"') if "default" in prop and prop["default"] is not None else "no"


def field_table(schema: dict[str, Any] | None = None) -> str:
    """Markdown: every field of one event (a request's, unless `schema` is another type's), then every field of each
    nested object."""
    schema = schema or wire_json_schema()
    definitions = schema.get("$defs", {})
    lines = ["| field | type and rule | required | meaning |", "|---|---|---|---|", *_rows(schema, definitions)]
    for name, definition in definitions.items():
        lines += ["", f"`{name}`: {definition.get('description', '')}", "",
                  "| field | type and rule | required | meaning |", "|---|---|---|---|", *_rows(definition, definitions)]
    return "\n".join(lines) + "\n"
