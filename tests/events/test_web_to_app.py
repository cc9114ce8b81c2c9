"""Web-to-app: a TikTok web ad (tiktokweb_int, a pixel) sends an iPhone to the App Store through
the app's smart link; the install from the same IP and OS is attributed to that click, and the
app's trial and purchase go back to the pixel as web events with the click's ttclid, over
real HTTP to the TikTok sandbox."""

from __future__ import annotations

from django.utils import timezone

from events.models import Install, Touchpoint
from events.services.delivery import deliver_due_postbacks
from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import ReceivedEvent
from tests import factories
from tests.events.conftest import ANDROID_CHROME, DESKTOP_CHROME, IPHONE_SAFARI

PIXEL = "CQ8RT3JC77U4D5MLS2A0"
TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"
VISITOR_IP = "198.51.100.23"
IPHONE_APP = "RunClub/4.12 CFNetwork/1494.0.7 Darwin/23.3.0"


def test_an_app_install_from_a_web_ad_sends_the_apps_events_to_the_pixel(
    ios_app, client, tiktok_sandbox
):
    web = factories.make_integration(
        ios_app.app, "tiktokweb_int", is_active=True, in_app_postbacks_enabled=True
    )
    factories.make_pixel(web, pixel_code=PIXEL, access_token=TOKEN)
    factories.make_mapping(web, app_event_name="start_trial", partner_event_name="StartTrial")
    factories.make_mapping(web, app_event_name="purchase", partner_event_name="Purchase",
                           including="values_and_revenue")  # fmt: skip
    state.issue_token(sources=[PIXEL], token=TOKEN)

    click = client.get(
        f"/l/{ios_app.app.public_key}/tiktokweb_int?c=WEB2APP_Spring&af_c_id=178001"
        "&ttclid=E.C.P.web2app",
        HTTP_USER_AGENT=IPHONE_SAFARI,
        REMOTE_ADDR=VISITOR_IP,
    )
    assert click.status_code == 302 and "apps.apple.com" in click["Location"]

    ios_app.install({"device_id": "runner-1", "ip": VISITOR_IP, "user_agent": IPHONE_APP})
    install = Install.objects.get()
    assert (install.media_source, install.campaign, install.ttclid) == (
        "tiktokweb_int",
        "WEB2APP_Spring",
        "E.C.P.web2app",
    )
    now = timezone.now().isoformat()
    response = ios_app.batch(
        {
            "events": [
                {"event_id": "t-1", "event_name": "start_trial", "device_id": "runner-1",
                 "event_time": now},
                {"event_id": "p-1", "event_name": "purchase", "device_id": "runner-1",
                 "event_time": now, "revenue": 9.99, "currency": "USD"},
            ]
        }
    )  # fmt: skip
    assert response.json()["accepted"] == 2
    deliver_due_postbacks()
    received = {event.event: event for event in ReceivedEvent.objects.all()}
    assert set(received) == {"StartTrial", "Purchase"}
    for event in received.values():
        assert (event.event_source, event.event_source_id) == ("web", PIXEL)
        assert event.payload["user"]["ttclid"] == "E.C.P.web2app"
        assert event.payload["user"]["ip"] == VISITOR_IP
    assert received["Purchase"].payload["properties"]["value"] == 9.99


def _web_integration(website):
    web = factories.make_integration(
        website.app, "tiktokweb_int", is_active=True, in_app_postbacks_enabled=True
    )
    factories.make_pixel(web, pixel_code=PIXEL, access_token=TOKEN)
    factories.make_mapping(web, app_event_name="start_trial", partner_event_name="StartTrial")
    factories.make_mapping(web, app_event_name="purchase", partner_event_name="Purchase",
                           including="values_and_revenue")  # fmt: skip
    state.issue_token(sources=[PIXEL], token=TOKEN)
    return web


