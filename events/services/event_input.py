"""Reading one event as a sender wrote it: our field names or AppsFlyer's S2S names, plain or
hashed PII, several time formats. The result is an `EventDraft` or a dict of field errors.

No database access happens here, so a batch of a thousand items validates in memory first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from events.models import InAppEvent
from events.services.normalise import (
    EPOCH_DIGITS,
    FieldError,
    check_text,
    clean_currency,
    clean_device_uuid,
    clean_ip,
    clean_revenue,
    clean_value,
    column_lengths,
    hash_email,
    hash_phone,
    parse_event_time,
)
from integrations.tiktok.payloads import sha256_hex

# Our name → the other names a sender may use for it (AppsFlyer S2S first).
ALIASES: dict[str, tuple[str, ...]] = {
    "event_name": ("eventName",),
    "event_time": ("eventTime",),
    "value": ("eventValue",),
    "currency": ("eventCurrency",),
    "device_id": ("appsflyer_id",),
    "gaid": ("advertising_id",),
}
FIELDS = (
    "event_id",
    "event_name",
    "event_time",
    "customer_user_id",
    "web_user_id",
    "device_id",
    "idfa",
    "idfv",
    "gaid",
    "ip",
    "user_agent",
    "email",
    "phone",
    "value",
    "revenue",
    "currency",
    "url",
    "referrer",
    "ttclid",
    "ttp",
    "country_code",
)
# Fields AppsFlyer's S2S API takes that mean nothing here; accepted silently so a sender moving
# from AppsFlyer only changes the host.
APPSFLYER_EXTRAS = frozenset(
    {"bundleIdentifier", "os", "att", "af_events_api", "app_version_name", "sharing_filter",
     "custom_dev_key", "isEventsApi", "app_version", "af_att", "idfa_hashed"}
)  # fmt: skip
KNOWN_NAMES = frozenset(FIELDS) | {alias for names in ALIASES.values() for alias in names}

TEXT_LIMITS = {
    **column_lengths(
        InAppEvent,
        ("event_id", "event_name", "customer_user_id", "web_user_id", "device_id", "ttclid", "ttp"),
    ),
    # Text columns without a length: our own limits.
    "user_agent": 2048,
    "url": 4096,
    "referrer": 4096,
}


@dataclass
class EventDraft:
    """A validated event, ready to be attributed and stored."""

    event_id: str
    event_name: str
    event_time: datetime
    is_event_id_derived: bool = False
    customer_user_id: str = ""
    web_user_id: str = ""
    device_id: str = ""
    idfa: str = ""
    idfv: str = ""
    gaid: str = ""
    ip: str | None = None
    user_agent: str = ""
    email_sha256: str = ""
    phone_sha256: str = ""
    value: dict = field(default_factory=dict)
    revenue: Decimal | None = None
    currency: str = ""
    url: str = ""
    referrer: str = ""
    ttclid: str = ""
    ttp: str = ""
    country_code: str = ""
    ignored_fields: list[str] = field(default_factory=list)


Errors = dict[str, list[str]]


def read_event(item: Any, *, default_currency: str, received_at: datetime) -> EventDraft | Errors:
    """Validate one item. Every problem is reported at once, keyed by the field to fix."""
    if not isinstance(item, dict):
        return {"item": ["must be a JSON object."]}
    errors: Errors = {}
    raw = _resolve_aliases(item, errors)
    cleaned: dict[str, Any] = {}
    for name in FIELDS:
        if name not in raw or raw[name] is None:
            continue
        try:
            cleaned[name] = _clean(name, raw[name], item, received_at)
        except FieldError as error:
            errors.setdefault(name, []).append(str(error))
    if not cleaned.get("event_name") and "event_name" not in errors:
        errors["event_name"] = ["is required."]
    if "event_time" not in cleaned and "event_time" not in errors and not cleaned.get("event_id"):
        errors["event_time"] = [
            "is required when event_id is absent, so that a retry derives the same event id."
        ]
    _fill_revenue_from_value(cleaned, errors)
    if errors:
        return errors
    if cleaned.get("revenue") is not None and not cleaned.get("currency"):
        cleaned["currency"] = default_currency
    draft = EventDraft(
        event_id=cleaned.get("event_id", ""),
        event_name=cleaned["event_name"],
        event_time=cleaned.get("event_time", received_at),
        customer_user_id=cleaned.get("customer_user_id", ""),
        web_user_id=cleaned.get("web_user_id", ""),
        device_id=cleaned.get("device_id", ""),
        idfa=cleaned.get("idfa", ""),
        idfv=cleaned.get("idfv", ""),
        gaid=cleaned.get("gaid", ""),
        ip=cleaned.get("ip"),
        user_agent=cleaned.get("user_agent", ""),
        email_sha256=cleaned.get("email", ""),
        phone_sha256=cleaned.get("phone", ""),
        value=cleaned.get("value", {}),
        revenue=cleaned.get("revenue"),
        currency=cleaned.get("currency", ""),
        url=cleaned.get("url", ""),
        referrer=cleaned.get("referrer", ""),
        ttclid=cleaned.get("ttclid", ""),
        ttp=cleaned.get("ttp", ""),
        country_code=cleaned.get("country_code", ""),
        ignored_fields=sorted(k for k in item if k not in KNOWN_NAMES | APPSFLYER_EXTRAS),
    )
    if not draft.event_id:
        draft.event_id = derive_event_id(draft)
        draft.is_event_id_derived = True
    return draft


def _resolve_aliases(item: dict, errors: Errors) -> dict[str, Any]:
    raw = {name: item[name] for name in FIELDS if name in item}
    for name, aliases in ALIASES.items():
        for alias in aliases:
            if alias not in item:
                continue
            if name in raw:
                errors.setdefault(name, []).append(f"give either {name} or {alias}, not both.")
            else:
                raw[name] = item[alias]
    return raw


def _clean(name: str, value: Any, item: dict, received_at: datetime) -> Any:
    if name == "event_time":
        # AppsFlyer documents eventTime as "yyyy-MM-dd HH:mm:ss.SSS" in UTC, without an offset.
        if "eventTime" in item and isinstance(value, str) and _has_no_offset(value):
            value = value.strip() + "+00:00"
        return parse_event_time(value, now=received_at)
    if name in ("event_id", "event_name"):
        return check_text(value, max_length=TEXT_LIMITS[name], allow_empty=False)
    if name in TEXT_LIMITS:
        return check_text(value, max_length=TEXT_LIMITS[name])
    if name in ("idfa", "idfv"):
        return clean_device_uuid(value, upper=True)
    if name == "gaid":
        return clean_device_uuid(value, upper=False)
    if name == "ip":
        return clean_ip(value)
    if name == "email":
        return hash_email(value)
    if name == "phone":
        return hash_phone(value)
    if name == "value":
        return clean_value(value)
    if name == "revenue":
        return clean_revenue(value)
    if name == "currency":
        return clean_currency(value)
    if name == "country_code":
        code = check_text(value, max_length=2).upper()
        if code and (len(code) != 2 or not code.isalpha() or not code.isascii()):
            raise FieldError("must be a two-letter ISO 3166 country code such as US.")
        return code
    raise AssertionError(f"no cleaner for {name}")  # pragma: no cover - FIELDS and _clean agree


def _has_no_offset(text: str) -> bool:
    if EPOCH_DIGITS.fullmatch(text):
        return False  # epoch digits, not a calendar time
    try:
        return datetime.fromisoformat(text.strip()).tzinfo is None
    except ValueError:
        return False


def _fill_revenue_from_value(cleaned: dict[str, Any], errors: Errors) -> None:
    """AppsFlyer senders put revenue inside eventValue as af_revenue (and af_currency)."""
    value = cleaned.get("value") or {}
    if "revenue" not in cleaned and value.get("af_revenue") not in (None, ""):
        try:
            cleaned["revenue"] = clean_revenue(value["af_revenue"])
        except FieldError as error:
            errors.setdefault("value", []).append(f"af_revenue {error}")
    if "currency" not in cleaned and value.get("af_currency") not in (None, ""):
        try:
            cleaned["currency"] = clean_currency(value["af_currency"])
        except FieldError as error:
            errors.setdefault("value", []).append(f"af_currency {error}")


def derive_event_id(draft: EventDraft) -> str:
    """A stable id from the event's content, so the same event sent twice is stored once."""
    content = {
        "event_name": draft.event_name,
        "event_time": draft.event_time.astimezone(UTC).isoformat(),
        "users": [
            draft.customer_user_id, draft.web_user_id, draft.device_id, draft.idfa, draft.idfv,
            draft.gaid, draft.email_sha256, draft.phone_sha256,
        ],
        "value": draft.value,
        "revenue": None if draft.revenue is None else str(draft.revenue),
        "currency": draft.currency,
        "url": draft.url,
    }  # fmt: skip
    return "sb-" + sha256_hex(json.dumps(content, sort_keys=True, ensure_ascii=False))[:40]
