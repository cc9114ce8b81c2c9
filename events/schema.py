"""How the OpenAPI schema describes our API-key authentication (imported by EventsConfig)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from events.services.event_input import TEXT_LIMITS
from events.services.installs import INSTALL_TEXT_LIMITS
from events.services.touchpoints import (
    ADVERTISING_ID_PARAMETERS,
    CLICK_ID_PARAMETERS,
    LINK_PARAMETERS,
)


class AppApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "events.api_access.AppApiKeyAuthentication"
    name = "serverApiKey"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The app's server API key (shown once on the app page; rotatable).",
        }


def drop_trailing_slash_aliases(endpoints: list[tuple], **kwargs: object) -> list[tuple]:
    """Each API path is served with and without a trailing slash; document it once."""
    return [endpoint for endpoint in endpoints if not endpoint[0].endswith("/")]


# Request bodies whose optional fields may also be sent as null (read as absent).
NULL_MEANS_ABSENT = ("Event", "Install", "Visit")
# Text fields that also take a number, read as its digits (senders' numeric customer ids).
NUMBERS_AS_TEXT = {
    "Event": tuple(TEXT_LIMITS),
    "Install": tuple(INSTALL_TEXT_LIMITS),
    "Visit": ("url", "referrer"),
}


def document_null_as_absent(result: dict, **kwargs: object) -> dict:
    """Senders often write `"idfa": null` for a value they lack; the API reads a null optional
    field as absent, so the schema says those fields are nullable."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in NULL_MEANS_ABSENT:
        component = schemas.get(name, {})
        required = set(component.get("required", []))
        for field_name, field_schema in component.get("properties", {}).items():
            if field_name not in required:
                field_schema["nullable"] = True
        for field_name in NUMBERS_AS_TEXT[name]:
            field_schema = component.get("properties", {}).get(field_name)
            if field_schema is not None and field_schema.get("type") == "string":
                text_or_number = [
                    {k: v for k, v in field_schema.items() if k not in ("nullable", "description")},
                    {"type": "number"},
                ]
                for key in ("type", "maxLength", "minLength", "pattern", "format"):
                    field_schema.pop(key, None)
                field_schema["anyOf"] = text_or_number
    return result


def _query(name: str, description: str = "", **schema: object) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "string", **schema},
    }


def _path(name: str, description: str) -> dict:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


def _link_parameters() -> list[dict]:
    named = {parameter: f"Stored as {field}." for parameter, field in LINK_PARAMETERS.items()}
    named |= dict.fromkeys(CLICK_ID_PARAMETERS, "TikTok's click id.")
    named |= dict.fromkeys(ADVERTISING_ID_PARAMETERS, "Advertising id.")
    named |= {
        "pid": "Media source, when the path does not name one.",
        "af_ip": "The viewer's IP, when a server forwards the click.",
        "af_ua": "The viewer's user agent, when a server forwards the click.",
        "is_retargeting": "true for a re-engagement campaign.",
    }
    return [_query(name, description) for name, description in named.items()]


BAD_PATH = {
    "description": "A control character in the path (plain text).",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}
NOT_FOUND_PAGE = {
    "description": "Unknown public key or media source (an HTML page).",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def document_links(result: dict, **kwargs: object) -> dict:
    """The attribution links are plain Django views; describe them beside the API."""
    key = _path("public_key", "The app's public key (on the app page).")
    source = _path("media_source", "The partner's media source, e.g. tiktokweb_int.")
    click = {
        "get": {
            "operationId": "click",
            "summary": "Attribution link: record a click and redirect",
            "tags": ["links"],
            "security": [],
            "parameters": [key, source, *_link_parameters()],
            "responses": {
                "302": {
                    "description": "To the website, or the app's store page by device.",
                    "headers": {"Location": {"schema": {"type": "string"}}},
                },
                "400": BAD_PATH,
                "404": NOT_FOUND_PAGE,
            },
        }
    }
    impression = {
        "get": {
            "operationId": "impression",
            "summary": "Impression link: record an ad view (view-through)",
            "tags": ["links"],
            "security": [],
            "parameters": [
                key,
                source,
                *_link_parameters(),
                _query("format", "gif answers a 1×1 GIF instead of 204."),
            ],
            "responses": {
                "204": {"description": "Recorded."},
                "200": {
                    "description": "Recorded (format=gif).",
                    "content": {"image/gif": {"schema": {"type": "string", "format": "binary"}}},
                },
                "400": BAD_PATH,
                "404": NOT_FOUND_PAGE,
            },
        }
    }
    result.setdefault("paths", {})["/l/{public_key}/{media_source}"] = click
    result["paths"]["/i/{public_key}/{media_source}"] = impression
    return result
