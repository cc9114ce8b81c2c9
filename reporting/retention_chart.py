"""Retention curves as geometry for an inline SVG: one line per group (the largest few), the
share of its installs back on each day or week, weighted by cohort size over the cohorts that
have reached that day. Drawn server-side, like the overview's chart: no script, no library."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from reporting.overview.chart import Tick, nice_ceiling
from reporting.retention import Cohort

WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 16, 16, 36
MAX_LINES = 6


@dataclass(frozen=True)
class Curve:
    name: str
    series: int  # 0..5, the CSS class that colours it
    points: str  # "x,y x,y …" for <polyline>
    rates: list[float | None]  # per day/week, for the table under the chart


@dataclass
class RetentionChart:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    curves: list[Curve] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    x_labels: list[Tick] = field(default_factory=list)


def average_curves(cohorts: list[Cohort], columns: int) -> dict[str, list[float | None]]:
    """Per group, retention on each day/week over the cohorts that have reached it."""
    back: dict[str, list[int]] = defaultdict(lambda: [0] * columns)
    size: dict[str, list[int]] = defaultdict(lambda: [0] * columns)
    installs: dict[str, int] = defaultdict(int)
    for cohort in cohorts:
        installs[cohort.group] += cohort.installs
        for index, users in enumerate(cohort.retained):
            if users is not None:
                back[cohort.group][index] += users
                size[cohort.group][index] += cohort.installs
    largest = sorted(installs, key=lambda name: -installs[name])[:MAX_LINES]
    return {
        name: [b / s if s else None for b, s in zip(back[name], size[name], strict=True)]
        for name in largest
    }


def retention_chart(cohorts: list[Cohort], columns: int, unit: str) -> RetentionChart:
    chart = RetentionChart()
    curves = average_curves(cohorts, columns)
    if not curves:
        return chart
    top = min(
        1.0,
        nice_ceiling(max((r for c in curves.values() for r in c if r), default=0.01) * 100) / 100,
    )
    plot_height = chart.bottom - chart.top
    step = (chart.right - chart.left) / max(columns - 1, 1)

    def x(index: int) -> float:
        return round(chart.left + index * step, 1)

    def y(rate: float) -> float:
        return round(chart.bottom - plot_height * rate / top, 1)

    for series, (name, rates) in enumerate(curves.items()):
        points = " ".join(f"{x(i)},{y(r)}" for i, r in enumerate(rates) if r is not None)
        chart.curves.append(Curve(name=name, series=series, points=points, rates=rates))
    chart.y_ticks = [Tick(y(top * k / 4), f"{top * k / 4:.0%}") for k in range(5)]
    every = max(1, columns // 10)
    chart.x_labels = [
        Tick(x(i), f"{unit}{i + 1}") for i in range(columns) if i % every == 0 or i == columns - 1
    ]
    return chart
