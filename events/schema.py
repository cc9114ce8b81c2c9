"""How the OpenAPI schema describes our API-key authentication (imported by EventsConfig)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


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
