"""Numbers and dates typed into the report pages, the exports and the Pull API: a bad one gets
a 400 with a reason naming the parameter, never a 500 (issue 18 §3). `str.isdigit()` accepts
'²', which `int()` refuses, and a date in year 9999 overflows when a day is added."""

from __future__ import annotations

import pytest
from django.urls import reverse

from reporting.api_tokens import create_api_token
from reporting.models import ApiToken, ExportJob

WINDOW = {"from": "2026-03-01", "to": "2026-03-07"}
BAD_PARAMETERS = [
    ({"to": "9999-12-31"}, "'to'"),
    ({"from": "0001-01-01"}, "'from'"),
    ({"to": "9999-12-31 23:59:59"}, "'to'"),
    ({"to": "２０２６-03-07"}, "'to'"),
    ({"maximum_rows": "²"}, "'maximum_rows'"),
    ({"maximum_rows": "①"}, "'maximum_rows'"),
    ({"maximum_rows": "99999999999999999999999"}, "'maximum_rows'"),
    ({"campaign": "Spring\x00Sale"}, "'campaign'"),
    ({"media_source": "tiktokweb_int\x00"}, "'media_source'"),
]


@pytest.mark.parametrize(("params", "named"), BAD_PARAMETERS)
def test_the_pull_api_answers_a_bad_parameter_with_a_plain_400(client, app, analyst, params, named):
    token = create_api_token(acting_user=analyst, name="Airbyte")[1]
    response = client.get(
        reverse("reporting:pull-api", args=[app.app_id, "installs_report"]),
        {**WINDOW, "media_source": "tiktokweb_int", **params},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert named in response.content.decode()


@pytest.mark.parametrize(("params", "named"), BAD_PARAMETERS)
def test_the_raw_data_page_answers_a_bad_parameter_with_a_400(client, app, analyst, params, named):
    client.force_login(analyst)
    response = client.get(
        reverse("reporting:raw-data", args=[app.app_id]),
        {"report": "installs", **WINDOW, **params},
    )
    assert response.status_code == 400
    assert named in response.context["error"]


@pytest.mark.parametrize(("params", "named"), BAD_PARAMETERS)
def test_the_raw_data_export_answers_a_bad_parameter_with_a_400(
    client, app, analyst, params, named
):
    client.force_login(analyst)
    response = client.get(
        reverse("reporting:raw-data-export", args=[app.app_id]),
        {"report": "installs", **WINDOW, **params},
    )
    assert response.status_code == 400
    assert named in response.content.decode()


@pytest.mark.parametrize(("params", "named"), BAD_PARAMETERS)
def test_an_export_job_with_a_bad_parameter_is_not_started(client, app, analyst, params, named):
    client.force_login(analyst)
    response = client.post(
        reverse("reporting:export-job-start", args=[app.app_id]),
        {"report": "installs", **WINDOW, **params},
        follow=True,
    )
    assert response.redirect_chain[0][1] == 302
    assert any(named in str(message) for message in response.context["messages"])
    assert not ExportJob.objects.exists()


@pytest.mark.parametrize("value", ["²", "①", "99999999999999999999999", "-1", ""])
def test_revoking_a_token_by_a_bad_id_revokes_nothing(client, analyst, value):
    token, _ = create_api_token(acting_user=analyst, name="Airbyte")
    client.force_login(analyst)
    response = client.post(reverse("reporting:api-tokens"), {"revoke": value})
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None
