"""The All Cost report: who sees it, filters, totals per currency, and the streaming CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from reporting.models import CostRecord
from tests import factories


def make_cost(app, **overrides):
    fields = {
        "app": app,
        "media_source": "tiktokglobal_int",
        "stat_date": date(2026, 3, 1),
        "advertiser_id": "7012345678901234567",
        "campaign_id": "1800000001",
        "campaign": "Spring sale",
        "adset_id": "1900000001",
        "adset": "UK lookalikes",
        "ad_id": "2000000001",
        "ad": "Video A",
        "country_code": "GB",
        "currency": "GBP",
        "spend": Decimal("12.50"),
        "impressions": 1000,
        "clicks": 20,
        "reported_conversions": 2,
        "pulled_at": timezone.now(),
    }
    fields.update(overrides)
    return CostRecord.objects.create(**fields)


@pytest.fixture
def costs(app):
    make_cost(app)
    make_cost(app, country_code="IE", spend=Decimal("7.25"), impressions=500)
    make_cost(
        app,
        advertiser_id="7012345678901234568",
        campaign='=HYPERLINK("x")',
        campaign_id="1800000002",
        country_code="US",
        currency="USD",
        spend=Decimal("30.00"),
    )
    make_cost(
        app, media_source="bytedanceglobal_int", stat_date=date(2026, 3, 2), ad_id="2000000009"
    )
    make_cost(app, stat_date=date(2026, 2, 1))  # outside the range


def report(client, app, **params):
    query = {"date_from": "2026-03-01", "date_to": "2026-03-07", **params}
    return client.get(reverse("reporting:cost", args=[app.app_id]), query)


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("admin_user", 200),
        ("marketer", 200),
        ("analyst", 200),
        ("partner_user", 404),
        ("outsider", 404),
    ],
)
def test_who_may_read_the_report(client, app, costs, persona, status, request):
    client.force_login(request.getfixturevalue(persona))
    assert report(client, app).status_code == status


def test_totals_are_per_currency(client, app, costs, analyst):
    client.force_login(analyst)
    response = report(client, app, media_source="tiktokglobal_int")
    totals = {row["currency"]: row for row in response.context["totals"]}
    assert totals["GBP"]["spend"] == Decimal("19.75")
    assert totals["USD"]["spend"] == Decimal("30.00")
    assert response.context["row_count"] == 3


def test_filters_narrow_the_rows(client, app, costs, analyst):
    client.force_login(analyst)
    assert report(client, app, country="ie").context["row_count"] == 1
    assert report(client, app, campaign="spring").context["row_count"] == 3
    assert report(client, app, campaign="1800000002").context["row_count"] == 1
    assert report(client, app, advertiser_id="7012345678901234568").context["row_count"] == 1
    assert report(client, app, media_source="bytedanceglobal_int").context["row_count"] == 1


def test_bad_filters_say_what_is_wrong(client, app, costs, analyst):
    client.force_login(analyst)
    response = report(client, app, date_from="2026-03-07", date_to="2026-03-01")
    assert response.status_code == 400
    assert "before the start date" in response.content.decode()
    response = report(client, app, country="GBR")
    assert response.status_code == 400
    assert "two-letter country code" in response.content.decode()


def test_the_export_streams_every_row_as_csv(client, app, costs, analyst):
    client.force_login(analyst)
    url = reverse("reporting:cost-export", args=[app.app_id])
    response = client.get(url, {"date_from": "2026-03-01", "date_to": "2026-03-07"})
    assert response.status_code == 200
    assert response.streaming
    assert (
        'filename="web.trailhead_cost_2026-03-01_2026-03-07.csv"' in response["Content-Disposition"]
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 4
    assert {row["Country"] for row in rows} == {"GB", "IE", "US"}
    assert rows[0]["Date"] == "2026-03-02"
    assert any(row["Campaign"] == '\'=HYPERLINK("x")' for row in rows)
    assert {row["Cost"] for row in rows} >= {"12.500000", "7.250000", "30.000000"}


def test_the_export_defuses_formulas_behind_a_tab_or_a_carriage_return(client, app, analyst):
    make_cost(app, campaign="\t=1+2", ad="\r=HYPERLINK(1)", campaign_id="@SUM(1)")
    client.force_login(analyst)
    url = reverse("reporting:cost-export", args=[app.app_id])
    response = client.get(url, {"date_from": "2026-03-01", "date_to": "2026-03-07"})
    [row] = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert (row["Campaign"], row["Ad"], row["Campaign ID"]) == (
        "'\t=1+2",
        "'\r=HYPERLINK(1)",
        "'@SUM(1)",
    )


def test_the_export_refuses_bad_filters(client, app, analyst):
    client.force_login(analyst)
    url = reverse("reporting:cost-export", args=[app.app_id])
    response = client.get(url, {"date_from": "nope", "date_to": "2026-03-07"})
    assert response.status_code == 400
    assert b"date_from" in response.content


def test_the_default_range_is_the_last_seven_days(client, app, analyst):
    make_cost(app, stat_date=timezone.now().date())
    client.force_login(analyst)
    response = client.get(reverse("reporting:cost", args=[app.app_id]))
    assert response.status_code == 200
    assert response.context["row_count"] == 1


def test_partner_users_with_access_see_only_their_source(app, costs):
    from integrations.policy import access_for
    from reporting.cost_report import filtered_costs

    user = factories.make_user("frank-partner")
    factories.make_partner_user(user, "tiktokglobal_int")
    factories.grant(app, "tiktokglobal_int", can_view_revenue=True)
    access = access_for(user, app)
    rows = filtered_costs(access, {"date_from": date(2026, 3, 1), "date_to": date(2026, 3, 7)})
    assert {row.media_source for row in rows} == {"tiktokglobal_int"}
