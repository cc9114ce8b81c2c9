"""Cost pull benchmark: report rows per second from the TikTok sandbox into CostRecord.

A gunicorn process serves the sandbox; this process runs the same pull the task cluster runs
(`reporting.cost_pulls.run_pull`) for the sandbox's "bulk" advertiser (160 ads in 3 countries),
over real HTTP and PostgreSQL, then once more to time a re-pull that replaces every row.
Prints rows read per second, pages and requests, and checks the stored totals equal the
sandbox's own.

    .venv/bin/python bench/cost_pull.py [--days 30]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
sb_bench_cost); the database is dropped and created afresh. Nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.forward import SANDBOX_PORT, environment, gunicorn, recreate_database  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/sb_bench_cost"
BULK = "7012345678901234570"
APP_ID = "7301234567890123457"
SECRET = "bench-secret-" + "0" * 27  # noqa: S105 - the sandbox's fake app secret


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    recreate_database(database_url)
    env = environment(database_url) | {
        "TIKTOK_APP_ID": APP_ID,
        "TIKTOK_APP_SECRET": SECRET,
        "COST_BACKFILL_DAYS": str(args.days),
    }
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    server = gunicorn(database_url, SANDBOX_PORT, 2)
    try:
        run(args.days)
    finally:
        server.terminate()


def run(days: int) -> None:
    from datetime import timedelta

    from django.db.models import Sum

    from integrations.models import CostPull, Integration, Partner
    from integrations.services import cost_connections
    from integrations.services.apps import create_app
    from integrations.tiktok.sandbox import marketing, state
    from reporting.cost_pulls import run_pull
    from reporting.models import CostRecord

    app, _ = create_app(acting_user=None, app_id="web.bench", name="Bench", platform="web")
    integration = Integration.objects.create(
        app=app, partner=Partner.objects.get(media_source="tiktokglobal_int"), cost_enabled=True
    )
    token = state.issue_token(advertiser_ids=[BULK])
    connection = cost_connections.connect_account(integration, acting_user=None, access_token=token)
    connection.advertisers.update(is_selected=True)
    for label in ("first pull", "re-pull"):
        connection.advertisers.update(pulled_through=None)
        pull = CostPull.objects.create(connection=connection, trigger=CostPull.Trigger.MANUAL)
        started = time.monotonic()
        pull = run_pull(pull.pk)
        seconds = time.monotonic() - started
        assert pull.status == CostPull.Status.SUCCEEDED, pull.error
        print(
            f"{label}: {pull.rows_read} rows read ({pull.rows_saved} stored) in {seconds:.2f} s "
            f"= {pull.rows_read / seconds:,.0f} rows/s; {pull.pages} pages, "
            f"{pull.requests} requests"
        )
    today = marketing.ADVERTISERS[BULK].local_today()
    expected = marketing.totals(BULK, today - timedelta(days=days - 1), today)
    stored = CostRecord.objects.aggregate(spend=Sum("spend"), clicks=Sum("clicks"))
    assert stored["spend"] == expected.spend and stored["clicks"] == expected.clicks
    print(f"totals match the sandbox: spend {stored['spend']} EUR, {stored['clicks']} clicks")


if __name__ == "__main__":
    main()
