import django.db.models.deletion
from django.db import migrations, models

# The retention rollup's upkeep, on PostgreSQL only (SQLite reads raw rows, as the overview
# does). Statement-level triggers on installs, session days and events turn each statement's
# rows (transition tables) into aggregated deltas of `reporting_cohortday`:
#   kind 's': installs of a cohort: install day in the app's timezone, media source, and one
#             grouping (`dimension`: the media source alone, or its campaign, ad set or country,
#             whose name is `value`), so a page reads only the rows of the grouping it shows;
#   kind 'd': users with a session on day n (1..30) after their install day;
#   kind 'w': users with a session in week n (1..12: days 7n-6..7n after their install day);
#   kind 'r': revenue per currency on day n (0..84).
# Additions are upserts in key order (two writers cannot deadlock); subtractions only UPDATE, so
# a row deleted with its app never comes back. The week count is of distinct users, so a session
# day's insert or delete adds or removes a user only when it is the first or last of its week.

COLUMNS = (
    "app_id, cohort_day, key_hash, media_source, dimension, value, currency, kind, n, users, "
    "revenue"
)
ZONE = "coalesce(nullif(a.timezone, ''), 'UTC')"
COHORT = f"(i.installed_at AT TIME ZONE {ZONE})::date"
GROUP = "1, 2, 3, 4, 5, 6, 7"
APP = "JOIN integrations_app a ON a.id = i.app_id"
# Each install row counts once per grouping.
DIMENSIONS = (
    "CROSS JOIN LATERAL (VALUES ('media_source', ''), ('campaign', i.campaign), "
    "('adset', i.adset), ('country_code', i.country_code)) AS dim(name, value)"
)


def _key(currency: str = "''") -> str:
    hashed = f"md5(concat_ws(chr(31), i.media_source, dim.name, dim.value, {currency}))"
    return f"i.app_id, {COHORT}, {hashed}, i.media_source, dim.name, dim.value"


def _inserted(table: str) -> str:
    """In the helpers below: the rows a statement inserted."""
    return f"(SELECT * FROM {table} WHERE id = ANY(ids))"


def _install_of(rows: str, installs: str = "events_install") -> str:
    """Join each row of `rows` to its install. Against the whole installs table, each row looks
    its install up by primary key (a LATERAL subquery the planner cannot flatten): a plain join
    let it start from installs it took for one row (tables not yet analyzed) and scan the
    statement's rows once per install, minutes for a 30,000-row statement."""
    if installs == "events_install":
        return (
            "CROSS JOIN LATERAL (SELECT * FROM events_install "
            f"WHERE events_install.id = {rows}.install_id OFFSET 0) i"
        )
    return f"JOIN {installs} i ON i.id = {rows}.install_id"


def _sizes(installs: str) -> str:
    return (
        f"SELECT {_key()}, '', 's', 0, count(*), 0 FROM {installs} i {APP} {DIMENSIONS} "
        f"WHERE NOT i.is_reengagement GROUP BY {GROUP}"
    )


def _offset(day: str) -> str:
    return f"({day} - {COHORT})"


def _days(sessions: str, installs: str) -> str:
    offset = _offset("s.day")
    return (
        f"SELECT {_key()}, '', 'd', {offset}, count(*), 0 FROM {sessions} s "
        f"{_install_of('s', installs)} {APP} {DIMENSIONS} "
        f"WHERE NOT i.is_reengagement AND {offset} BETWEEN 1 AND 30 "
        f"GROUP BY {GROUP}, 9"
    )


def _week(offset: str) -> str:
    return f"(({offset} - 1) / 7 + 1)"


def _weeks(sessions: str, installs: str) -> str:
    offset = _offset("s.day")
    return (
        f"SELECT {_key()}, '', 'w', {_week(offset)}, count(DISTINCT s.install_id), 0 "
        f"FROM {sessions} s {_install_of('s', installs)} {APP} {DIMENSIONS} "
        f"WHERE NOT i.is_reengagement AND {offset} BETWEEN 1 AND 84 GROUP BY {GROUP}, 9"
    )


