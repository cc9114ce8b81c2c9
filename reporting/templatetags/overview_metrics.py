"""Formatting the overview's metrics: one place decides decimals, percent signs and "–"."""

from __future__ import annotations

from decimal import Decimal

from django import template

from reporting.overview import Column, Metrics

register = template.Library()
EMPTY = "–"


@register.filter
def metric(row: Metrics, column: Column) -> str:
    """The cell for `column` of `row`: "–" where a ratio has no denominator or money has no
    exchange rate."""
    value = getattr(row, column.key)
    if value is None:
        return EMPTY
    if column.kind == "count":
        return f"{value:,}"
    if column.kind == "percent":
        return f"{Decimal(value) * 100:,.2f}%"
    return f"{Decimal(value):,.2f}"


@register.filter
def money(value: Decimal | None) -> str:
    return EMPTY if value is None else f"{value:,.2f}"
