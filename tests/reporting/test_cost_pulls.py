"""Cost pulls against the TikTok sandbox over real HTTP: backfill, paging, restatement,
timezones, deleted campaigns, rate limits, revoked tokens, oversized queries."""

from __future__ import annotations

import logging
from ast import literal_eval
from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_q.models import Schedule

from integrations.models import CostConnection, CostPull, Integration
from integrations.services import cost_connections
from integrations.tiktok.sandbox import marketing, state
from integrations.tiktok.sandbox.models import AccessToken, ReceivedRequest
from reporting.cost_pulls import chunks, local_today, run_pull, window_for
from reporting.cost_tasks import retry_pull
from reporting.models import CostRecord
from tests import factories

UK, US, JAPAN, BULK = (
    "7012345678901234567",
    "7012345678901234568",
    "7012345678901234569",
    "7012345678901234570",
)
APP_SECRET = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"


@pytest.fixture
def sandbox(tiktok_sandbox):
    with override_settings(
        TIKTOK_APP_ID="7301234567890123457",
        TIKTOK_APP_SECRET=APP_SECRET,
        COST_RETRY_BACKOFF=[0, 0, 0],
    ):
        yield tiktok_sandbox


@pytest.fixture
def cost_integration(app) -> Integration:
    return factories.make_integration(app, "tiktokglobal_int")


def connect(integration: Integration, user, advertiser_ids: list[str]) -> CostConnection:
    token = state.issue_token(advertiser_ids=advertiser_ids)
    return cost_connections.connect_account(integration, acting_user=user, access_token=token)


def enable(integration: Integration, user, connection: CostConnection, advertiser_ids: list[str]):
    chosen = set(
        connection.advertisers.filter(advertiser_id__in=advertiser_ids).values_list("pk", flat=True)
    )
    return cost_connections.save_cost_settings(
        integration, acting_user=user, is_enabled=True, selected_advertiser_ids=chosen
    )


def stored(advertiser_id: str, start: date, end: date) -> marketing.Metrics:
    """Summed in Python: SQLite's SUM over decimals goes through floats."""
    total = marketing.ZERO
    for record in CostRecord.objects.filter(
        advertiser_id=advertiser_id, stat_date__range=(start, end)
    ):
        total = total + marketing.Metrics(
            record.spend, record.impressions, record.clicks, record.reported_conversions or 0
        )
    return total


def last_week(advertiser_id: str) -> tuple[date, date]:
    today = marketing.ADVERTISERS[advertiser_id].local_today()
    return today - timedelta(days=6), today


def test_saving_cost_pulls_the_last_seven_days_exactly(sandbox, cost_integration, marketer):
    connection = connect(cost_integration, marketer, [UK, US])
    pulls = enable(cost_integration, marketer, connection, [UK, US])

    pull = CostPull.objects.get(pk=pulls[0].pk)
    assert pull.trigger == CostPull.Trigger.BACKFILL
    assert pull.status == CostPull.Status.SUCCEEDED, pull.error
    for advertiser_id in (UK, US):
        start, end = last_week(advertiser_id)
        days = set(
            CostRecord.objects.filter(advertiser_id=advertiser_id).values_list(
                "stat_date", flat=True
            )
        )
        assert days == {start + timedelta(days=n) for n in range(7)}
        assert stored(advertiser_id, start, end) == marketing.totals(advertiser_id, start, end)
    record = CostRecord.objects.filter(advertiser_id=US).first()
    assert record.media_source == "tiktokglobal_int"
    assert record.currency == "USD"
    assert record.campaign.startswith("Trailhead Shop US campaign")
    assert record.adset and record.ad and record.country_code in ("US", "CA")
    connection.refresh_from_db()
    assert connection.last_success_at is not None


def test_deleted_campaigns_are_counted(sandbox, cost_integration, marketer):
    connection = connect(cost_integration, marketer, [UK])
    enable(cost_integration, marketer, connection, [UK])
    deleted = [ad for ad in marketing.ads_of(marketing.ADVERTISERS[UK]) if ad.is_deleted]
    assert deleted
    assert CostRecord.objects.filter(campaign_id=deleted[0].campaign_id).exists()
    report_calls = ReceivedRequest.objects.filter(path__contains="report/integrated")
    assert all("STATUS_ALL" in call.body["filtering"] for call in report_calls)


def test_list_parameters_are_sent_as_json(sandbox, cost_integration, marketer):
    connection = connect(cost_integration, marketer, [US])
    enable(cost_integration, marketer, connection, [US])
    calls = ReceivedRequest.objects.filter(path__contains="report/integrated")
    assert {call.body["dimensions"] for call in calls} == {
        '["ad_id","stat_time_day"]',
        '["ad_id","stat_time_day","country_code"]',
    }
    assert {call.body["page_size"] for call in calls} == {"1000"}


