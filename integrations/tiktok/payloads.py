"""Building `/event/track/` bodies from an integration's settings (shared/spec/tiktok-api.md §1)."""

from __future__ import annotations

import hashlib
import json
import math
import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils import timezone

from integrations.models import Integration
from integrations.tiktok.events_api import PARTNER_NAME

SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")
EMAIL_SHAPE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def event_source_for(integration: Integration) -> tuple[str, str]:
    """`("web", pixel code)` for web partners, `("app", TikTok App ID)` for app partners."""
    if integration.partner.is_app:
        return "app", integration.tiktok_app_id
    pixel = getattr(integration, "pixel", None)
    return "web", pixel.pixel_code if pixel else ""


def request_body(
    integration: Integration, items: list[dict[str, Any]], test_event_code: str = ""
) -> dict[str, Any]:
    event_source, event_source_id = event_source_for(integration)
    body: dict[str, Any] = {
        "event_source": event_source,
        "event_source_id": event_source_id,
        "partner_name": PARTNER_NAME,
        "data": items,
    }
    if test_event_code:
        body["test_event_code"] = test_event_code
    return body


def test_event_item(
    integration: Integration,
    api_event_name: str,
    *,
    with_value: bool,
    ip: str,
    user_agent: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """One test event, shaped like a real one. Events that may carry revenue get a small sample
    value so a Purchase test shows how values arrive."""
    now = now or timezone.now()
    item: dict[str, Any] = {
        "event": api_event_name,
        "event_time": int(now.timestamp()),
        "event_id": f"signalboard-test-{uuid.uuid4().hex}",
        # Only what we know: an empty IP (no usable client address) is left out, not sent blank.
        "user": {key: value for key, value in (("ip", ip), ("user_agent", user_agent)) if value},
        "limited_data_use": integration.ccpa_limited_data_use,
    }
    if with_value:
        item["properties"] = {"currency": integration.app.currency, "value": 1.0}
    if integration.partner.is_app:
        item["app"] = {
            "app_id": integration.app.store_id or integration.app.app_id,
            "app_name": integration.app.name,
        }
    elif integration.app.website_url:
        item["page"] = {"url": integration.app.website_url}
    return item


# TikTok's documented `properties` keys (§1.4) that an event's value may carry. Other keys are
# ours and stay home: TikTok's handling of unknown properties is unconfirmed.
VALUE_PROPERTIES = (
    "content_type",
    "contents",
    "content_ids",
    "num_items",
    "order_id",
    "shop_id",
    "description",
    "search_string",
)


@dataclass(slots=True)  # not frozen: a frozen init sets each of its 20 fields by a call
class ForwardedEvent:
    """What TikTok gets about one conversion, as we know it: `event_item` normalises and hashes
    the user fields (§1.3). Email and phone arrive already hashed (we never store them plain);
    `external_id` is our customer user id, hashed here."""

    event_name: str
    event_time: datetime
    event_id: str
    ttclid: str = ""
    ttp: str = ""
    ip: str = ""
    user_agent: str = ""
    email_sha256: str = ""
    phone_sha256: str = ""
    external_id: str = ""
    idfa: str = ""
    idfv: str = ""
    gaid: str = ""
    url: str = ""
    referrer: str = ""
    value: dict[str, Any] | None = None  # only when the mapping includes values
    revenue: Decimal | None = None  # only when the mapping includes revenue
    currency: str = ""
    attributed_campaign_id: str = ""
    attributed_ad_id: str = ""


def event_item(
    integration: Integration, event: ForwardedEvent, mapped: MappedProperties | None = None
) -> dict[str, Any]:
    """One `data[]` item of an /event/track/ body (§1.2). `mapped`: the event's properties
    already mapped (the delivery keeps what was dropped), else they are mapped here."""
    is_app = integration.partner.is_app
    user = user_object(event, is_app=is_app)
    item: dict[str, Any] = {
        "event": event.event_name,
        "event_time": int(event.event_time.timestamp()),
        "event_id": event.event_id,
        "user": user,
    }
    properties = (mapped or map_properties(event)).properties
    if properties:
        item["properties"] = properties
    if is_app:
        item["app"] = {
            "app_id": integration.app.store_id or integration.app.app_id,
            "app_name": integration.app.name,
        }
        # §1.2-1.3: `user.ttclid` is web only; for app events the click id is `ad.callback`.
        callback = user.pop("ttclid", "")
        ad = {
            "callback": callback,
            "campaign_id": event.attributed_campaign_id,
            "ad_id": event.attributed_ad_id,
        }
        ad = {key: value for key, value in ad.items() if value}
        if ad:
            item["ad"] = ad
    else:
        page = {"url": event.url, "referrer": event.referrer}
        page = {key: value for key, value in page.items() if value}
        if page:
            item["page"] = page
    # §1.2: limited_data_use sits inside each item, never at the top of the body.
    item["limited_data_use"] = integration.ccpa_limited_data_use
    return item


# iOS reports this IDFA when the user declined tracking (ATT): it identifies nobody.
ZERO_ADVERTISING_ID = "00000000-0000-0000-0000-000000000000"


def user_object(event: ForwardedEvent, *, is_app: bool) -> dict[str, Any]:
    """The `user` object (§1.3): email, phone and external_id as SHA-256 hex of the normalised
    value; click id, `_ttp`, IP and user agent plain; advertising ids plain (IDFA upper case,
    GAID lower case) and only for app events, `ttp` only for web events. Empty keys are left
    out. For app events the click id travels as `ad.callback` instead (see `event_item`)."""
    user: dict[str, Any] = {}
    for key, hashed in (
        ("email", event.email_sha256),
        ("phone", event.phone_sha256),
        ("external_id", hash_external_id(event.external_id)),
    ):
        if hashed:
            user[key] = [hashed]
    plain = [("ttclid", event.ttclid), ("ip", event.ip), ("user_agent", event.user_agent)]
    if is_app:
        plain += [
            ("idfa", _advertising_id(event.idfa).upper()),
            ("idfv", event.idfv.strip().upper()),
            ("gaid", _advertising_id(event.gaid).lower()),
        ]
    else:
        plain.append(("ttp", event.ttp.strip()))
    for key, value in plain:
        if value:
            user[key] = value
    return user


# §1.3: the user fields TikTok matches on are SHA-256 hex of a normalised form. These functions
# are the one place that knows the forms; `events` calls them when it stores an event, so raw
# addresses and numbers never reach the database.


class UnmatchableValue(ValueError):
    """A user field that cannot be normalised the way §1.3 asks; the message says how to fix it."""


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hash_external_id(customer_user_id: str) -> str:
    """§1.3: trim, then SHA-256; an id that already is a SHA-256 hex is not hashed again."""
    text = (customer_user_id or "").strip()
    if not text:
        return ""
    if SHA256_HEX.fullmatch(text):
        return text.lower()
    return sha256_hex(text)


def hash_email(text: str) -> str:
    """SHA-256 of the trimmed, lowercased address; a hash is kept as is."""
    text = text.strip()
    if not text:
        return ""
    if SHA256_HEX.fullmatch(text):
        return text.lower()
    normalised = text.lower()
    if not EMAIL_SHAPE.fullmatch(normalised):
        raise UnmatchableValue("is neither an email address nor a SHA-256 hex digest.")
    return sha256_hex(normalised)


def normalise_phone(text: str) -> str:
    """E.164: a leading +, the country code and digits only."""
    compact = re.sub(r"[\s().\-/]", "", text)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    compact = compact.replace("+", "")
    if not compact.isdigit() or not compact.isascii():
        raise UnmatchableValue("must be a phone number in E.164 form such as +12133734253.")
    if compact.startswith("0"):
        raise UnmatchableValue("needs its country code in E.164 form (e.g. +44 7700 900123).")
    if not 7 <= len(compact) <= 15:
        raise UnmatchableValue("must have 7 to 15 digits including the country code.")
    return "+" + compact


def hash_phone(text: str) -> str:
    """SHA-256 of the E.164 form; a hash is kept as is."""
    text = text.strip()
    if not text:
        return ""
    if SHA256_HEX.fullmatch(text):
        return text.lower()
    return sha256_hex(normalise_phone(text))


def _advertising_id(value: str) -> str:
    text = (value or "").strip()
    return "" if text == ZERO_ADVERTISING_ID else text


@dataclass(frozen=True)
class MappedProperties:
    """An event's `properties` typed as TikTok wants them (§1.4), and what could not be typed.
    `dropped` holds `{"property": <path inside properties>, "reason": <why>}` entries: those
    properties stay home and the rest of the event still goes."""

    properties: dict[str, Any]
    dropped: list[dict[str, str]]


def map_properties(event: ForwardedEvent) -> MappedProperties:
    """The one place event properties get TikTok's types: coerce what is safely coercible
    (`"12.50"` → 12.5, `"2"` → 2 for integer fields, 1077 → `"1077"` for text fields) and drop
    what is not, from this event only. TikTok rejects an event with one mistyped property
    (40002, §6); a dropped property costs less than a lost conversion."""
    mapper = _PropertyMapper()
    properties: dict[str, Any] = {}
    if event.value is not None:
        for key in VALUE_PROPERTIES:
            if key in event.value and event.value[key] not in (None, ""):
                mapper.put(properties, key, key, event.value[key])
        if "search_string" not in properties and event.value.get("query") not in (None, ""):
            # `query` is the legacy name of `search_string` (§1.4).
            mapper.put(properties, "search_string", "query", event.value["query"])
    if event.revenue is not None:
        # `value` is the order total as a plain number; TikTok wants no currency symbol (§1.4).
        properties["value"] = float(event.revenue)
        if event.currency:
            mapper.put(properties, "currency", "currency", event.currency)
    return MappedProperties(properties=properties, dropped=mapper.dropped)


CONTENT_TYPES = ("product", "product_group")
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


class _Untyped(Exception):
    """A value that cannot be safely turned into the type TikTok wants; the text says why."""


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)[:40]


