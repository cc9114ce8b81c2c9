"""Field-level cleaning shared by every way data reaches us: times, user keys, PII, money.

Each cleaner takes what a sender wrote and returns the value we store, or raises `FieldError`
with a sentence that tells the sender exactly what to change. Nothing here touches the database.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db.models import Field, Model
from django.utils import timezone

from events.currencies import ISO_4217_CODES
from integrations.tiktok import payloads

# Epoch values below this are seconds, values at or above it are milliseconds. 10^11 seconds is
# the year 5138 and 10^11 milliseconds is 3 March 1973, so no plausible event time is ambiguous.
EPOCH_MILLISECONDS_FROM = 100_000_000_000
EARLIEST_EVENT_TIME = datetime(2000, 1, 1, tzinfo=UTC)
# Clocks of phones and browsers drift; a day ahead is tolerated, more is a sender's bug.
FUTURE_TOLERANCE = timedelta(days=1)

EPOCH_DIGITS = re.compile(r"\s*[0-9]+(\.[0-9]+)?\s*")
MAX_VALUE_JSON_CHARS = 16_000
MAX_VALUE_DEPTH = 16


class FieldError(ValueError):
    """A value a sender must change; the message says how."""


def column_lengths(model: type[Model], names: Iterable[str]) -> dict[str, int]:
    """The `max_length` of each named column, so input limits follow the schema (PostgreSQL
    refuses a longer value with a DataError that SQLite would have stored)."""
    return {name: max_length_of(model, name) for name in names}


def max_length_of(model: type[Model], name: str) -> int:
    field = model._meta.get_field(name)
    if not isinstance(field, Field) or field.max_length is None:
        raise TypeError(f"{model.__name__}.{name} is not a column with a max_length")
    return field.max_length


def check_text(value: Any, *, max_length: int, allow_empty: bool = True) -> str:
    """A string we can store on SQLite and PostgreSQL alike: no NUL, no lone surrogates."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise FieldError("must be a string.")
    text = value.strip() if isinstance(value, str) else str(value)
    if "\x00" in text:
        raise FieldError("must not contain NUL characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise FieldError("must be valid Unicode text (it contains a lone surrogate).") from None
    if not text and not allow_empty:
        raise FieldError("must not be empty.")
    if len(text) > max_length:
        raise FieldError(f"must be at most {max_length} characters (got {len(text)}).")
    return text


def parse_event_time(value: Any, *, now: datetime | None = None) -> datetime:
    """ISO 8601 with a UTC offset, or Unix epoch seconds or milliseconds (number or digits).

    Epoch values below 10^11 are seconds, others milliseconds (see EPOCH_MILLISECONDS_FROM).
    A time without an offset is refused rather than guessed."""
    now = now or timezone.now()
    if isinstance(value, bool):
        raise FieldError("must be an ISO 8601 time with an offset or a Unix epoch number.")
    if isinstance(value, str) and EPOCH_DIGITS.fullmatch(value):
        value = Decimal(value.strip())
    if isinstance(value, int | float | Decimal):
        moment = _from_epoch(value)
    elif isinstance(value, str):
        moment = _from_iso(value)
    else:
        raise FieldError("must be an ISO 8601 time with an offset or a Unix epoch number.")
    if moment < EARLIEST_EVENT_TIME:
        raise FieldError(f"is before 2000-01-01 ({moment.isoformat()}); check the unit.")
    if moment > now + FUTURE_TOLERANCE:
        raise FieldError(f"is more than a day in the future ({moment.isoformat()}).")
    return moment


def _from_epoch(value: int | float | Decimal) -> datetime:
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if not number.is_finite() or number < 0:
        raise FieldError("must be a positive Unix epoch number.")
    seconds = number if number < EPOCH_MILLISECONDS_FROM else number / 1000
    if seconds >= EPOCH_MILLISECONDS_FROM:
        raise FieldError("is too large for epoch milliseconds.")
    whole = int(seconds)
    micros = int((seconds - whole) * 1_000_000)
    return datetime.fromtimestamp(whole, tz=UTC) + timedelta(microseconds=micros)


def _from_iso(text: str) -> datetime:
    text = check_text(text, max_length=64, allow_empty=False)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FieldError(
            f"{text!r} is not an ISO 8601 time; send e.g. 2026-03-01T12:30:00Z or epoch seconds."
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise FieldError(
            f"{text!r} has no UTC offset; add one (Z or +01:00) so the time is unambiguous."
        )
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before year 1 in UTC
        raise FieldError(f"{text!r} is out of range; send a time from 2000 on.") from None


def hash_email(value: Any) -> str:
    """The address as TikTok matches it (payloads.hash_email, spec §1.3); a hash is kept."""
    return _hashed(payloads.hash_email, check_text(value, max_length=320))


def hash_phone(value: Any) -> str:
    """The number's E.164 form hashed (payloads.hash_phone, spec §1.3); a hash is kept."""
    return _hashed(payloads.hash_phone, check_text(value, max_length=64))


def _hashed(hash_function: Callable[[str], str], text: str) -> str:
    try:
        return hash_function(text)
    except payloads.UnmatchableValue as error:
        raise FieldError(str(error)) from None


def clean_device_uuid(value: Any, *, upper: bool) -> str:
    """IDFA / IDFV upper-case, GAID lower-case (TikTok spec §1.3); all are UUIDs. The all-zero
    id that iOS and Android report when the user limits ad tracking names nobody (every such
    user shares it), so it is kept as no id at all."""
    text = check_text(value, max_length=64)
    if not text:
        return ""
    try:
        parsed = uuid.UUID(text)
    except ValueError:
        raise FieldError("must be a UUID such as 6D92078A-8246-4BA4-AE5B-76104861E7DC.") from None
    if parsed.int == 0:
        return ""
    return str(parsed).upper() if upper else str(parsed)


# An IPv4 address as ipaddress writes it (decimal octets 0-255, no leading zeros): such text
# is its own normal form. Parsing it with ipaddress was 6% of a batch's CPU.
_CANONICAL_IPV4 = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}"
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
)


