"""Times, PII hashing and money as senders write them (TikTok spec §1.3 test vectors)."""

from __future__ import annotations

import ipaddress
import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from events.services.normalise import (
    FieldError,
    check_text,
    clean_currency,
    clean_ip,
    clean_revenue,
    clean_value,
    hash_email,
    hash_phone,
    parse_event_time,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
ALICE = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"
PHONE = "9f7ec22d72092cd3c0b58726ed9c2d91b92e51a3f29837508fb2948bb22dd2fd"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-01T12:30:00Z", datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
        ("2026-03-01T13:30:00+01:00", datetime(2026, 3, 1, 12, 30, tzinfo=UTC)),
        (1740823512, datetime(2025, 3, 1, 10, 5, 12, tzinfo=UTC)),
        ("1740823512", datetime(2025, 3, 1, 10, 5, 12, tzinfo=UTC)),
        (1740823512345, datetime(2025, 3, 1, 10, 5, 12, 345000, tzinfo=UTC)),
        (1740823512.5, datetime(2025, 3, 1, 10, 5, 12, 500000, tzinfo=UTC)),
        # The rule's edge: 10^11 − 1 is seconds (5138 is in the future, refused below), 10^11 ms.
        (100_000_000_000, datetime(1973, 3, 3, 9, 46, 40, tzinfo=UTC)),
    ],
)
def test_it_reads_iso_times_and_epoch_seconds_or_milliseconds(value, expected):
    if expected.year < 2000:
        with pytest.raises(FieldError, match="before 2000"):
            parse_event_time(value, now=NOW)
    else:
        assert parse_event_time(value, now=NOW) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2026-03-01T12:30:00", "no UTC offset"),
        ("yesterday", "not an ISO 8601 time"),
        (99_999_999_999, "in the future"),
        ("2026-03-11T12:00:01Z", "in the future"),
        (True, "ISO 8601"),
        ([1740823512], "ISO 8601"),
        (-5, "positive"),
    ],
)
def test_it_refuses_times_it_would_have_to_guess(value, reason):
    with pytest.raises(FieldError, match=reason):
        parse_event_time(value, now=NOW)


def test_a_time_exactly_one_day_ahead_is_tolerated_for_clock_drift():
    assert parse_event_time("2026-03-11T12:00:00Z", now=NOW) == datetime(
        2026, 3, 11, 12, tzinfo=UTC
    )


def test_it_hashes_a_trimmed_lowercased_email():
    assert hash_email(" ALICE_abc@gmail.com ") == ALICE


def test_it_keeps_an_email_that_is_already_a_hash():
    assert hash_email(ALICE.upper()) == ALICE


def test_it_refuses_an_email_that_is_neither_address_nor_hash():
    with pytest.raises(FieldError, match="neither an email address nor a SHA-256"):
        hash_email("alice at example")


@pytest.mark.parametrize("phone", ["(+1)2133734253", "+1 213-373-4253", "0012133734253"])
def test_it_hashes_a_phone_in_e164_form(phone):
    assert hash_phone(phone) == PHONE


def test_it_keeps_a_phone_that_is_already_a_hash():
    assert hash_phone(PHONE) == PHONE


@pytest.mark.parametrize(
    ("phone", "reason"),
    [("07700 900123", "country code"), ("+1 555", "7 to 15 digits"), ("call me", "E.164")],
)
def test_it_refuses_phones_without_a_country_code_or_digits(phone, reason):
    with pytest.raises(FieldError, match=reason):
        hash_phone(phone)


def test_it_reads_revenue_as_an_exact_decimal():
    assert clean_revenue("19.99") == Decimal("19.99")
    assert clean_revenue(19.99) == Decimal("19.99")


@pytest.mark.parametrize("value", ["$19.99", "NaN", "Infinity", True, 1e13])
def test_it_refuses_revenue_that_is_not_a_plain_finite_number(value):
    with pytest.raises(FieldError):
        clean_revenue(value)


def test_it_accepts_iso_4217_currencies_in_any_case():
    assert clean_currency("eur") == "EUR"


def test_it_refuses_a_currency_iso_4217_does_not_list():
    with pytest.raises(FieldError, match="ISO 4217"):
        clean_currency("ABC")


def test_it_reads_an_appsflyer_event_value_given_as_a_json_string():
    assert clean_value('{"af_revenue": "9.99", "plan": "pro"}') == {
        "af_revenue": "9.99",
        "plan": "pro",
    }


def nested(depth: int) -> dict:
    value: dict = {}
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("[1, 2]", "JSON object"),
        ("{not json", "not a JSON object"),
        ({"a": "\x00"}, "NUL"),
        ({"a": "\ud800"}, "lone surrogate"),
        ({"a": float("inf")}, "infinite"),
        (nested(20), "deeper"),
    ],
)
def test_it_refuses_values_the_databases_cannot_store(value, reason):
    with pytest.raises(FieldError, match=reason):
        clean_value(value)


def _reference_ip(text: str) -> str | Exception:
    """What clean_ip answered before its IPv4 shortcut: ipaddress's reading of the text."""
    try:
        address = ipaddress.ip_address(check_text(text, max_length=45))
    except ValueError as error:
        return error
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return ValueError("zone id")
    return str(address)


def _ip_cases() -> list[str]:
    rng = random.Random(14)
    octets = [str(n) for n in range(256)] + ["00", "01", "007", "256", "999", "-1", "+1", "1e2"]
    cases = [f"{o}.{rng.randrange(256)}.{rng.randrange(256)}.{o}" for o in octets]
    cases += [f"{rng.randrange(256)}.{o}.{o}.{rng.randrange(256)}" for o in octets]
    cases += [
        *("1.2.3", "1.2.3.4.5", "1..3.4", "1.2.3.4.", ".1.2.3.4", "0x1.2.3.4"),
        *("\u0661.\u0662.\u0663.\u0664", "１.２.３.４", "1.2.3.4\n", "1.2.3.4 ", "1.2.3.4%eth0"),
        *("::1", "::ffff:1.2.3.4", "2001:DB8::0:1", "fe80::1%eth0", "2001:db8::g"),
        *("1:2:3:4:5:6:7:8:9", " 1.2.3.4", "1.2.3.4\t"),
    ]  # fmt: skip
    return cases


@pytest.mark.parametrize("text", _ip_cases())
def test_ip_addresses_are_read_exactly_as_the_ipaddress_module_reads_them(text):
    expected = _reference_ip(text)
    if isinstance(expected, Exception):
        with pytest.raises(FieldError):
            clean_ip(text)
    else:
        assert clean_ip(text) == expected