def _revenue(events: str, installs: str) -> str:
    offset = _offset(f"(e.event_time AT TIME ZONE {ZONE})::date")
    return (
        f"SELECT {_key('e.currency')}, e.currency, 'r', {offset}, 0, sum(e.revenue) "
        f"FROM {events} e {_install_of('e', installs)} {APP} {DIMENSIONS} "
        f"WHERE NOT i.is_reengagement AND NOT e.is_reengagement AND e.revenue IS NOT NULL "
        f"AND {offset} BETWEEN 0 AND 84 GROUP BY {GROUP}, 9"
    )


def _add(deltas: str) -> str:
    return (
        f"INSERT INTO reporting_cohortday ({COLUMNS}) SELECT * FROM ({deltas}) d "
        "ORDER BY 1, 2, 3, 8, 9 "
        "ON CONFLICT (app_id, cohort_day, key_hash, kind, n) DO UPDATE SET "
        "users = reporting_cohortday.users + EXCLUDED.users, "
        "revenue = reporting_cohortday.revenue + EXCLUDED.revenue"
    )


def _subtract(deltas: str) -> str:
    return (
        "UPDATE reporting_cohortday t SET users = t.users - d.users, "
        f"revenue = t.revenue - d.revenue FROM ({deltas}) AS d({COLUMNS}) "
        "WHERE t.app_id = d.app_id AND t.cohort_day = d.cohort_day AND t.key_hash = d.key_hash "
        "AND t.kind = d.kind AND t.n = d.n"
    )


def _signed(deltas: str) -> str:
    """Apply deltas of either sign: additions as upserts, subtractions as updates only."""
    return (
        f"WITH d ({COLUMNS}) AS ({deltas}), "
        "lowered AS (UPDATE reporting_cohortday t SET users = t.users + d.users FROM d "
        "WHERE d.users < 0 AND t.app_id = d.app_id AND t.cohort_day = d.cohort_day "
        "AND t.key_hash = d.key_hash AND t.kind = d.kind AND t.n = d.n RETURNING 1) "
        + _add("SELECT * FROM d WHERE d.users > 0")
    )


def _week_changes(old: str | None, new: str | None) -> str:
    """Users gained (+1) or lost (-1) per cohort and week when session days `old` became `new`.
    A user's week counts while any session day of theirs falls in it: per (install, week) the
    count of its session days now, and before (now, less the new rows, plus the old ones)."""
    sources = []
    if old:
        sources.append(f"SELECT install_id, day, 0 AS added, 1 AS removed FROM {old}")
    if new:
        sources.append(f"SELECT install_id, day, 1 AS added, 0 AS removed FROM {new} n")
    offset = _offset("s.day")
    pairs = (
        f"SELECT s.install_id, {_week(offset)} AS w, sum(s.added) AS added, "
        f"sum(s.removed) AS removed FROM ({' UNION ALL '.join(sources)}) s "
        f"{_install_of('s')} {APP} "
        f"WHERE NOT i.is_reengagement AND {offset} BETWEEN 1 AND 84 GROUP BY 1, 2"
    )
    now = (
        "SELECT count(*) AS days FROM events_sessionday s WHERE s.install_id = p.install_id "
        f"AND s.day BETWEEN {COHORT} + 7 * (p.w - 1) + 1 AND {COHORT} + 7 * p.w"
    )
    change = "sum((c.days > 0)::int - ((c.days - p.added + p.removed) > 0)::int)"
    return (
        f"SELECT {_key()}, '', 'w', p.w, {change}, 0 "
        f"FROM ({pairs}) p {_install_of('p')} {APP} "
        f"CROSS JOIN LATERAL ({now}) c {DIMENSIONS} GROUP BY {GROUP}, 9 HAVING {change} <> 0"
    )


def _changed(columns: str) -> tuple[str, str]:
    """The rows an UPDATE changed in `columns`, as old and new row sets."""
    names = [c.strip() for c in columns.split(",")]
    old = ", ".join(f"o.{c}" for c in names)
    new = ", ".join(f"n.{c}" for c in names)
    join = f"old_rows o JOIN new_rows n ON n.id = o.id WHERE ({old}) IS DISTINCT FROM ({new})"
    return f"(SELECT o.* FROM {join})", f"(SELECT n.* FROM {join})"