def test_a_websites_app_link_leads_phones_to_its_linked_apps_and_their_events_to_its_pixel(
    web_shop, ios_app, android_app, client, tiktok_sandbox
):
    """The pixel integration lives on the website; the website links its iOS and Android apps.
    A phone's click on the web-to-app link is recorded on the app it goes to, that app's install
    is attributed to it, and the app's events reach the website's pixel; an organic user's do
    not."""
    web = _web_integration(web_shop)
    web_shop.app.ios_app, web_shop.app.android_app = ios_app.app, android_app.app
    web_shop.app.save(update_fields=["ios_app", "android_app"])
    link = f"/l/{web_shop.app.public_key}/tiktokweb_int/app?c=W2A_Spring&ttclid=E.C.P.w2a"

    iphone = client.get(link, HTTP_USER_AGENT=IPHONE_SAFARI, REMOTE_ADDR=VISITOR_IP)
    assert iphone.status_code == 302
    assert iphone["Location"] == "https://apps.apple.com/app/id1453847291"
    android = client.get(link, HTTP_USER_AGENT=ANDROID_CHROME, REMOTE_ADDR="203.0.113.70")
    assert android["Location"].startswith("https://play.google.com/store/apps/details?")
    assert "sb_click_id" in android["Location"]  # our click id rides in Play's referrer
    desktop = client.get(link, HTTP_USER_AGENT=DESKTOP_CHROME, REMOTE_ADDR="203.0.113.80")
    assert desktop["Location"].startswith("https://shop.example.com/?")
    assert {t.app_id for t in Touchpoint.objects.all()} == {
        ios_app.app.pk,
        android_app.app.pk,
        web_shop.app.pk,
    }

    ios_app.install({"device_id": "runner-2", "ip": VISITOR_IP, "user_agent": IPHONE_APP})
    ios_app.install({"device_id": "organic-1", "ip": "192.0.2.44", "user_agent": IPHONE_APP})
    install = Install.objects.get(device_id="runner-2")
    assert (install.media_source, install.campaign) == ("tiktokweb_int", "W2A_Spring")
    now = timezone.now().isoformat()
    ios_app.batch({"events": [
        {"event_id": "w-t", "event_name": "start_trial", "device_id": "runner-2",
         "event_time": now},
        {"event_id": "w-p", "event_name": "purchase", "device_id": "runner-2", "event_time": now,
         "revenue": 4.99, "currency": "USD"},
        {"event_id": "o-p", "event_name": "purchase", "device_id": "organic-1", "event_time": now,
         "revenue": 9.99, "currency": "USD"},
    ]})  # fmt: skip
    assert {p.event.event_id for p in web.postbacks.all()} == {"w-t", "w-p"}
    deliver_due_postbacks()
    received = {event.event: event for event in ReceivedEvent.objects.all()}
    assert set(received) == {"StartTrial", "Purchase"}
    for event in received.values():
        assert (event.event_source, event.event_source_id) == ("web", PIXEL)
        assert event.payload["user"]["ttclid"] == "E.C.P.w2a"
        assert event.payload["user"]["ip"] == VISITOR_IP
    assert received["Purchase"].payload["properties"]["value"] == 4.99

    # The website's mapping table marks the rows whose events come from its apps.
    admin = factories.make_user("wanda-admin", is_superuser=True, is_staff=True)
    client.force_login(admin)
    tab = client.get(f"/apps/{web_shop.app.app_id}/integrations/{web.pk}/integration/")
    html = tab.content.decode()
    assert html.count("App event · Run Club") == 2  # start_trial and purchase, from Run Club


def test_without_a_linked_app_the_app_via_store_link_goes_to_the_website(
    web_shop, client, tiktok_links
):
    response = client.get(
        f"/l/{web_shop.app.public_key}/tiktokweb_int/app?ttclid=E.C.P.x",
        HTTP_USER_AGENT=IPHONE_SAFARI,
    )
    assert response.status_code == 302
    assert response["Location"].startswith("https://shop.example.com/?")
    assert Touchpoint.objects.get().app_id == web_shop.app.pk


def test_only_a_website_links_apps_and_only_apps_its_admin_runs(client, web_shop, ios_app):
    from integrations.models import Role

    admin = factories.make_user("wendy-admin")
    factories.make_membership(admin, web_shop.app, Role.ADMIN)
    client.force_login(admin)
    url = f"/apps/{web_shop.app.app_id}/settings/"
    form = client.get(url).context["form"]
    assert list(form.fields["ios_app"].queryset) == []  # wendy runs no iOS app
    factories.make_membership(admin, ios_app.app, Role.ADMIN)
    form = client.get(url).context["form"]
    assert list(form.fields["ios_app"].queryset) == [ios_app.app]
    data = {key: value for key, value in form.initial.items() if value is not None}
    data |= {"domains": "https://shop.example.com", "ios_app": ios_app.app.pk}
    response = client.post(url, data)
    assert response.status_code == 302, response.context["form"].errors
    web_shop.app.refresh_from_db()
    assert web_shop.app.ios_app == ios_app.app
    ios_form = client.get(f"/apps/{ios_app.app.app_id}/settings/").context["form"]
    assert "ios_app" not in ios_form.fields  # websites only
