"""Charts drawn on the server as SVG (pure): time series with thresholds and incident bands, sparklines, bars.

No script runs in the browser to draw them, so a page is readable as soon as its HTML arrives. Every series is one
`<path>` with `data-series` (its name) and `data-points` (how many values it drew), so a test can count what was drawn.
Gaps (None) break a line instead of pretending a value of zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from markupsafe import Markup, escape

from api.pages.axis import FONT_PX, nice_step, number, text_width, time_label, time_ticks

Point = tuple[datetime, float | None]


@dataclass(frozen=True)
class Series:
    name: str
    points: Sequence[Point]
    css: str = "s0"


@dataclass(frozen=True)
class Threshold:
    label: str
    value: float
    css: str = "limit"


@dataclass(frozen=True)
class Band:
    """A span of time shaded behind the lines (an incident), with a tooltip."""

    start: datetime
    end: datetime
    label: str
    css: str = "band"


@dataclass(frozen=True)
class Chart:
    title: str
    series: Sequence[Series]
    start: datetime
    end: datetime
    unit: str = ""
    thresholds: Sequence[Threshold] = ()
    bands: Sequence[Band] = ()
    log_floor: float | None = None
    """Draw the y axis on a log scale from this value up (burn rates); None: linear from zero."""
    width: int = 720
    height: int = 220
    extra: dict[str, str] = field(default_factory=dict)


LEFT, RIGHT, TOP, BOTTOM = 56, 12, 10, 24
"""The plot's margins inside the chart; the left one grows with the widest value label."""


class _Scale:
    def __init__(self, chart: Chart) -> None:
        self.chart = chart
        self.y0, self.y1 = chart.height - BOTTOM, TOP
        values = [v for s in chart.series for _, v in s.points if v is not None and math.isfinite(v)]
        values += [t.value for t in chart.thresholds]
        self.log = chart.log_floor is not None
        if self.log:
            floor = chart.log_floor or 0.01
            self.low = math.log10(floor)
            self.high = math.log10(max([floor * 10, *values]) * 1.1)
        else:
            low, high = min([0.0, *values]), max([0.0, *values])
            self.low, self.high = low * 1.1, (high * 1.1 or (0.0 if low < 0 else 1.0))
        self.labels = [(tick, number(tick, chart.unit)) for tick in self.y_ticks()]
        widest = max([text_width(label) for _, label in self.labels] + [0.0])
        self.x0, self.x1 = max(LEFT, math.ceil(widest) + 8), chart.width - RIGHT

    def x(self, at: datetime) -> float:
        span = (self.chart.end - self.chart.start).total_seconds() or 1.0
        share = (at - self.chart.start).total_seconds() / span
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


def line_chart(chart: Chart) -> Markup:
    """A time series chart: axes, grid, bands, thresholds (dashed, labelled), one path per series, a legend."""
    scale = _Scale(chart)
    parts = [f'<svg class="chart" viewBox="0 0 {chart.width} {chart.height}" role="img" '
             f'aria-label="{escape(chart.title)}" preserveAspectRatio="none">']
    for band in chart.bands:
        a, b = scale.x(max(band.start, chart.start)), scale.x(min(band.end, chart.end))
        parts.append(f'<rect class="{band.css}" x="{a}" y="{scale.y1}" width="{max(1.0, b - a)}" '
                     f'height="{scale.y0 - scale.y1}"><title>{escape(band.label)}</title></rect>')
    for tick, label in scale.labels:
        y = scale.y(tick)
        parts.append(f'<line class="grid" x1="{scale.x0}" x2="{scale.x1}" y1="{y}" y2="{y}"/>'
                     f'<text class="tick" x="{scale.x0 - 4}" y="{max(y + 4, FONT_PX)}" text-anchor="end">'
                     f'{escape(label)}</text>')
    span = chart.end - chart.start
    for at in time_ticks(chart.start, chart.end):
        label = time_label(at, span)
        x, anchor = _along(scale.x(at), text_width(label), chart.width)
        parts.append(f'<text class="tick" x="{x}" y="{chart.height - 6}" text-anchor="{anchor}">{label}</text>')
    for threshold in chart.thresholds:
        y = scale.y(threshold.value)
        below = y - 3 - FONT_PX < 0  # a line at the top of the chart: its label goes under it
        parts.append(f'<line class="{threshold.css}" data-threshold="{escape(threshold.label)}" x1="{scale.x0}" '
                     f'x2="{scale.x1}" y1="{y}" y2="{y}"/><text class="limit-label" x="{scale.x1 - 2}" '
                     f'y="{y + FONT_PX + 1 if below else y - 3}" text-anchor="end">{escape(threshold.label)}</text>')
    for series in chart.series:
        drawn, path, pen_down = 0, [], False
        for at, value in series.points:
            if value is None or not math.isfinite(value):
                pen_down = False
                continue
            path.append(f"{'L' if pen_down else 'M'}{scale.x(at)},{scale.y(value)}")
            pen_down, drawn = True, drawn + 1
        path = _dots(path)
        parts.append(f'<path class="line {series.css}" data-series="{escape(series.name)}" data-points="{drawn}" '
                     f'd="{" ".join(path) or "M0,0"}"><title>{escape(series.name)}</title></path>')
    parts.append(f'<line class="axis" x1="{scale.x0}" x2="{scale.x1}" y1="{scale.y0}" y2="{scale.y0}"/></svg>')
    legend = "".join(f'<span class="key {s.css}">{escape(s.name)}</span>' for s in chart.series)
    return Markup(f'<figure class="panel"><figcaption>{escape(chart.title)}<span class="legend">{legend}</span>'
                  f'</figcaption>{"".join(parts)}</figure>')


