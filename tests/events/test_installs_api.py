"""POST /api/v1/apps/<app id>/installs: first opens, their attribution, re-engagements."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from events.models import InAppEvent, Install
from tests import factories
from tests.events.conftest import IPHONE_SAFARI

IDFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"
GAID = "38400000-8cf0-11bd-b23e-10b96e40000d"
IPHONE_APP = "RunClub/4.12 CFNetwork/1494.0.7 Darwin/23.3.0"


def test_an_install_with_the_idfa_of_a_click_is_attributed_to_it(ios_app):
    click = factories.make_touchpoint(
        ios_app.app,
        media_source="bytedanceglobal_int",
        campaign="APP_Install_iOS_US",
        campaign_id="1780000000020000000",
        adset_id="1780000000020000100",
        ad_id="1780000000020001000",
        idfa=IDFA,
        occurred_at=timezone.now() - timedelta(hours=5),
    )
    response = ios_app.install({"device_id": "af-1", "idfa": IDFA.lower(), "app_version": "4.12"})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "accepted"
    assert body["attribution"]["media_source"] == "bytedanceglobal_int"
    assert body["attribution"]["match_type"] == "advertising_id"
    install = Install.objects.get()
    assert (install.touchpoint_id, install.campaign_id, install.adset_id, install.ad_id) == (
        click.pk,
        "1780000000020000000",
        "1780000000020000100",
        "1780000000020001000",
    )
    assert (install.touch_type, install.touch_time) == ("click", click.occurred_at)


def test_an_android_install_is_matched_exactly_through_plays_referrer(android_app):
    click = factories.make_touchpoint(
        android_app.app,
        click_id="c0ffee00c0ffee00c0ffee00c0ffee00",
        media_source="bytedanceglobal_int",
        occurred_at=timezone.now() - timedelta(days=6),
    )
    android_app.install(
        {
            "appsflyer_id": "af-2",
            "gaid": GAID,
            "install_referrer": f"sb_click_id={click.click_id}&pid=bytedanceglobal_int",
        }
    )
    install = Install.objects.get()
    assert (install.touchpoint_id, install.match_type, install.gaid) == (
        click.pk,
        "click_id",
        GAID,
    )


def test_a_web_to_app_install_matches_the_click_by_ip_and_device(ios_app):
    factories.make_touchpoint(
        ios_app.app,
        media_source="tiktokweb_int",
        ip="203.0.113.7",
        user_agent=IPHONE_SAFARI,
        occurred_at=timezone.now() - timedelta(hours=2),
    )
    ios_app.install({"device_id": "af-3", "ip": "203.0.113.7", "user_agent": IPHONE_APP})
    assert Install.objects.get().match_type == "ip_user_agent"


def test_an_impression_wins_a_view_through_install_when_there_is_no_click(ios_app):
    factories.make_touchpoint(
        ios_app.app,
        kind="impression",
        media_source="bytedanceglobal_int",
        idfa=IDFA,
        occurred_at=timezone.now() - timedelta(hours=3),
    )
    body = ios_app.install({"device_id": "af-4", "idfa": IDFA}).json()
    assert (body["attribution"]["media_source"], body["attribution"]["touch_type"]) == (
        "bytedanceglobal_int",
        "impression",
    )


def test_the_integrations_lookback_decides_a_click_at_the_edge(ios_app):
    factories.make_integration(ios_app.app, "bytedanceglobal_int", click_lookback_days=1)
    installed_at = timezone.now().replace(microsecond=0)
    factories.make_touchpoint(
        ios_app.app,
        media_source="bytedanceglobal_int",
        idfa=IDFA,
        occurred_at=installed_at - timedelta(days=1, seconds=1),
    )
    body = ios_app.install(
        {"device_id": "af-5", "idfa": IDFA, "installed_at": installed_at.isoformat()}
    ).json()
    assert body["attribution"]["media_source"] == "organic"


def test_an_install_without_a_matching_touchpoint_is_organic(ios_app):
    body = ios_app.install({"device_id": "af-6", "idfa": IDFA}).json()
    assert body["attribution"]["media_source"] == "organic"
    assert body["attribution"]["touch_time"] is None


def test_a_second_first_open_is_a_duplicate_and_keeps_the_first_attribution(ios_app):
    ios_app.install({"device_id": "af-7", "idfa": IDFA})
    factories.make_touchpoint(
        ios_app.app,
        media_source="bytedanceglobal_int",
        idfa=IDFA,
        occurred_at=timezone.now() - timedelta(days=3),
    )
    body = ios_app.install({"device_id": "af-7", "idfa": IDFA}).json()
    assert (body["status"], body["attribution"]["media_source"]) == ("duplicate", "organic")
    assert Install.objects.count() == 1


def test_a_known_device_returning_through_a_new_click_is_a_marked_reengagement(ios_app):
    ios_app.install(
        {"device_id": "af-8", "idfa": IDFA, "installed_at": int(timezone.now().timestamp()) - 9000}
    )
    factories.make_touchpoint(
        ios_app.app,
        media_source="bytedanceglobal_int",
        campaign="APP_Trial_Push",
        idfa=IDFA,
        is_retargeting=True,
        occurred_at=timezone.now() - timedelta(hours=1),
    )
    body = ios_app.install({"device_id": "af-8", "idfa": IDFA}).json()
    assert (body["status"], body["is_reengagement"]) == ("reengagement", True)
    assert Install.objects.filter(is_reengagement=False).get().media_source == "organic"
    reengagement = Install.objects.get(is_reengagement=True)
    assert reengagement.campaign == "APP_Trial_Push"
    # Repeating the re-engagement report changes nothing.
    assert ios_app.install({"device_id": "af-8", "idfa": IDFA}).json()["status"] == "duplicate"
    # Events in the following days belong to the re-engagement and are marked.
    ios_app.event({"event_id": "e1", "event_name": "subscribe", "device_id": "af-8"})
    event = InAppEvent.objects.get()
    assert (event.is_reengagement, event.campaign) == (True, "APP_Trial_Push")


def test_a_website_first_visit_may_be_reported_with_the_web_user_id_alone(web_shop):
    body = web_shop.install({"web_user_id": "wu-abcdef12"}).json()
    assert (body["status"], body["device_id"]) == ("accepted", "wu-abcdef12")


def test_it_refuses_an_install_without_any_device_id(ios_app):
    response = ios_app.install({"idfv": "not-a-uuid", "installed_at": "soon"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"device_id", "idfv", "installed_at"}
    assert not Install.objects.exists()


def test_it_answers_403_for_the_key_of_another_app(ios_app, web_shop):
    assert ios_app.install({"device_id": "x"}, key=web_shop.key).status_code == 403
