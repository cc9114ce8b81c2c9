"""Client for TikTok's Marketing API: authorized advertisers, account details, the synchronous
report, and token revocation (shared/spec/tiktok-api.md §4.3–§4.5 and §5).

List parameters go out JSON-encoded (§0); every page of a report is read; metrics are parsed
as decimals whether TikTok sends strings, numbers or "-" (§5.2). Errors are the transport's
`RetryableError` / `PermanentError` carrying TikTok's code and request id (§3).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

from integrations.tiktok import transport
from integrations.tiktok.transport import TOKEN_REFUSED_CODES, PermanentError

PAGE_SIZE = 1000  # §5.1: the largest page TikTok serves
MAX_DAYS_PER_REQUEST = 30  # §5.1: with stat_time_day
ADVERTISER_INFO_BATCH = 100  # §4.5: what Airbyte sends per call
REPORT_METRICS = [
    "spend", "impressions", "clicks", "conversion", "currency",
    "campaign_id", "campaign_name", "adgroup_id", "adgroup_name", "ad_name",
]  # fmt: skip
# §5.1: without this TikTok silently leaves out deleted campaigns, ad groups and ads.
INCLUDE_DELETED = [
    {"field_name": name, "filter_type": "IN", "filter_value": json.dumps(["STATUS_ALL"])}
    for name in ("campaign_status", "adgroup_status", "ad_status")
]


@dataclass(frozen=True)
class Advertiser:
    advertiser_id: str
    name: str
    currency: str = ""
    timezone: str = ""


@dataclass(frozen=True)
class ReportRow:
    """One day of one ad (and one country when the report was split by country)."""

    stat_date: date
    ad_id: str
    country_code: str
    campaign_id: str
    campaign_name: str
    adgroup_id: str
    adgroup_name: str
    ad_name: str
    currency: str
    spend: Decimal
    impressions: int
    clicks: int
    conversions: int | None


@dataclass
class PageProgress:
    """What a report read cost: pages and requests, for the pull's run record."""

    pages: int = 0
    requests: int = 0
    rows: int = 0
    request_ids: list[str] = field(default_factory=list)


