"""The sandbox's advertisers and their deterministic cost data (spec §4.3, §4.5, §5, §7).

Every number is a hash of (advertiser, ad, day, country, revision), so a test can ask the
sandbox for its own totals and compare them with what a pull stored. `Restatement` bumps an
advertiser's revision, which changes every metric, the way TikTok restates recent days.

Deliberate quirks, so the client's paths are exercised:
- "Trailhead Shop Japan" is in Asia/Tokyo, ahead of UTC: its "today" starts before UTC's.
- The UK advertiser's second campaign is deleted: TikTok hides it unless the request filters
  `campaign_status IN ["STATUS_ALL"]` (§5.1).
- The "bulk" advertiser has 160 ads in three countries, so a week needs several 1,000-row pages.
- `country_code` is an audience dimension: only `report_type=AUDIENCE` accepts it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.utils import timezone

from integrations.tiktok.sandbox.models import Restatement

ZERO_DECIMAL_CURRENCIES = frozenset({"JPY", "KRW"})


@dataclass(frozen=True)
class SandboxAdvertiser:
    advertiser_id: str
    name: str
    currency: str
    timezone: str
    campaigns: int
    adgroups_per_campaign: int
    ads_per_adgroup: int
    countries: tuple[str, ...]
    deleted_campaigns: tuple[int, ...] = ()

    def local_today(self) -> date:
        return timezone.now().astimezone(ZoneInfo(self.timezone)).date()


ADVERTISERS: dict[str, SandboxAdvertiser] = {
    a.advertiser_id: a
    for a in [
        SandboxAdvertiser(
            "7012345678901234567", "Trailhead Shop UK", "GBP", "Europe/London",
            2, 2, 2, ("GB", "IE"), deleted_campaigns=(2,),
        ),
        SandboxAdvertiser(
            "7012345678901234568", "Trailhead Shop US", "USD", "Etc/GMT+5", 2, 2, 2, ("US", "CA")
        ),
        SandboxAdvertiser(
            "7012345678901234569", "Trailhead Shop Japan", "JPY", "Asia/Tokyo", 1, 2, 2, ("JP",)
        ),
        SandboxAdvertiser(
            "7012345678901234570", "Trailhead Agency bulk", "EUR", "Europe/Berlin",
            20, 4, 2, ("DE", "FR", "NL"),
        ),
    ]
}  # fmt: skip

# What the consent page offers ticked by default: the bulk account is there, unticked.
DEFAULT_GRANT = [a for a in ADVERTISERS if a != "7012345678901234570"]


@dataclass(frozen=True)
class Ad:
    campaign_id: str
    campaign_name: str
    adgroup_id: str
    adgroup_name: str
    ad_id: str
    ad_name: str
    is_deleted: bool


def ads_of(advertiser: SandboxAdvertiser) -> list[Ad]:
    tail = advertiser.advertiser_id[-8:]
    ads = []
    for c in range(1, advertiser.campaigns + 1):
        for g in range(1, advertiser.adgroups_per_campaign + 1):
            for a in range(1, advertiser.ads_per_adgroup + 1):
                ads.append(
                    Ad(
                        campaign_id=f"18{tail}{c:09d}",
                        campaign_name=f"{advertiser.name} campaign {c}",
                        adgroup_id=f"19{tail}{c:04d}{g:05d}",
                        adgroup_name=f"Ad group {c}.{g}",
                        ad_id=f"20{tail}{c:03d}{g:03d}{a:03d}",
                        ad_name=f"Ad {c}.{g}.{a}",
                        is_deleted=c in advertiser.deleted_campaigns,
                    )
                )
    return ads


@dataclass
class Metrics:
    spend: Decimal
    impressions: int
    clicks: int
    conversion: int

    def __add__(self, other: Metrics) -> Metrics:
        return Metrics(
            self.spend + other.spend,
            self.impressions + other.impressions,
            self.clicks + other.clicks,
            self.conversion + other.conversion,
        )


ZERO = Metrics(Decimal(0), 0, 0, 0)


def revision_of(advertiser_id: str) -> int:
    row = Restatement.objects.filter(advertiser_id=advertiser_id).first()
    return row.revision if row else 0


def restate(advertiser_id: str) -> int:
    """TikTok restated this advertiser's numbers: every metric changes."""
    row, _ = Restatement.objects.get_or_create(advertiser_id=advertiser_id)
    row.revision += 1
    row.save(update_fields=["revision"])
    return row.revision


