from django.apps import AppConfig


class TikTokSandboxConfig(AppConfig):
    name = "integrations.tiktok.sandbox"
    label = "tiktok_sandbox"
    verbose_name = "TikTok sandbox"

    def ready(self) -> None:
        from django.conf import settings

        from integrations import hooks
        from integrations.tiktok.sandbox.state import create_credentials

        # The Integration tab's "Create a sandbox pixel and token" (sandbox mode only).
        if settings.TIKTOK_SANDBOX:
            hooks.register_sandbox_credentials(create_credentials)
