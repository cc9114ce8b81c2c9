from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "events"
    verbose_name = "Touchpoints, installs and events"

    def ready(self) -> None:
        from django_q.signals import post_spawn

        from attribution_site.gc_freeze import freeze_loaded_objects
        from events import schema  # noqa: F401 - registers the API-key scheme with the schema
        from integrations.schedules import register

        # The sweep: nothing waits on a lost enqueue for more than a minute.
        register("Deliver postbacks", "events.tasks.deliver_postbacks", minutes=1)
        register(
            "Event partitions and retention", "events.tasks.maintain_event_tables", minutes=24 * 60
        )
        post_spawn.connect(freeze_loaded_objects, dispatch_uid="signalboard-gc-freeze")
