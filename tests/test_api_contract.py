"""The API keeps the promises of its OpenAPI schema under generated input: schemathesis sends
requests built from `/api/schema/` (valid ones and deliberately broken ones) with a real app's
keys and checks every answer: never a server error; status, content type and body as
documented; and a request the schema forbids is refused. (A request the schema allows may still be
refused: rules such as "event_time within a day of now" are prose in the schema, and that 400
names the field, as documented.) `bench/fuzz.py` runs the same against a live server for longer."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from integrations.models import App
from integrations.services.apps import create_app
from reporting.api_tokens import create_api_token
from tests import factories

# 500 cases per mode keeps CI to a minute or two a database; bench/fuzz.py runs thousands.
EXAMPLES = 500
CHECKS_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
ORIGIN = "https://shop.example.com"
LINKS = ("/l/", "/i/")


@pytest.fixture
def api_schema(db: None) -> Iterator[Any]:
    """The schema, loaded from and calling our WSGI app in-process. Like Django's test client,
    keep the request signals from closing the test's connection (it holds the test's
    transaction)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield schemathesis.openapi.from_wsgi("/api/schema/?format=json", WSGIHandler())
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@dataclass
class Keys:
    app: App
    server_key: str
    pull_token: str

    def authorization_for(self, path: str) -> str:
        pull = path.startswith(("/api/raw-data/", "/api/agg-data/"))
        token = self.pull_token if pull else self.server_key
        return f"Bearer {token}"


@pytest.fixture
def keys(db: None) -> Iterator[Keys]:
    cache.clear()  # throttle counters
    analyst = factories.make_user("fuzz-analyst")
    app, server_key = create_app(
        acting_user=analyst,
        app_id="web.fuzzed",
        name="Fuzzed shop",
        platform="web",
        website_url=f"{ORIGIN}/",
        domains=[ORIGIN],
    )
    _, pull_token = create_api_token(acting_user=analyst, name="fuzz")
    yield Keys(app, server_key, pull_token)
    cache.clear()


def _operations(api_schema: Any) -> list[Any]:
    return [result.ok() for result in api_schema.get_all_operations()]


def test_the_schema_lists_only_json_request_bodies(api_schema):
    for operation in _operations(api_schema):
        body = operation.definition.raw.get("requestBody")
        if body:
            assert set(body["content"]) == {"application/json"}, operation.label


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_documented(api_schema, keys, mode, settings):
    """Real keys on most cases, so generated bodies reach the services, not just the 401."""
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"events_api": None, "events_sdk": None},
    }
    app = keys.app
    strategies = [
        operation.as_strategy(generation_mode=mode)
        for operation in _operations(api_schema)
        if operation.method.upper() != "OPTIONS"
    ]

    @CHECKS_SETTINGS
    @given(case=st.one_of(strategies), use_real_ids=st.booleans())
    def run(case: Any, use_real_ids: bool) -> None:
        headers = None
        params = case.path_parameters or {}
        if use_real_ids:
            if "app_id" in params:
                params["app_id"] = app.app_id
            if "public_key" in params:
                params["public_key"] = app.public_key
            # Passed to the call, not generated: schemathesis then also probes the same request
            # without and with a wrong key, and expects a 401.
            headers = {
                "Authorization": keys.authorization_for(case.operation.path),
                "Origin": ORIGIN,
            }
        excluded = [positive_data_acceptance]
        if case.operation.path.endswith("/batch") or case.operation.path.startswith(LINKS):
            # A batch with a bad item is still 202: the bad item fails alone (its result says
            # why) and the rest are stored, so a retrying sender does not loop forever. A link
            # with a bad parameter still records the click and redirects, without that value.
            excluded.append(negative_data_rejection)
        case.call_and_validate(headers=headers, excluded_checks=excluded)

    run()


def test_the_schema_covers_links_the_sdk_installs_and_the_pull_api(api_schema):
    paths = {operation.path for operation in _operations(api_schema)}
    assert {
        "/l/{public_key}/{media_source}",
        "/i/{public_key}/{media_source}",
        "/api/v1/sdk/{public_key}/visit",
        "/api/v1/apps/{app_id}/installs",
        "/api/raw-data/export/app/{app_id}/{report}/v5",
        "/api/agg-data/export/app/{app_id}/{report}/v5",
    } <= paths
