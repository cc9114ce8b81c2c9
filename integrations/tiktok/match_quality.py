"""Which of TikTok's match keys (spec §1.3) our postbacks carry: what TikTok calls event match
quality. More keys per event let TikTok find the person behind more conversions.

`keys_carried` reads one built `/event/track/` item into a small bitmask; delivery stores it on
the postback and adds it to a per-day tally (`MatchKeyTally`), so the coverage panel is one
aggregate over at most seven rows per integration, never a parse of stored payloads.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import Sum
from django.utils import timezone

from integrations.models import App, MatchKeyTally

COVERAGE_DAYS = 7


class MatchKey(enum.IntFlag):
    EMAIL = 1
    PHONE = 2
    EXTERNAL_ID = 4
    IP_USER_AGENT = 8  # both together: TikTok asks for the pair
    CLICK_ID = 16  # `user.ttclid` (web) or `ad.callback` (app)
    ADVERTISING_ID = 32  # `user.idfa` or `user.gaid` (app)
    TTP = 64  # `user.ttp`, the pixel's first-party cookie (web)


@dataclass(frozen=True)
class KeyInfo:
    key: MatchKey
    code: str  # also the MatchKeyTally column
    label: str
    sources: frozenset[str]  # event sources it applies to
    hint: str


WEB, APP = "web", "app"
BOTH = frozenset({WEB, APP})

# In the order TikTok lists them (§1.3); ties for "weakest" go to the earlier one.
KEYS: tuple[KeyInfo, ...] = (
    KeyInfo(
        MatchKey.EMAIL,
        "email",
        "Email",
        BOTH,
        "Send the customer's email address with events where you know it (sign-ups, "
        "purchases). We hash it with SHA-256 before it leaves; TikTok never sees it plain.",
    ),
    KeyInfo(
        MatchKey.PHONE,
        "phone",
        "Phone",
        BOTH,
        "Send the customer's phone number in international form (+44 7700 900123) where you "
        "have it; it is hashed before it leaves.",
    ),
    KeyInfo(
        MatchKey.EXTERNAL_ID,
        "external_id",
        "External ID",
        BOTH,
        "Send your own customer id as customer_user_id on installs and events (hashed as "
        "TikTok's external_id), so TikTok can recognise the same person across devices.",
    ),
    KeyInfo(
        MatchKey.IP_USER_AGENT,
        "ip_user_agent",
        "IP + user agent",
        BOTH,
        "Send the device's IP address and user agent with each install and event. Servers "
        "should forward their client's values, not their own.",
    ),
    KeyInfo(
        MatchKey.CLICK_ID,
        "click_id",
        "TikTok click id (ttclid / callback)",
        BOTH,
        "Few conversions carry TikTok's click id. Keep ttclid in your ad's landing URL (the "
        "web SDK picks it up) or use the attribution link, so the click id reaches the "
        "install and every later event.",
    ),
    KeyInfo(
        MatchKey.ADVERTISING_ID,
        "advertising_id",
        "Advertising id (IDFA / GAID)",
        frozenset({APP}),
        "Send the IDFA (iOS, when the user allowed tracking) or the GAID (Android) with the "
        "install; later events of the same user take it from there.",
    ),
    KeyInfo(
        MatchKey.TTP,
        "ttp",
        "TikTok cookie (_ttp)",
        frozenset({WEB}),
        "Load the TikTok Pixel on your pages so it sets its _ttp cookie; the web SDK sends the "
        "cookie with each event.",
    ),
)


def keys_carried(item: dict[str, Any]) -> int:
    """The match keys one `data[]` item carries, as a MatchKey bitmask (a plain int: delivery
    reads a thousand items per request, and IntFlag arithmetic cost more than the rest)."""
    user = item.get("user") or {}
    mask = 0
    if user.get("email"):
        mask |= _EMAIL
    if user.get("phone"):
        mask |= _PHONE
    if user.get("external_id"):
        mask |= _EXTERNAL_ID
    if user.get("ip") and user.get("user_agent"):
        mask |= _IP_USER_AGENT
    if user.get("ttclid") or (item.get("ad") or {}).get("callback"):
        mask |= _CLICK_ID
    if user.get("idfa") or user.get("gaid"):
        mask |= _ADVERTISING_ID
    if user.get("ttp"):
        mask |= _TTP
    return mask


_EMAIL = MatchKey.EMAIL.value
_PHONE = MatchKey.PHONE.value
_EXTERNAL_ID = MatchKey.EXTERNAL_ID.value
_IP_USER_AGENT = MatchKey.IP_USER_AGENT.value
_CLICK_ID = MatchKey.CLICK_ID.value
_ADVERTISING_ID = MatchKey.ADVERTISING_ID.value
_TTP = MatchKey.TTP.value


def labels(mask: int) -> list[str]:
    """The names of the keys in a bitmask, in TikTok's order."""
    return [info.label for info in KEYS if mask & info.key]


@dataclass(frozen=True)
class KeyShare:
    code: str
    label: str
    carried: int
    percent: int


@dataclass(frozen=True)
class Coverage:
    delivered: int
    shares: list[KeyShare]
    weakest: KeyInfo | None

    @property
    def days(self) -> int:
        return COVERAGE_DAYS


def coverage_day(app: App, moment: datetime | None = None) -> date:
    """The day a delivery counts for: the app's calendar, like the report pages."""
    return timezone.localtime(moment or timezone.now(), ZoneInfo(app.timezone)).date()


def coverage_for(
    app: App, integrations: Iterable[tuple[int, str]], *, today: date | None = None
) -> dict[int, Coverage]:
    """Coverage of the last seven days (today included) for each `(integration id, event
    source)`, in one aggregate query."""
    integrations = list(integrations)
    today = today or coverage_day(app)
    since = today - timedelta(days=COVERAGE_DAYS - 1)
    columns = ["delivered", *(info.code for info in KEYS)]
    totals: dict[int, Any] = {
        row["integration_id"]: row
        for row in MatchKeyTally.objects.filter(
            integration_id__in=[pk for pk, _ in integrations], day__gte=since, day__lte=today
        )
        .values("integration_id")
        .annotate(**{column: Sum(column) for column in columns})
    }
    return {pk: _coverage(totals.get(pk, {}), event_source) for pk, event_source in integrations}


def _coverage(totals: dict[str, Any], event_source: str) -> Coverage:
    delivered = totals.get("delivered") or 0
    if not delivered:
        return Coverage(0, [], None)
    applicable = [info for info in KEYS if event_source in info.sources]
    shares = [
        KeyShare(
            info.code,
            info.label,
            totals.get(info.code) or 0,
            round(100 * (totals.get(info.code) or 0) / delivered),
        )
        for info in applicable
    ]
    weakest = min(zip(shares, applicable, strict=True), key=lambda pair: pair[0].carried)[1]
    return Coverage(delivered, shares, weakest)
