"""An error report (the e-mail or log entry Django writes when a request fails) never shows a
token or key that was posted: every view that takes one hides its POST parameters."""

from __future__ import annotations

import logging

import pytest
from django.contrib import admin, messages
from django.urls import reverse
from django.views.debug import ExceptionReporter

from integrations.models import AdRevenueSettings, Pixel
from tests import factories

TOKEN = "canary-token-7d1f0e4b9a2c5e8f3b6d"
KEY = "canary-key-4e7a1c9f2b8d5e0a3c6f"


class Crash(Exception):
    pass


def _crash(*args, **kwargs):
    raise Crash("after the save")


def _reports(caplog) -> list[str]:
    """What AdminEmailHandler would send for each logged failure: text and HTML."""
    reports = []
    for record in caplog.records:
        if record.name == "django.request" and record.exc_info:
            reporter = ExceptionReporter(record.request, *record.exc_info, is_email=True)
            reports += [reporter.get_traceback_text(), reporter.get_traceback_html()]
    return reports


@pytest.fixture
def crashing_client(client, caplog, monkeypatch):
    """A client whose requests fail after the view has read the POST (messages are the last
    thing a successful save does), with the failure logged as in production."""
    monkeypatch.setattr(messages, "success", _crash)
    monkeypatch.setattr(admin.ModelAdmin, "message_user", _crash)
    client.raise_request_exception = False
    caplog.set_level(logging.ERROR, logger="django.request")
    return client


def _assert_reports_hide(caplog, *secrets: str) -> None:
    reports = _reports(caplog)
    assert reports, "the request did not fail"
    for report in reports:
        assert "POST" in report
        for secret in secrets:
            assert secret not in report


def test_the_integration_tab_hides_the_access_token(crashing_client, caplog, app, marketer):
    integration = factories.make_integration(app)
    crashing_client.force_login(marketer)
    url = reverse("integrations:setup", args=[app.app_id, integration.pk, "integration"])
    data = {
        "settings-pixel_code": "CQ8RT3JC77U4D5MLS2A0",
        "settings-access_token": TOKEN,
        "postbacks-postback_window_unit": "lifetime",
        "mapping-TOTAL_FORMS": "0",
        "mapping-INITIAL_FORMS": "0",
    }
    assert crashing_client.post(url, data).status_code == 500
    assert Pixel.objects.get().access_token.reveal() == TOKEN
    _assert_reports_hide(caplog, TOKEN)


def test_the_ad_revenue_tab_hides_the_secure_key(crashing_client, caplog, app, marketer):
    integration = factories.make_integration(app, "bytedanceglobal_int", tiktok_app_id="7301")
    crashing_client.force_login(marketer)
    url = reverse("integrations:setup", args=[app.app_id, integration.pk, "ad-revenue"])
    data = {
        "is_enabled": "on",
        "tiktok_app_id": "7301234567890",
        "secure_key": KEY,
        "account_id": "acct_42",
        "event_source": "af_ad_revenue",
    }
    assert crashing_client.post(url, data).status_code == 500
    assert AdRevenueSettings.objects.get().secure_key.reveal() == KEY
    _assert_reports_hide(caplog, KEY)


def test_the_admins_pixel_form_hides_the_access_token(crashing_client, caplog, app, superuser):
    integration = factories.make_integration(app)
    crashing_client.force_login(superuser)
    url = reverse("admin:integrations_pixel_add")
    data = {
        "integration": integration.pk,
        "pixel_code": "CQ8RT3JC77U4D5MLS2A0",
        "access_token": TOKEN,
    }
    assert crashing_client.post(url, data).status_code == 500
    _assert_reports_hide(caplog, TOKEN)


def test_the_admins_integration_form_hides_the_inline_token(
    crashing_client, caplog, app, superuser
):
    integration = factories.make_integration(app)
    crashing_client.force_login(superuser)
    url = reverse("admin:integrations_integration_change", args=[integration.pk])
    form = crashing_client.get(url).context["adminform"].form
    data = {
        name: "[]" if value == [] else value
        for name, value in form.initial.items()
        if value not in (None, False)
    }
    data.update(
        {
            "app": app.pk,
            "partner": integration.partner.pk,
            "pixel-TOTAL_FORMS": "1",
            "pixel-INITIAL_FORMS": "0",
            "pixel-0-pixel_code": "CQ8RT3JC77U4D5MLS2A0",
            "pixel-0-access_token": TOKEN,
        }
    )
    crashing_client.post(url, data)
    _assert_reports_hide(caplog, TOKEN)


def test_the_admins_ad_revenue_form_hides_the_secure_key(crashing_client, caplog, app, superuser):
    integration = factories.make_integration(app, "bytedanceglobal_int", tiktok_app_id="7301")
    crashing_client.force_login(superuser)
    url = reverse("admin:integrations_adrevenuesettings_add")
    data = {
        "integration": integration.pk,
        "tiktok_app_id": "7301234567890",
        "secure_key": KEY,
        "account_id": "acct_42",
        "event_source": "af_ad_revenue",
    }
    assert crashing_client.post(url, data).status_code == 500
    _assert_reports_hide(caplog, KEY)