def test_a_repull_with_restated_numbers_replaces_the_rows(sandbox, cost_integration, marketer):
    connection = connect(cost_integration, marketer, [US])
    enable(cost_integration, marketer, connection, [US])
    start, end = last_week(US)
    before = stored(US, start, end)
    rows_before = CostRecord.objects.count()

    marketing.restate(US)
    # A re-pull of the whole week: forget how far we got, as a backfill would.
    connection.advertisers.update(pulled_through=None)
    pull = cost_connections.request_pull(connection, acting_user=marketer)

    pull.refresh_from_db()
    assert pull.status == CostPull.Status.SUCCEEDED, pull.error
    after = stored(US, start, end)
    assert after != before
    assert after == marketing.totals(US, start, end)
    assert CostRecord.objects.count() == len(
        marketing.delivery(marketing.ADVERTISERS[US], start, end)
    )
    assert CostRecord.objects.count() != 0 and rows_before != 0


def test_paging_reads_every_page(sandbox, cost_integration, marketer):
    connection = connect(cost_integration, marketer, [BULK])
    (pull,) = enable(cost_integration, marketer, connection, [BULK])
    pull.refresh_from_db()
    assert pull.status == CostPull.Status.SUCCEEDED, pull.error
    assert pull.pages >= 4  # > 1,000 ad rows and > 3,000 country rows in a week
    start, end = last_week(BULK)
    assert stored(BULK, start, end) == marketing.totals(BULK, start, end)
    assert pull.rows_read == CostRecord.objects.count() + len(
        {(r.stat_date, r.ad_id) for r in CostRecord.objects.all()}
    )


def test_an_advertiser_ahead_of_utc_loses_no_day(sandbox, cost_integration, marketer):
    connection = connect(cost_integration, marketer, [JAPAN, US])
    connection.advertisers.update(is_selected=True)
    Integration.objects.filter(pk=cost_integration.pk).update(cost_enabled=True)
    # 20:00 UTC on 10 March is already 11 March in Tokyo and still 10 March in New York.
    now = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)
    pull = CostPull.objects.create(connection=connection, trigger=CostPull.Trigger.MANUAL)

    run_pull(pull.pk, now=now)

    japan_days = set(
        CostRecord.objects.filter(advertiser_id=JAPAN).values_list("stat_date", flat=True)
    )
    us_days = set(CostRecord.objects.filter(advertiser_id=US).values_list("stat_date", flat=True))
    assert max(japan_days) == date(2026, 3, 11) and min(japan_days) == date(2026, 3, 5)
    assert max(us_days) == date(2026, 3, 10) and min(us_days) == date(2026, 3, 4)
    assert stored(JAPAN, date(2026, 3, 5), date(2026, 3, 11)) == marketing.totals(
        JAPAN, date(2026, 3, 5), date(2026, 3, 11)
    )


def test_a_rate_limit_backs_off_and_continues(sandbox, cost_integration, marketer):
    connection = connect(cost_integration, marketer, [US])
    state.add_fault(US, "rate_limit", remaining=2)
    (pull,) = enable(cost_integration, marketer, connection, [US])
    pull.refresh_from_db()
    assert pull.status == CostPull.Status.SUCCEEDED, pull.error
    assert pull.retries == 2
    start, end = last_week(US)
    assert stored(US, start, end) == marketing.totals(US, start, end)


def test_an_advertiser_qps_limit_is_retried_too(sandbox, cost_integration, marketer):
    connection = connect(cost_integration, marketer, [US])
    state.add_fault(US, "advertiser_qps", remaining=1)
    (pull,) = enable(cost_integration, marketer, connection, [US])
    pull.refresh_from_db()
    assert pull.status == CostPull.Status.SUCCEEDED and pull.retries == 1


def test_a_rate_limit_that_does_not_lift_ends_the_run_and_the_next_continues(
    sandbox, cost_integration, marketer
):
    connection = connect(cost_integration, marketer, [US])
    state.add_fault(US, "rate_limit", remaining=4)  # one try and three retries
    (pull,) = enable(cost_integration, marketer, connection, [US])
    pull.refresh_from_db()
    assert pull.status == CostPull.Status.FAILED
    assert pull.error_code == 40100
    connection.refresh_from_db()
    assert connection.status == CostConnection.Status.CONNECTED
    assert "40100" in connection.last_error
    retry_schedule = Schedule.objects.get(name=f"Retry cost pull of connection {connection.pk}")
    assert retry_schedule.next_run > timezone.now()

    retry_pull(*literal_eval(retry_schedule.args))  # what the cluster runs when it is due
    retry = CostPull.objects.get(trigger=CostPull.Trigger.RETRY)
    assert retry.status == CostPull.Status.SUCCEEDED
    start, end = last_week(US)
    assert stored(US, start, end) == marketing.totals(US, start, end)


