"""The overview's daily chart as geometry for an inline SVG drawn by the template: installs as
bars on the right axis, spend and revenue as lines on the left (money) axis. Server-side, so the
page needs no chart library and reads the same without JavaScript."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

from reporting.overview.metrics import Day

WIDTH, HEIGHT = 760, 260
LEFT, RIGHT, TOP, BOTTOM = 64, 56, 16, 36
TICKS = 4
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM
    bars: list[Bar] = field(default_factory=list)
    spend_lines: list[str] = field(default_factory=list)
    revenue_lines: list[str] = field(default_factory=list)
    money_ticks: list[Tick] = field(default_factory=list)
    install_ticks: list[Tick] = field(default_factory=list)
    x_labels: list[Tick] = field(default_factory=list)
    shows_spend: bool = False
    shows_revenue: bool = False


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above `value` (1 for nothing)."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1_000:
        return f"{value / 1_000:g}k"
    return f"{value:g}"


def daily_chart(days: list[Day], *, shows_spend: bool, shows_revenue: bool) -> Chart:
    chart = Chart(shows_spend=shows_spend, shows_revenue=shows_revenue)
    if not days:
        return chart
    plot_height = chart.bottom - chart.top
    slot = (chart.right - chart.left) / len(days)
    money = [d.spend for d in days if shows_spend and d.spend is not None]
    money += [d.revenue for d in days if shows_revenue and d.revenue is not None]
    money_top = nice_ceiling(float(max(money, default=Decimal(0))))
    installs_top = nice_ceiling(float(max((d.installs for d in days), default=0)))

    def y_of(value: float, top: float) -> float:
        return round(chart.bottom - value / top * plot_height, 1)

    for n in range(TICKS + 1):
        share = n / TICKS
        y = round(chart.bottom - share * plot_height, 1)
        chart.money_ticks.append(Tick(y, _short(money_top * share)))
        chart.install_ticks.append(Tick(y, _short(installs_top * share)))
    every = max(1, math.ceil(len(days) / MAX_X_LABELS))
    for index, day in enumerate(days):
        centre = chart.left + slot * (index + 0.5)
        height = round(day.installs / installs_top * plot_height, 1)
        chart.bars.append(
            Bar(
                x=round(centre - slot * 0.3, 1),
                y=round(chart.bottom - height, 1),
                width=round(slot * 0.6, 1),
                height=height,
                title=f"{day.day:%Y-%m-%d}: {day.installs} installs",
            )
        )
        if index % every == 0:
            chart.x_labels.append(Tick(round(centre, 1), f"{day.day:%b %-d}"))
    if shows_spend:
        chart.spend_lines = _lines(days, "spend", slot, chart, money_top, y_of)
    if shows_revenue:
        chart.revenue_lines = _lines(days, "revenue", slot, chart, money_top, y_of)
    return chart


def _lines(days: list[Day], name: str, slot: float, chart: Chart, top: float, y_of) -> list[str]:
    """Polyline point lists; a day whose money is missing (no exchange rate) breaks the line."""
    lines, points = [], []
    for index, day in enumerate(days):
        value = getattr(day, name)
        if value is None:
            if points:
                lines.append(" ".join(points))
            points = []
            continue
        x = round(chart.left + slot * (index + 0.5), 1)
        points.append(f"{x},{y_of(float(value), top)}")
    if points:
        lines.append(" ".join(points))
    return lines
