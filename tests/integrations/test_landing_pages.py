"""Hosted landing pages: built by admins and marketers, served at /p/<slug>/ as plain HTML whose
store buttons go through the smart link with the ad's parameters, images checked by their bytes."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from integrations.models import AuditEntry, LandingPage, Role
from tests import factories

pytestmark = pytest.mark.django_db
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def website(db):
    app = factories.make_app(app_id="web.runclub", platform="web",
                             website_url="https://run.example.com/")  # fmt: skip
    app.ios_app = factories.make_app(app_id="id1453847291", platform="ios", store_id="1453847291")
    app.android_app = factories.make_app(
        app_id="com.example.runclub", platform="android", store_id="com.example.runclub"
    )
    app.save()
    factories.make_integration(app, "tiktokweb_int")
    return app


@pytest.fixture
def marketer(website):
    user = factories.make_user("mia-marketer")
    factories.make_membership(user, website, Role.MARKETER)
    return user


def form(**overrides) -> dict:
    data = {
        "slug": "spring-w2a",
        "headline": "Run further this spring",
        "text": "Plans for every pace.\n\nFree for seven days.",
        "image_alt": "A runner on a coastal path at dawn",
        "media_source": "tiktokweb_int",
        "show_app_store": "on",
        "show_google_play": "on",
        "web_button_label": "Continue on the web",
        "web_button_url": "https://run.example.com/plans",
    }
    data.update(overrides)
    return data


def build(client, website, **overrides):
    url = reverse("integrations:landing-pages", args=[website.app_id])
    image = SimpleUploadedFile("runner.png", PNG, content_type="image/png")
    return client.post(url, {**form(**overrides), "image_file": image})


def test_a_marketer_builds_a_draft_then_publishes_it(client, website, marketer):
    client.force_login(marketer)
    response = build(client, website)
    assert response.status_code == 302
    page = LandingPage.objects.get()
    assert (page.image_type, page.is_published) == ("image/png", False)
    assert AuditEntry.objects.filter(action="landing_page.created").exists()
    preview = client.get(response["Location"])
    assert 'id="landing-preview"' in preview.content.decode()
    assert client.get("/p/spring-w2a/image")["Cache-Control"] == "private, no-store"  # a draft
    client.logout()
    assert client.get("/p/spring-w2a/").status_code == 404  # a draft is the team's only
    client.force_login(marketer)
    edit = reverse("integrations:landing-page", args=[website.app_id, page.pk])
    assert client.post(edit, form(is_published="on")).status_code == 302
    page.refresh_from_db()
    assert page.is_published and page.image_type == "image/png"  # the image stays
    client.logout()
    served = client.get("/p/spring-w2a/?ttclid=E.C.P.lp&c=W2A_Spring&pid=tiktokweb_int")
    assert served.status_code == 200
    html = served.content.decode()
    assert "Run further this spring" in html and "<p>Free for seven days.</p>" in html
    assert 'alt="A runner on a coastal path at dawn"' in html
    hrefs = re.findall(r'class="store-button [a-z_]+" href="([^"]+)"', html)
    smart_link = f"/l/{website.public_key}/tiktokweb_int/app?ttclid=E.C.P.lp&amp;c=W2A_Spring"
    assert hrefs == [smart_link, smart_link]  # iPhones and Android phones: the store by device
    assert 'href="https://run.example.com/plans"' in html
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert scripts == ["/static/sdk/signalboard.js"]  # our SDK only; nothing third-party
    image = client.get("/p/spring-w2a/image")
    assert image["Content-Type"] == "image/png" and image["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
         "Upload a PNG, JPEG, GIF or WebP image."),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 1_000_001, "The image is over 1,000 kB"),
    ],
)  # fmt: skip
def test_anything_but_a_small_image_is_refused_and_nothing_is_saved(
    client, website, marketer, payload, message
):
    client.force_login(marketer)
    upload = SimpleUploadedFile("x.png", payload, content_type="image/png")
    url = reverse("integrations:landing-pages", args=[website.app_id])
    response = client.post(url, {**form(), "image_file": upload})
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors["image_file"])
    assert not LandingPage.objects.exists()


def test_an_image_needs_its_description_and_a_web_button_both_halves(client, website, marketer):
    client.force_login(marketer)
    response = build(client, website, image_alt="", web_button_url="")
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert "Describe the image" in errors["image_alt"][0]
    assert "needs both its label and its address" in errors["web_button_url"][0]
    assert not LandingPage.objects.exists()


def test_analysts_cannot_build_pages(client, website, analyst):
    factories.make_membership(analyst, website, Role.ANALYST)
    client.force_login(analyst)
    assert (
        client.get(reverse("integrations:landing-pages", args=[website.app_id])).status_code == 403
    )


def test_a_phone_apps_page_sends_its_button_to_its_own_click_link(client, website, marketer):
    ios = website.ios_app
    factories.make_integration(ios, "tiktokweb_int")
    factories.make_membership(marketer, ios, Role.MARKETER)
    client.force_login(marketer)
    url = reverse("integrations:landing-pages", args=[ios.app_id])
    response = client.post(url, form(slug="ios-only", image_alt="", is_published="on"))
    assert response.status_code == 302
    html = client.get("/p/ios-only/?ttclid=abc").content.decode()
    assert re.findall(r'class="store-button ([a-z_]+)" href="([^"]+)"', html) == [
        ("app_store", f"/l/{ios.public_key}/tiktokweb_int?ttclid=abc")
    ]
    assert "signalboard.js" not in html  # the visit is the click; no web SDK on a phone app


def test_an_app_without_a_partner_is_told_to_set_one_up_first(client, marketer):
    bare = factories.make_app(app_id="web.bare", platform="web")
    factories.make_membership(marketer, bare, Role.MARKETER)
    client.force_login(marketer)
    page = client.get(reverse("integrations:landing-pages", args=[bare.app_id]))
    assert "has no partner integration yet" in page.content.decode()
