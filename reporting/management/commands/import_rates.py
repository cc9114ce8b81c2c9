from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reporting.ecb_rates import RatesFileError, import_rates, parse_ecb_xml


class Command(BaseCommand):
    help = (
        "Import daily exchange rates from a file in the European Central Bank's XML format "
        "(eurofxref-daily.xml or eurofxref-hist.xml), for installs that cannot fetch them. "
        "Rates an admin set are kept."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path, help="The ECB XML file.")

    def handle(self, *args: object, file: Path, **options: object) -> None:
        try:
            content = file.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}") from None
        try:
            result = import_rates(parse_ecb_xml(content))
        except RatesFileError as error:
            raise CommandError(f"{file} was not imported, nothing changed: {error}") from None
        self.stdout.write(f"Imported {file}: {result}.")