def _json_param(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _app_credentials() -> dict[str, str]:
    return {"app_id": settings.TIKTOK_APP_ID, "secret": settings.TIKTOK_APP_SECRET}


def authorized_advertisers(access_token: str) -> list[Advertiser]:
    """Every advertiser the token can read, with names (§4.3)."""
    # §4.3 GET /open_api/v1.3/oauth2/advertiser/get/
    envelope = transport.call(
        "GET", "v1.3/oauth2/advertiser/get/", access_token=access_token, params=_app_credentials()
    )
    return [
        Advertiser(
            advertiser_id=str(row["advertiser_id"]), name=str(row.get("advertiser_name", ""))
        )
        for row in envelope.data.get("list", [])
        if isinstance(row, dict) and row.get("advertiser_id")
    ]


def advertiser_details(access_token: str, advertiser_ids: list[str]) -> list[Advertiser]:
    """Name, currency and timezone of each advertiser, in batches of 100 (§4.5)."""
    details = []
    for start in range(0, len(advertiser_ids), ADVERTISER_INFO_BATCH):
        batch = advertiser_ids[start : start + ADVERTISER_INFO_BATCH]
        # §4.5 GET /open_api/v1.3/advertiser/info/
        envelope = transport.call(
            "GET",
            "v1.3/advertiser/info/",
            access_token=access_token,
            params={
                "advertiser_ids": _json_param(batch),
                "fields": _json_param(["advertiser_id", "name", "currency", "timezone"]),
            },
        )
        details += [
            Advertiser(
                advertiser_id=str(row["advertiser_id"]),
                name=str(row.get("name", "")),
                currency=str(row.get("currency", "")),
                timezone=str(row.get("timezone", "")),
            )
            for row in envelope.data.get("list", [])
            if isinstance(row, dict) and row.get("advertiser_id")
        ]
    return details


@dataclass(frozen=True)
class Revocation:
    """What revoking a token achieved: the advertisers it no longer reaches, or that TikTok
    already refused the token (revoked, or removed in TikTok for Business: nothing to revoke)."""

    advertiser_ids: list[str]
    was_already_refused: bool = False


def revoke(access_token: str) -> Revocation:
    """Revoke the token (§4.4). Raises TikTokError when TikTok does not confirm it."""
    try:
        # §4.4 POST /open_api/v1.3/oauth2/revoke_token/
        envelope = transport.call(
            "POST",
            "v1.3/oauth2/revoke_token/",
            json_body={**_app_credentials(), "access_token": access_token},
        )
    except PermanentError as error:
        if error.code in TOKEN_REFUSED_CODES:
            return Revocation(advertiser_ids=[], was_already_refused=True)
        raise
    return Revocation(advertiser_ids=[str(a) for a in envelope.data.get("advertiser_ids", [])])


def report_rows(
    access_token: str,
    advertiser_id: str,
    start: date,
    end: date,
    *,
    by_country: bool,
    progress: PageProgress | None = None,
    on_retry: Callable[[transport.RetryableError], None] | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[ReportRow]:
    """Every row of the ad-level daily report for one advertiser and span, page by page.

    `by_country` asks for the audience report, which alone accepts `country_code` (§5.1).
    `on_retry` is called with a retryable error before the same page is asked again; it decides
    how long to wait, or re-raises to give up. Spans over 30 days are refused here, not by TikTok.
    """
    if (end - start).days + 1 > MAX_DAYS_PER_REQUEST:
        raise PermanentError(f"A report request spans at most {MAX_DAYS_PER_REQUEST} days")
    progress = progress if progress is not None else PageProgress()
    dimensions = ["ad_id", "stat_time_day"] + (["country_code"] if by_country else [])
    params = {
        "advertiser_id": advertiser_id,
        "report_type": "AUDIENCE" if by_country else "BASIC",
        "service_type": "AUCTION",
        "data_level": "AUCTION_AD",
        "dimensions": _json_param(dimensions),
        "metrics": _json_param(REPORT_METRICS),
        "start_date": start.isoformat(),
        "end_date": end.isoformat(),
        "filtering": _json_param(INCLUDE_DELETED),
        "page_size": str(page_size),
    }
    page = 1
    while True:
        envelope = _report_page(access_token, {**params, "page": str(page)}, progress, on_retry)
        rows = envelope.data.get("list") or []
        progress.pages += 1
        progress.request_ids.append(envelope.request_id)
        for raw in rows:
            progress.rows += 1
            yield parse_row(raw)
        info = envelope.data.get("page_info") or {}
        total_pages = _int_or_none(info.get("total_page"))
        if total_pages is not None:
            if page >= total_pages:
                return
        elif len(rows) < page_size:
            return
        page += 1


def _report_page(
    access_token: str,
    params: dict[str, str],
    progress: PageProgress,
    on_retry: Callable[[transport.RetryableError], None] | None,
) -> transport.Envelope:
    while True:
        progress.requests += 1
        try:
            # §5 GET /open_api/v1.3/report/integrated/get/
            return transport.call(
                "GET", "v1.3/report/integrated/get/", access_token=access_token, params=params
            )
        except transport.RetryableError as error:
            if on_retry is None:
                raise
            on_retry(error)  # waits, or raises to stop


def parse_row(raw: dict[str, Any]) -> ReportRow:
    dimensions = raw.get("dimensions") or {}
    metrics = raw.get("metrics") or {}
    return ReportRow(
        stat_date=parse_stat_day(str(dimensions.get("stat_time_day", ""))),
        ad_id=str(dimensions.get("ad_id", "")),
        country_code=_country(dimensions.get("country_code")),
        campaign_id=_text(metrics.get("campaign_id")),
        campaign_name=_text(metrics.get("campaign_name")),
        adgroup_id=_text(metrics.get("adgroup_id")),
        adgroup_name=_text(metrics.get("adgroup_name")),
        ad_name=_text(metrics.get("ad_name")),
        currency=_text(metrics.get("currency")),
        spend=parse_decimal(metrics.get("spend")) or Decimal(0),
        impressions=_whole(metrics.get("impressions")) or 0,
        clicks=_whole(metrics.get("clicks")) or 0,
        conversions=_whole(metrics.get("conversion")),
    )


def parse_stat_day(value: str) -> date:
    """`stat_time_day` is a local datetime string such as "2025-03-01 00:00:00" (§5.2)."""
    try:
        return datetime.strptime(value[:10], "%Y-%m-%d").date()  # noqa: DTZ007 - a local date
    except ValueError:
        raise PermanentError(f"TikTok sent an unreadable stat_time_day {value!r}") from None


def parse_decimal(value: Any) -> Decimal | None:
    """Metrics arrive as strings, numbers, or "-" for not applicable (§5.2)."""
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if text in ("", "-"):
        return None
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise PermanentError(f"TikTok sent an unreadable metric {text!r}") from None
    if not number.is_finite():
        raise PermanentError(f"TikTok sent an unreadable metric {text!r}")
    return number


def _whole(value: Any) -> int | None:
    number = parse_decimal(value)
    return None if number is None else int(number)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _text(value: Any) -> str:
    return "" if value is None or value == "-" else str(value)


def _country(value: Any) -> str:
    text = _text(value).upper()
    return text if len(text) == 2 and text.isalpha() else ""
