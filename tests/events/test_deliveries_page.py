"""The Deliveries page of an integration, its retry and replay actions, and an event's page."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from events.models import Postback
from tests import factories

S = Postback.Status


@pytest.fixture
def integration(app):
    integration = factories.make_integration(app, is_active=True, in_app_postbacks_enabled=True)
    factories.make_pixel(integration)
    return integration


@pytest.fixture
def rows(app, integration):
    now = timezone.now()
    made = {}
    for name, status, age in [
        ("delivered", S.DELIVERED, timedelta(hours=1)),
        ("failed", S.FAILED, timedelta(hours=2)),
        ("dead", S.DEAD, timedelta(days=2)),
        ("old", S.DELIVERED, timedelta(days=9)),
    ]:
        event = factories.make_event(app, event_id=f"evt-{name}", event_name="purchase")
        postback = factories.make_postback(
            integration,
            event,
            status=status,
            attempts=7 if status == S.DEAD else 1,
            response_code={S.DELIVERED: 0, S.FAILED: 40002, S.DEAD: 50000}[status],
            response_message={
                S.DELIVERED: "OK",
                S.FAILED: "data.0.event: bad",
                S.DEAD: "System error",
            }[status],
            request_body={"event_source": "web", "data": [{"event": "Purchase"}]},
        )
        Postback.objects.filter(pk=postback.pk).update(created_at=now - age)
        made[name] = postback
    return made


def url(integration, name="events:deliveries", *extra):
    return reverse(name, args=[integration.app.app_id, integration.pk, *extra])


def test_counts_by_status_for_24_hours_and_7_days(client, marketer, integration, rows):
    client.force_login(marketer)
    counts = client.get(url(integration)).context["counts"]
    assert counts[0].counts == {"pending": 0, "sending": 0, "delivered": 1, "failed": 1, "dead": 0}
    assert counts[1].counts["dead"] == 1 and counts[1].total == 3


def test_the_list_filters_by_status(client, marketer, integration, rows):
    client.force_login(marketer)
    page = client.get(url(integration), {"status": "failed"}).context["page"]
    assert [postback.pk for postback in page] == [rows["failed"].pk]


def test_the_list_filters_by_date_in_the_apps_timezone(client, marketer, integration, rows):
    client.force_login(marketer)
    today = timezone.now().date()
    page = client.get(url(integration), {"since": today - timedelta(days=3)}).context["page"]
    assert rows["old"].pk not in [postback.pk for postback in page]


def test_the_detail_shows_the_request_and_tiktoks_answer(client, marketer, integration, rows):
    client.force_login(marketer)
    body = client.get(url(integration, "events:delivery", rows["failed"].pk)).content.decode()
    assert "data.0.event: bad" in body
    assert "&quot;event_source&quot;: &quot;web&quot;" in body


def test_the_detail_lists_attempts_with_times_written_as_elsewhere_on_the_page(
    client, marketer, integration, rows
):
    log = [{"at": "2026-03-01T12:30:05.123456+00:00", "code": 0, "http": 200, "message": "OK"}]
    Postback.objects.filter(pk=rows["delivered"].pk).update(attempt_log=log)
    client.force_login(marketer)
    body = client.get(url(integration, "events:delivery", rows["delivered"].pk)).content.decode()
    assert "<td>2026-03-01 12:30:05</td>" in body


def test_the_detail_shows_text_beyond_ascii_as_written(client, marketer, integration, rows):
    name = "Chaussettes d’été 🧦 — 登山袜"
    Postback.objects.filter(pk=rows["delivered"].pk).update(
        request_body={"data": [{"properties": {"contents": [{"content_name": name}]}}]}
    )
    client.force_login(marketer)
    body = client.get(url(integration, "events:delivery", rows["delivered"].pk)).content.decode()
    assert name in html.unescape(body)


def test_retry_selected_requeues_failed_rows_only(client, marketer, integration, rows):
    client.force_login(marketer)
    response = client.post(
        url(integration, "events:deliveries-requeue"),
        {"postback": [rows["failed"].pk, rows["delivered"].pk]},
    )
    assert response.status_code == 302
    rows["failed"].refresh_from_db()
    rows["delivered"].refresh_from_db()
    assert (rows["failed"].status, rows["failed"].attempts) == (S.PENDING, 0)
    assert rows["delivered"].status == S.DELIVERED


@pytest.mark.parametrize(
    ("next_url", "lands_on_list"),
    [("?status=failed", False), ("//evil.example/phish", True), ("https://evil.example/", True)],
)
def test_after_a_retry_it_returns_to_the_filtered_list_never_elsewhere(
    client, marketer, integration, rows, next_url, lands_on_list
):
    client.force_login(marketer)
    back = url(integration) + next_url if next_url.startswith("?") else next_url
    response = client.post(
        url(integration, "events:deliveries-requeue"),
        {"postback": [rows["failed"].pk], "next": back},
    )
    assert response["Location"] == (url(integration) if lands_on_list else back)


def test_replay_all_dead_letters(client, marketer, integration, rows, monkeypatch):
    from events import tasks

    monkeypatch.setattr(tasks, "enqueue_delivery", lambda: None)
    client.force_login(marketer)
    client.post(url(integration, "events:deliveries-requeue"), {"scope": "dead"})
    rows["dead"].refresh_from_db()
    assert (rows["dead"].status, rows["dead"].attempts) == (S.PENDING, 0)


@pytest.mark.parametrize(("persona", "status"), [("analyst", 403), ("outsider", 404)])
def test_others_cannot_see_deliveries(client, integration, persona, status, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get(url(integration)).status_code == status


def test_a_partner_with_configure_integration_may_look_but_not_retry(
    client, app, integration, rows, partner_user
):
    factories.grant(app, can_configure_integration=True)
    client.force_login(partner_user)
    assert client.get(url(integration)).status_code == 200
    response = client.post(url(integration, "events:deliveries-requeue"), {"scope": "dead"})
    assert response.status_code == 403


def test_the_event_page_explains_why_nothing_was_sent(client, analyst, app, integration):
    factories.make_mapping(integration, users_from="this_partner")
    factories.make_event(app, event_id="o-9", event_name="purchase", media_source="organic")
    client.force_login(analyst)
    page = client.get(reverse("events:event", args=[app.app_id, "o-9"]), {"why": "1"})
    assert "Attributed to organic; this row sends only users from tiktokweb_int." in (
        page.content.decode()
    )


def test_a_partner_user_sees_only_events_of_its_media_source(client, app, partner_user):
    factories.grant(app, can_view_in_app_events=True)
    factories.make_event(app, event_id="mine", media_source="tiktokweb_int")
    factories.make_event(app, event_id="theirs", media_source="organic")
    client.force_login(partner_user)
    assert client.get(reverse("events:event", args=[app.app_id, "mine"])).status_code == 200
    assert client.get(reverse("events:event", args=[app.app_id, "theirs"])).status_code == 404


def test_resume_clears_needs_attention(client, marketer, integration):
    integration.needs_attention = True
    integration.attention_reason = "TikTok refused our credentials (40001)"
    integration.save()
    client.force_login(marketer)
    client.post(reverse("integrations:resume", args=[integration.app.app_id, integration.pk]))
    integration.refresh_from_db()
    assert not integration.needs_attention


def test_the_detail_lists_properties_dropped_before_sending(client, marketer, integration, rows):
    Postback.objects.filter(pk=rows["delivered"].pk).update(
        dropped_properties=[
            {"property": "contents.0.price", "reason": "'12,50 €' is not a number."}
        ]
    )
    client.force_login(marketer)
    body = client.get(url(integration, "events:delivery", rows["delivered"].pk)).content.decode()
    assert "contents.0.price" in body
    assert "is not a number." in body


@pytest.fixture
def app_integration(app):
    integration = factories.make_integration(
        app, "bytedanceglobal_int", is_active=True, in_app_postbacks_enabled=True
    )
    factories.make_pixel(integration, pixel_code="")
    return integration


def sent_as_cells(html):
    table = html.split('id="deliveries"', 1)[1]
    return [
        re.sub(r"<[^>]+>|\s+", " ", cell).split()
        for cell in re.findall(r'<td class="sent-as">(.*?)</td>', table, re.S)
    ]


def test_the_list_shows_tiktoks_event_name_as_sent_with_the_catalog_name_beside(
    client, marketer, app, app_integration
):
    event = factories.make_event(app, event_id="order-1")
    factories.make_postback(
        app_integration,
        event,
        partner_event_name="Pay",
        status=S.DELIVERED,
        request_body={"event_source": "app", "data": [{"event": "Purchase"}]},
    )
    waiting = factories.make_event(app, event_id="view-1", event_name="view_item")
    factories.make_postback(app_integration, waiting, partner_event_name="View_content")
    same = factories.make_event(app, event_id="search-1", event_name="search")
    factories.make_postback(app_integration, same, partner_event_name="Search")
    client.force_login(marketer)
    html = client.get(url(app_integration)).content.decode()
    assert sent_as_cells(html) == [
        ["Search"],
        ["ViewContent", "(View_content)"],
        ["Purchase", "(Pay)"],
    ]


def test_the_detail_is_titled_with_tiktoks_event_name(client, marketer, app, app_integration):
    event = factories.make_event(app, event_id="order-1")
    postback = factories.make_postback(
        app_integration,
        event,
        partner_event_name="Pay",
        request_body={"event_source": "app", "data": [{"event": "Purchase"}]},
    )
    client.force_login(marketer)
    html = client.get(url(app_integration, "events:delivery", postback.pk)).content.decode()
    title = html.split("<h1>", 1)[1].split("</h1>", 1)[0]
    assert "Purchase" in title and "Pay" in title


@pytest.mark.parametrize(
    ("field", "value"),
    [("until", "9999-12-31"), ("since", "0001-01-01"), ("until", "２０２６-03-01")],
)
def test_a_filter_date_out_of_range_is_an_error_on_the_form(
    client, marketer, integration, rows, field, value
):
    client.force_login(marketer)
    response = client.get(url(integration), {field: value})
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert len(response.context["page"]) == len(rows)  # unfiltered


@pytest.mark.parametrize("value", ["²", "①", "99999999999999999999999", "-1"])
def test_retrying_a_bad_id_requeues_nothing(client, marketer, integration, rows, value):
    client.force_login(marketer)
    response = client.post(
        url(integration, "events:deliveries-requeue"), {"postback": [value, rows["failed"].pk]}
    )
    assert response.status_code == 302
    statuses = dict(Postback.objects.values_list("pk", "status"))
    assert statuses[rows["failed"].pk] == S.PENDING
    assert statuses[rows["dead"].pk] == S.DEAD
