"""Exchange rates from the European Central Bank's reference-rate XML: imported from a file, or
fetched on a schedule from a URL over real HTTP; admin rates kept; bad files change nothing."""

from __future__ import annotations

import http.server
import threading
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings
from django.utils import timezone

from reporting.ecb_rates import fetch_rates
from reporting.exchange_rates import Rates
from reporting.models import ExchangeRate

SAMPLE = Path(__file__).resolve().parents[1] / "fixtures" / "eurofxref-sample.xml"
pytestmark = pytest.mark.django_db


def rate(day: str, currency: str) -> ExchangeRate:
    return ExchangeRate.objects.get(day=date.fromisoformat(day), currency=currency)


def test_an_ecb_file_imports_as_rates_per_usd(capsys):
    call_command("import_rates", str(SAMPLE))
    assert "2 days: 6 rates saved" in capsys.readouterr().out
    # 162.00 JPY and 1.08 USD per EUR: 150 JPY per USD; EUR per USD = 1 / 1.08.
    assert rate("2026-03-03", "JPY").per_usd == Decimal("150.00000000")
    assert rate("2026-03-03", "EUR").per_usd == Decimal("0.92592593")
    assert rate("2026-03-02", "GBP").per_usd == Decimal("0.80000000")
    assert rate("2026-03-03", "GBP").source == ExchangeRate.Source.ECB
    assert not ExchangeRate.objects.filter(currency="USD").exists()
    rates = Rates("JPY", ["USD"], date(2026, 3, 3), date(2026, 3, 3))
    assert rates.convert(Decimal("10"), "USD", date(2026, 3, 3)) == Decimal("1500.000000")


def test_a_rate_an_admin_set_is_kept_and_a_second_import_changes_nothing_else(capsys):
    ExchangeRate.objects.create(
        day=date(2026, 3, 3), currency="JPY", per_usd=Decimal("149"), source="admin"
    )
    call_command("import_rates", str(SAMPLE))
    assert "1 set by an admin kept" in capsys.readouterr().out
    assert rate("2026-03-03", "JPY").per_usd == Decimal("149")
    call_command("import_rates", str(SAMPLE))
    assert ExchangeRate.objects.count() == 6


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"<not xml", "not XML"),
        (
            b"<Cube><Cube time='2026-03-03'><Cube currency='JPY' rate='162'/></Cube></Cube>",
            "no day",
        ),
        (
            b"<Cube><Cube time='2026-03-03'><Cube currency='USD' rate='-1'/></Cube></Cube>",
            "above zero",
        ),
        (
            b"<Cube><Cube time='03/03/2026'><Cube currency='USD' rate='1'/></Cube></Cube>",
            "YYYY-MM-DD",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><Cube>&a;</Cube>',
            "refused XML",
        ),
    ],
)
def test_a_bad_file_is_refused_with_the_reason_and_changes_nothing(tmp_path, content, words):
    ExchangeRate.objects.create(day=date(2026, 3, 1), currency="JPY", per_usd=Decimal("150"))
    bad = tmp_path / "rates.xml"
    bad.write_bytes(content)
    with pytest.raises(CommandError, match=words):
        call_command("import_rates", str(bad))
    assert ExchangeRate.objects.count() == 1


@pytest.fixture
def ecb_server():
    """A real HTTP server answering with the sample file, as the ECB's URL would."""
    body = SAMPLE.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(200)
            self.send_header("Content-Type", "text/xml")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/eurofxref-daily.xml"
    server.shutdown()


def test_the_scheduled_task_fetches_and_imports_the_url(ecb_server):
    with override_settings(EXCHANGE_RATES_URL=ecb_server):
        result = fetch_rates()
    assert result is not None and result.saved == 6
    assert rate("2026-03-02", "JPY").per_usd == Decimal("150.00000000")


def test_without_a_url_the_task_fetches_nothing():
    with override_settings(EXCHANGE_RATES_URL=""):
        assert fetch_rates() is None
    assert not ExchangeRate.objects.exists()


def test_the_overview_says_when_its_newest_rate_is_more_than_three_days_old():
    today = timezone.now().date()
    ExchangeRate.objects.create(day=today - timedelta(days=5), currency="EUR", per_usd=1)
    rates = Rates("EUR", ["USD"], today - timedelta(days=6), today)
    assert rates.stale(today) == [("EUR", today - timedelta(days=5))]
    ExchangeRate.objects.create(day=today - timedelta(days=1), currency="EUR", per_usd=1)
    rates = Rates("EUR", ["USD"], today - timedelta(days=6), today)
    assert rates.stale(today) == []
