"""Generated input on every page and link never gets a server error: random path segments and
query strings, for an admin and a partner user, on the attribution links, every GET page of ours
and the Pull API. (The test client re-raises whatever a view lets escape, so a crash fails the
test with its traceback.) The API's bodies are fuzzed from its schema in test_api_contract.py;
bench/fuzz.py runs both for longer against a live server."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.models import App, Role
from reporting.api_tokens import create_api_token
from tests import factories
from tests.fuzz_inputs import ROUTES, RealIds, fill_route, queries, tricky_text

EXAMPLES = 1000
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)


@dataclass
class Cast:
    app: App
    admin: Client
    partner: Client
    anonymous: Client
    pull_token: str
    integration_id: int


@pytest.fixture
def cast(db: None) -> Iterator[Cast]:
    cache.clear()
    app = factories.make_app(app_id="web.fuzzed", name="Fuzzed shop")
    admin = factories.make_user("fuzz-admin")
    factories.make_membership(admin, app, Role.ADMIN)
    partner = factories.make_user("fuzz-partner")
    factories.make_partner_user(partner, "tiktokweb_int")
    integration = factories.make_integration(app)
    _, pull_token = create_api_token(acting_user=admin, name="fuzz")
    clients = []
    for user in (admin, partner):
        client = Client()
        client.force_login(user)
        clients.append(client)
    yield Cast(app, clients[0], clients[1], Client(), pull_token, integration.pk)
    cache.clear()


def test_the_walk_finds_our_pages_links_and_the_pull_api():
    assert "apps/<str:app_id>/reports/raw-data/" in ROUTES
    assert "l/<str:public_key>/<str:media_source>" in ROUTES
    assert "api/raw-data/export/app/<str:app_id>/<str:report>/v5" in ROUTES


@FUZZ_SETTINGS
@given(
    route=st.sampled_from(ROUTES),
    segment=tricky_text,
    query=queries,
    use_real_ids=st.booleans(),
    who=st.sampled_from(["admin", "partner", "anonymous"]),
)
def test_generated_requests_to_pages_and_links_never_crash(
    cast, route, segment, query, use_real_ids, who
):
    ids = RealIds(cast.app.app_id, cast.app.public_key, cast.integration_id)
    url = fill_route(route, ids, segment, use_real_ids)
    if query:
        url += "?" + urlencode(query)
    client: Client = getattr(cast, who)
    headers = {}
    if route.startswith("api/raw-data/"):
        headers["HTTP_AUTHORIZATION"] = f"Bearer {cast.pull_token}"
    response = client.get(url, **headers)
    assert response.status_code < 500, (url, response.status_code)
