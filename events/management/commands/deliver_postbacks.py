import json
from dataclasses import asdict

from django.core.management.base import BaseCommand, CommandParser

from events.services.delivery import deliver_due_postbacks


class Command(BaseCommand):
    help = (
        "Deliver due postbacks now, in this process (the task cluster does this continuously). "
        "Safe beside running workers: claims never overlap."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=None, help="Stop after this many rows.")

    def handle(self, *args: object, limit: int | None, **options: object) -> None:
        report = deliver_due_postbacks(limit=limit)
        self.stdout.write(json.dumps(asdict(report)))
