from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo: `seed_demo` (users, apps, integrations, 30 days of history, the sandbox's
    credentials) and the pretend shop page that uses the web SDK. Production apps never import
    it, nor the TikTok sandbox it registers credentials with."""

    name = "demo"
    verbose_name = "Demo"
