from __future__ import annotations

import io
import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.utils import timezone

from events.models import ORGANIC, InAppEvent, Install, Postback, Touchpoint
from integrations.models import App, Integration
from integrations.policy import access_for
from reporting.models import CostRecord
from reporting.overview.filters import Filters
from reporting.overview.report import build_overview

pytestmark = pytest.mark.django_db

MODELS = [App, Integration, Touchpoint, Install, InAppEvent, CostRecord]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in MODELS}


def test_running_it_twice_leaves_the_same_counts():
    call_command("seed_demo", "--days", "3", stdout=io.StringIO())
    first = counts()
    call_command("seed_demo", "--days", "3", stdout=io.StringIO())
    assert counts() == first
    assert first["InAppEvent"] > 100


def test_it_prints_working_logins():
    out = io.StringIO()
    call_command("seed_demo", "--days", "1", stdout=out)
    assert "demo-marketer" in out.getvalue()
    assert authenticate(username="demo-marketer", password="signalboard-demo") is not None


def test_it_covers_tiktok_web_tiktok_app_and_organic_with_two_currencies():
    call_command("seed_demo", "--days", "3", stdout=io.StringIO())
    sources = set(Install.objects.values_list("media_source", flat=True))
    assert {"tiktokweb_int", "bytedanceglobal_int", ORGANIC} <= sources
    currencies = set(InAppEvent.objects.exclude(revenue=None).values_list("currency", flat=True))
    assert len(currencies) >= 2
    assert CostRecord.objects.filter(media_source="tiktokglobal_int").exists()
    assert CostRecord.objects.filter(media_source="bytedanceglobal_int").exists()


def test_attributed_events_carry_their_installs_attribution():
    call_command("seed_demo", "--days", "2", stdout=io.StringIO())
    event = (
        InAppEvent.objects.filter(media_source="tiktokweb_int").select_related("install").first()
    )
    assert event.install.media_source == "tiktokweb_int"
    assert event.ttclid and event.ttclid == event.install.ttclid
    assert event.install.touchpoint.ttclid == event.ttclid


def test_demo_events_carry_their_installs_and_clicks_details_as_ingest_stores_them():
    """The raw-data export reads these from the event's own row (Install Time, versions,
    Original URL, sub params): demo data must have them as real ingest leaves them."""
    call_command("seed_demo", "--days", "2", stdout=io.StringIO())
    events = InAppEvent.objects.filter(install__touchpoint__isnull=False).select_related(
        "install__touchpoint"
    )
    assert events.exists()
    for event in events[:50]:
        install, click = event.install, event.install.touchpoint
        assert event.install_time == install.installed_at
        assert (event.os_version, event.app_version) == (install.os_version, install.app_version)
        assert (event.click_url, install.click_url) == (click.url, click.url)
        assert (event.sub1, install.sub1) == (click.sub1, click.sub1)
    assert any(event.click_url for event in events[:50])


def test_the_web_cost_integration_has_a_connected_sandbox_account():
    from integrations.models import CostConnection

    call_command("seed_demo", "--days", "1", stdout=io.StringIO())
    call_command("seed_demo", "--days", "1", stdout=io.StringIO())
    connection = CostConnection.objects.get()
    assert connection.integration.partner.media_source == "tiktokglobal_int"
    assert connection.is_connected and connection.access_token
    assert connection.advertisers.count() == 2
    assert not connection.advertisers.filter(is_selected=True).exists()


SHARE = re.compile(r'<tr data-match-key="(\w+)">.*?<td>(\d+)%</td>', re.S)


def coverage_shares(client, path: str) -> dict[str, int]:
    client.force_login(get_user_model().objects.get(username="demo-marketer"))
    response = client.get(path)
    assert response.status_code == 200
    return {key: int(percent) for key, percent in SHARE.findall(response.content.decode())}


def test_the_coverage_panel_shows_real_shares_for_the_demo(client):
    call_command("seed_demo", "--days", "3", stdout=io.StringIO())
    assert Postback.objects.filter(status="delivered").count() > 100
    web = Integration.objects.get(partner__media_source="tiktokweb_int")
    web_shares = coverage_shares(
        client, f"/apps/{web.app.app_id}/integrations/{web.pk}/integration/"
    )
    assert set(web_shares) == {"email", "phone", "external_id", "ip_user_agent", "click_id", "ttp"}
    assert web_shares["ip_user_agent"] == web_shares["click_id"] == 100
    assert 0 < web_shares["email"] < 100 and 0 < web_shares["ttp"] < 100
    ios = Integration.objects.get(partner__media_source="bytedanceglobal_int")
    ios_shares = coverage_shares(client, f"/apps/{ios.app.app_id}/integrations/")
    assert 0 < ios_shares["advertising_id"] < 100
    assert 0 < ios_shares["click_id"] < 100
    assert "ttp" not in ios_shares


def test_a_second_run_adds_no_postbacks_and_counts_nothing_twice(client):
    call_command("seed_demo", "--days", "2", stdout=io.StringIO())
    web = Integration.objects.get(partner__media_source="tiktokweb_int")
    path = f"/apps/{web.app.app_id}/integrations/{web.pk}/integration/"
    first = (Postback.objects.count(), coverage_shares(client, path))
    call_command("seed_demo", "--days", "2", stdout=io.StringIO())
    assert (Postback.objects.count(), coverage_shares(client, path)) == first


def test_nothing_is_in_the_future_and_every_campaign_has_cpi_and_roas():
    call_command("seed_demo", "--days", "3", stdout=io.StringIO())
    now = timezone.now()
    assert not Touchpoint.objects.filter(occurred_at__gt=now).exists()
    assert not Install.objects.filter(installed_at__gt=now).exists()
    assert not InAppEvent.objects.filter(event_time__gt=now).exists()
    marketer = get_user_model().objects.get(username="demo-marketer")
    for app in App.objects.all():
        today = now.astimezone(ZoneInfo(app.timezone)).date()
        overview = build_overview(
            access_for(marketer, app), Filters(date_from=today - timedelta(days=2), date_to=today)
        )
        campaigns = [row for row in overview.rows if row.media_source != "organic"]
        assert campaigns, app.app_id
        assert all(row.cpi is not None and row.roas is not None for row in campaigns)
