"""The raw-data reports page: filters, preview and count, export links, and who sees what."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from events.models import Postback
from events.services.ingest import record_events
from reporting.models import CostRecord
from tests import factories

MOMENT = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
WINDOW = {"from": "2026-03-01", "to": "2026-03-07"}


@pytest.fixture
def traffic(app):
    touch = factories.make_touchpoint(app, occurred_at=MOMENT, campaign="Spring", ttclid="E.C.P.x")
    integration = factories.make_integration(app, "tiktokweb_int")
    event = factories.make_event(
        app,
        event_time=MOMENT,
        media_source="tiktokweb_int",
        campaign="Spring",
        ttclid="E.C.P.x",
        revenue=Decimal("20"),
        currency="USD",
    )
    factories.make_event(app, event_time=MOMENT, media_source="organic", event_name="view")
    factories.make_install(app, installed_at=MOMENT, media_source="tiktokweb_int", touchpoint=touch)
    postback = factories.make_postback(integration, event, status="delivered", response_code=0)
    Postback.objects.filter(pk=postback.pk).update(created_at=MOMENT)
    CostRecord.objects.create(
        app=app,
        media_source="tiktokweb_int",
        stat_date=MOMENT.date(),
        advertiser_id="70001",
        campaign_id="1800",
        campaign="Spring",
        currency="USD",
        spend=Decimal("12.5"),
        impressions=1000,
        clicks=10,
        pulled_at=MOMENT,
    )


def _page(client, app, **params):
    return client.get(reverse("reporting:raw-data", args=[app.app_id]), params)


def test_the_seed_flow_filters_by_media_source_and_previews(client, app, analyst, traffic):
    client.force_login(analyst)
    response = _page(client, app, report="in_app_events", media_source="tiktokweb_int", **WINDOW)
    assert response.status_code == 200
    html = response.content.decode()
    assert response.context["row_count"] == 1
    assert (
        response.context["preview_rows"][0][
            response.context["preview_header"].index("Media Source")
        ]
        == "tiktokweb_int"
    )
    assert "organic" not in [
        cells[response.context["preview_header"].index("Media Source")]
        for cells in response.context["preview_rows"]
    ]
    assert "/api/raw-data/export/app/web.trailhead/in_app_events_report/v5?" in html
    assert "media_source=tiktokweb_int" in response.context["api_url"]


def test_organic_is_a_media_source_like_any_other(client, app, analyst, traffic):
    client.force_login(analyst)
    response = _page(client, app, report="in_app_events", media_source="organic", **WINDOW)
    header = response.context["preview_header"]
    assert [cells[header.index("Event Name")] for cells in response.context["preview_rows"]] == [
        "view"
    ]
    assert "organic_in_app_events_report" in response.context["api_url"]


def test_several_media_sources_can_be_ticked(client, app, analyst, traffic):
    client.force_login(analyst)
    url = reverse("reporting:raw-data", args=[app.app_id])
    query = "report=in_app_events&from=2026-03-01&to=2026-03-07"
    response = client.get(f"{url}?{query}&media_source=organic&media_source=tiktokweb_int")
    assert response.context["row_count"] == 2
    assert response.context["api_url"] is None  # no single Pull API report mixes organic in


def test_an_event_before_the_users_install_shows_as_organic_without_the_installs_click(
    client, app, analyst
):
    touch = factories.make_touchpoint(
        app, occurred_at=MOMENT, campaign="Spring", web_user_id="wu-1", sub1="creative-7"
    )
    factories.make_install(
        app,
        device_id="wu-1",
        web_user_id="wu-1",
        installed_at=MOMENT,
        media_source="tiktokweb_int",
        campaign="Spring",
        touchpoint=touch,
    )
    record_events(
        app,
        [
            {
                "event_id": "before-install",
                "event_name": "purchase",
                "web_user_id": "wu-1",
                "event_time": (MOMENT - timedelta(days=1)).isoformat(),
            }
        ],
    )
    client.force_login(analyst)
    response = _page(
        client, app, report="in_app_events", **{"from": "2026-02-28", "to": "2026-03-07"}
    )
    export = client.get(response.context["export_url"])
    (row,) = csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode()))
    assert (row["Event Name"], row["Media Source"], row["Campaign"]) == ("purchase", "organic", "")
    assert (row["Install Time"], row["Sub Param 1"]) == ("", "")


def test_it_opens_on_the_last_seven_days_of_in_app_events(client, app, analyst):
    client.force_login(analyst)
    response = _page(client, app)
    assert response.status_code == 200
    assert response.context["values"]["report"] == "in_app_events"
    assert response.context["row_count"] == 0
    assert "No rows match these filters." in response.content.decode()


def test_a_bad_filter_shows_its_reason_and_no_rows(client, app, analyst, traffic):
    client.force_login(analyst)
    response = _page(
        client, app, report="in_app_events", **{"from": "2026-01-01", "to": "2026-03-07"}
    )
    assert response.status_code == 400
    assert "longer than 31 days" in response.content.decode()
    assert "query" not in response.context


@pytest.mark.parametrize(
    ("report", "expected"),
    [("installs", 1), ("touchpoints", 1), ("postbacks", 1), ("cost", 1)],
)
def test_every_report_type_previews_and_exports(client, app, analyst, traffic, report, expected):
    client.force_login(analyst)
    response = _page(client, app, report=report, **WINDOW)
    assert response.context["row_count"] == expected
    export = client.get(response.context["export_url"])
    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert len(rows) == expected + 1


def test_postbacks_report_has_tiktoks_answer(client, app, analyst, traffic):
    client.force_login(analyst)
    response = _page(client, app, report="postbacks", **WINDOW)
    export = client.get(response.context["export_url"])
    row = next(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert (row["Status"], row["TikTok Code"], row["Partner Event Name"]) == (
        "delivered",
        "0",
        "Purchase",
    )


def test_the_export_is_named_after_the_app_report_and_dates(client, app, analyst, traffic):
    client.force_login(analyst)
    url = reverse("reporting:raw-data-export", args=[app.app_id])
    response = client.get(url, {"report": "installs", **WINDOW})
    assert response["Content-Disposition"] == (
        'attachment; filename="web.trailhead_installs_2026-03-01_2026-03-07.csv"'
    )


def test_a_partner_user_sees_only_its_media_source_and_granted_reports(
    client, app, partner_user, traffic
):
    factories.grant(app, "tiktokweb_int", can_view_retention=True)
    client.force_login(partner_user)
    response = _page(client, app, **WINDOW)
    kinds = [kind.key for kind in response.context["kinds"]]
    assert kinds == ["installs", "touchpoints"]
    assert response.context["values"]["report"] == "installs"
    assert response.context["media_sources"] == ["tiktokweb_int"]
    assert not response.context["can_export"]
    events = _page(client, app, report="in_app_events", **WINDOW)
    assert events.status_code == 400
    assert "does not include this report" in events.content.decode()
    export = client.get(
        reverse("reporting:raw-data-export", args=[app.app_id]), {"report": "installs", **WINDOW}
    )
    assert export.status_code == 403


def test_a_partner_user_with_the_in_app_events_grant_exports_its_rows_only(
    client, app, partner_user, traffic
):
    factories.grant(app, "tiktokweb_int", can_view_in_app_events=True)
    client.force_login(partner_user)
    export = client.get(
        reverse("reporting:raw-data-export", args=[app.app_id]),
        {"report": "in_app_events", **WINDOW},
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))
    assert [row["Media Source"] for row in rows] == ["tiktokweb_int"]
    assert rows[0]["Event Revenue"] == ""  # revenue is a separate grant


@pytest.mark.parametrize(
    ("who", "page", "events_export"),
    [
        ("admin_user", 200, 200),
        ("marketer", 200, 200),
        ("analyst", 200, 200),
        ("outsider", 404, 404),
    ],
)
def test_each_role_against_the_page_and_its_export(
    request, client, app, traffic, who, page, events_export
):
    client.force_login(request.getfixturevalue(who))
    assert _page(client, app, **WINDOW).status_code == page
    export = client.get(
        reverse("reporting:raw-data-export", args=[app.app_id]),
        {"report": "in_app_events", **WINDOW},
    )
    assert export.status_code == events_export


def test_anonymous_visitors_are_sent_to_log_in(client, app):
    response = _page(client, app)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


REPORTS = ["installs", "in_app_events", "touchpoints", "postbacks", "cost"]
# persona → report → (page status, export status)
ACCESS = {
    "admin_user": dict.fromkeys(REPORTS, (200, 200)),
    "marketer": dict.fromkeys(REPORTS, (200, 200)),
    "analyst": dict.fromkeys(REPORTS, (200, 200)),
    # TikTok with the in-app events grant: its own rows of the report kinds it was granted.
    "partner_user": {
        "installs": (200, 200),
        "in_app_events": (200, 200),
        "touchpoints": (200, 200),
        "postbacks": (400, 403),
        "cost": (400, 403),
    },
    "outsider": dict.fromkeys(REPORTS, (404, 404)),
}


@pytest.mark.parametrize("report", REPORTS)
@pytest.mark.parametrize("persona", list(ACCESS))
def test_each_role_against_each_report(request, client, app, traffic, persona, report):
    if persona == "partner_user":
        factories.grant(app, "tiktokweb_int", can_view_in_app_events=True)
    client.force_login(request.getfixturevalue(persona))
    page_status, export_status = ACCESS[persona][report]
    assert _page(client, app, report=report, **WINDOW).status_code == page_status
    export = client.get(
        reverse("reporting:raw-data-export", args=[app.app_id]), {"report": report, **WINDOW}
    )
    assert export.status_code == export_status
