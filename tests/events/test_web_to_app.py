"""Web-to-app: a TikTok web ad (tiktokweb_int, a pixel) sends an iPhone to the App Store through
the app's smart link; the install from the same IP and OS is attributed to that click, and the
app's trial and purchase go back to the pixel as web events with the click's ttclid, over
real HTTP to the TikTok sandbox."""

from __future__ import annotations

from django.utils import timezone

from events.models import Install
from events.services.delivery import deliver_due_postbacks
from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import ReceivedEvent
from tests import factories
from tests.events.conftest import IPHONE_SAFARI

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