def test_a_revoked_token_marks_the_connection_for_reconnecting(sandbox, cost_integration, marketer):
    connection = connect(cost_integration, marketer, [US])
    state.add_fault(US, "revoked_token", remaining=1)
    (pull,) = enable(cost_integration, marketer, connection, [US])
    pull.refresh_from_db()
    connection.refresh_from_db()
    assert pull.status == CostPull.Status.FAILED and pull.error_code == 40105
    assert connection.status == CostConnection.Status.BROKEN
    assert cost_integration.audit_entries.filter(action="cost.connection_broken").exists()
    assert cost_connections.queue_daily_pulls() == []


def test_a_query_too_large_shrinks_the_window(sandbox, cost_integration, marketer):
    connection = connect(cost_integration, marketer, [US])
    state.add_fault(US, "query_too_large", remaining=1)
    (pull,) = enable(cost_integration, marketer, connection, [US])
    pull.refresh_from_db()
    assert pull.status == CostPull.Status.SUCCEEDED, pull.error
    spans = {
        (call.body["start_date"], call.body["end_date"])
        for call in ReceivedRequest.objects.filter(path__contains="report", response_code=0)
    }
    assert len(spans) == 2  # 7 days became 3 + 4
    start, end = last_week(US)
    assert stored(US, start, end) == marketing.totals(US, start, end)


def test_the_daily_pull_rereads_the_restatement_window(sandbox, cost_integration, marketer):
    connection = connect(cost_integration, marketer, [US])
    enable(cost_integration, marketer, connection, [US])
    ReceivedRequest.objects.all().delete()

    (pull,) = cost_connections.queue_daily_pulls()

    pull.refresh_from_db()
    assert pull.trigger == CostPull.Trigger.DAILY and pull.status == CostPull.Status.SUCCEEDED
    today = marketing.ADVERTISERS[US].local_today()
    spans = {
        (call.body["start_date"], call.body["end_date"])
        for call in ReceivedRequest.objects.filter(path__contains="report")
    }
    assert spans == {((today - timedelta(days=3)).isoformat(), today.isoformat())}


def test_deleting_a_connection_revokes_the_token_and_keeps_the_rows(
    sandbox, cost_integration, marketer
):
    connection = connect(cost_integration, marketer, [US])
    enable(cost_integration, marketer, connection, [US])
    token = connection.access_token.reveal()
    rows = CostRecord.objects.count()

    outcome = cost_connections.delete_connection(connection, acting_user=marketer)

    assert outcome.is_deleted
    assert "TikTok revoked its access token" in outcome.message
    assert state.find_token(token).revoked_at is not None
    connection.refresh_from_db()
    assert connection.status == CostConnection.Status.REVOKED
    assert not connection.access_token
    assert CostRecord.objects.count() == rows
    assert cost_connections.queue_daily_pulls() == []


def test_the_token_never_reaches_the_logs(sandbox, cost_integration, marketer, caplog):
    caplog.set_level(logging.DEBUG)
    connection = connect(cost_integration, marketer, [US])
    state.add_fault(US, "rate_limit", remaining=1)
    enable(cost_integration, marketer, connection, [US])
    token = connection.access_token.reveal()
    assert token and token not in caplog.text
    assert AccessToken.objects.filter(hint="…" + token[-4:]).exists()


def test_windows_are_computed_in_the_advertisers_timezone(db):
    now = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)
    japan = type("A", (), {"timezone": "Asia/Tokyo", "pulled_through": None})()
    assert local_today(japan, now) == date(2026, 3, 11)
    assert window_for(japan, now) == (date(2026, 3, 5), date(2026, 3, 11))
    japan.pulled_through = date(2026, 2, 1)  # a month of missed pulls is read back
    assert window_for(japan, now) == (date(2026, 2, 1), date(2026, 3, 11))


def test_long_windows_are_split_into_requests_of_at_most_thirty_days():
    spans = chunks(date(2026, 2, 1), date(2026, 3, 11), 30)
    assert spans == [
        (date(2026, 2, 1), date(2026, 3, 2)),
        (date(2026, 3, 3), date(2026, 3, 11)),
    ]
    assert chunks(date(2026, 3, 1), date(2026, 3, 1), 30) == [(date(2026, 3, 1), date(2026, 3, 1))]
