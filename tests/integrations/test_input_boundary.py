"""Numbers typed into the setup tabs and the TikTok connect flow: a bad one is refused or
ignored, never a 500, and a huge row count costs nothing before the formset's cap applies
(issue 18 §3). `str.isdigit()` accepts '²' and '①', which `int()` refuses."""

from __future__ import annotations

import time
from urllib.parse import parse_qsl, urlparse

import pytest
from django.test import override_settings
from django.urls import reverse

from integrations.models import CostAdvertiser, CostConnection
from integrations.tiktok.sandbox import marketing
from tests import factories
from tests.integrations.test_setup_pages import settings_post

BAD_NUMBERS = ["²", "①", "99999999999999999999999", "-1", "1e3"]
APP_ID = "7301234567890123457"
APP_SECRET = "9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b"


@pytest.fixture
def web_integration(app):
    integration = factories.make_integration(app, is_active=True)
    factories.make_pixel(integration)
    return integration


@pytest.fixture
def cost_integration(app):
    return factories.make_integration(app, "tiktokglobal_int")


def tab_url(integration, tab):
    return reverse("integrations:setup", args=[integration.app.app_id, integration.pk, tab])


@pytest.mark.parametrize("total", BAD_NUMBERS)
def test_load_default_mapping_with_a_row_count_that_is_no_number_saves_nothing(
    client, marketer, web_integration, total
):
    client.force_login(marketer)
    data = settings_post(load_default_mapping="1", **{"mapping-TOTAL_FORMS": total})
    response = client.post(tab_url(web_integration, "integration"), data)
    assert response.status_code in (200, 400)
    assert not web_integration.mappings.exists()


def test_load_default_mapping_with_millions_of_rows_is_refused_quickly(
    client, marketer, web_integration
):
    client.force_login(marketer)
    data = settings_post(load_default_mapping="1", **{"mapping-TOTAL_FORMS": "3000000"})
    started = time.process_time()
    response = client.post(tab_url(web_integration, "integration"), data)
    assert time.process_time() - started < 5
    assert "at most 200" in " ".join(response.context["mapping_formset"].non_form_errors())
    assert not web_integration.mappings.exists()


@pytest.mark.parametrize("value", BAD_NUMBERS)
def test_saving_cost_with_a_bad_advertiser_value_changes_nothing(
    client, marketer, cost_integration, value
):
    connection = CostConnection.objects.create(
        integration=cost_integration, label="Agency", access_token="t" * 40
    )
    advertiser = CostAdvertiser.objects.create(
        connection=connection, advertiser_id="7012345678901234568", name="Shop", currency="USD"
    )
    client.force_login(marketer)
    response = client.post(
        tab_url(cost_integration, "cost"),
        {"is_enabled": "on", "advertisers": [advertiser.pk, value]},
    )
    assert response.status_code == 400
    assert response.context["cost_form"].errors["advertisers"]
    cost_integration.refresh_from_db()
    assert not cost_integration.cost_enabled
    assert not CostAdvertiser.objects.filter(is_selected=True).exists()


@pytest.mark.parametrize("value", ["²", "①"])
def test_connecting_tiktok_for_a_bad_integration_id_connects_nothing(
    client, marketer, cost_integration, tiktok_sandbox, value
):
    """The id posted to the Log in button comes back from the session after TikTok's consent."""
    client.force_login(marketer)
    with override_settings(TIKTOK_APP_ID=APP_ID, TIKTOK_APP_SECRET=APP_SECRET):
        begin = client.post(
            reverse("social:begin", args=["tiktok-business"]),
            {"cost_integration": value, "next": tab_url(cost_integration, "cost")},
        )
        assert begin.status_code == 302
        consent = urlparse(begin["Location"])
        # The consent page is the sandbox's, served by this process too; the callback then
        # exchanges the code with the sandbox over real HTTP.
        approved = client.post(
            f"{consent.path}?{consent.query}",
            {**parse_qs_single(consent.query), "advertiser_id": list(marketing.ADVERTISERS)[:1]},
        )
        assert approved.status_code == 302
        callback = urlparse(approved["Location"])
        response = client.get(f"{callback.path}?{callback.query}")
    assert response.status_code == 302
    assert not CostConnection.objects.exists()


def parse_qs_single(query: str) -> dict[str, str]:
    return dict(parse_qsl(query))
