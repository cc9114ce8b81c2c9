"""The overview's figures: the twelve columns, a row's sums and the ratios derived from them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from events.models import ORGANIC
from integrations.policy import Action

THOUSAND = Decimal(1000)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str  # money, count, ratio, percent
    needs: tuple[Action, ...] = ()
    help: str = ""


# The twelve metrics, in the order, then loyal users.
COLUMNS = [
    Column("spend", "Spend", "money", (Action.VIEW_COST,)),
    Column("installs", "Installs", "count", help="Ours: first installs or first visits."),
    Column("cpi", "CPI", "money", (Action.VIEW_COST,), "Spend / installs"),
    Column("ipm", "IPM", "ratio", help="Installs / impressions × 1,000"),
    Column("impressions", "Impressions", "count"),
    Column("cpm", "CPM", "money", (Action.VIEW_COST,), "Spend / impressions × 1,000"),
    Column("clicks", "Clicks", "count"),
    Column("cpc", "CPC", "money", (Action.VIEW_COST,), "Spend / clicks"),
    Column("ctr", "CTR", "percent", help="Clicks / impressions"),
    Column("cti", "CTI", "percent", help="Installs / clicks"),
    Column(
        "roas",
        "ROAS",
        "ratio",
        (Action.VIEW_COST, Action.VIEW_REVENUE),
        "Revenue / spend, both in the app's currency",
    ),
    Column("revenue", "Revenue", "money", (Action.VIEW_REVENUE,), "Ours, in the app's currency"),
    Column(
        "loyal",
        "Loyal users",
        "count",
        (Action.VIEW_LOYAL_USERS,),
        "Installs of the range with at least the app's number of sessions (3 unless set)",
    ),
    Column("loyal_rate", "Loyal / installs", "percent", (Action.VIEW_LOYAL_USERS,)),
]


def ratio(numerator: Decimal | int | None, denominator: Decimal | int | None) -> Decimal | None:
    """numerator / denominator, or None when either is missing or the denominator is zero."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return Decimal(numerator) / Decimal(denominator)


def _per_thousand(numerator: Decimal | int | None, denominator: int | None) -> Decimal | None:
    value = ratio(numerator, denominator)
    return None if value is None else value * THOUSAND


@dataclass
class Metrics:
    """Summed figures of one row (or the totals), and the ratios derived from them."""

    spend: Decimal | None = None
    installs: int = 0
    impressions: int = 0
    clicks: int = 0
    revenue: Decimal | None = None
    tiktok_reported: int | None = None
    tiktok_reported_kind: str = ""
    is_spend_missing: bool = False
    is_revenue_missing: bool = False
    has_cost: bool = False
    loyal: int = 0

    @property
    def loyal_rate(self) -> Decimal | None:
        return ratio(self.loyal, self.installs)

    @property
    def cpi(self) -> Decimal | None:
        return ratio(self.spend, self.installs)

    @property
    def ipm(self) -> Decimal | None:
        return _per_thousand(self.installs, self.impressions)

    @property
    def cpm(self) -> Decimal | None:
        return _per_thousand(self.spend, self.impressions)

    @property
    def cpc(self) -> Decimal | None:
        return ratio(self.spend, self.clicks)

    @property
    def ctr(self) -> Decimal | None:
        return ratio(self.clicks, self.impressions)

    @property
    def cti(self) -> Decimal | None:
        return ratio(self.installs, self.clicks)

    @property
    def roas(self) -> Decimal | None:
        return ratio(self.revenue, self.spend)

    def add_spend(self, amount: Decimal | None) -> None:
        self.has_cost = True
        if amount is None:
            self.is_spend_missing = True
        elif not self.is_spend_missing:
            self.spend = (self.spend or Decimal(0)) + amount
        if self.is_spend_missing:
            self.spend = None

    def add_revenue(self, amount: Decimal | None) -> None:
        if amount is None:
            self.is_revenue_missing = True
        elif not self.is_revenue_missing:
            self.revenue = (self.revenue or Decimal(0)) + amount
        if self.is_revenue_missing:
            self.revenue = None

    def add_reported(self, count: int | None, kind: str) -> None:
        if count is None:
            return
        self.tiktok_reported = (self.tiktok_reported or 0) + count
        if self.tiktok_reported_kind not in ("", kind):
            kind = "installs or conversions"
        self.tiktok_reported_kind = kind

    def add(self, other: Metrics) -> None:
        """Fold a row into the totals (TikTok's figure only where the row shows it)."""
        self.installs += other.installs
        self.loyal += other.loyal
        self.impressions += other.impressions
        self.clicks += other.clicks
        if other.spend is not None or other.is_spend_missing:
            self.add_spend(other.spend)
        self.has_cost = self.has_cost or other.has_cost
        if other.revenue is not None or other.is_revenue_missing:
            self.add_revenue(other.revenue)
        if other.shown_tiktok_reported is not None:
            self.add_reported(other.shown_tiktok_reported, other.tiktok_reported_kind)

    @property
    def shown_tiktok_reported(self) -> int | None:
        """TikTok's own count, shown only where we have no install to match the cost."""
        if self.installs or not self.has_cost:
            return None
        return self.tiktok_reported


@dataclass
class Row(Metrics):
    media_source: str = ""
    key: str = ""
    label: str = ""
    is_key_an_id: bool = False

    @property
    def is_organic(self) -> bool:
        return self.media_source == ORGANIC


@dataclass
class Day:
    day: date
    spend: Decimal | None = None
    installs: int = 0
    revenue: Decimal | None = None
    is_spend_missing: bool = False
    is_revenue_missing: bool = False
