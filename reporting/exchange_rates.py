"""Converting money to an app's currency at the rate of each amount's day.

Rates are units of a currency per 1 USD (`ExchangeRate`, maintained by the admin). A day without
a rate uses the latest earlier one; with none at all the amount is missing, never taken as 1:1
(except from a currency to itself).
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from reporting.models import ExchangeRate

PRECISION = Decimal("0.000001")


class Rates:
    """Exchange rates for one date range, answering "this amount on this day, in the app's
    currency", and remembering what it could not convert."""

    def __init__(self, target: str, currencies: Iterable[str], first: date, last: date) -> None:
        self.target = target
        wanted = {c for c in currencies if c and c != target}
        self.missing: set[tuple[str, date]] = set()
        self._days: dict[str, list[date]] = defaultdict(list)
        self._rates: dict[str, list[Decimal]] = defaultdict(list)
        if not wanted:
            return
        wanted.add(target)
        rows = list(
            ExchangeRate.objects.filter(currency__in=wanted, day__range=(first, last))
            .order_by("currency", "day")
            .values_list("currency", "day", "per_usd")
        )
        for currency in wanted:
            # The latest rate before the range covers its first days when they have none.
            earlier = (
                ExchangeRate.objects.filter(currency=currency, day__lt=first)
                .order_by("-day")
                .values_list("currency", "day", "per_usd")
                .first()
            )
            if earlier is not None:
                rows.append(earlier)
        for currency, day, per_usd in sorted(rows):
            self._days[currency].append(day)
            self._rates[currency].append(per_usd)

    def stale(self, as_of: date, *, older_than_days: int = 3) -> list[tuple[str, date]]:
        """Currencies whose newest rate on or before `as_of` is more than `older_than_days`
        old, with that rate's day (a feed that stopped shows here before money goes wrong)."""
        found = []
        for currency, days in sorted(self._days.items()):
            index = bisect.bisect_right(days, as_of)
            if index and (as_of - days[index - 1]).days > older_than_days:
                found.append((currency, days[index - 1]))
        return found

    def per_usd(self, currency: str, day: date) -> Decimal | None:
        if currency == "USD":
            return Decimal(1)  # rates are per USD: the table need not hold USD itself
        index = bisect.bisect_right(self._days.get(currency, []), day)
        return self._rates[currency][index - 1] if index else None

    def convert(self, amount: Decimal, currency: str, day: date) -> Decimal | None:
        if not currency or currency == self.target:
            return amount
        source, target = self.per_usd(currency, day), self.per_usd(self.target, day)
        if source is None or target is None:
            self.missing.add((currency if source is None else self.target, day))
            return None
        # To the stored precision, so sums do not depend on the order they are added in.
        return (amount / source * target).quantize(PRECISION)


class RateBook:
    """The same lookup as Rates.per_usd, for readers that cannot name their currencies and
    dates up front (raw-data exports): each currency's rates load on first use."""

    def __init__(self) -> None:
        self._days: dict[str, list[date]] = {}
        self._rates: dict[str, list[Decimal]] = {}

    def per_usd(self, currency: str, day: date) -> Decimal | None:
        if currency == "USD":
            return Decimal(1)
        if currency not in self._days:
            known = list(
                ExchangeRate.objects.filter(currency=currency)
                .order_by("day")
                .values_list("day", "per_usd")
            )
            self._days[currency] = [row[0] for row in known]
            self._rates[currency] = [row[1] for row in known]
        index = bisect.bisect_right(self._days[currency], day) - 1
        return self._rates[currency][index] if index >= 0 else None
