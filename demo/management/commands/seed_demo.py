from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from demo import seed as demo
from integrations.models import App


class Command(BaseCommand):
    help = "Create the demo users, apps, integrations and 30 days of traffic and cost (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=demo.DEMO_DAYS)
        parser.add_argument("--quiet", action="store_true", help="Do not print the logins.")

    def handle(self, *args: object, days: int, quiet: bool, **options: object) -> None:
        added = demo.seed(days=days)
        for app_id, count in added.items():
            self.stdout.write(f"{app_id}: {count} new day(s) of demo data")
        if quiet:
            return
        self.stdout.write("")
        self.stdout.write(
            self.style.SUCCESS(f"Demo logins (password for all: {demo.DEMO_PASSWORD})")
        )
        for user in demo.DEMO_USERS:
            self.stdout.write(f"  {user.username:<15} {user.role}")
        self.stdout.write("")
        self.stdout.write("Demo server API keys (for the events API):")
        for app in App.objects.filter(app_id__in=added):
            self.stdout.write(f"  {app.app_id:<26} {demo.demo_api_key(app)}")
        self.stdout.write(f"Site: {settings.PUBLIC_BASE_URL}/")
