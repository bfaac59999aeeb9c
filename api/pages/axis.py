"""Chart axes (pure): the scale, round steps, time ticks, and labels people read (−5,000 %, 12.5k, 0.05 %, Aug 04),
with how wide they are drawn, so that a chart makes room for its labels instead of cutting them off."""

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


def along(x: float, width: float, room: int) -> tuple[float, str]:
    """Where a label centred under `x` is drawn so that it stays whole: against an edge when it would cross it."""
    if x - width / 2 < 1:
        return 1.0, "start"
    if x + width / 2 > room - 1:
        return float(room - 1), "end"
    return x, "middle"


LEFT, RIGHT, TOP, BOTTOM = 56, 12, 10, 24
"""The plot's margins inside the chart; the left one grows with the widest value label."""


class Scale:
    """Where a chart `width` × `height` draws the times of [start, end) and values: linear from zero, or with `log_floor`
    on a log scale from it up; `values` (every one drawn, thresholds too) set the top."""

    def __init__(self, values: list[float], unit: str, log_floor: float | None, start: datetime, end: datetime, width: int,
                 height: int) -> None:
        self.start, self.end = start, end
        self.y0, self.y1 = height - BOTTOM, TOP
        self.log = log_floor is not None
        if self.log:
            floor = log_floor or 0.01
            self.low = math.log10(floor)
            self.high = math.log10(max([floor * 10, *values]) * 1.1)
        else:
            low, high = min([0.0, *values]), max([0.0, *values])
            self.low, self.high = low * 1.1, (high * 1.1 or (0.0 if low < 0 else 1.0))
        self.labels = [(tick, number(tick, unit)) for tick in self.y_ticks()]
        widest = max([text_width(label) for _, label in self.labels] + [0.0])
        self.x0, self.x1 = max(LEFT, math.ceil(widest) + 8), width - RIGHT

    def x(self, at: datetime) -> float:
        span = (self.end - self.start).total_seconds() or 1.0
        share = (at - self.start).total_seconds() / span
        return round(self.x0 + max(0.0, min(1.0, share)) * (self.x1 - self.x0), 1)

    def y(self, value: float) -> float:
        if self.log:
            value = math.log10(max(value, 10 ** self.low))
        share = (value - self.low) / ((self.high - self.low) or 1.0)
        return round(self.y0 - max(0.0, min(1.0, share)) * (self.y0 - self.y1), 1)

    def y_ticks(self) -> list[float]:
        if self.log:
            return [10.0 ** p for p in range(math.ceil(self.low), math.floor(self.high) + 1)]
        step = nice_step(self.high - self.low)
        first = math.ceil(self.low / step)
        return [i * step for i in range(first, int(self.high / step) + 1)]
