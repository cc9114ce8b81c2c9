"""Canary: known secrets are planted through the real pages and flows (an Events API token on the
Integration tab, an OAuth token through the TikTok sandbox's consent page, an ad revenue secure
key on its tab), used (postbacks, a test event, cost pulls, all over real HTTP to the sandbox),
and then looked for everywhere a person or a file could see them: every page for every role,
the admin, exports, API answers, the logs and django-q2's task tables. None may appear."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from django.contrib import admin
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import OrmQ, Task

from events.models import InAppEvent, Postback
from integrations import setup_tabs
from integrations.models import AppMembership, CostConnection, Integration, PartnerPermission
from integrations.services.apps import give_api_key
from integrations.tiktok.sandbox import marketing, state
from reporting.api_tokens import create_api_token
from reporting.models import ExportJob
from tests import factories

EVENTS_TOKEN = "canaryEVENTStoken5f1c9e2a7b4d8e3f6a0c"
SECURE_KEY = "canarySECUREkey8d2e4f6a1b3c5d7e9f0a2b"
PIXEL = "CQ8RT3JC77U4D5MLS2A0"
APP_ID = "7301234567890123457"
APP_SECRET = "canaryAPPsecret0e9d8c7b6a5f4e3d2c1b0a9f"
BASE = "http://testserver"
PUSH_TOKEN = "canaryPUSHtoken3c5e7a9b1d2f4a6c8e0b"
REVENUECAT_SECRET = "Bearer canaryREVENUECAT7d9f1b3a5c7e9d1f"
PLAY_KEY = "canaryPLAYprivateKey2b4d6f8a0c2e4b6d8f"


@dataclass
class Planted:
    secrets: list[str]
    web: Integration
    app_side: Integration
    cost: Integration
    connection: CostConnection
    personas: dict[str, Client]
    server_key: str
    admin_user: object


def _answer_text(response) -> str:
    body = b"".join(response.streaming_content) if response.streaming else response.content
    headers = "\n".join(f"{name}: {value}" for name, value in response.headers.items())
    return headers + "\n" + body.decode(errors="replace")


def _assert_clean(where: str, text: str, secrets: list[str]) -> None:
    for secret in secrets:
        assert secret not in text, f"{where} shows a planted secret"
        assert secret[-12:] not in text, f"{where} shows most of a planted secret"


def _connect_through_the_sandbox(client: Client, cost: Integration) -> str:
    """The real OAuth walk: Connect → the sandbox's consent page → Approve → our callback, whose
    code exchange goes to the sandbox over HTTP. Returns the token TikTok (the sandbox) issued."""
    cost_tab = reverse("integrations:setup", args=[cost.app.app_id, cost.pk, "cost"])
    client.get(cost_tab)
    begin = client.post(
        reverse("social:begin", args=["tiktok-business"]),
        {"cost_integration": cost.pk, "next": cost_tab},
    )
    query = parse_qs(urlparse(begin["Location"]).query)
    approve = client.post(
        "/tiktok-sandbox/portal/auth",
        {
            "app_id": APP_ID,
            "redirect_uri": query["redirect_uri"][0],
            "state": query["state"][0],
            "advertiser_id": list(marketing.DEFAULT_GRANT),
            "approve": "",
        },
    )
    callback = urlparse(approve["Location"])
    done = client.get(callback.path, parse_qs(callback.query))
    assert done.status_code == 302, done
    return CostConnection.objects.get(integration=cost).access_token.reveal()


@pytest.fixture
def planted(
    tiktok_sandbox, app, admin_user, marketer, analyst, partner_user, outsider, superuser, caplog
) -> Iterator[Planted]:
    caplog.set_level(logging.DEBUG)
    state.issue_token(sources=[PIXEL], token=EVENTS_TOKEN)
    with override_settings(
        TIKTOK_APP_ID=APP_ID,
        TIKTOK_APP_SECRET=APP_SECRET,
        PUBLIC_BASE_URL=BASE,
        COST_RETRY_BACKOFF=[0],
    ):
        server_key = give_api_key(app)
        app.save()
        web = factories.make_integration(app, "tiktokweb_int")
        app_side = factories.make_integration(app, "bytedanceglobal_int", tiktok_app_id="7301")
        cost = factories.make_integration(app, "tiktokglobal_int")
        factories.grant(app, "tiktokweb_int", **dict.fromkeys(PartnerPermission.GRANTS, True))
        personas = {}
        for name, user in {
            "admin": admin_user,
            "marketer": marketer,
            "analyst": analyst,
            "partner": partner_user,
            "outsider": outsider,
            "staff": superuser,
        }.items():
            personas[name] = Client()
            personas[name].force_login(user)
        personas["anonymous"] = Client()
        client = personas["marketer"]

        # The Events API token, typed into the Integration tab, and the mapping that uses it.
        tab = reverse("integrations:setup", args=[app.app_id, web.pk, "integration"])
        saved = client.post(
            tab,
            {
                "settings-is_active": "on",
                "settings-pixel_code": PIXEL,
                "settings-access_token": EVENTS_TOKEN,
                "postbacks-in_app_postbacks_enabled": "on",
                "postbacks-postback_window_unit": "lifetime",
                "mapping-TOTAL_FORMS": "1",
                "mapping-INITIAL_FORMS": "0",
                "mapping-0-app_event_name": "purchase",
                "mapping-0-partner_event_name": "Purchase",
                "mapping-0-users_from": "all_sources",
                "mapping-0-including": "values_and_revenue",
                "mapping-0-conditions": "[]",
                "mapping-0-is_enabled": "on",
            },
        )
        assert saved.status_code == 302, saved.content.decode()[:2000]

        # The ad revenue secure key, typed into its tab.
        revenue_tab = reverse("integrations:setup", args=[app.app_id, app_side.pk, "ad-revenue"])
        saved = client.post(
            revenue_tab,
            {
                "is_enabled": "on",
                "tiktok_app_id": "7301234567890",
                "secure_key": SECURE_KEY,
                "account_id": "acct_42",
                "event_source": "af_ad_revenue",
            },
        )
        assert saved.status_code == 302

        # The OAuth token, through the consent page; then a cost pull that uses it.
        oauth_token = _connect_through_the_sandbox(client, cost)
        connection = CostConnection.objects.get(integration=cost)
        cost_tab = reverse("integrations:setup", args=[app.app_id, cost.pk, "cost"])
        for advertiser_id in marketing.DEFAULT_GRANT:  # a retried report call gets logged
            state.add_fault(advertiser_id, "rate_limit", remaining=1)
        client.post(
            cost_tab,
            {
                "is_enabled": "on",
                "advertisers": list(connection.advertisers.values_list("pk", flat=True)),
            },
        )

        # Use the Events API token: events forwarded as postbacks, and a test event.
        api = Client()
        answer = api.post(
            f"/api/v1/apps/{app.app_id}/events/batch",
            json.dumps(
                {
                    "events": [
                        {"event_id": "order-1", "event_name": "purchase", "revenue": "9.99",
                         "currency": "USD", "web_user_id": "wu-0123456789"},
                        {"event_id": "order-2", "event_name": "purchase", "revenue": "5",
                         "currency": "USD", "web_user_id": "wu-0123456789"},
                    ]
                }
            ),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {server_key}",
        )  # fmt: skip
        assert answer.status_code == 202, answer.content
        state.add_fault(PIXEL, "server_error", remaining=1)  # its failure is shown on the tab
        client.post(
            reverse("integrations:test-event", args=[app.app_id, web.pk]),
            {"test_event_code": "TEST12345", "event_name": "ViewContent"},
        )
        # One task left queued, as a running site would have it: its row must be clean too.
        Conf.SYNC = False
        try:
            api.post(
                f"/api/v1/apps/{app.app_id}/events",
                json.dumps({"event_id": "order-3", "event_name": "purchase"}),
                content_type="application/json",
                HTTP_AUTHORIZATION=f"Bearer {server_key}",
            )
        finally:
            Conf.SYNC = True
        # The subscription receivers' secrets, typed into the Subscriptions page, and a RevenueCat
        # webhook that uses one.
        saved = client.post(
            reverse("events:subscriptions", args=[app.app_id]),
            {
                "apple_bundle_id": "", "google_package_name": "",
                "google_push_token": PUSH_TOKEN, "revenuecat_authorization": REVENUECAT_SECRET,
                "google_service_account": json.dumps({
                    "client_email": "sb@example.iam", "private_key": PLAY_KEY,
                    "token_uri": "https://oauth2.example/token",
                }),
            },
        )  # fmt: skip
        assert saved.status_code == 302, saved.content.decode()[:2000]
        webhook = api.post(
            f"/api/v1/apps/{app.app_id}/subscriptions/revenuecat",
            json.dumps({"event": {"id": "rc-1", "type": "INITIAL_PURCHASE", "app_user_id": "u-1",
                                  "period_type": "TRIAL", "event_timestamp_ms": 1764800000000}}),
            content_type="application/json",
            HTTP_AUTHORIZATION=REVENUECAT_SECRET,
        )  # fmt: skip
        assert webhook.status_code == 200, webhook.content
        # A prepared export job, so its pages are crawled too.
        ExportJob.objects.create(
            app=app, user=analyst, report="in_app_events", params={"from": "2026-03-01"}
        )
        yield Planted(
            secrets=[
                EVENTS_TOKEN,
                SECURE_KEY,
                oauth_token,
                APP_SECRET,
                PUSH_TOKEN,
                REVENUECAT_SECRET,
                PLAY_KEY,
            ],  # fmt: skip
            web=web,
            app_side=app_side,
            cost=cost,
            connection=connection,
            personas=personas,
            server_key=server_key,
            admin_user=admin_user,
        )


def test_the_secrets_were_really_planted_and_used(planted):
    assert planted.web.pixel.access_token.reveal() == EVENTS_TOKEN
    assert planted.app_side.ad_revenue_settings.secure_key.reveal() == SECURE_KEY
    assert Postback.objects.filter(status=Postback.Status.DELIVERED).count() == 2
    assert planted.connection.pulls.exists()


def _routes(patterns, prefix: str = "") -> Iterator[tuple[str, URLPattern]]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "admin":
                continue  # the admin is walked model by model below
            namespace = f"{prefix}{pattern.namespace}:" if pattern.namespace else prefix
            yield from _routes(pattern.url_patterns, namespace)
        elif pattern.name:
            yield prefix + pattern.name, pattern


def _parameters(pattern: URLPattern) -> list[str]:
    return list(pattern.pattern.regex.groupindex)


def _urls(planted: Planted) -> list[str]:
    """Every named URL of ours, with each parameter filled by every value we know of."""
    app = planted.web.app
    event = InAppEvent.objects.first()
    values = {
        "app_id": [app.app_id],
        "integration_id": [planted.web.pk, planted.app_side.pk, planted.cost.pk],
        "tab": [tab.key for tab in setup_tabs.TABS],
        "media_source": ["tiktokweb_int", "bytedanceglobal_int", "tiktokglobal_int"],
        "public_key": [app.public_key],
        "event_id": [event.event_id],
        "postback_id": list(Postback.objects.values_list("pk", flat=True)),
        "connection_id": [planted.connection.pk],
        "job_id": list(ExportJob.objects.values_list("pk", flat=True)),
        "report": ["installs_report", "in_app_events_report"],
        "backend": ["tiktok-business"],
        "association_id": [1],
        "entity": ["campaign", "adgroup", "ad"],
        "membership_id": list(AppMembership.objects.values_list("pk", flat=True)),
        "token": ["not-a-real-token"],
        "uidb64": ["MQ"],
        "page_id": [1],
        "slug": ["spring-w2a"],
    }
    urls = []
    for name, pattern in _routes(get_resolver().url_patterns):
        combos: list[dict] = [{}]
        for parameter in _parameters(pattern):
            assert parameter in values, f"{name}: no value for {parameter}; add one"
            combos = [{**c, parameter: v} for c in combos for v in values[parameter]]
        for kwargs in combos:
            try:
                urls.append(reverse(name, kwargs=kwargs))
            except Exception:  # noqa: S112 - a value that does not fit this route's converter
                continue
    return urls


def _window() -> dict[str, str]:
    """The last week, where everything planted happened (reports refuse much longer spans)."""
    today = timezone.now().date()
    first = (today - timedelta(days=6)).isoformat()
    return {
        "from": first,
        "to": today.isoformat(),
        "date_from": first,
        "date_to": today.isoformat(),
    }


def test_no_page_shows_a_secret_to_any_role(planted):
    urls = _urls(planted)
    assert len(urls) > 40
    shown = dict.fromkeys(planted.personas, 0)
    for persona, client in planted.personas.items():
        for url in urls:
            for query in ({}, _window()):
                response = client.get(url, query)
                shown[persona] += response.status_code == 200
                _assert_clean(f"GET {url} as {persona}", _answer_text(response), planted.secrets)
    # The crawl reached real pages, not only redirects and refusals.
    assert shown["admin"] > 50 and shown["marketer"] > 40 and shown["partner"] > 10, shown


def test_no_export_or_pull_api_answer_shows_a_secret(planted):
    client = planted.personas["admin"]
    app = planted.web.app
    window = _window()
    for kind in ("installs", "in_app_events", "touchpoints", "postbacks", "cost"):
        url = reverse("reporting:raw-data-export", args=[app.app_id])
        response = client.get(url, {"report": kind, **window})
        assert response.status_code == 200, kind
        _assert_clean(f"raw-data export {kind}", _answer_text(response), planted.secrets)
    cost = client.get(
        reverse("reporting:cost-export", args=[app.app_id]),
        window,
    )
    _assert_clean("All Cost export", _answer_text(cost), planted.secrets)
    token = create_api_token(acting_user=planted.admin_user, name="Airbyte")[1]
    for report in ("installs_report", "in_app_events_report", "organic_in_app_events_report"):
        url = reverse("reporting:pull-api", args=[app.app_id, report])
        response = Client().get(url, window, headers={"Authorization": f"Bearer {token}"})
        _assert_clean(f"Pull API {report}", _answer_text(response), planted.secrets)


def test_no_events_api_answer_shows_a_secret(planted):
    app = planted.web.app
    api = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {planted.server_key}"}
    answers = [
        api.post(
            f"/api/v1/apps/{app.app_id}/events",
            json.dumps({"event_id": "order-1", "event_name": "purchase"}),
            content_type="application/json",
            **headers,
        ),
        api.post(
            f"/api/v1/apps/{app.app_id}/installs",
            json.dumps({"device_id": "af-1700000000000-1234567"}),
            content_type="application/json",
            **headers,
        ),
        api.get("/api/schema/"),
    ]
    for answer in answers:
        _assert_clean(f"API {answer.request['PATH_INFO']}", _answer_text(answer), planted.secrets)


def test_no_admin_page_shows_a_secret(planted):
    client = planted.personas["staff"]
    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages = [reverse(f"{prefix}_changelist"), reverse(f"{prefix}_add")]
        pages += [
            reverse(f"{prefix}_change", args=[pk])
            for pk in model._default_manager.values_list("pk", flat=True)[:5]
        ]
        for url in pages:
            response = client.get(url)
            assert response.status_code in (200, 302, 403), url
            _assert_clean(f"admin {url}", _answer_text(response), planted.secrets)


def test_no_log_line_or_task_row_holds_a_secret(planted, caplog):
    # Everything the planting did was logged at DEBUG, TikTok's HTTP calls included.
    records = caplog.get_records("setup") + caplog.get_records("call")
    logged = "\n".join(
        f"{record.name} {record.getMessage()} {record.exc_text or ''} {record.args!r}"
        for record in records
    )
    assert "TikTok report call failed" in logged
    _assert_clean("the logs", logged, planted.secrets)
    assert Task.objects.exists() and OrmQ.objects.exists()
    for task in Task.objects.all():
        row = repr((task.name, task.func, task.args, task.kwargs, task.result, task.group))
        _assert_clean(f"django-q2 task {task.name}", row, planted.secrets)
    for queued in OrmQ.objects.all():
        _assert_clean(f"django-q2 queue {queued.pk}", repr(queued.task), planted.secrets)
        _assert_clean(f"django-q2 queue {queued.pk}", queued.payload, planted.secrets)
