"""A JSON Schema in a few words for a reference table: "string, 1–256 characters", "integer, 1 to 10,000 or null"."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

MAX_SAFE_INTEGER = 2**53 - 1
FORMATS = {"uuid": "UUID", "date-time": "ISO 8601 date-time", "ipv4": "IPv4 address", "ipv6": "IPv6 address"}
Link = Callable[[str], str]
"""Writes a reference to a named schema: a link to its section, or just its name."""


def in_code(name: str) -> str:
    return f"`{name}`"


def _literal(value: Any) -> str:
    """A JSON value as the reader would type it: `false`, not `False`."""
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def _number(value: Any) -> str:
    if value == MAX_SAFE_INTEGER:
        return "2^53−1"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, int) else str(value)


def _bounds(schema: Mapping[str, Any]) -> str:
    low = (f"at least {_number(schema['minimum'])}" if "minimum" in schema
           else f"above {_number(schema['exclusiveMinimum'])}" if "exclusiveMinimum" in schema else "")
    high = (f"at most {_number(schema['maximum'])}" if "maximum" in schema
            else f"below {_number(schema['exclusiveMaximum'])}" if "exclusiveMaximum" in schema else "")
    if "minimum" in schema and "maximum" in schema:
        return f" ({_number(schema['minimum'])} to {_number(schema['maximum'])})"
    return " (" + " and ".join(part for part in (low, high) if part) + ")" if low or high else ""


def _length(schema: Mapping[str, Any], unit: str) -> str:
    low, high = schema.get(f"min{unit}"), schema.get(f"max{unit}")
    noun = "characters" if unit == "Length" else "items"
    if low and high:
        return f" ({low}–{high} {noun})"
    if high:
        return f" (at most {high} {noun})"
    return f" (at least {low} {noun})" if low else ""


def reference_name(ref: str) -> str:
    """`#/components/schemas/UsageStats` and `#/$defs/OverrideMatch` are both `UsageStats`, `OverrideMatch`."""
    return ref.rsplit("/", 1)[-1]


def _alternatives(options: list[Mapping[str, Any]], link: Link) -> str:
    named = [schema_words(option, link) for option in options if option.get("type") != "null"]
    nullable = len(named) < len(options)
    return " or ".join(named) + (" or null" if nullable else "")


def _typed(schema: Mapping[str, Any], kind: str, link: Link) -> str:
    if kind == "string" and "format" in schema:
        return f"{FORMATS.get(schema['format'], schema['format'])} string" + _length(schema, "Length")
    if kind == "string":
        return "string" + _length(schema, "Length") + (f" matching `{schema['pattern']}`" if "pattern" in schema else "")
    if kind in {"integer", "number"}:
        return kind + _bounds(schema)
    if kind == "array":
        return f"array{_length(schema, 'Items')} of {schema_words(schema.get('items', {}), link)}"
    if kind == "object" and "properties" in schema:
        return "object: " + ", ".join(f"`{name}`" for name in schema["properties"])
    return kind


def schema_words(schema: Mapping[str, Any], link: Link = in_code) -> str:
    """The schema in words, e.g. "string (1–256 characters) or null"; named schemas are written by `link`."""
    if "$ref" in schema:
        return link(reference_name(schema["$ref"]))
    if "anyOf" in schema or "oneOf" in schema:
        return _alternatives(schema.get("anyOf") or schema["oneOf"], link)
    if "const" in schema:
        return _literal(schema["const"])
    if "enum" in schema:
        return "one of " + ", ".join(f"`{value}`" for value in schema["enum"])
    kind = schema.get("type")
    if not kind and "format" in schema:
        return str(FORMATS.get(schema["format"], schema["format"]))
    if isinstance(kind, list):
        return " or ".join(_typed(schema, k, link) for k in kind)
    return _typed(schema, kind, link) if kind else "any JSON value"


def with_default(schema: Mapping[str, Any], link: Link = in_code) -> str:
    """The words, and the default when the schema has a meaningful one."""
    words = schema_words(schema, link)
    default = schema.get("default")
    if default is None or default == []:
        return words
    return f"{words}; default {_literal(default)}"
