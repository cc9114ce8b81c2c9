"""Running a cost pull: read TikTok's daily ad-level report for each chosen advertiser and
upsert `CostRecord`s, so a re-pull replaces numbers and never double-counts.

Dates are the advertiser's own (TikTok reports in the advertiser's timezone, §5.1), so "today"
is computed per advertiser: an advertiser ahead of UTC already has tomorrow's UTC date.
The first pull reads the last 7 days; later pulls re-read a restatement window
(COST_RESTATEMENT_DAYS) because TikTok restates conversions and lags about 11 hours (§5.3), and
reach back further when a pull was missed.

Geo: TikTok's BASIC report does not take `country_code`; it is an audience dimension, so the
country split comes from the AUDIENCE report with the same ad_id × day grain. The BASIC report
stays the source of the totals: country rows are stored per country, and whatever TikTok does
not attribute to a country is kept in a row with a blank country, so totals stay exact. Where
the audience estimate exceeds the total in a metric, the countries share that metric's total
in proportion (see `fit_to_total`).
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integrations.models import CostAdvertiser, CostConnection, CostPull
from integrations.services.cost_connections import (
    claim_pull,
    finish_pull,
    mark_broken,
    record_span_pulled,
    schedule_retry,
)
from integrations.tiktok import marketing_api
from integrations.tiktok.marketing_api import PageProgress, ReportRow
from integrations.tiktok.transport import PermanentError, RetryableError, TikTokError
from reporting.models import CostRecord

log = logging.getLogger(__name__)
Number = Decimal | int

QUERY_TOO_LARGE = 40067
# Codes after which the token itself is useless: stop and ask the marketer to reconnect.
RECONNECT_CODES = marketing_api.TOKEN_REFUSED_CODES
UPDATE_FIELDS = [
    "connection", "campaign", "adset", "ad", "currency", "spend", "impressions", "clicks",
    "reported_conversions", "pulled_at",
]  # fmt: skip
NATURAL_KEY = [
    "app", "media_source", "advertiser_id", "stat_date", "campaign_id", "adset_id", "ad_id",
    "country_code",
]  # fmt: skip


def local_today(advertiser: CostAdvertiser, now: datetime) -> date:
    try:
        zone = ZoneInfo(advertiser.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).date()


def window_for(advertiser: CostAdvertiser, now: datetime) -> tuple[date, date]:
    """The days to read for one advertiser, in its timezone, today included."""
    today = local_today(advertiser, now)
    if advertiser.pulled_through is None:
        return today - timedelta(days=settings.COST_BACKFILL_DAYS - 1), today
    start = today - timedelta(days=settings.COST_RESTATEMENT_DAYS)
    if advertiser.pulled_through < start:
        start = advertiser.pulled_through  # a missed pull: read the gap too
    return start, today


def chunks(start: date, end: date, days: int) -> list[tuple[date, date]]:
    """Split [start, end] into spans of at most `days` days, oldest first."""
    spans = []
    while start <= end:
        last = min(end, start + timedelta(days=days - 1))
        spans.append((start, last))
        start = last + timedelta(days=1)
    return spans


class PullStopped(Exception):
    """Retries are exhausted; the run ends and the next one continues from here."""


@dataclass
class Backoff:
    """Waits between retries of the same page (rate limits 40100/40133, 5xx, timeouts)."""

    retries: int = 0
    attempt: int = 0

    def __call__(self, error: RetryableError) -> None:
        delays = settings.COST_RETRY_BACKOFF
        if self.attempt >= len(delays):
            self.attempt = 0
            raise error
        delay = delays[self.attempt]
        self.attempt += 1
        self.retries += 1
        log.info("TikTok report call failed (%s); retrying in %ss", error, delay)
        time.sleep(delay)

    def reset(self) -> None:
        self.attempt = 0


def run_pull(pull_id: int, *, now: datetime | None = None) -> CostPull | None:
    """Run one queued pull to the end and record what it did. Partner errors are recorded,
    never raised (a raising q2 task would only be retried blindly)."""
    pull = claim_pull(pull_id)
    if pull is None:
        return None
    connection = pull.connection
    now = now or timezone.now()
    started = time.monotonic()
    progress = PageProgress()
    backoff = Backoff()
    errors: list[TikTokError] = []
    try:
        if not connection.is_connected:
            raise PermanentError("The connection needs reconnecting.")
        for advertiser in connection.advertisers.filter(is_selected=True).order_by("pk"):
            try:
                pull_advertiser(connection, advertiser, now, pull, progress, backoff)
            except PermanentError as error:
                if error.code in RECONNECT_CODES:
                    raise
                errors.append(error)  # e.g. 40001 on one advertiser: the others still pull
    except PermanentError as error:
        if error.code in RECONNECT_CODES:
            mark_broken(connection, error)
        errors.append(error)
    except RetryableError as error:
        errors.append(error)
    pull.rows_read = progress.rows
    pull.pages = progress.pages
    pull.requests = progress.requests
    pull.retries = backoff.retries
    pull.duration_ms = int((time.monotonic() - started) * 1000)
    finish_pull(pull, error=errors[-1] if errors else None)
    if errors and isinstance(errors[-1], RetryableError):
        schedule_retry(connection, after_seconds=settings.COST_RETRY_LATER_SECONDS)
    return pull


def pull_advertiser(
    connection: CostConnection,
    advertiser: CostAdvertiser,
    now: datetime,
    pull: CostPull,
    progress: PageProgress,
    backoff: Backoff,
) -> None:
    start, end = window_for(advertiser, now)
    pending = chunks(start, end, marketing_api.MAX_DAYS_PER_REQUEST)
    while pending:
        span = pending.pop(0)
        try:
            saved = pull_span(connection, advertiser, span, progress, backoff)
        except PermanentError as error:
            if error.code != QUERY_TOO_LARGE or span[0] == span[1]:
                raise
            # 40067: the query is too large; ask for half the days at a time.
            half = ((span[1] - span[0]).days + 1) // 2
            middle = span[0] + timedelta(days=half)
            pending[:0] = [(span[0], middle - timedelta(days=1)), (middle, span[1])]
            continue
        pull.rows_read, pull.pages, pull.requests = progress.rows, progress.pages, progress.requests
        record_span_pulled(pull, advertiser, through=span[1], rows_saved=saved)


def pull_span(
    connection: CostConnection,
    advertiser: CostAdvertiser,
    span: tuple[date, date],
    progress: PageProgress,
    backoff: Backoff,
) -> int:
    """Read both reports for one span and replace the span's rows in one transaction."""
    token = connection.access_token.reveal()

    def read(by_country: bool) -> list[ReportRow]:
        rows = []
        for row in marketing_api.report_rows(
            token,
            advertiser.advertiser_id,
            span[0],
            span[1],
            by_country=by_country,
            progress=progress,
            on_retry=backoff,
        ):
            backoff.reset()
            rows.append(row)
        return rows

    records = merge(read(by_country=False), read(by_country=True))
    return save_records(connection, advertiser, span, records)


