"""The OpenAPI schema at /api/schema/ and the docs page at /api/docs/."""

from __future__ import annotations

import pytest

from events.serializers import EventSerializer, InstallSerializer
from events.services.event_input import FIELDS
from events.services.installs import INSTALL_TEXT_LIMITS


@pytest.fixture
def schema(client, db) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_the_schema_describes_every_endpoint(schema):
    assert set(schema["paths"]) == {
        "/api/v1/apps/{app_id}/events",
        "/api/v1/apps/{app_id}/events/batch",
        "/api/v1/apps/{app_id}/installs",
        "/api/v1/sdk/{public_key}/visit",
        "/api/v1/sdk/{public_key}/events",
        "/l/{public_key}/{media_source}",
        "/i/{public_key}/{media_source}",
        "/api/raw-data/export/app/{app_id}/{report}/v5",
        "/api/agg-data/export/app/{app_id}/{report}/v5",
    }


def test_the_schema_says_how_to_authenticate(schema):
    assert schema["components"]["securitySchemes"]["serverApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The app's server API key (shown once on the app page; rotatable).",
    }
    single = schema["paths"]["/api/v1/apps/{app_id}/events"]["post"]
    assert {"serverApiKey": []} in single["security"]
    assert set(single["responses"]) == {"202", "400", "401", "403", "404", "413", "429"}


def test_the_documented_event_fields_are_the_accepted_ones():
    assert set(EventSerializer().fields) == set(FIELDS)


def test_the_documented_install_fields_are_the_accepted_ones():
    accepted = set(INSTALL_TEXT_LIMITS) | {"installed_at", "idfa", "idfv", "gaid", "ip"}
    assert set(InstallSerializer().fields) == accepted | {"country_code"}


def test_the_docs_page_renders_from_our_own_static_files(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    assert b"/api/schema/" in response.content
    assert b"drf_spectacular_sidecar/redoc" in response.content
    assert b"cdn." not in response.content
