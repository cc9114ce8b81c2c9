"""Load the catalog again: default mapping rows now say what they include."""

from django.db import migrations


def load(apps, schema_editor):
    from integrations.catalog import load_catalog

    load_catalog(
        apps.get_model("integrations", "Partner"),
        apps.get_model("integrations", "PartnerEvent"),
        apps.get_model("integrations", "PartnerDefaultMapping"),
    )


class Migration(migrations.Migration):
    dependencies = [("integrations", "0003_setup_pages")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
