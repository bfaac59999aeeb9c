"""Charts drawn on the server as SVG (pure): time series with thresholds and incident bands, sparklines, bars.

No script runs in the browser to draw them, so a page is readable as soon as its HTML arrives. Every series is one
`<path>` with `data-series` (its name) and `data-points` (how many values it drew), so a test can count what was drawn.
Gaps (None) break a line instead of pretending a value of zero.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from markupsafe import Markup, escape

from api.pages.axis import FONT_PX, Scale, along, text_width, time_label, time_ticks

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


def line_chart(chart: Chart) -> Markup:
    """A time series chart: axes, grid, bands, thresholds (dashed, labelled), one path per series, a legend."""
    values = [v for s in chart.series for _, v in s.points if v is not None and math.isfinite(v)]
    scale = Scale([*values, *(t.value for t in chart.thresholds)], chart.unit, chart.log_floor, chart.start, chart.end,
                  chart.width, chart.height)
    parts = [f'<svg class="chart" viewBox="0 0 {chart.width} {chart.height}" role="img" '
             f'aria-label="{escape(chart.title)}" preserveAspectRatio="none">',
             *_bands(chart, scale), *_y_axis(scale), *_x_axis(chart, scale), *_thresholds(chart, scale),
             *_lines(chart, scale),
             f'<line class="axis" x1="{scale.x0}" x2="{scale.x1}" y1="{scale.y0}" y2="{scale.y0}"/></svg>']
    legend = "".join(f'<span class="key {s.css}">{escape(s.name)}</span>' for s in chart.series)
    return Markup(f'<figure class="panel"><figcaption>{escape(chart.title)}<span class="legend">{legend}</span>'
                  f'</figcaption>{"".join(parts)}</figure>')


def _bands(chart: Chart, scale: Scale) -> list[str]:
    found = []
    for band in chart.bands:
        a, b = scale.x(max(band.start, chart.start)), scale.x(min(band.end, chart.end))
        found.append(f'<rect class="{band.css}" x="{a}" y="{scale.y1}" width="{max(1.0, b - a)}" '
                     f'height="{scale.y0 - scale.y1}"><title>{escape(band.label)}</title></rect>')
    return found


def _y_axis(scale: Scale) -> list[str]:
    """A grid line and a label at each value tick."""
    found = []
    for tick, label in scale.labels:
        y = scale.y(tick)
        found.append(f'<line class="grid" x1="{scale.x0}" x2="{scale.x1}" y1="{y}" y2="{y}"/>'
                     f'<text class="tick" x="{scale.x0 - 4}" y="{max(y + 4, FONT_PX)}" text-anchor="end">{escape(label)}</text>')
    return found


def _x_axis(chart: Chart, scale: Scale) -> list[str]:
    span, found = chart.end - chart.start, []
    for at in time_ticks(chart.start, chart.end):
        label = time_label(at, span)
        x, anchor = along(scale.x(at), text_width(label), chart.width)
        found.append(f'<text class="tick" x="{x}" y="{chart.height - 6}" text-anchor="{anchor}">{label}</text>')
    return found


def _thresholds(chart: Chart, scale: Scale) -> list[str]:
    found = []
    for threshold in chart.thresholds:
        y = scale.y(threshold.value)
        below = y - 3 - FONT_PX < 0  # a line at the top of the chart: its label goes under it
        found.append(f'<line class="{threshold.css}" data-threshold="{escape(threshold.label)}" x1="{scale.x0}" '
                     f'x2="{scale.x1}" y1="{y}" y2="{y}"/><text class="limit-label" x="{scale.x1 - 2}" '
                     f'y="{y + FONT_PX + 1 if below else y - 3}" text-anchor="end">{escape(threshold.label)}</text>')
    return found


def _lines(chart: Chart, scale: Scale) -> list[str]:
    found = []
    for series in chart.series:
        path, drawn = _path([None if value is None or not math.isfinite(value) else (scale.x(at), scale.y(value))
                             for at, value in series.points])
        found.append(f'<path class="line {series.css}" data-series="{escape(series.name)}" data-points="{drawn}" '
                     f'd="{path}"><title>{escape(series.name)}</title></path>')
    return found


def _path(points: Sequence[tuple[float, float] | None]) -> tuple[str, int]:
    """An SVG path through the points, lifted at each gap (None), and how many points it drew."""
    steps: list[str] = []
    for i, point in enumerate(points):
        if point is not None:
            steps.append(f"{'L' if i and points[i - 1] is not None else 'M'}{point[0]},{point[1]}")
    return " ".join(_dots(steps)) or "M0,0", len(steps)


def _dots(path: list[str]) -> list[str]:
    """A run of one point is a line of no length: give it a dot's width (drawn with round caps)."""
    return [f"{step} h0.01" if step[0] == "M" and (i + 1 == len(path) or path[i + 1][0] == "M") else step
            for i, step in enumerate(path)]


def sparkline(values: Sequence[float | None], limit: float = 1.0, width: int = 96, height: int = 22) -> Markup:
    """A tiny burn-rate line (one value per hour), with the level `limit` (1x: spending exactly the budget) dashed."""
    known = [v for v in values if v is not None]
    top: float = max([limit * 2, *known]) if known else limit * 2
    step = width / max(1, len(values) - 1)
    path, drawn = _path([None if v is None else (round(i * step, 1), round(height - 1 - min(v, top) / top * (height - 2), 1))
                         for i, v in enumerate(values)])
    level = round(height - 1 - limit / top * (height - 2), 1)
    hot = " hot" if known and known[-1] >= limit else ""
    return Markup(f'<svg class="spark{hot}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
                  f'aria-hidden="true"><line class="spark-limit" x1="0" x2="{width}" y1="{level}" y2="{level}"/>'
                  f'<path class="spark-line" data-points="{drawn}" d="{path}"/></svg>')


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
