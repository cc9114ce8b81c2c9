"""Daily exchange rates from the European Central Bank's reference rates, in its XML format.

The ECB publishes units of each currency per 1 EUR (`eurofxref-daily.xml`, and the whole
history in `eurofxref-hist.xml`): a `<Cube time="YYYY-MM-DD">` per day holding
`<Cube currency="USD" rate="1.0845"/>` per currency. Our rates are per 1 USD, so a day's
`X per USD = rate(X) / rate(USD)`, and `EUR per USD = 1 / rate(USD)`; a day without USD is
skipped. Rates an admin set are kept as they are.

A django-q2 schedule fetches `EXCHANGE_RATES_URL` (unset: nothing is fetched); offline installs
load a file with `manage.py import_rates FILE`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

import requests
from defusedxml import ElementTree
from django.conf import settings
from django.db import transaction

from reporting.models import ExchangeRate

log = logging.getLogger(__name__)
PLACES = Decimal("0.00000001")  # the column's 8 decimal places
FETCH_TIMEOUT = 30


class RatesFileError(ValueError):
    """The file is not the ECB's reference-rate XML; the message says what is wrong."""


@dataclass(frozen=True)
class ImportResult:
    days: int
    saved: int
    kept_admin: int

    def __str__(self) -> str:
        return (
            f"{self.days} day{'s' if self.days != 1 else ''}: {self.saved} rates saved, "
            f"{self.kept_admin} set by an admin kept"
        )


def parse_ecb_xml(content: bytes) -> dict[date, dict[str, Decimal]]:
    """{day: {currency: units per 1 USD}} from the ECB's XML. Raises RatesFileError."""
    try:
        root = ElementTree.fromstring(content)
    except ElementTree.ParseError as error:
        raise RatesFileError(f"not XML: {error}") from None
    except Exception as error:  # defusedxml refuses entities and the like
        raise RatesFileError(f"refused XML: {type(error).__name__}") from None
    days: dict[date, dict[str, Decimal]] = {}
    for cube in root.iter():
        if not cube.tag.endswith("Cube") or "time" not in cube.attrib:
            continue
        try:
            day = date.fromisoformat(cube.attrib["time"])
        except ValueError:
            raise RatesFileError(f"a day is not YYYY-MM-DD: {cube.attrib['time']!r}") from None
        per_eur: dict[str, Decimal] = {}
        for child in cube:
            currency, rate = child.attrib.get("currency", ""), child.attrib.get("rate", "")
            if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
                raise RatesFileError(f"{day}: {currency!r} is not a currency code")
            try:
                value = Decimal(rate)
            except InvalidOperation:
                raise RatesFileError(f"{day} {currency}: rate {rate!r} is not a number") from None
            if not value.is_finite() or value <= 0:
                raise RatesFileError(f"{day} {currency}: rate {rate!r} must be above zero")
            per_eur[currency] = value
        usd = per_eur.get("USD")
        if usd is None:
            continue
        per_usd = {code: (value / usd).quantize(PLACES) for code, value in per_eur.items()}
        per_usd.pop("USD")
        per_usd["EUR"] = (Decimal(1) / usd).quantize(PLACES)
        days[day] = per_usd
    if not days:
        raise RatesFileError("no day with a USD rate: is this the ECB's eurofxref XML?")
    return days


def import_rates(days: dict[date, dict[str, Decimal]]) -> ImportResult:
    """Save the rates; a (day, currency) an admin set is kept. One transaction."""
    saved = kept = 0
    with transaction.atomic():
        existing = {
            (row.day, row.currency): row
            for row in ExchangeRate.objects.select_for_update().filter(day__in=list(days))
        }
        new, changed = [], []
        for day, rates in days.items():
            for currency, per_usd in rates.items():
                row = existing.get((day, currency))
                if row is None:
                    new.append(
                        ExchangeRate(
                            day=day,
                            currency=currency,
                            per_usd=per_usd,
                            source=ExchangeRate.Source.ECB,
                        )
                    )
                elif row.source == ExchangeRate.Source.ADMIN:
                    kept += 1
                    continue
                elif row.per_usd != per_usd:
                    row.per_usd = per_usd
                    changed.append(row)
                saved += 1
        ExchangeRate.objects.bulk_create(new, batch_size=1000)
        ExchangeRate.objects.bulk_update(changed, ["per_usd"], batch_size=1000)
    return ImportResult(days=len(days), saved=saved, kept_admin=kept)


def fetch_rates() -> ImportResult | None:
    """The schedule's task: fetch EXCHANGE_RATES_URL and import it (None when unset). A failure
    is logged and raised, so the task shows as failed; the next run tries again."""
    url = settings.EXCHANGE_RATES_URL
    if not url:
        return None
    response = requests.get(url, timeout=FETCH_TIMEOUT)
    response.raise_for_status()
    result = import_rates(parse_ecb_xml(response.content))
    log.info("Exchange rates from %s: %s", url, result)
    return result
