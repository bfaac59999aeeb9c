"""Chart axes (pure): round steps, time ticks, and labels people read (−5,000 %, 12.5k, 0.05 %, Aug 04), with how wide
they are drawn, so that a chart makes room for its labels instead of cutting them off."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

FONT_PX = 10
"""The charts' label size (`svg .tick` in the pages' style)."""
_EM = {**dict.fromkeys("0123456789$#?", 0.64), **dict.fromkeys(" .,:;'|!il()[]-/", 0.4), **dict.fromkeys("%mwMW…", 1.0),
       **dict.fromkeys("−+=≤≥→×", 0.84)}
"""Advance widths in em, rounded up from DejaVu Sans (wider than most sans fonts a browser picks)."""


def text_width(text: str) -> float:
    """How wide `text` is drawn at the charts' label size, at most."""
    return FONT_PX * sum(_EM.get(c, 0.76 if c.isupper() else 0.66) for c in text)


def nice_step(span: float, ticks: int = 4) -> float:
    """A round step (1, 2 or 5 × 10^n) that cuts `span` into about `ticks` parts."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    return float(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def plain(value: float) -> str:
    """A number as people write it: thousands separated, three significant digits below 100, never an exponent, and
    a true minus sign."""
    if not math.isfinite(value) or value == 0:
        return "0"
    magnitude = abs(value)
    digits = 0 if magnitude >= 100 else min(9, 2 - math.floor(math.log10(magnitude)))
    text = f"{magnitude:,.{digits}f}"
    text = text.rstrip("0").rstrip(".") if "." in text else text
    return "0" if text == "0" else ("−" if value < 0 else "") + text


def number(value: float, unit: str = "") -> str:
    """Axis and tooltip text: 35 %, −5,000 %, 14.4x, 12.5k, 900 ms."""
    if unit == "%":
        return f"{plain(value * 100)} %"
    if unit == "x":
        return f"{plain(value)}x"
    magnitude = abs(value)
    scaled, suffix = next(((value / size, suffix) for above, size, suffix in ((1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k"))
                           if magnitude >= above), (value, ""))
    return f"{plain(scaled)}{suffix} {unit}".strip()


TIME_STEPS = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86_400, 2 * 86_400, 7 * 86_400)


def time_ticks(start: datetime, end: datetime, ticks: int = 6) -> list[datetime]:
    span = (end - start).total_seconds()
    step = next((s for s in TIME_STEPS if span / s <= ticks), TIME_STEPS[-1])
    epoch = int(start.timestamp())
    first = epoch - epoch % step + (step if epoch % step else 0)
    return [datetime.fromtimestamp(t, timezone.utc) for t in range(first, int(end.timestamp()) + 1, step)]


def time_label(at: datetime, span: timedelta) -> str:
    if span > timedelta(days=2):
        return f"{at:%b %d}" if at.hour == 0 else f"{at:%d %H:%M}"
    return f"{at:%H:%M}"
