"""Recreate the rollups' trigger functions with plans that hold for statements of any size:

- the Retention rollup's insert helpers look each row's install up by primary key (`_install_of`
  in 0006), where a plain join could start from the installs and scan the statement's rows
  once per install (45 s for one 30,000-event INSERT, 8 minutes for 100,000);
- both rollups decide whether an UPDATE changed anything they read with a count rather than
  EXISTS (0003's `_relevant_change`), which took minutes for a 20,000-row UPDATE of a column
  neither reads.
"""

import importlib

from django.db import migrations

attribution_day = importlib.import_module("reporting.migrations.0003_attribution_day")
cohort_day = importlib.import_module("reporting.migrations.0006_cohort_day")


def _recreate_functions(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    # CREATE OR REPLACE only: the triggers (copied onto the partitioned tables by events 0010)
    # keep pointing at the same functions.
    schema_editor.execute(
        attribution_day._function("installs")
        + attribution_day._function("revenue")
        + cohort_day._install_function()
        + cohort_day._sessions_function()
        + cohort_day._events_function()
    )


class Migration(migrations.Migration):
    dependencies = [
        ("reporting", "0006_cohort_day"),
        ("events", "0010_monthly_partitions"),
    ]

    # Backwards: the functions compute the same deltas either way, so there is nothing to undo.
    operations = [migrations.RunPython(_recreate_functions, migrations.RunPython.noop)]