def clean_ip(value: Any) -> str | None:
    text = check_text(value, max_length=45)
    if not text:
        return None
    if _CANONICAL_IPV4.fullmatch(text):
        return text
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        raise FieldError(f"{text!r} is not an IPv4 or IPv6 address.") from None
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        raise FieldError("must not carry an IPv6 zone id.")
    return str(address)


def clean_currency(value: Any) -> str:
    text = check_text(value, max_length=3, allow_empty=False).upper()
    if text not in ISO_4217_CODES:
        raise FieldError(f"{text!r} is not an ISO 4217 currency code such as USD or EUR.")
    return text


def clean_revenue(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise FieldError("must be a number such as 19.99.")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise FieldError(f"{value!r} is not a number; send e.g. 19.99 without a symbol.") from None
    if not amount.is_finite():
        raise FieldError("must be a finite number.")
    if abs(amount) >= Decimal("1e12"):
        raise FieldError("must be below 1,000,000,000,000.")
    return amount.quantize(Decimal("0.000001"))


def clean_value(value: Any) -> dict:
    """A JSON object of event details. AppsFlyer's `eventValue` may arrive as a JSON string."""
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            raise FieldError("is a string but not a JSON object.") from None
    if not isinstance(value, dict):
        raise FieldError("must be a JSON object (or a string holding one).")
    _check_json_tree(value, depth=0)
    if len(json.dumps(value, ensure_ascii=False)) > MAX_VALUE_JSON_CHARS:
        raise FieldError(f"must be at most {MAX_VALUE_JSON_CHARS} characters of JSON.")
    return value


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not valid JSON")


def _check_json_tree(node: Any, *, depth: int) -> None:
    if depth > MAX_VALUE_DEPTH:
        raise FieldError(f"must not nest deeper than {MAX_VALUE_DEPTH} levels.")
    if isinstance(node, dict):
        for key, item in node.items():
            check_text(key, max_length=200)
            _check_json_tree(item, depth=depth + 1)
    elif isinstance(node, list):
        for item in node:
            _check_json_tree(item, depth=depth + 1)
    elif isinstance(node, str):
        check_text(node, max_length=MAX_VALUE_JSON_CHARS)
    elif isinstance(node, float) and not math.isfinite(node):  # 1e999 parses as infinity
        raise FieldError("must not contain infinite or NaN numbers.")
