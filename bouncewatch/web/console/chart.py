"""Bounces per day by class as an SVG stacked bar chart, computed here, drawn by a template.

Only numbers and fixed class names reach the SVG; colours come from the stylesheet (classes
`bar-hard`, ...), so the page needs no inline style or script.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 10, 10, 30


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # (y, label) of the value axis
    labels: list[tuple[float, str]]  # (x, label) of the day axis
    baseline: float
    total: int


def _nice_max(value: int) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000):
        if value <= step * 4:
            return step * 4
    return value


def build(days: list[date], counts: dict[str, list[int]]) -> Chart:
    totals = [sum(series[i] for series in counts.values()) for i in range(len(days))]
    top = _nice_max(max(totals, default=0) or 1)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(days), 1)
    bar_w = max(slot * 0.7, 1.0)
    bars: list[Bar] = []
    for i, day in enumerate(days):
        y = TOP + plot_h
        for name, series in counts.items():
            n = series[i]
            if not n:
                continue
            h = plot_h * n / top
            y -= h
            bars.append(Bar(LEFT + i * slot + (slot - bar_w) / 2, y, bar_w, h, f"bar-{name}", f"{day.isoformat()}: {n} {name}"))
    ticks = [(TOP + plot_h - plot_h * k / 4, str(top * k // 4)) for k in range(5)]
    every = max(1, len(days) // 6)
    labels = [(LEFT + i * slot + slot / 2, d.strftime("%m-%d")) for i, d in enumerate(days) if i % every == 0]
    return Chart(WIDTH, HEIGHT, bars, ticks, labels, TOP + plot_h, sum(totals))