def _string(value: Any) -> str:
    """Text fields: numbers become their digits (a numeric content_id gives 40002, §6)."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return str(value)
    raise _Untyped(f"{_shown(value)} is not text.")


def _number(value: Any) -> int | float:
    """Number fields: plain numbers, or a string holding one (`"12.50"`). No currency symbols,
    thousands separators or decimal commas: `"1,299"` could mean 1.299 or 1299."""
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if PLAIN_NUMBER.fullmatch(text):
        return float(text) if "." in text else int(text)
    raise _Untyped(f"{_shown(value)} is not a number.")


def _integer(value: Any) -> int:
    """Integer fields: whole numbers, also written `2.0` or `"2"`; `2.5` is not one."""
    number = _number(value)
    if isinstance(number, float) and not number.is_integer():
        raise _Untyped(f"{_shown(value)} is not a whole number.")
    return int(number)


def _content_type(value: Any) -> str:
    text = value.strip().lower() if isinstance(value, str) else ""
    if text not in CONTENT_TYPES:
        raise _Untyped(f"{_shown(value)} is not product or product_group.")
    return text


def _currency(value: Any) -> str:
    text = value.strip().upper() if isinstance(value, str) else ""
    if not CURRENCY_CODE.fullmatch(text):
        raise _Untyped(f"{_shown(value)} is not an ISO 4217 code.")
    return text


PROPERTY_TYPES = {
    "content_type": _content_type,
    "num_items": _integer,
    "order_id": _string,
    "shop_id": _string,
    "description": _string,
    "search_string": _string,
    "currency": _currency,
}
CONTENT_FIELD_TYPES = {
    "content_id": _string,
    "content_name": _string,
    "content_category": _string,
    "brand": _string,
    "price": _number,
    "quantity": _integer,
}


class _PropertyMapper:
    """Types one event's properties and remembers what it had to drop, with the path."""

    def __init__(self) -> None:
        self.dropped: list[dict[str, str]] = []

    def put(self, properties: dict[str, Any], key: str, path: str, value: Any) -> None:
        try:
            if key == "contents":
                properties[key] = self._contents(value, path)
            elif key == "content_ids":
                properties[key] = self._content_ids(value, path)
            else:
                properties[key] = PROPERTY_TYPES[key](value)
        except _Untyped as problem:
            self._drop(path, str(problem))

    def _drop(self, path: str, reason: str) -> None:
        self.dropped.append({"property": path, "reason": reason})

    def _contents(self, contents: Any, path: str) -> list[dict[str, Any]]:
        if not isinstance(contents, list):
            raise _Untyped(f"{_shown(contents)} is not a list of items.")
        items = []
        for index, content in enumerate(contents):
            if not isinstance(content, dict):
                self._drop(f"{path}.{index}", f"{_shown(content)} is not an item (an object).")
                continue
            item = {}
            for name, value in content.items():  # an item holds a few of the six fields
                to_type = CONTENT_FIELD_TYPES.get(name)
                if to_type is None or value is None or value == "":
                    continue
                try:
                    item[name] = to_type(value)
                except _Untyped as problem:
                    self._drop(f"{path}.{index}.{name}", str(problem))
            items.append(item)
        return items

    def _content_ids(self, content_ids: Any, path: str) -> list[str]:
        if not isinstance(content_ids, list):
            raise _Untyped(f"{_shown(content_ids)} is not a list.")
        kept = []
        for index, content_id in enumerate(content_ids):
            try:
                kept.append(_string(content_id))
            except _Untyped as problem:
                self._drop(f"{path}.{index}", str(problem))
        return kept