def metrics_for(
    advertiser: SandboxAdvertiser, ad: Ad, day: date, country: str, revision: int
) -> Metrics | None:
    """One ad's delivery in one country on one day, or None when it did not run."""
    seed = f"{advertiser.advertiser_id}|{ad.ad_id}|{day.isoformat()}|{country}|{revision}"
    digest = hashlib.sha256(seed.encode()).digest()
    if digest[0] % 10 == 0:
        return None
    impressions = 200 + int.from_bytes(digest[1:3], "big") % 5000
    clicks = impressions // (30 + digest[3] % 60)
    units = impressions * (300 + int.from_bytes(digest[4:6], "big") % 900) // 1000
    divisor = 1 if advertiser.currency in ZERO_DECIMAL_CURRENCIES else 100
    return Metrics(
        spend=Decimal(units) / divisor,
        impressions=impressions,
        clicks=clicks,
        conversion=clicks // (4 + digest[6] % 10),
    )


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def delivery(
    advertiser: SandboxAdvertiser, start: date, end: date, *, include_deleted: bool = True
) -> list[tuple[date, Ad, str, Metrics]]:
    """Every (day, ad, country) with delivery in the span, oldest first. Days after the
    advertiser's own today have no data yet."""
    revision = revision_of(advertiser.advertiser_id)
    last = min(end, advertiser.local_today())
    rows = []
    for day in days_between(start, last):
        for ad in ads_of(advertiser):
            if ad.is_deleted and not include_deleted:
                continue
            for country in advertiser.countries:
                metrics = metrics_for(advertiser, ad, day, country, revision)
                if metrics is not None:
                    rows.append((day, ad, country, metrics))
    return rows


def totals(advertiser_id: str, start: date, end: date) -> Metrics:
    """The sandbox's own totals for an advertiser over a span, deleted campaigns included."""
    result = ZERO
    for _, _, _, metrics in delivery(ADVERTISERS[advertiser_id], start, end):
        result = result + metrics
    return result


def format_money(value: Decimal, currency: str) -> str:
    return f"{value:.0f}" if currency in ZERO_DECIMAL_CURRENCIES else f"{value:.2f}"


def stat_time_day(day: date) -> str:
    """TikTok's shape: a local datetime string without offset (§5.2)."""
    return datetime.combine(day, datetime.min.time()).strftime("%Y-%m-%d %H:%M:%S")


SANDBOX_EPOCH = 1_640_995_200  # 2022-01-01 00:00:00 UTC


def created_at(key: str) -> int:
    """A fixed Unix time in 2022–2023 for an account, as advertiser/info's create_time."""
    digest = hashlib.sha256(key.encode()).digest()
    return SANDBOX_EPOCH + int.from_bytes(digest[:4], "big") % (730 * 86400)


def entity_time(key: str) -> str:
    """create_time/modify_time as campaign/get etc. send them: "YYYY-MM-DD HH:MM:SS" UTC."""
    return datetime.fromtimestamp(created_at(key), tz=ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M:%S")


def entities(advertiser: SandboxAdvertiser, entity: str) -> list[dict[str, object]]:
    """The advertiser's campaigns, ad groups or ads as the */get/ endpoints list them, built
    from the same ads the reports sum, so ids and names match the report rows."""
    rows: dict[str, dict[str, object]] = {}
    for ad in ads_of(advertiser):
        key = getattr(ad, f"{entity}_id")
        if key in rows:
            continue
        row: dict[str, object] = {
            "advertiser_id": advertiser.advertiser_id,
            "campaign_id": ad.campaign_id,
            "campaign_name": ad.campaign_name,
            "operation_status": "DELETE" if ad.is_deleted else "ENABLE",
            "secondary_status": (
                f"{entity.upper()}_STATUS_DELETE"
                if ad.is_deleted
                else f"{entity.upper()}_STATUS_ENABLE"
            ),
            "create_time": entity_time(key),
            "modify_time": entity_time(key + "m"),
        }
        if entity == "campaign":
            row.update(
                {
                    "objective_type": "CONVERSIONS",
                    "budget_mode": "BUDGET_MODE_INFINITE",
                    "budget": 0.0,
                }
            )
        if entity in ("adgroup", "ad"):
            row.update({"adgroup_id": ad.adgroup_id, "adgroup_name": ad.adgroup_name})
        if entity == "adgroup":
            row.update(
                {
                    "placement_type": "PLACEMENT_TYPE_AUTOMATIC",
                    "budget_mode": "BUDGET_MODE_DAY",
                    "budget": 50.0,
                    "billing_event": "OCPM",
                    "optimization_goal": "CONVERT",
                }
            )
        if entity == "ad":
            row.update(
                {
                    "ad_id": ad.ad_id,
                    "ad_name": ad.ad_name,
                    "ad_text": ad.ad_name,
                    "call_to_action": "SHOP_NOW",
                }
            )
        rows[key] = row
    return list(rows.values())
