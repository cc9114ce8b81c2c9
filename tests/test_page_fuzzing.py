"""Generated input on every page and link never gets a server error: random path segments and
query strings, for an admin and a partner user, on the attribution links, every GET page of ours
and the Pull API. (The test client re-raises whatever a view lets escape, so a crash fails the
test with its traceback.) The API's bodies are fuzzed from its schema in test_api_contract.py;
bench/fuzz.py runs both for longer against a live server."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote, urlencode

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integrations.models import App, Role
from reporting.api_tokens import create_api_token
from tests import factories

EXAMPLES = 300
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
# Not ours to fuzz (Django's admin and login, social-auth's OAuth), or a POST-only action.
SKIPPED_PREFIXES = ("admin/", "oauth/", "accounts/", "tiktok-sandbox/")
CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")

# Text that has broken parsers before: NUL and other control characters, non-ASCII digits,
# year-9999 dates, overlong values, surrogate-free unicode.
tricky_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "\x00",
            "a\x00b",
            "\n",
            "a" * 64 + "\n",
            "²",
            "①",
            "٣",
            "-1",
            "0",
            "99999999999999999999999",
            "9999-12-31",
            "0001-01-01",
            "2026-02-30",
            "2026-03-01 00:00:00",
            "2026-03-01T00:00:00+01:00",
            "x" * 5000,
            "tiktokweb_int",
            "organic",
            "%",
            "http://[::1",
            "=1+1",
        ]
    ),
)
query_names = st.one_of(
    st.sampled_from(
        [
            "from",
            "to",
            "since",
            "until",
            "maximum_rows",
            "media_source",
            "event_name",
            "timezone",
            "currency",
            "reattr",
            "additional_fields",
            "campaign",
            "page",
            "status",
            "kind",
            "report",
            "advertisers",
            "postback",
            "revoke",
            "format",
            "pid",
            "c",
            "af_c_id",
            "ttclid",
            "idfa",
            "gaid",
            "af_ip",
            "af_ua",
            "mapping-TOTAL_FORMS",
            "cost_integration",
        ]
    ),
    st.text(min_size=1, max_size=10),
)
queries = st.dictionaries(query_names, tricky_text, max_size=6)


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


def get_routes() -> list[str]:
    """Every route of ours, as Django's path syntax, e.g. 'apps/<str:app_id>/reports/cost/'."""

    def walk(patterns: list, prefix: str) -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    routes = {route for route in walk(get_resolver().url_patterns, "")}
    return sorted(r for r in routes if not r.startswith(SKIPPED_PREFIXES) and "^" not in r)


def fill(route: str, cast: Cast, segment: str, use_real_ids: bool) -> str:
    def value(match: re.Match) -> str:
        converter, name = match.group(1) or "str", match.group(2)
        if converter == "int":
            return str(cast.integration_id) if use_real_ids else "1"
        if use_real_ids and name == "app_id":
            return cast.app.app_id
        if use_real_ids and name == "public_key":
            return cast.app.public_key
        if use_real_ids and name == "media_source":
            return "tiktokweb_int"
        return quote(segment, safe="") or "x"

    return "/" + CONVERTER.sub(value, route)


ROUTES = get_routes()


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
    url = fill(route, cast, segment, use_real_ids)
    if query:
        url += "?" + urlencode(query)
    client: Client = getattr(cast, who)
    headers = {}
    if route.startswith("api/raw-data/"):
        headers["HTTP_AUTHORIZATION"] = f"Bearer {cast.pull_token}"
    response = client.get(url, **headers)
    assert response.status_code < 500, (url, response.status_code)
