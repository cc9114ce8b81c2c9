"""Generated inputs for fuzzing our pages, links and the Pull API, shared by
tests/test_page_fuzzing.py and bench/fuzz.py."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import strategies as st

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
class RealIds:
    """Ids that exist, so generated requests also get past the lookups."""

    app_id: str
    public_key: str
    integration_id: int


def get_routes() -> list[str]:
    """Every route of ours, as Django's path syntax, e.g. 'apps/<str:app_id>/reports/cost/'."""

    def walk(patterns: list, prefix: str) -> Iterator[str]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern)

    routes = set(walk(get_resolver().url_patterns, ""))
    return sorted(r for r in routes if not r.startswith(SKIPPED_PREFIXES) and "^" not in r)


def fill_route(route: str, ids: RealIds, segment: str, use_real_ids: bool) -> str:
    """A URL for the route: real ids, or the generated segment in every parameter."""

    def value(match: re.Match) -> str:
        converter, name = match.group(1) or "str", match.group(2)
        if converter == "int":
            return str(ids.integration_id) if use_real_ids else "1"
        if use_real_ids and name == "app_id":
            return ids.app_id
        if use_real_ids and name == "public_key":
            return ids.public_key
        if use_real_ids and name == "media_source":
            return "tiktokweb_int"
        return quote(segment, safe="") or "x"

    return "/" + CONVERTER.sub(value, route)


ROUTES = get_routes()
