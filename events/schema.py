"""How the OpenAPI schema describes our API-key authentication (imported by EventsConfig)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

from events.services.event_input import TEXT_LIMITS
from events.services.installs import INSTALL_TEXT_LIMITS


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
