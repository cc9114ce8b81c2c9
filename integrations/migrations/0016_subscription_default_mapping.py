"""Reload the partner catalog: its default mappings gained the subscription events."""

from django.db import migrations


def load(apps, schema_editor):
    from integrations.catalog import load_catalog

    load_catalog(
        apps.get_model("integrations", "Partner"),
        apps.get_model("integrations", "PartnerEvent"),
        apps.get_model("integrations", "PartnerDefaultMapping"),
    )


class Migration(migrations.Migration):
    dependencies = [("integrations", "0015_subscriptions")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