def merge(ad_rows: list[ReportRow], country_rows: list[ReportRow]) -> list[ReportRow]:
    """Country rows named after their ad row, fitted to the ad's BASIC total, plus a
    blank-country remainder wherever the country split does not add up to that total."""
    by_ad = {(row.stat_date, row.ad_id): row for row in ad_rows}
    by_country: dict[tuple[date, str], list[ReportRow]] = defaultdict(list)
    for row in country_rows:
        by_country[(row.stat_date, row.ad_id)].append(row)
    # Country rows of an ad BASIC did not report have no total to fit: kept as TikTok sent them.
    merged = [row for key, rows in by_country.items() if key not in by_ad for row in rows]
    for key, base in by_ad.items():
        merged += fit_to_total(base, [_named_like(row, base) for row in by_country.get(key, [])])
    return merged


def fit_to_total(base: ReportRow, countries: list[ReportRow]) -> list[ReportRow]:
    """The country rows and the blank-country remainder of one ad's day, adding up to the BASIC
    row exactly in every metric. Each metric is fitted on its own: where the countries fall
    short, the remainder holds the difference; where TikTok's audience estimate exceeds the
    total, the countries share the total in proportion and that metric's remainder is zero,
    while the remainder keeps the other metrics. Nothing is ever negative."""
    fitted: dict[str, list[Any]] = {}
    remainder: dict[str, Any] = {}
    for name in ("spend", "impressions", "clicks"):
        fitted[name], remainder[name] = _fit(
            getattr(base, name), [getattr(row, name) for row in countries]
        )
    if base.conversions is None:
        fitted["conversions"] = [row.conversions for row in countries]
        remainder["conversions"] = None
    else:
        shares, remainder["conversions"] = _fit(
            base.conversions, [row.conversions or 0 for row in countries]
        )
        fitted["conversions"] = [
            None if row.conversions is None and share == 0 else share
            for row, share in zip(countries, shares, strict=True)
        ]
    rows = [
        replace(row, **{name: values[index] for name, values in fitted.items()})
        for index, row in enumerate(countries)
    ]
    if any(remainder.values()):
        rows.append(replace(base, country_code="", **remainder))
    return rows


