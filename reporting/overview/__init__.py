"""The Overview dashboard: installs, revenue and cost per media source and campaign (drilling
down to ad set and ad), with the twelve metrics analysts compare channels by, and a daily series.

Every figure comes out of a GROUP BY in the database (per key × day × currency); Python only
merges those aggregated groups and converts money at each day's rate. Rules:

- Installs and revenue are ours (non-reengagement installs; revenue of non-reengagement events).
  Where a cost row has no install of ours, TikTok's own reported count is shown apart, marked,
  and never added to our installs.
- Cost rows: a country row and its ad's blank-country remainder partition the ad's total (see
  `reporting.cost_pulls.merge`), so the totals are the sum of every row.
- Money is in the app's currency, converted at the rate of each row's day (the latest earlier
  rate when a day has none). Without any rate the money is missing, never treated as 1:1.
- A ratio with a zero or missing side is None, which the page shows as "–".

Modules: `filters` (what is asked, the form), `queries` (the GROUP BYs, on the daily rollup
`AttributionDay` on PostgreSQL), `metrics` (columns and ratios), `report` (building it),
`chart` (the daily SVG's geometry).
"""

from reporting.overview.filters import (
    COST_MEDIA_SOURCES,
    LEVEL_LABELS,
    Filters,
    Level,
    OverviewFilterForm,
)
from reporting.overview.metrics import COLUMNS, Column, Day, Metrics, Row
from reporting.overview.report import Overview, build_overview

__all__ = [
    "COLUMNS",
    "COST_MEDIA_SOURCES",
    "LEVEL_LABELS",
    "Column",
    "Day",
    "Filters",
    "Level",
    "Metrics",
    "Overview",
    "OverviewFilterForm",
    "Row",
    "build_overview",
]
