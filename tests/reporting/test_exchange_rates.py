"""Converting money at the day's rate: USD needs no row of its own, gaps use the latest rate."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from reporting.exchange_rates import Rates
from reporting.models import ExchangeRate


@pytest.fixture
def euro_rates(db):
    ExchangeRate.objects.create(day=date(2026, 3, 1), currency="EUR", per_usd=Decimal("0.8"))
    ExchangeRate.objects.create(day=date(2026, 3, 3), currency="EUR", per_usd=Decimal("0.9"))


def test_usd_converts_without_a_usd_row(euro_rates):
    rates = Rates("EUR", {"USD"}, date(2026, 3, 1), date(2026, 3, 3))
    assert rates.convert(Decimal("10"), "USD", date(2026, 3, 1)) == Decimal("8.000000")
    assert rates.convert(Decimal("8"), "EUR", date(2026, 3, 1)) == Decimal("8")
    assert rates.missing == set()


def test_a_day_without_a_rate_uses_the_latest_earlier_one(euro_rates):
    rates = Rates("USD", {"EUR"}, date(2026, 3, 2), date(2026, 3, 3))
    assert rates.convert(Decimal("8"), "EUR", date(2026, 3, 2)) == Decimal("10.000000")
    assert rates.convert(Decimal("9"), "EUR", date(2026, 3, 3)) == Decimal("10.000000")


def test_a_currency_with_no_rate_is_missing_not_one_to_one(euro_rates):
    rates = Rates("EUR", {"JPY"}, date(2026, 3, 1), date(2026, 3, 3))
    assert rates.convert(Decimal("1000"), "JPY", date(2026, 3, 2)) is None
    assert rates.missing == {("JPY", date(2026, 3, 2))}
