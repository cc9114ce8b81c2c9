"""Whole numbers and dates typed into requests (query strings, form posts, session values), read
one way everywhere.

`str.isdigit()` accepts '²' and '①', which `int()` refuses, and a date in year 9999 overflows as
soon as a day is added to it; both used to end in a server error. Here digits are ASCII only,
and every number and date has a bounded range, so a typed value can neither crash a view nor make
it loop for minutes before a later cap applies.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator

ASCII_WHOLE_NUMBER = re.compile(r"[0-9]{1,19}")
LARGEST_ID = 2**63 - 1
# Reports, filters and deliveries never need dates outside these; the margin keeps "the day
# after" and timezone shifts far from datetime's limits.
EARLIEST_DATE = date(2000, 1, 1)
LATEST_DATE = date(2099, 12, 31)


def first_control_character(text: str) -> str | None:
    """The first control character (NUL, a newline, DEL, C1…) in the text, if any. PostgreSQL
    refuses NUL outright; the others never belong in an id, a name or a URL path."""
    for char in text:
        if unicodedata.category(char) == "Cc":
            return char
    return None


def parse_whole_number(value: object, *, maximum: int, minimum: int = 0) -> int | None:
    """The number written in ASCII digits, if it lies in [minimum, maximum]; else None."""
    text = value.strip() if isinstance(value, str) else str(value) if isinstance(value, int) else ""
    if not ASCII_WHOLE_NUMBER.fullmatch(text):
        return None
    number = int(text)
    if not minimum <= number <= maximum:
        return None
    return number


def parse_id(value: object) -> int | None:
    """A database id: positive and within a 64-bit column."""
    return parse_whole_number(value, minimum=1, maximum=LARGEST_ID)


def parse_ids(values: Iterable[object], *, limit: int) -> list[int]:
    """The ids among posted values, at most `limit` of them (checked before any loop over
    them); anything that is not an id is skipped."""
    ids = [parse_id(value) for value in list(values)[:limit]]
    return [number for number in ids if number is not None]


def parse_date(text: str) -> date | None:
    """A yyyy-mm-dd date in ASCII digits between EARLIEST_DATE and LATEST_DATE; else None."""
    text = text.strip()
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return None
    return day if EARLIEST_DATE <= day <= LATEST_DATE else None


class BoundedDateField(forms.DateField):
    """A form date in ASCII digits between EARLIEST_DATE and LATEST_DATE, with a message
    saying so (`strptime` would read '２０２６' as 2026)."""

    default_validators = [
        MinValueValidator(EARLIEST_DATE, f"Choose a date from {EARLIEST_DATE.isoformat()}."),
        MaxValueValidator(LATEST_DATE, f"Choose a date up to {LATEST_DATE.isoformat()}."),
    ]

    def to_python(self, value: object) -> date | None:
        if isinstance(value, str) and not value.isascii():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)
