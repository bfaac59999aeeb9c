"""JSON objects a broken or hostile writer sends: a good object with some fields dropped, retyped or repeated."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st


def json_values(*samples: str) -> st.SearchStrategy[Any]:
    """Any JSON value, small, with `samples` (texts that look like what a field holds) among the strings."""
    return st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
        | st.sampled_from(["", "1.5", "45", *samples]),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=8,
    )


def mangled(draw: st.DrawFn, good: dict[str, Any], values: st.SearchStrategy[Any]) -> str:
    """`good` as JSON text after up to three changes, each dropping a field, retyping it or repeating its key."""
    pairs = list(good.items())
    for _ in range(draw(st.integers(0, 3))):
        if not pairs:
            break
        at = draw(st.integers(0, len(pairs) - 1))
        change = draw(st.sampled_from(["drop", "retype", "repeat"]))
        if change == "drop":
            pairs.pop(at)
        elif change == "retype":
            pairs[at] = (pairs[at][0], draw(values))
        else:
            pairs.insert(draw(st.integers(0, len(pairs))), (pairs[at][0], draw(values)))
    ascii_only = draw(st.booleans())
    return "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v, ensure_ascii=ascii_only)}" for k, v in pairs) + "}"
