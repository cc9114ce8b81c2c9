"""The All Cost report: cost rows with filters, totals per currency, and a streaming CSV.

Money is never summed across currencies: each advertiser reports in its own currency, so the
totals are per currency.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import QuerySet, Sum
from django.utils import timezone

from integrations.policy import AppAccess
from reporting.models import CostRecord
from reporting.spreadsheet import defuse_formula

MAX_SPAN_DAYS = 366
ROWS_SHOWN = 500
COLUMNS = [
    ("stat_date", "Date"),
    ("media_source", "Media Source"),
    ("advertiser_id", "Advertiser ID"),
    ("campaign", "Campaign"),
    ("campaign_id", "Campaign ID"),
    ("adset", "Adset"),
    ("adset_id", "Adset ID"),
    ("ad", "Ad"),
    ("ad_id", "Ad ID"),
    ("country_code", "Country"),
    ("currency", "Currency"),
    ("spend", "Cost"),
    ("impressions", "Impressions"),
    ("clicks", "Clicks"),
    ("reported_conversions", "Reported Conversions"),
]


class CostFilterForm(forms.Form):
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    media_source = forms.ChoiceField(label="Media source", required=False)
    advertiser_id = forms.RegexField(
        r"^[0-9A-Za-z_-]{1,32}\Z", label="Advertiser ID", required=False, max_length=32
    )
    campaign = forms.CharField(
        label="Campaign", required=False, max_length=255, help_text="Name contains, or the ID."
    )
    country = forms.RegexField(
        r"^[A-Za-z]{2}\Z",
        label="Country",
        required=False,
        max_length=2,
        error_messages={"invalid": "Use a two-letter country code such as GB."},
    )

    def __init__(self, data: Any, *, access: AppAccess) -> None:
        first, last = last_seven_days(access)
        defaults = {"date_from": first, "date_to": last}
        merged = {**defaults, **{k: v for k, v in data.items() if v != ""}} if data else defaults
        super().__init__(merged)
        sources = access.scope_to_media_source(
            CostRecord.objects.filter(app=access.app)
        ).values_list("media_source", flat=True)
        self.fields["media_source"].choices = [("", "All")] + [
            (source, source) for source in sorted(set(sources))
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        check_date_range(self, cleaned)
        return cleaned


def last_seven_days(access: AppAccess) -> tuple[str, str]:
    """Where the report pages open: the last seven days, today included, in the app's
    timezone, as ISO dates."""
    today = timezone.now().astimezone(ZoneInfo(access.app.timezone or "UTC")).date()
    return (today - timedelta(days=6)).isoformat(), today.isoformat()


def check_date_range(form: forms.Form, cleaned: dict[str, Any]) -> None:
    """`date_from`…`date_to`, both inclusive: in order and at most MAX_SPAN_DAYS long. Shared
    by the report forms that pick whole days (All Cost, Overview)."""
    start, end = cleaned.get("date_from"), cleaned.get("date_to")
    if start and end:
        if end < start:
            form.add_error("date_to", "The end date is before the start date.")
        elif (end - start).days + 1 > MAX_SPAN_DAYS:
            form.add_error("date_to", f"Choose at most {MAX_SPAN_DAYS} days.")


def filtered_costs(access: AppAccess, filters: dict[str, Any]) -> QuerySet[CostRecord]:
    """Cost rows of the app the user may see, filtered; partner users see their source only."""
    rows = access.scope_to_media_source(CostRecord.objects.filter(app=access.app))
    rows = rows.filter(stat_date__range=(filters["date_from"], filters["date_to"]))
    if filters.get("media_source"):
        rows = rows.filter(media_source=filters["media_source"])
    if filters.get("advertiser_id"):
        rows = rows.filter(advertiser_id=filters["advertiser_id"])
    if filters.get("campaign"):
        text = filters["campaign"].strip()
        rows = (
            rows.filter(campaign_id=text)
            if text.isascii() and text.isdigit()
            else rows.filter(campaign__icontains=text)
        )
    if filters.get("country"):
        rows = rows.filter(country_code=filters["country"].upper())
    return rows.order_by(
        "-stat_date", "media_source", "advertiser_id", "campaign", "adset", "ad", "country_code"
    )


def totals_by_currency(rows: QuerySet[CostRecord]) -> list[dict[str, Any]]:
    return list(
        rows.order_by()
        .values("currency")
        .annotate(
            spend=Sum("spend"),
            impressions=Sum("impressions"),
            clicks=Sum("clicks"),
            reported_conversions=Sum("reported_conversions"),
        )
        .order_by("currency")
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_lines(rows: QuerySet[CostRecord]) -> Iterator[str]:
    """The export, one line at a time, reading the rows in chunks (constant memory)."""
    writer = csv.writer(_Echo())
    yield writer.writerow([label for _, label in COLUMNS])
    fields = [name for name, _ in COLUMNS]
    for values in rows.values_list(*fields).iterator(chunk_size=2000):
        yield writer.writerow([_cell(value) for value in values])


def _cell(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return ""
    if isinstance(value, str):
        return defuse_formula(value)  # names and ids come from TikTok's reports
    return value
