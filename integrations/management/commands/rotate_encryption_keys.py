from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import connection, transaction

from integrations.secrets import EncryptedSecretField, rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS. Put the new "
        "key first, keep the old ones after it, run this, then drop the old keys."
    )

    def handle(self, *args: object, **options: object) -> None:
        quote = connection.ops.quote_name
        total = 0
        for model in apps.get_models():
            for field in model._meta.concrete_fields:
                if not isinstance(field, EncryptedSecretField):
                    continue
                table, column, pk = model._meta.db_table, field.column, model._meta.pk.column
                with transaction.atomic(), connection.cursor() as cursor:
                    # Raw SQL: the ORM would hand us decrypted values, and we need ciphertext.
                    cursor.execute(
                        f"SELECT {quote(pk)}, {quote(column)} FROM {quote(table)} "  # noqa: S608
                        f"WHERE {quote(column)} <> ''"
                    )
                    rows = cursor.fetchall()
                    for row_pk, ciphertext in rows:
                        cursor.execute(
                            f"UPDATE {quote(table)} SET {quote(column)} = %s "  # noqa: S608
                            f"WHERE {quote(pk)} = %s",
                            [rotate(ciphertext), row_pk],
                        )
                total += len(rows)
                self.stdout.write(f"{model._meta.label}.{field.name}: {len(rows)} re-encrypted")
        self.stdout.write(self.style.SUCCESS(f"{total} secret(s) now use the first key"))