def _function(
    name: str,
    insert: list[str],
    update: list[str],
    delete: list[str],
    *,
    relevant: dict[str, str],
) -> str:
    """`relevant`: per operation, the rows that can change the rollup; a statement with none
    (an event without revenue, a session count going up) returns before any of the work.

    Inserted rows are handed to a helper by id (`{name}_insert(ids)`), whose statements read the
    tables themselves: PostgreSQL keeps their plans, where a statement over a transition table
    is planned on every call (about 1.3 ms for these). The single-event path inserts one row
    per statement, so that is what it mostly pays."""
    body = lambda statements: ";\n        ".join(statements)  # noqa: E731

    def skip(op: str) -> str:
        # A count rather than EXISTS, as in 0003's _relevant_change: EXISTS over the changed
        # rows' join would pair old and new rows in a nested loop.
        return f"IF (SELECT count(*) FROM ({relevant[op]}) r) = 0 THEN RETURN NULL; END IF;"

    inserted = relevant["INSERT"].replace("SELECT 1 FROM new_rows", "SELECT id FROM new_rows", 1)
    return f"""
CREATE OR REPLACE FUNCTION {name}_insert(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    {body(insert)};
END $$;

CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        ids := ARRAY({inserted});
        IF cardinality(ids) = 0 THEN RETURN NULL; END IF;
        PERFORM {name}_insert(ids);
    ELSIF TG_OP = 'UPDATE' THEN
        {skip("UPDATE")}
        {body(update)};
    ELSE
        {skip("DELETE")}
        {body(delete)};
    END IF;
    RETURN NULL;
END $$;
"""


def _triggers(table: str, name: str) -> str:
    return f"""
CREATE TRIGGER {name}_insert AFTER INSERT ON {table}
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}();
CREATE TRIGGER {name}_update AFTER UPDATE ON {table}
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {name}();
CREATE TRIGGER {name}_delete AFTER DELETE ON {table}
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION {name}();
"""


def _install_function() -> str:
    old, new = _changed(
        "app_id, installed_at, is_reengagement, media_source, campaign, adset, country_code"
    )
    everything = lambda rows: [  # noqa: E731
        _sizes(rows),
        _days("events_sessionday", rows),
        _weeks("events_sessionday", rows),
        _revenue("events_inappevent", rows),
    ]
    # A new install has no sessions or events yet; before an install is deleted, Django sets
    # its sessions' and events' install to NULL (their own triggers take them out).
    return _function(
        "reporting_cohort_day_installs",
        insert=[_add(_sizes(_inserted("events_install")))],
        update=[*map(_subtract, everything(old)), *map(_add, everything(new))],
        delete=[_subtract(_sizes("old_rows"))],
        relevant={
            "INSERT": "SELECT 1 FROM new_rows WHERE NOT is_reengagement",
            "UPDATE": f"SELECT 1 FROM {old} o",
            "DELETE": "SELECT 1 FROM old_rows WHERE NOT is_reengagement",
        },
    )


def _sessions_function() -> str:
    old, new = _changed("app_id, day, install_id")
    return _function(
        "reporting_cohort_day_sessions",
        insert=[
            _add(_days(_inserted("events_sessionday"), "events_install")),
            _signed(_week_changes(None, _inserted("events_sessionday"))),
        ],
        update=[
            _subtract(_days(old, "events_install")),
            _add(_days(new, "events_install")),
            _signed(_week_changes("old_rows", "new_rows")),
        ],
        delete=[
            _subtract(_days("old_rows", "events_install")),
            _signed(_week_changes("old_rows", None)),
        ],
        # A session count going up (the common update) moves no user to another day or week.
        relevant={
            "INSERT": "SELECT 1 FROM new_rows WHERE install_id IS NOT NULL",
            "UPDATE": f"SELECT 1 FROM {old} o",
            "DELETE": "SELECT 1 FROM old_rows WHERE install_id IS NOT NULL",
        },
    )


