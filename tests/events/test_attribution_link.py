"""GET /l/<public key>/<media source>: the attribution link records the click and redirects;
GET /i/…: the impression link records a view."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from events.models import Touchpoint
from tests.events.conftest import ANDROID_CHROME, DESKTOP_CHROME, IPHONE_SAFARI

# Links answer only for partners the app has an integration with.
pytestmark = pytest.mark.usefixtures("tiktok_links")

TIKTOK_PARAMETERS = (
    "c=WEB_Spring_Sale&af_c_id=1780000000010000000&af_adset=Spring_broad"
    "&af_adset_id=1780000000010000100&af_ad=Spring_ugc&af_ad_id=1780000000010001000"
    "&af_siteid=tiktok&af_sub1=s1&af_sub5=s5&af_channel=feed&af_keywords=socks"
    "&ttclid=E.C.P.abc123"
)


def click(client, app, query: str = TIKTOK_PARAMETERS, user_agent: str = DESKTOP_CHROME, **kw):
    return client.get(
        f"/l/{app.public_key}/tiktokweb_int?{query}",
        HTTP_USER_AGENT=user_agent,
        HTTP_REFERER="https://www.tiktok.com/",
        **kw,
    )


def test_a_click_records_every_link_parameter(web_shop, client):
    click(client, web_shop.app)
    touch = Touchpoint.objects.get()
    assert (touch.kind, touch.media_source, touch.campaign, touch.campaign_id) == (
        "click",
        "tiktokweb_int",
        "WEB_Spring_Sale",
        "1780000000010000000",
    )
    assert (touch.adset, touch.adset_id, touch.ad, touch.ad_id) == (
        "Spring_broad",
        "1780000000010000100",
        "Spring_ugc",
        "1780000000010001000",
    )
    assert (touch.site_id, touch.sub1, touch.sub5, touch.channel, touch.keywords) == (
        "tiktok",
        "s1",
        "s5",
        "feed",
        "socks",
    )
    assert (touch.ttclid, touch.ip, touch.user_agent, touch.referrer) == (
        "E.C.P.abc123",
        "127.0.0.1",
        DESKTOP_CHROME,
        "https://www.tiktok.com/",
    )


def test_a_web_click_lands_on_the_website_with_its_parameters(web_shop, client):
    response = click(client, web_shop.app)
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert f"{target.scheme}://{target.netloc}{target.path}" == "https://shop.example.com/"
    assert query["ttclid"] == ["E.C.P.abc123"]
    assert query["c"] == ["WEB_Spring_Sale"]
    assert query["pid"] == ["tiktokweb_int"]
    assert query["sb_click"] == [Touchpoint.objects.get().click_id]


@pytest.mark.parametrize("name", ["clickid", "callback"])
def test_tiktoks_app_click_id_names_are_kept_as_the_ttclid(web_shop, client, name):
    click(client, web_shop.app, query=f"{name}=CB.123")
    assert Touchpoint.objects.get().ttclid == "CB.123"


def test_unfilled_ad_macros_are_not_stored(web_shop, client):
    click(client, web_shop.app, query="c=__CAMPAIGN_NAME__&ttclid=__CALLBACK_PARAM__&af_ad=Real")
    touch = Touchpoint.objects.get()
    assert (touch.campaign, touch.ttclid, touch.ad) == ("", "", "Real")


def test_an_iphone_goes_to_the_app_store(ios_app, client):
    response = click(
        client,
        ios_app.app,
        query="idfa=6d92078a-8246-4ba4-ae5b-76104861e7dc",
        user_agent=IPHONE_SAFARI,
    )
    assert response["Location"] == "https://apps.apple.com/app/id1453847291"
    assert Touchpoint.objects.get().idfa == "6D92078A-8246-4BA4-AE5B-76104861E7DC"


def test_an_android_phone_goes_to_google_play_with_the_click_id_in_the_referrer(
    android_app, client
):
    response = click(client, android_app.app, user_agent=ANDROID_CHROME)
    target = urlsplit(response["Location"])
    assert target.netloc == "play.google.com"
    query = parse_qs(target.query)
    assert query["id"] == ["com.example.runclub"]
    referrer = parse_qs(query["referrer"][0])
    assert referrer["sb_click_id"] == [Touchpoint.objects.get().click_id]
    assert referrer["pid"] == ["tiktokweb_int"]


def test_a_desktop_click_on_an_app_link_falls_back_to_the_website(ios_app, client):
    response = click(client, ios_app.app, user_agent=DESKTOP_CHROME)
    assert response["Location"].startswith("https://run.example.com/?")


def test_pid_may_be_a_parameter_instead_of_the_path(web_shop, client):
    client.get(f"/l/{web_shop.app.public_key}?pid=tiktokweb_int&c=X")
    assert Touchpoint.objects.get().media_source == "tiktokweb_int"


def test_a_head_request_is_redirected_but_not_counted(web_shop, client):
    response = client.head(f"/l/{web_shop.app.public_key}/tiktokweb_int?{TIKTOK_PARAMETERS}")
    assert response.status_code == 302
    assert "ttclid=E.C.P.abc123" in response["Location"]
    assert not Touchpoint.objects.exists()


@pytest.mark.parametrize(
    "user_agent",
    [
        "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
        "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
        "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
        "TelegramBot (like TwitterBot)",
        "WhatsApp/2.23.20.0",
    ],
)
def test_link_preview_bots_are_not_counted(web_shop, client, user_agent):
    assert click(client, web_shop.app, user_agent=user_agent).status_code == 302
    assert not Touchpoint.objects.exists()


def test_a_browser_prefetch_is_not_counted(web_shop, client):
    click(client, web_shop.app, HTTP_SEC_PURPOSE="prefetch")
    assert not Touchpoint.objects.exists()


@pytest.mark.parametrize(
    "path", ["/l/pk_unknown/tiktokweb_int", "/l/pk_unknown", "/i/pk_unknown/tiktokweb_int"]
)
def test_an_unknown_app_is_a_plain_404_page(db, client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"This link goes nowhere" in response.content


def test_a_malformed_media_source_is_a_404(web_shop, client):
    response = client.get(f"/l/{web_shop.app.public_key}/Not-A-Source!")
    assert response.status_code == 404
    assert not Touchpoint.objects.exists()


def test_absurd_parameters_are_cut_to_size_and_still_redirect(web_shop, client):
    response = click(client, web_shop.app, query="c=" + "x" * 5000 + "&af_sub1=%00a")
    assert response.status_code == 302
    touch = Touchpoint.objects.get()
    assert (len(touch.campaign), touch.sub1) == (255, "")  # a NUL drops the parameter


def test_an_impression_is_recorded_and_answered_with_204(ios_app, client):
    response = client.get(
        f"/i/{ios_app.app.public_key}/bytedanceglobal_int?c=APP_Install&idfa=6D92078A-8246-4BA4-AE5B-76104861E7DC"
    )
    assert response.status_code == 204
    touch = Touchpoint.objects.get()
    assert (touch.kind, touch.campaign, touch.idfa) == (
        "impression",
        "APP_Install",
        "6D92078A-8246-4BA4-AE5B-76104861E7DC",
    )


def test_an_impression_pixel_answers_with_a_gif_when_asked(ios_app, client):
    response = client.get(f"/i/{ios_app.app.public_key}/bytedanceglobal_int?format=gif")
    assert (response.status_code, response["Content-Type"]) == (200, "image/gif")
    assert response.content.startswith(b"GIF89a")
    assert Touchpoint.objects.get().kind == "impression"


def test_a_click_reported_by_tiktoks_servers_keeps_the_viewers_ip_and_user_agent(ios_app, client):
    client.get(
        f"/l/{ios_app.app.public_key}/bytedanceglobal_int?clickid=CB.1&af_ip=198.51.100.23"
        "&af_ua=Mozilla%2F5.0%20%28iPhone%3B%20CPU%20iPhone%20OS%2017_3%20like%20Mac%20OS%20X%29",
        HTTP_USER_AGENT="TikTok-Server/1.0",
    )
    touch = Touchpoint.objects.get()
    assert (touch.ip, touch.user_agent) == (
        "198.51.100.23",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X)",
    )


def test_an_unfilled_ip_macro_leaves_the_requests_ip(ios_app, client):
    client.get(f"/l/{ios_app.app.public_key}/bytedanceglobal_int?af_ip=__IP__&af_ua=__UA1__")
    assert Touchpoint.objects.get().ip == "127.0.0.1"


@pytest.mark.parametrize("kind", ["l", "i"])
def test_a_link_for_a_partner_the_app_has_no_integration_with_is_404_and_records_nothing(
    web_shop, client, kind
):
    response = client.get(f"/{kind}/{web_shop.app.public_key}/bytedanceglobal_int?c=Spring")
    assert response.status_code == 404
    assert not Touchpoint.objects.exists()


def test_other_tools_parameter_names_fill_the_same_fields_and_appsflyers_win(web_shop, client):
    click(
        client,
        web_shop.app,
        query="campaign_name=Spring&campaign_id=178001&adset_name=Broad&adset_id=178002"
        "&ad_name=Video&ad_id=178003&utm_source=tiktok&utm_medium=paid&utm_term=socks"
        "&af_ad=UGC+clip",
    )
    touch = Touchpoint.objects.get()
    assert (touch.campaign, touch.campaign_id, touch.adset, touch.adset_id) == (
        "Spring",
        "178001",
        "Broad",
        "178002",
    )
    assert (touch.ad, touch.ad_id, touch.site_id, touch.channel, touch.keywords) == (
        "UGC clip",  # af_ad beats ad_name
        "178003",
        "tiktok",
        "paid",
        "socks",
    )