def _fit(total: Number, parts: list[Number]) -> tuple[list[Number], Number]:
    """The parts fitted to `total`, and what is left for the remainder (never negative).
    A negative total (never seen from TikTok; spend cannot be stored below zero) counts as 0."""
    total = max(total, total * 0)
    counted = sum(parts, total * 0)
    if counted <= total:
        return parts, total - counted
    return _shared(total, parts), total * 0


def _shared(total: Number, parts: list[Number]) -> list[Number]:
    """`total` shared in proportion to `parts` by the largest remainder, in the finest unit
    TikTok used (cents for USD, whole yen for JPY, one for counts), so the shares add up to
    `total` exactly."""
    exponent = min(
        (value.as_tuple().exponent for value in (total, *parts) if isinstance(value, Decimal)),
        default=0,
    )
    units = int(Decimal(total).scaleb(-exponent))
    weights = [Fraction(max(part, 0)) for part in parts]
    exact = [weight * units / sum(weights) for weight in weights]
    shares = [math.floor(value) for value in exact]
    by_fraction = sorted(range(len(parts)), key=lambda i: exact[i] - shares[i], reverse=True)
    for index in by_fraction[: units - sum(shares)]:
        shares[index] += 1
    if isinstance(total, Decimal):
        return [Decimal(share).scaleb(exponent) for share in shares]
    return shares


def _named_like(row: ReportRow, base: ReportRow) -> ReportRow:
    return ReportRow(
        **{
            **row.__dict__,
            "campaign_id": base.campaign_id or row.campaign_id,
            "campaign_name": base.campaign_name or row.campaign_name,
            "adgroup_id": base.adgroup_id or row.adgroup_id,
            "adgroup_name": base.adgroup_name or row.adgroup_name,
            "ad_name": base.ad_name or row.ad_name,
            "currency": base.currency or row.currency,
        }
    )


def save_records(
    connection: CostConnection,
    advertiser: CostAdvertiser,
    span: tuple[date, date],
    rows: list[ReportRow],
) -> int:
    """Upsert on the natural key, then drop rows of the span this read no longer has (an ad
    TikTok stopped reporting), so the span holds exactly what TikTok said."""
    integration = connection.integration
    stamp = timezone.now()
    records = [
        CostRecord(
            app_id=integration.app_id,
            connection=connection,
            media_source=integration.partner.media_source,
            stat_date=row.stat_date,
            advertiser_id=advertiser.advertiser_id,
            campaign_id=row.campaign_id,
            campaign=row.campaign_name[:255],
            adset_id=row.adgroup_id,
            adset=row.adgroup_name[:255],
            ad_id=row.ad_id,
            ad=row.ad_name[:255],
            country_code=row.country_code,
            currency=(row.currency or advertiser.currency or "")[:3],
            spend=max(row.spend, Decimal(0)),
            impressions=row.impressions,
            clicks=row.clicks,
            reported_conversions=row.conversions,
            pulled_at=stamp,
        )
        for row in rows
        if span[0] <= row.stat_date <= span[1]
    ]
    with transaction.atomic():
        CostRecord.objects.bulk_create(
            records,
            batch_size=500,
            update_conflicts=True,
            unique_fields=NATURAL_KEY,
            update_fields=UPDATE_FIELDS,
        )
        CostRecord.objects.filter(
            app_id=integration.app_id,
            media_source=integration.partner.media_source,
            advertiser_id=advertiser.advertiser_id,
            stat_date__range=span,
            pulled_at__lt=stamp,
        ).delete()
    return len(records)