def _events_function() -> str:
    old, new = _changed("app_id, install_id, event_time, revenue, currency, is_reengagement")
    return _function(
        "reporting_cohort_day_revenue",
        insert=[_add(_revenue(_inserted("events_inappevent"), "events_install"))],
        update=[
            _subtract(_revenue(old, "events_install")),
            _add(_revenue(new, "events_install")),
        ],
        delete=[_subtract(_revenue("old_rows", "events_install"))],
        relevant={
            "INSERT": "SELECT 1 FROM new_rows WHERE install_id IS NOT NULL "
            "AND revenue IS NOT NULL AND NOT is_reengagement",
            "UPDATE": f"SELECT 1 FROM {old} o",
            "DELETE": "SELECT 1 FROM old_rows WHERE install_id IS NOT NULL "
            "AND revenue IS NOT NULL AND NOT is_reengagement",
        },
    )


def _rebuild_function() -> str:
    installs = "(SELECT * FROM events_install WHERE app_id = app)"
    return f"""
CREATE OR REPLACE FUNCTION reporting_cohort_day_rebuild(app bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM reporting_cohortday WHERE app_id = app;
    {_add(_sizes(installs))};
    {_add(_days("events_sessionday", installs))};
    {_add(_weeks("events_sessionday", installs))};
    {_add(_revenue("events_inappevent", installs))};
END $$;

CREATE OR REPLACE FUNCTION reporting_cohort_day_timezone() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM reporting_cohort_day_rebuild(NEW.id);
    RETURN NULL;
END $$;

CREATE TRIGGER reporting_cohort_day_timezone AFTER UPDATE OF timezone ON integrations_app
    FOR EACH ROW WHEN (OLD.timezone IS DISTINCT FROM NEW.timezone)
    EXECUTE FUNCTION reporting_cohort_day_timezone();
"""


FORWARD = (
    _install_function()
    + _triggers("events_install", "reporting_cohort_day_installs")
    + _sessions_function()
    + _triggers("events_sessionday", "reporting_cohort_day_sessions")
    + _events_function()
    + _triggers("events_inappevent", "reporting_cohort_day_revenue")
    + _rebuild_function()
    + "SELECT reporting_cohort_day_rebuild(id) FROM integrations_app;"
)
BACKWARD = (
    "DROP TRIGGER IF EXISTS reporting_cohort_day_timezone ON integrations_app;\n"
    + "".join(
        f"DROP TRIGGER IF EXISTS reporting_cohort_day_{kind}_{op} ON {table};\n"
        for kind, table in (
            ("installs", "events_install"),
            ("sessions", "events_sessionday"),
            ("revenue", "events_inappevent"),
        )
        for op in ("insert", "update", "delete")
    )
    + "".join(
        f"DROP FUNCTION IF EXISTS reporting_cohort_day_{name};\n"
        for name in (
            "timezone()",
            "rebuild(bigint)",
            "installs()",
            "sessions()",
            "revenue()",
            "installs_insert(bigint[])",
            "sessions_insert(bigint[])",
            "revenue_insert(bigint[])",
        )
    )
)


def _on_postgresql(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0007_session_days"),
        ("integrations", "0012_loyal_after_sessions"),
        ("reporting", "0005_alerts"),
    ]

    operations = [
        migrations.CreateModel(
            name="CohortDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("cohort_day", models.DateField()),
                (
                    "key_hash",
                    models.CharField(
                        help_text="md5 of the cohort's attribution and currency.", max_length=32
                    ),
                ),
                ("media_source", models.CharField(max_length=64)),
                (
                    "dimension",
                    models.CharField(
                        choices=[
                            ("media_source", "Media source"),
                            ("campaign", "Campaign"),
                            ("adset", "Ad set"),
                            ("country_code", "Country"),
                        ],
                        max_length=16,
                    ),
                ),
                ("value", models.CharField(blank=True, max_length=255)),
                ("currency", models.CharField(blank=True, max_length=3)),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("s", "installs"),
                            ("d", "users back on day n"),
                            ("w", "users back in week n"),
                            ("r", "revenue on day n"),
                        ],
                        max_length=1,
                    ),
                ),
                ("n", models.SmallIntegerField()),
                ("users", models.BigIntegerField(default=0)),
                ("revenue", models.DecimalField(decimal_places=6, default=0, max_digits=24)),
                (
                    "app",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="integrations.app",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("app", "cohort_day", "key_hash", "kind", "n"), name="cohort_day_key"
                    )
                ],
            },
        ),
        migrations.RunPython(_on_postgresql(FORWARD), _on_postgresql(BACKWARD)),
    ]
