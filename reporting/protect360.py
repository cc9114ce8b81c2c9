"""Protect360: the fraud signals of installs per media source and campaign or site id, and the
installs the checks flagged (events.services.fraud decides; this module only counts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet

from events.attribution import CLICK
from events.models import Install, Touchpoint
from events.services.fraud import Reason, reasons_of
from integrations.models import media_source_validator
from integrations.policy import AppAccess
from reporting.cost_report import check_date_range, last_seven_days

FLAGGED_SHOWN = 200
GROUPS = {"campaign": "Campaign", "site_id": "Site ID"}
# Click-to-install time buckets: (label, from, to); `to` None is open-ended.
CTIT_BUCKETS: list[tuple[str, timedelta, timedelta | None]] = [
    ("< 10 s", timedelta(0), timedelta(seconds=10)),
    ("10 s – 1 min", timedelta(seconds=10), timedelta(minutes=1)),
    ("1 – 10 min", timedelta(minutes=1), timedelta(minutes=10)),
    ("10 – 60 min", timedelta(minutes=10), timedelta(hours=1)),
    ("1 – 24 h", timedelta(hours=1), timedelta(hours=24)),
    ("> 24 h", timedelta(hours=24), None),
]


class Protect360FilterForm(forms.Form):
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    media_source = forms.CharField(
        label="Media source",
        required=False,
        max_length=64,
        validators=[media_source_validator],
        help_text="Blank means all.",
    )
    group_by = forms.ChoiceField(label="Rows by", choices=list(GROUPS.items()), required=False)

    def __init__(self, data: Any, *, access: AppAccess) -> None:
        first, last = last_seven_days(access)
        values = {"date_from": first, "date_to": last, "group_by": "campaign"}
        values |= {key: value for key, value in (data or {}).items() if value}
        super().__init__(values)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        check_date_range(self, cleaned)
        cleaned["group_by"] = cleaned.get("group_by") or "campaign"
        return cleaned


@dataclass
class SignalRow:
    media_source: str
    group: str
    installs: int
    flagged: int
    by_reason: dict[str, int]
    ctit: list[int]
    clicks: int = 0
    with_ad_id: int = 0  # installs carrying an IDFA or GAID
    new_devices: int = 0  # of those, devices this app had not seen (see `_new_devices`)

    @property
    def new_device_rate(self) -> float | None:
        return self.new_devices / self.with_ad_id if self.with_ad_id else None

    @property
    def flagged_rate(self) -> float | None:
        return self.flagged / self.installs if self.installs else None

    @property
    def reason_counts(self) -> list[int]:
        """Installs flagged for each reason, in `Reason`'s order (the table's columns)."""
        return [self.by_reason[reason.value] for reason in Reason]

    @property
    def clicks_per_install(self) -> float | None:
        return self.clicks / self.installs if self.installs else None


@dataclass
class FlaggedInstall:
    install: Install
    reasons: list[Reason] = field(default_factory=list)


@dataclass
class Protect360:
    rows: list[SignalRow]
    flagged: list[FlaggedInstall]
    flagged_count: int
    install_count: int
    group_label: str
    ctit_labels: list[str]
    reasons: list[Reason]


def installs_in_range(access: AppAccess, filters: dict[str, Any]) -> QuerySet[Install]:
    """First installs of the chosen days (in the app's timezone) the user may see."""
    start, end = _day_bounds(access, filters)
    installs = Install.objects.filter(
        app=access.app, is_reengagement=False, installed_at__gte=start, installed_at__lt=end
    )
    if filters.get("media_source"):
        installs = installs.filter(media_source=filters["media_source"])
    return access.scope_to_media_source(installs)


def build(access: AppAccess, filters: dict[str, Any]) -> Protect360:
    group = filters["group_by"]
    installs = installs_in_range(access, filters)
    measures: dict[str, Any] = {
        "installs": Count("pk"),
        "flagged": Count("pk", filter=~Q(fraud_reasons="")),
    }
    for reason in Reason:
        measures[f"reason_{reason.value}"] = Count(
            "pk", filter=Q(fraud_reasons__contains=reason.value)
        )
    for index, (_label, shortest, longest) in enumerate(CTIT_BUCKETS):
        within = Q(touch_type=CLICK, touch_time__lte=F("installed_at") - shortest)
        if longest is not None:
            within &= Q(touch_time__gt=F("installed_at") - longest)
        measures[f"ctit_{index}"] = Count("pk", filter=within)
    grouped = installs.values("media_source", group).annotate(**measures).order_by("-installs")
    clicks = _clicks_by_group(access, filters, group)
    with_ad_id, new_devices = _new_devices(installs, group)
    rows = [
        SignalRow(
            media_source=row["media_source"],
            group=row[group],
            installs=row["installs"],
            flagged=row["flagged"],
            by_reason={reason.value: row[f"reason_{reason.value}"] for reason in Reason},
            ctit=[row[f"ctit_{index}"] for index in range(len(CTIT_BUCKETS))],
            clicks=clicks.get((row["media_source"], row[group]), 0),
            with_ad_id=with_ad_id.get((row["media_source"], row[group]), 0),
            new_devices=new_devices.get((row["media_source"], row[group]), 0),
        )
        for row in grouped
    ]
    flagged = installs.exclude(fraud_reasons="").order_by("-installed_at", "-pk")
    return Protect360(
        rows=rows,
        flagged=[
            FlaggedInstall(install, reasons_of(install)) for install in flagged[:FLAGGED_SHOWN]
        ],
        flagged_count=sum(row.flagged for row in rows),
        install_count=sum(row.installs for row in rows),
        group_label=GROUPS[group],
        ctit_labels=[label for label, _shortest, _longest in CTIT_BUCKETS],
        reasons=list(Reason),
    )


def _new_devices(
    installs: QuerySet[Install], group: str
) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], int]]:
    """Per (media source, group): installs with an advertising id, and how many of those came
    from a device the app had never seen: no earlier install with that IDFA or GAID (a
    reinstall) and no touch with it more than a day before (an earlier ad). Farms that reset
    device ids show a new-device rate near 100%; real users reinstall, and see ads for days."""
    seen = Q()
    for key in ("idfa", "gaid"):
        earlier_install = Install.objects.filter(
            app=OuterRef("app"), **{key: OuterRef(key)}, installed_at__lt=OuterRef("installed_at")
        ).exclude(**{key: ""})
        earlier_touch = Touchpoint.objects.filter(
            app=OuterRef("app"),
            **{key: OuterRef(key)},
            occurred_at__lt=OuterRef("installed_at") - timedelta(days=1),
        ).exclude(**{key: ""})
        seen |= Q(Exists(earlier_install)) | Q(Exists(earlier_touch))
    with_id = installs.exclude(idfa="", gaid="")
    keys = ("media_source", group)

    def counted(queryset: QuerySet[Install]) -> dict[tuple[str, str], int]:
        rows = queryset.order_by().values(*keys).annotate(n=Count("pk"))
        return {(row["media_source"], row[group]): row["n"] for row in rows}

    return counted(with_id), counted(with_id.exclude(seen))


def _clicks_by_group(
    access: AppAccess, filters: dict[str, Any], group: str
) -> dict[tuple[str, str], int]:
    """Clicks of the same days per (media source, group): click flooding shows as many clicks
    per install."""
    start, end = _day_bounds(access, filters)
    clicks = Touchpoint.objects.filter(
        app=access.app, kind=CLICK, occurred_at__gte=start, occurred_at__lt=end
    )
    if filters.get("media_source"):
        clicks = clicks.filter(media_source=filters["media_source"])
    clicks = access.scope_to_media_source(clicks)
    return {
        (row["media_source"], row[group]): row["clicks"]
        for row in clicks.values("media_source", group).annotate(clicks=Count("pk"))
    }


def _day_bounds(access: AppAccess, filters: dict[str, Any]) -> tuple[datetime, datetime]:
    zone = ZoneInfo(access.app.timezone or "UTC")
    start = datetime.combine(filters["date_from"], time.min, tzinfo=zone)
    end = datetime.combine(filters["date_to"] + timedelta(days=1), time.min, tzinfo=zone)
    return start, end
