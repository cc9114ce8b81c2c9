import json
import time
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandParser

from attribution_site.gc_freeze import freeze_loaded_objects
from events.services.delivery import deliver_due_postbacks


class Command(BaseCommand):
    # Delivery needs no system checks; skipping them saves a third of a second per run.
    requires_system_checks: list[str] = []
    help = (
        "Deliver due postbacks now, in this process (the task cluster does this continuously). "
        "Safe beside running workers: claims never overlap."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=None, help="Stop after this many rows.")

    def handle(self, *args: object, limit: int | None, **options: object) -> None:
        freeze_loaded_objects()
        started = time.process_time()
        report = deliver_due_postbacks(limit=limit)
        # This process's CPU time in the delivery itself, start-up left out (bench/forward.py).
        cpu_seconds = round(time.process_time() - started, 3)
        self.stdout.write(json.dumps(asdict(report) | {"cpu_seconds": cpu_seconds}))
