"""Protect360-style fraud checks: installs are flagged with their reasons as they arrive, flagged
installs (and their users' events) stay out of postbacks where an integration says so, and the
Protect360 page and the raw-data export show the reasons."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from events.models import DatacenterRange, Install, Postback
from events.services import fraud
from events.services.forwarding import explain
from events.services.ingest import record_events
from integrations.models import Role
from tests import factories

IP = "198.51.100.9"
IDFA = "6D92078A-8246-4BA4-AE5B-{:012d}"


@pytest.fixture
def bytedance(ios_app):
    """An active app partner that gets every install (organic too)."""
    integration = factories.make_integration(
        ios_app.app, "bytedanceglobal_int", is_active=True, install_postbacks="all_sources"
    )
    factories.make_pixel(integration, pixel_code="")
    return integration


def injected_installs(ios_app, count, *, seconds_after_click=3, ip=IP):
    """`count` installs, each 3 s after its own click, all from one IP (a click-injection
    farm), posted through the installs API."""
    now = timezone.now()
    for n in range(count):
        idfa = IDFA.format(n)
        installed_at = now - timedelta(minutes=count - n)
        factories.make_touchpoint(
            ios_app.app,
            media_source="bytedanceglobal_int",
            campaign="APP_Install_iOS_US",
            site_id="site-77",
            idfa=idfa,
            ip=ip,
            occurred_at=installed_at - timedelta(seconds=seconds_after_click),
        )
        response = ios_app.install(
            {
                "device_id": f"farm-{n}",
                "idfa": idfa,
                "ip": ip,
                "installed_at": installed_at.isoformat(),
            }
        )
        assert response.status_code == 202, response.content


def test_installs_3_s_after_their_clicks_from_one_ip_are_flagged_and_not_posted_back(
    ios_app, bytedance
):
    bytedance.block_flagged_installs = True
    bytedance.save()
    injected_installs(ios_app, 6)
    installs = list(Install.objects.order_by("installed_at"))
    assert len(installs) == 6
    for install in installs:
        reasons = fraud.reasons_of(install)
        assert fraud.Reason.SHORT_CTIT in reasons
        # The sixth completes a burst of five or more in an hour: all of them are flagged.
        assert fraud.Reason.INSTALL_BURST in reasons
    assert not Postback.objects.exists()


def test_without_the_switch_flagged_installs_are_still_posted_back(ios_app, bytedance):
    injected_installs(ios_app, 2)
    assert all(install.fraud_reasons == "short_ctit" for install in Install.objects.all())
    assert Postback.objects.filter(integration=bytedance).count() == 2


def test_an_install_a_minute_after_its_click_from_a_home_address_is_not_flagged(ios_app, bytedance):
    bytedance.block_flagged_installs = True
    bytedance.save()
    injected_installs(ios_app, 1, seconds_after_click=60)
    assert Install.objects.get().fraud_reasons == ""
    assert Postback.objects.filter(integration=bytedance).count() == 1


def test_twenty_clicks_from_the_installs_ip_the_day_before_are_click_flooding(ios_app):
    now = timezone.now()
    for n in range(fraud.FLOOD_CLICKS):
        factories.make_touchpoint(
            ios_app.app,
            media_source="bytedanceglobal_int",
            ip=IP,
            occurred_at=now - timedelta(hours=2, minutes=n),
        )
    ios_app.install({"device_id": "flooded", "ip": IP, "installed_at": now.isoformat()})
    assert fraud.reasons_of(Install.objects.get()) == [fraud.Reason.CLICK_FLOODING]


def test_an_install_from_a_published_cloud_range_is_flagged(ios_app):
    fraud.replace_datacenter_ranges([("52.94.76.0/22", "aws")])
    ios_app.install({"device_id": "server-1", "ip": "52.94.77.10"})
    ios_app.install({"device_id": "phone-1", "ip": "81.2.69.160"})
    flagged = {i.device_id: i.fraud_reasons for i in Install.objects.all()}
    assert flagged == {"server-1": "datacenter_ip", "phone-1": ""}


def test_the_bundled_cloud_list_loads_and_names_known_addresses(db):
    call_command("refresh_datacenter_ranges", stdout=io.StringIO())
    assert DatacenterRange.objects.count() > 1000
    assert fraud.datacenter_provider("52.94.76.1") == "aws"  # us-west-2, in AWS's list
    assert fraud.datacenter_provider("2600:1f18::1") == "aws"
    assert fraud.datacenter_provider("192.168.1.20") == ""
    out = io.StringIO()
    call_command("refresh_datacenter_ranges", "--if-empty", stdout=out)
    assert "already loaded" in out.getvalue()


def test_overlapping_ranges_are_merged_and_a_bad_range_changes_nothing(db):
    stored = fraud.replace_datacenter_ranges(
        [("10.0.0.0/16", "a"), ("10.0.128.0/24", "b"), ("10.1.0.0/16", "c"), ("::1/128", "d")]
    )
    assert stored == 2  # 10.0/16 swallows 10.0.128/24 and touches 10.1/16; ::1 stands alone
    assert fraud.datacenter_provider("10.1.255.255") == "a"
    assert fraud.datacenter_provider("10.2.0.0") == ""
    assert fraud.datacenter_provider("::1") == "d"
    with pytest.raises(ValueError):
        fraud.replace_datacenter_ranges([("10.9.0.0/16", "x"), ("not-a-range", "y")])
    assert DatacenterRange.objects.count() == 2


def test_a_websites_first_visit_is_not_flagged_for_arriving_with_its_click(web_shop):
    response = web_shop.client.post(
        f"/api/v1/sdk/{web_shop.app.public_key}/visit",
        data={
            "web_user_id": "wu-visitor",
            "visit_id": "visit-0001",
            "url": "https://shop.example.com/?pid=tiktokweb_int&c=Spring",
            "params": {"pid": "tiktokweb_int", "c": "Spring", "ttclid": "E.C.P.visit"},
        },
        content_type="application/json",
        HTTP_ORIGIN="https://shop.example.com",
    )
    assert response.status_code == 202, response.content
    install = Install.objects.get()
    assert install.media_source == "tiktokweb_int"
    assert install.fraud_reasons == ""


def test_events_of_a_flagged_users_install_are_not_forwarded_and_the_event_page_says_why(app):
    tiktok = factories.make_integration(
        app, is_active=True, in_app_postbacks_enabled=True, block_flagged_installs=True
    )
    factories.make_pixel(tiktok)
    factories.make_mapping(tiktok, users_from="all_sources")
    factories.make_install(app, device_id="bot", web_user_id="bot", fraud_reasons="datacenter_ip")
    factories.make_install(app, device_id="person", web_user_id="person")
    now = timezone.now().isoformat()
    record_events(
        app,
        [
            {
                "event_id": "e-bot",
                "event_name": "purchase",
                "web_user_id": "bot",
                "event_time": now,
            },
            {
                "event_id": "e-person",
                "event_name": "purchase",
                "web_user_id": "person",
                "event_time": now,
            },
        ],
    )
    assert list(Postback.objects.values_list("event__event_id", flat=True)) == ["e-person"]
    bot_event = app.events.get(event_id="e-bot")
    [reason] = explain(bot_event, app.integrations.all())
    assert not reason.sent
    assert "flagged as fraud" in reason.why


def test_the_protect360_page_and_the_raw_data_export_show_the_reasons(client, ios_app):
    analyst = factories.make_user("erin-analyst")
    factories.make_membership(analyst, ios_app.app, Role.ANALYST)
    injected_installs(ios_app, 2)
    client.force_login(analyst)
    page = client.get(reverse("reporting:protect360", args=[ios_app.app.app_id]))
    assert page.status_code == 200
    report = page.context["report"]
    assert (report.install_count, report.flagged_count) == (2, 2)
    [row] = report.rows
    assert (row.media_source, row.group, row.ctit[0]) == (
        "bytedanceglobal_int",
        "APP_Install_iOS_US",
        2,
    )
    html = page.content.decode()
    assert "Click to install under 10 seconds" in html
    today = timezone.now().date().isoformat()
    export = client.get(
        reverse("reporting:raw-data-export", args=[ios_app.app.app_id]),
        {
            "report": "installs",
            "from": (timezone.now() - timedelta(days=1)).date().isoformat(),
            "to": today,
            "additional_fields": "fraud_reason",
        },
    )
    assert export.status_code == 200, export.content
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [row["Fraud Reason"] for row in rows] == ["short_ctit", "short_ctit"]


def test_a_partner_granted_protect360_sees_only_its_media_source(client, app, partner_user):
    factories.make_install(app, media_source="tiktokweb_int", fraud_reasons="datacenter_ip")
    factories.make_install(app, media_source="bytedanceglobal_int", fraud_reasons="install_burst")
    client.force_login(partner_user)
    url = reverse("reporting:protect360", args=[app.app_id])
    grants = factories.grant(app, partner_user=partner_user.partner_user, can_view_revenue=True)
    assert client.get(url).status_code == 403
    grants.can_view_protect360 = True
    grants.save()
    page = client.get(url)
    assert page.status_code == 200
    assert [row.media_source for row in page.context["report"].rows] == ["tiktokweb_int"]
    assert [i.install.media_source for i in page.context["report"].flagged] == ["tiktokweb_int"]


def test_the_new_device_rate_is_the_share_of_devices_the_app_had_never_seen(client, app, analyst):
    now = timezone.now()
    # Four devices with fresh ids from one network; two returning devices from another: one
    # reinstalled (an earlier install with its IDFA), one clicked an ad three days ago.
    for n in range(4):
        factories.make_install(app, device_id=f"fresh-{n}", idfa=IDFA.format(n),
                               media_source="bytedanceglobal_int", installed_at=now)  # fmt: skip
    factories.make_install(app, device_id="old", gaid="g-1", installed_at=now - timedelta(days=40))
    factories.make_install(app, device_id="again", gaid="g-1", media_source="tiktokweb_int",
                           installed_at=now, is_reengagement=False)  # fmt: skip
    factories.make_touchpoint(app, idfa=IDFA.format(99), occurred_at=now - timedelta(days=3))
    factories.make_install(app, device_id="saw-ads", idfa=IDFA.format(99),
                           media_source="tiktokweb_int", installed_at=now)  # fmt: skip
    factories.make_install(app, device_id="no-id", media_source="tiktokweb_int", installed_at=now)
    client.force_login(analyst)
    page = client.get(reverse("reporting:protect360", args=[app.app_id]))
    rows = {row.media_source: row for row in page.context["report"].rows}
    assert rows["bytedanceglobal_int"].new_device_rate == 1.0
    assert (rows["tiktokweb_int"].with_ad_id, rows["tiktokweb_int"].new_devices) == (2, 0)
    assert "New-device rate" in page.content.decode()


def test_an_event_shows_the_burst_its_install_was_later_found_in(client, ios_app):
    """Events keep a copy of their install's reasons for the export: a burst found after the
    event arrived updates both."""
    analyst = factories.make_user("erin-analyst")
    factories.make_membership(analyst, ios_app.app, Role.ANALYST)
    injected_installs(ios_app, 1)  # farm-0: a short click-to-install time only
    ios_app.event(
        {
            "event_id": "buy-1",
            "event_name": "purchase",
            "device_id": "farm-0",
            "event_time": timezone.now().isoformat(),
        }
    )
    assert ios_app.app.events.get().fraud_reasons == "short_ctit"
    for n in range(1, 6):  # five more from the same address within the hour: a burst
        ios_app.install(
            {"device_id": f"farm-b{n}", "ip": IP, "installed_at": timezone.now().isoformat()}
        )
    client.force_login(analyst)
    export = client.get(
        reverse("reporting:raw-data-export", args=[ios_app.app.app_id]),
        {
            "report": "in_app_events",
            "from": (timezone.now() - timedelta(days=1)).date().isoformat(),
            "to": timezone.now().date().isoformat(),
            "additional_fields": "fraud_reason",
        },
    )
    assert export.status_code == 200, export.content
    [row] = csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    assert row["Event Name"] == "purchase"
    assert row["Fraud Reason"] == "short_ctit,install_burst"
