"""The Pull API in the OpenAPI schema (a drf-spectacular postprocessing hook). The Pull API is a
plain Django view answering CSV, in AppsFlyer's shape, so it is described here by hand."""

from __future__ import annotations

from reporting.raw_data import PULL_API_REPORTS

TEXT_ANSWER = {"text/plain": {"schema": {"type": "string"}}}


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
            "schema": {"type": "string", "enum": list(PULL_API_REPORTS)},
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
            "responses": {
                "200": {
                    "description": "The report.",
                    "content": {"text/csv": {"schema": {"type": "string"}}},
                },
                "400": {"description": "A parameter is wrong; says which.", "content": TEXT_ANSWER},
                "401": {"description": "No or unknown token.", "content": TEXT_ANSWER},
                "403": {
                    "description": "The token's user may not read this.",
                    "content": TEXT_ANSWER,
                },
                "404": {"description": "Unknown app or report.", "content": TEXT_ANSWER},
                "405": {"description": "Only GET.", "content": TEXT_ANSWER},
            },
        }
    }
    return result
