"""Every admin list and change page renders for a superuser, in a constant number of queries."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from demo.seed import seed
from events.models import InAppEvent
from integrations.models import (
    AdRevenueSettings,
    App,
    CostAdvertiser,
    CostConnection,
    CostPull,
    Integration,
)
from integrations.services.apps import find_app_by_api_key, rotate_api_key
from reporting.api_tokens import create_api_token
from reporting.models import AttributionDay, ExchangeRate, ExportJob
from tests import factories

pytestmark = pytest.mark.django_db

OUR_APPS = {"integrations", "events", "reporting"}
MODELS = sorted(
    (model for model in admin.site._registry if model._meta.app_label in OUR_APPS),
    key=lambda model: model._meta.label,
)


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """Two days of demo data plus one row of each model the demo leaves empty, shared by this
    module and removed afterwards so no other test sees it."""
    with django_db_blocker.unblock():
        seed(days=2)
        integration = Integration.objects.filter(partner__media_source="tiktokweb_int").first()
        connection = CostConnection.objects.create(
            integration=integration, label="Agency account", access_token="oauth-" + "b" * 34
        )
        CostAdvertiser.objects.create(connection=connection, advertiser_id="7012345678901234567")
        CostPull.objects.create(connection=connection, trigger=CostPull.Trigger.DAILY)
        AdRevenueSettings.objects.create(integration=integration, secure_key="secure-" + "c" * 20)
        rotate_api_key(integration.app, acting_user=None)
        factories.make_postback(integration, InAppEvent.objects.filter(app=integration.app).first())
        analyst = get_user_model().objects.get(username="demo-analyst")
        create_api_token(acting_user=analyst, name="Airbyte")
        ExportJob.objects.create(app=integration.app, user=analyst, report="installs")
        if not AttributionDay.objects.exists():  # triggers fill it on PostgreSQL only
            AttributionDay.objects.create(
                app=integration.app, day="2026-03-01", key_hash="0" * 32, media_source="organic"
            )
        yield
        App.objects.all().delete()
        get_user_model().objects.all().delete()
        ExchangeRate.objects.all().delete()


@pytest.fixture
def admin_client_seeded(demo, client, superuser):
    client.force_login(superuser)
    return client


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_changelist_renders(model, admin_client_seeded):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    response = admin_client_seeded.get(url)
    assert response.status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_change_page_renders(model, admin_client_seeded):
    obj = model.objects.first()
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_change", args=[obj.pk])
    assert admin_client_seeded.get(url).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model._meta.label)
def test_changelist_queries_do_not_grow_with_rows(model, admin_client_seeded):
    url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    with CaptureQueriesContext(connection) as queries:
        admin_client_seeded.get(url)
    # 100 rows per page: a query per row would show up as far more than this.
    assert len(queries) < 20, [q["sql"][:120] for q in queries.captured_queries]


def test_secrets_are_masked_in_admin_pages(admin_client_seeded):
    from integrations.models import Pixel

    pixel = Pixel.objects.first()
    token = pixel.access_token.reveal()
    for url in (
        reverse("admin:integrations_pixel_changelist"),
        reverse("admin:integrations_pixel_change", args=[pixel.pk]),
        reverse("admin:integrations_integration_change", args=[pixel.integration_id]),
    ):
        body = admin_client_seeded.get(url).content.decode()
        assert token not in body
        assert pixel.access_token.hint in body


def test_admin_keeps_the_token_when_the_field_is_left_blank(admin_client_seeded):
    from integrations.models import Pixel

    pixel = Pixel.objects.first()
    token = pixel.access_token.reveal()
    url = reverse("admin:integrations_pixel_change", args=[pixel.pk])
    response = admin_client_seeded.post(
        url,
        {"integration": pixel.integration_id, "pixel_code": "NEWPIXEL123", "access_token": ""},
    )
    assert response.status_code == 302
    pixel.refresh_from_db()
    assert pixel.pixel_code == "NEWPIXEL123"
    assert pixel.access_token == token


def test_cost_tokens_and_secure_keys_are_masked_in_admin_pages(admin_client_seeded):
    connection = CostConnection.objects.first()
    token = connection.access_token.reveal()
    settings_row = AdRevenueSettings.objects.first()
    key = settings_row.secure_key.reveal()
    for url in (
        reverse("admin:integrations_costconnection_changelist"),
        reverse("admin:integrations_costconnection_change", args=[connection.pk]),
        reverse("admin:integrations_costpull_changelist"),
        reverse("admin:integrations_adrevenuesettings_change", args=[settings_row.pk]),
        reverse("admin:integrations_adrevenuesettings_changelist"),
    ):
        body = admin_client_seeded.get(url).content.decode()
        assert token not in body
        assert key not in body


def test_an_app_added_in_the_admin_gets_a_server_key_shown_once(client, superuser):
    client.force_login(superuser)
    response = client.post(
        reverse("admin:integrations_app_add"),
        {
            "app_id": "web.admin-made",
            "name": "Admin-made shop",
            "platform": "web",
            "website_url": "https://admin-made.example.com/",
            "domains": '["https://admin-made.example.com"]',
            "timezone": "UTC",
            "currency": "USD",
        },
        follow=True,
    )
    page = response.content.decode()
    assert "shown only now" in page, page[:3000]
    raw_key = page.split("copy it: ")[1].split("<")[0].strip()
    app = App.objects.get(app_id="web.admin-made")
    assert find_app_by_api_key(raw_key) == app
    assert raw_key not in client.get(reverse("admin:integrations_app_changelist")).content.decode()
    assert app.audit_entries.filter(action="app.created").exists()
