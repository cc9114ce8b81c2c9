"""The Pull API: AppsFlyer's path, bearer tokens, plain-text errors, and the same bytes as the
page's export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.urls import reverse

from reporting.api_tokens import create_api_token, revoke_api_token
from tests import factories

WINDOW = {"from": "2026-03-01", "to": "2026-03-07"}


@pytest.fixture
def traffic(app):
    moment = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    factories.make_install(
        app, installed_at=moment, media_source="tiktokweb_int", campaign="Spring"
    )
    factories.make_install(app, installed_at=moment, media_source="organic")
    factories.make_install(app, installed_at=moment, media_source="googleadwords_int")
    factories.make_event(
        app,
        event_time=moment,
        media_source="tiktokweb_int",
        revenue=Decimal("9.99"),
        currency="USD",
    )
    factories.make_event(app, event_time=moment, event_name="view", media_source="tiktokweb_int")
    factories.make_event(app, event_time=moment, media_source="organic")
    factories.make_event(
        app, event_time=datetime(2026, 2, 27, tzinfo=UTC), media_source="tiktokweb_int"
    )


def _token_for(user) -> str:
    return create_api_token(acting_user=user, name="Airbyte")[1]


def _pull(client, app, report, token, **params):
    url = reverse("reporting:pull-api", args=[app.app_id, report])
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return client.get(url, {**WINDOW, **params}, headers=headers)


def _body(response) -> str:
    return b"".join(response.streaming_content).decode()


def _rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_body(response))))


def test_installs_report_has_non_organic_installs_only(client, app, analyst, traffic):
    response = _pull(client, app, "installs_report", _token_for(analyst))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert sorted(row["Media Source"] for row in _rows(response)) == [
        "googleadwords_int",
        "tiktokweb_int",
    ]


def test_organic_reports_have_organic_rows_only(client, app, analyst, traffic):
    token = _token_for(analyst)
    installs = _rows(_pull(client, app, "organic_installs_report", token))
    events = _rows(_pull(client, app, "organic_in_app_events_report", token))
    assert [row["Media Source"] for row in installs] == ["organic"]
    assert [row["Media Source"] for row in events] == ["organic"]


def test_media_source_and_event_name_filter_the_rows(client, app, analyst, traffic):
    response = _pull(
        client,
        app,
        "in_app_events_report",
        _token_for(analyst),
        media_source="tiktokweb_int",
        event_name="purchase",
    )
    rows = _rows(response)
    assert [(row["Event Name"], row["Event Revenue"]) for row in rows] == [("purchase", "9.99")]


def test_the_page_export_and_the_pull_api_give_the_same_bytes(client, app, analyst, traffic):
    token = _token_for(analyst)
    client.force_login(analyst)
    filters = {**WINDOW, "media_source": "tiktokweb_int", "additional_fields": "ttclid,event_id"}
    page = client.get(
        reverse("reporting:raw-data-export", args=[app.app_id]),
        {"report": "in_app_events", **filters},
    )
    client.logout()
    api = _pull(client, app, "in_app_events_report", token, **filters)
    page_bytes, api_bytes = b"".join(page.streaming_content), b"".join(api.streaming_content)
    assert page.status_code == api.status_code == 200
    assert page_bytes == api_bytes
    assert page_bytes.count(b"\n") == 3  # header, purchase, view


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"from": ""}, "'from' is required"),
        ({"from": "03/01/2026"}, "'from' must look like yyyy-mm-dd"),
        ({"to": "2026-02-30"}, "not a real date"),
        ({"to": "2026-04-15"}, "longer than 31 days"),
        ({"to": "2026-02-01"}, "before 'from'"),
        ({"timezone": "Mars/Olympus"}, "Unknown timezone"),
        ({"additional_fields": "ttclid,shoe_size"}, "Unknown additional_fields: shoe_size"),
        ({"maximum_rows": "2000001"}, "'maximum_rows' is a whole number"),
        ({"currency": "EUR"}, "'currency' is 'preferred'"),
    ],
)
def test_bad_parameters_get_400_with_a_plain_text_reason(
    client, app, analyst, traffic, params, reason
):
    response = _pull(client, app, "in_app_events_report", _token_for(analyst), **params)
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert reason in response.content.decode()


def test_installs_may_span_60_days_but_not_61(client, app, analyst, traffic):
    token = _token_for(analyst)
    ok = _pull(client, app, "installs_report", token, **{"from": "2026-01-01", "to": "2026-03-01"})
    too_long = _pull(
        client, app, "installs_report", token, **{"from": "2026-01-01", "to": "2026-03-02"}
    )
    assert ok.status_code == 200
    assert too_long.status_code == 400
    assert "longer than 60 days" in too_long.content.decode()


def test_the_date_range_is_read_in_the_given_timezone(client, app, analyst):
    late = datetime(2026, 3, 8, 2, 0, tzinfo=UTC)  # 7 March 21:00 in New York
    factories.make_install(app, installed_at=late, media_source="tiktokweb_int")
    token = _token_for(analyst)
    utc = _rows(_pull(client, app, "installs_report", token))
    new_york = _rows(_pull(client, app, "installs_report", token, timezone="America/New_York"))
    assert utc == []
    assert [row["Install Time"] for row in new_york] == ["2026-03-07 21:00:00"]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "Authorization: Bearer"),
        ("Token abc", "Authorization: Bearer"),
        ("Bearer sbr_not-a-real-token", "Unknown or revoked API token"),
    ],
)
def test_a_missing_or_bad_token_gets_401(client, app, header, reason):
    url = reverse("reporting:pull-api", args=[app.app_id, "installs_report"])
    headers = {"Authorization": header} if header else {}
    response = client.get(url, WINDOW, headers=headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert reason in response.content.decode()


def test_a_revoked_token_stops_working(client, app, analyst, traffic):
    token_row, token = create_api_token(acting_user=analyst, name="old")
    assert _pull(client, app, "installs_report", token).status_code == 200
    revoke_api_token(acting_user=analyst, token_id=token_row.pk)
    assert _pull(client, app, "installs_report", token).status_code == 401


def test_an_app_the_token_cannot_read_is_404(client, app, outsider, traffic):
    response = _pull(client, app, "installs_report", _token_for(outsider))
    assert response.status_code == 404
    assert "No app" in response.content.decode()


def test_an_unknown_report_is_404_with_the_known_ones(client, app, analyst):
    response = _pull(client, app, "fraud-post-inapps", _token_for(analyst))
    assert response.status_code == 404
    assert "installs_report" in response.content.decode()


def test_a_partner_user_gets_only_its_media_source(client, app, partner_user, traffic):
    factories.grant(app, "tiktokweb_int", can_view_in_app_events=True)
    token = _token_for(partner_user)
    installs = _rows(_pull(client, app, "installs_report", token))
    assert [row["Media Source"] for row in installs] == ["tiktokweb_int"]
    organic = _pull(client, app, "organic_installs_report", token)
    assert organic.status_code == 403
    other = _pull(client, app, "installs_report", token, media_source="googleadwords_int")
    assert other.status_code == 400
    assert "only tiktokweb_int" in other.content.decode()


def test_a_partner_user_without_the_in_app_events_grant_cannot_pull(
    client, app, partner_user, traffic
):
    factories.grant(app, "tiktokweb_int", can_view_retention=True)
    token = _token_for(partner_user)
    assert _pull(client, app, "in_app_events_report", token).status_code == 403
    assert _pull(client, app, "installs_report", token).status_code == 403  # no export grant


def test_retargeting_reports_hold_re_engagements(client, app, analyst):
    moment = datetime(2026, 3, 3, tzinfo=UTC)
    factories.make_install(app, installed_at=moment, media_source="tiktokweb_int")
    factories.make_install(
        app, installed_at=moment, media_source="tiktokweb_int", is_reengagement=True
    )
    token = _token_for(analyst)
    first = _rows(_pull(client, app, "installs_report", token))
    again = _rows(_pull(client, app, "installs-retarget", token))
    also_again = _rows(_pull(client, app, "installs_report", token, reattr="true"))
    assert [row["Is Retargeting"] for row in first] == ["false"]
    assert [row["Is Retargeting"] for row in again] == ["true"]
    assert also_again == again


PULL_ACCESS = {
    "admin_user": (200, 200),
    "marketer": (200, 200),
    "analyst": (200, 200),
    "outsider": (404, 404),
}


@pytest.mark.parametrize("persona", list(PULL_ACCESS))
def test_each_role_against_the_pull_api(request, client, app, traffic, persona):
    token = _token_for(request.getfixturevalue(persona))
    installs, events = PULL_ACCESS[persona]
    assert _pull(client, app, "installs_report", token).status_code == installs
    assert _pull(client, app, "in_app_events_report", token).status_code == events


def test_ids_from_links_reach_the_pull_api_defused(client, app, analyst):
    moment = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    factories.make_install(
        app,
        installed_at=moment,
        media_source="tiktokweb_int",
        campaign_id="=1+2",
        ad_id="@SUM(1)",
        device_id="-2+3",
    )
    response = _pull(client, app, "installs_report", _token_for(analyst))
    [row] = _rows(response)
    assert (row["Campaign ID"], row["Ad ID"], row["AppsFlyer ID"]) == ("'=1+2", "'@SUM(1)", "'-2+3")
