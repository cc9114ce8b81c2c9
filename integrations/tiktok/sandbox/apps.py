from django.apps import AppConfig


class TikTokSandboxConfig(AppConfig):
    name = "integrations.tiktok.sandbox"
    label = "tiktok_sandbox"
    verbose_name = "TikTok sandbox"
