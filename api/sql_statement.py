"""Which statements `POST /v1/sql` runs: judged on ClickHouse's own rendering of the one statement it parsed (pure).

ClickHouse parses the caller's text (`formatQuerySingleLine`, with the text bound as a parameter, so nothing in it
runs) and renders it canonically: keywords in capitals, comments gone, every string a single-quoted literal. Here
that rendering is read token by token. Only reads pass: `SELECT`/`WITH`, `SHOW`, `DESCRIBE`, `EXISTS` and `EXPLAIN`
of a read. `INTO OUTFILE` (which writes a file where ClickHouse runs: chDB runs inside o11y) and a `FORMAT` clause
(the request's `format` chooses it) are refused anywhere in the statement.
"""

from __future__ import annotations

import re
from itertools import pairwise

READS = frozenset({"SELECT", "WITH", "SHOW", "DESCRIBE", "EXISTS", "EXPLAIN", "("})
EXPLAIN_KINDS = frozenset({"AST", "SYNTAX", "PLAN", "PIPELINE", "ESTIMATE", "QUERY", "TREE"})
_TOKEN = re.compile(r"""'(?:[^'\\]|\\.)*'|`(?:[^`\\]|\\.)*`|"(?:[^"\\]|\\.)*"|\w+|\S""", re.DOTALL)
_QUOTED = ("'", "`", '"')


def tokens(canonical: str) -> list[str]:
    """The rendering's words and symbols; a quoted literal or name stays one token (so its text is never a keyword)."""
    return _TOKEN.findall(canonical)


def refusal(canonical: str) -> str | None:
    """Why the statement ClickHouse rendered as `canonical` may not run here, or None when it only reads."""
    words = tokens(canonical)
    if not words:
        return "an empty statement"
    if words[0] not in READS:
        return (f"{_kind(words)} is not a read: only SELECT, WITH, SHOW, DESCRIBE, EXISTS and EXPLAIN of a SELECT "
                "run here")
    if words[0] == "EXPLAIN" and _explained(words) not in ("SELECT", "WITH", "("):
        return "EXPLAIN only of a SELECT"
    bare = [w for w in words if not w.startswith(_QUOTED)]
    for first, second in pairwise(bare):
        if (first, second) == ("INTO", "OUTFILE"):
            return "INTO OUTFILE writes a file where ClickHouse runs: the answer comes back in the response instead"
        if first == "FORMAT" and second != "(":
            return "a FORMAT clause: choose json, csv or tsv with the request's `format` field"
    return None


def _kind(words: list[str]) -> str:
    """The statement's leading keywords, as the reason names it (`KILL QUERY`, `SYSTEM FLUSH`)."""
    lead = [w for w in words[:2] if w.isalpha() and w.isupper()]
    return " ".join(lead) or words[0]


def _explained(words: list[str]) -> str | None:
    """The first word of the statement an EXPLAIN explains, after its kind and its `name = value` settings."""
    at = 1
    while at < len(words) and words[at] in EXPLAIN_KINDS:
        at += 1
    while at + 2 < len(words) and words[at + 1] == "=":
        at += 3
        if at < len(words) and words[at] == ",":
            at += 1
    return words[at] if at < len(words) else None
