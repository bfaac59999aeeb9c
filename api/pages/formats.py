"""How the pages write numbers, money, times and spans: one format per kind, for tables and charts alike (pure)."""

from __future__ import annotations

import math
from datetime import datetime, timezone

from api.pages.axis import plain


def pct(value: float | None, digits: int = 1) -> str:
    """A share as a percentage, as the charts write it: 99.9 %, −8,900.0 %."""
    return "–" if value is None or not math.isfinite(value) else f"{value * 100:,.{digits}f} %".replace("-", "−")


def when(value: str | datetime | None) -> str:
    if value is None:
        return "–"
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return f"{at.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC"


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f} ms"


def speed(value: float | None) -> str:
    """Output tokens per second: 20 tokens/s, 66.7 tokens/s."""
    return "–" if value is None or not math.isfinite(value) else f"{plain(value)} tokens/s"


def levels(values: list[float | None], unit: str) -> str:
    """Percentiles in a table cell, two significant digits below 10: '0.31 / 1.2 / 25 s', '62 / 25 / –'."""
    shown = ["–" if v is None or not math.isfinite(v) else f"{v:,.0f}" if v >= 10 else f"{v:.2g}" for v in values]
    return " / ".join(shown) + unit


def usd(value: float | None) -> str:
    return "unpriced" if value is None else f"${value:,.2f}"


def count(value: int | float) -> str:
    return f"{value:,}"


def hours(value: float | None) -> str:
    """How long until something happens: 3.5 h."""
    return "–" if value is None else f"{value:.1f} h"


def times(value: float, digits: int = 1) -> str:
    """A burn rate: 14.4x."""
    return f"{value:.{digits}f}x"
