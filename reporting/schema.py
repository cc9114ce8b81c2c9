"""The Pull API in the OpenAPI schema (a drf-spectacular postprocessing hook). The Pull API is a
plain Django view answering CSV, in AppsFlyer's shape, so it is described here by hand."""

from __future__ import annotations

import copy

from reporting.aggregate import AGGREGATE_REPORTS
from reporting.raw_data import PULL_API_REPORTS, UNINSTALL_REPORTS

TEXT_ANSWER = {"text/plain": {"schema": {"type": "string"}}}
# What both Pull APIs answer: the CSV, or a plain-text reason.
CSV_RESPONSES = {
    "200": {"description": "The report.", "content": {"text/csv": {"schema": {"type": "string"}}}},
    "400": {"description": "A parameter is wrong; says which.", "content": TEXT_ANSWER},
    "401": {"description": "No or unknown token.", "content": TEXT_ANSWER},
    "403": {"description": "The token's user may not read this.", "content": TEXT_ANSWER},
    "404": {"description": "Unknown app or report.", "content": TEXT_ANSWER},
    "405": {"description": "Only GET.", "content": TEXT_ANSWER},
}


def _query(name: str, description: str, **schema: object) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": name in ("from", "to"),
        "description": description,
        "schema": {"type": "string", **schema},
    }


def document_pull_api(result: dict, **kwargs: object) -> dict:
    path_parameters = [
        {"name": "app_id", "in": "path", "required": True, "schema": {"type": "string"}},
        {
            "name": "report",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "enum": [*PULL_API_REPORTS, *UNINSTALL_REPORTS]},
        },
    ]
    query = [
        _query("from", "First day (yyyy-mm-dd) or moment (yyyy-mm-dd hh:mm:ss), inclusive."),
        _query("to", "Last day or moment, inclusive."),
        _query("timezone", "IANA name; defaults to the app's timezone."),
        _query("media_source", "Comma-separated media sources, e.g. tiktokweb_int."),
        _query("event_name", "Comma-separated event names (in-app events reports)."),
        _query("additional_fields", "Comma-separated extra columns, in AppsFlyer's names."),
        _query("currency", "preferred: revenue in the app's currency."),
        _query("reattr", "true: re-engagement rows."),
        _query("maximum_rows", "At most this many rows (default 200,000)."),
        _query("campaign", "One campaign name."),
    ]
    components = result.setdefault("components", {}).setdefault("securitySchemes", {})
    components["pullApiToken"] = {
        "type": "http",
        "scheme": "bearer",
        "description": "A Pull API token (Account → API tokens).",
    }
    result.setdefault("paths", {})["/api/raw-data/export/app/{app_id}/{report}/v5"] = {
        "get": {
            "operationId": "pull_raw_data",
            "summary": "Pull API: raw-data report as CSV (AppsFlyer's columns)",
            "tags": ["Pull API"],
            "security": [{"pullApiToken": []}],
            "parameters": [*path_parameters, *query],
            "responses": copy.deepcopy(CSV_RESPONSES),  # YAML would alias a shared dict
        }
    }
    result["paths"]["/api/agg-data/export/app/{app_id}/{report}/v5"] = _aggregate_path()
    return result


def _aggregate_path() -> dict:
    """The aggregate Pull API; columns and their sources: docs/pull-api-aggregate.md."""
    report = {"type": "string", "enum": list(AGGREGATE_REPORTS)}
    query = [
        _query("from", "First day (yyyy-mm-dd), inclusive.", pattern=r"^\d{4}-\d{2}-\d{2}$"),
        _query("to", "Last day (yyyy-mm-dd), inclusive.", pattern=r"^\d{4}-\d{2}-\d{2}$"),
        _query("timezone", "IANA name; defaults to the app's timezone."),
        _query("media_source", "Comma-separated media sources, e.g. tiktokweb_int."),
        _query("currency", "preferred (the default): the app's currency; USD: US dollars."),
        _query("reattr", "true: re-engagements (retargeting)."),
        _query("attribution_touch_type", "impression: view-through installs and events."),
        _query("maximum_rows", "At most this many rows (default 1,000,000)."),
    ]
    return {
        "get": {
            "operationId": "pull_aggregate_data",
            "summary": "Pull API: aggregate report as CSV (AppsFlyer's columns)",
            "description": (
                "Per media source and campaign (and day, and country): our installs and revenue "
                "with partners' cost, as on the Overview. Sessions and loyal users are N/A."
            ),
            "tags": ["Pull API"],
            "security": [{"pullApiToken": []}],
            "parameters": [
                {"name": "app_id", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "report", "in": "path", "required": True, "schema": report},
                *query,
            ],
            "responses": copy.deepcopy(CSV_RESPONSES),  # YAML would alias a shared dict
        }
    }