def _along(x: float, width: float, room: int) -> tuple[float, str]:
    """Where a label centred under `x` is drawn so that it stays whole: against an edge when it would cross it."""
    if x - width / 2 < 1:
        return 1.0, "start"
    if x + width / 2 > room - 1:
        return float(room - 1), "end"
    return x, "middle"


def _dots(path: list[str]) -> list[str]:
    """A run of one point is a line of no length: give it a dot's width (drawn with round caps)."""
    return [f"{step} h0.01" if step[0] == "M" and (i + 1 == len(path) or path[i + 1][0] == "M") else step
            for i, step in enumerate(path)]


def sparkline(values: Sequence[float | None], limit: float = 1.0, width: int = 96, height: int = 22) -> Markup:
    """A tiny burn-rate line (one value per hour), with the level `limit` (1x: spending exactly the budget) dashed."""
    known = [v for v in values if v is not None]
    top: float = max([limit * 2, *known]) if known else limit * 2
    step = width / max(1, len(values) - 1)
    path: list[str] = []
    drawn, pen_down = 0, False
    for i, value in enumerate(values):
        if value is None:
            pen_down = False
            continue
        y = round(height - 1 - min(value, top) / top * (height - 2), 1)
        path.append(f"{'L' if pen_down else 'M'}{round(i * step, 1)},{y}")
        pen_down, drawn = True, drawn + 1
    level = round(height - 1 - limit / top * (height - 2), 1)
    hot = " hot" if known and known[-1] >= limit else ""
    return Markup(f'<svg class="spark{hot}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
                  f'aria-hidden="true"><line class="spark-limit" x1="0" x2="{width}" y1="{level}" y2="{level}"/>'
                  f'<path class="spark-line" data-points="{drawn}" d="{" ".join(_dots(path)) or "M0,0"}"/></svg>')


def bars(rows: Sequence[tuple[str, float | None]], label: Callable[[float | None], str], width: int = 360) -> Markup:
    """Horizontal bars, longest first as given: a name (shortened to fit, whole in its tooltip), a bar, the value as
    `label` writes it (the tables' own format: None is drawn as no bar, with the tables' word for it)."""
    top = max([v or 0.0 for _, v in rows] + [0.0]) or 1.0
    height = 18 * len(rows) + 4
    texts = [label(value) for _, value in rows]
    room = width - BAR_X - 8 - max([text_width(t) for t in texts] + [0.0])
    parts = [f'<svg class="bars" viewBox="0 0 {width} {height}" role="img" aria-label="bars">']
    for i, ((name, value), text) in enumerate(zip(rows, texts, strict=True)):
        y = 2 + 18 * i
        length = round(max(0.0, (value or 0.0) / top * room), 1)
        parts.append(f'<text class="tick" x="{BAR_X - 4}" y="{y + 12}" text-anchor="end">{escape(_fit(name, BAR_X - 6))}'
                     f'<title>{escape(name)}</title></text>'
                     f'<rect class="bar" data-value="{value}" x="{BAR_X}" y="{y + 2}" width="{max(length, 0.5)}" height="12"/>'
                     f'<text class="tick value" data-name="{escape(name)}" x="{BAR_X + 4 + length}" y="{y + 12}">'
                     f'{escape(text)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


BAR_X = 124
"""Where the bars start: the names are drawn to the left of it."""


def _fit(name: str, room: float) -> str:
    """`name`, cut with an ellipsis to fit `room` pixels."""
    if text_width(name) <= room:
        return name
    while len(name) > 1 and text_width(name + "…") > room:
        name = name[:-1]
    return name + "…"
