from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reporting"

    def ready(self) -> None:
        from django.conf import settings

        from integrations import setup_tabs
        from integrations.schedules import register
        from reporting.ad_revenue import ad_revenue_by_day

        # Daily cost: every live TikTok connection, re-reading the restatement window.
        register(
            "Pull cost", "reporting.cost_tasks.pull_all_cost", settings.COST_PULL_EVERY_MINUTES
        )
        register("Delete old exports", "reporting.tasks.delete_old_exports", minutes=60)
        register("Sweep export jobs", "reporting.tasks.sweep_export_jobs", minutes=5)
        # The Ad revenue tab (integrations) shows what the events API received (reporting).
        setup_tabs.AD_REVENUE_ARRIVALS.append(ad_revenue_by_day)
