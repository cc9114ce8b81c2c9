from django.apps import AppConfig


class ReportingConfig(AppConfig):
    name = "reporting"
    verbose_name = "Reporting"

    def ready(self) -> None:
        from django.conf import settings

        from integrations import hooks
        from integrations.schedules import register
        from reporting import cost_tasks
        from reporting.ad_revenue import ad_revenue_by_day

        # Daily cost: every live TikTok connection, re-reading the restatement window.
        register(
            "Pull cost", "reporting.cost_tasks.pull_all_cost", settings.COST_PULL_EVERY_MINUTES
        )
        register("Delete old exports", "reporting.tasks.delete_old_exports", minutes=60)
        # The ECB publishes once a working day, around 16:00 CET (nothing when unset).
        register("Fetch exchange rates", "reporting.ecb_rates.fetch_rates", minutes=360)
        register("Check alerts", "reporting.alerts.check_all_apps", minutes=5)
        register("Sweep export jobs", "reporting.tasks.sweep_export_jobs", minutes=5)
        # integrations queues cost pulls and shows ad revenue arrivals; both are ours
        # (integrations/hooks.py lists what may be plugged in).
        hooks.register_cost_pull_tasks(run=cost_tasks.pull_cost, retry=cost_tasks.retry_pull)
        hooks.register_ad_revenue_arrivals(ad_revenue_by_day)
