"""Fuzz a live server: generated requests against gunicorn on PostgreSQL with DEBUG off, and a
count of every answer by status. Any answer >= 500 is a bug; the script lists them.

Two sources of requests, each over real HTTP:

1. schemathesis, from the live `/api/schema/`: every operation (events, batches, installs, the
   web SDK, the links, the Pull API), valid and deliberately invalid data, with real keys on
   most requests;
2. the page fuzzer of tests/fuzz_inputs.py: random path segments and query strings on every GET
   route of ours, as an admin, a partner user and anonymous.

    .venv/bin/python bench/fuzz.py [--api-cases 6000] [--page-cases 6000] [--workers 2]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
sb_bench_fuzz); the database is dropped and created afresh. Nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import requests
from _measure import free_port

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/sb_bench_fuzz"
ORIGIN = "https://shop.example.com"


def server_environment(database_url: str, port: int) -> dict[str, str]:
    return os.environ | {
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": "fuzz-" + "x" * 50,
        "FIELD_ENCRYPTION_KEYS": "c2lnbmFsYm9hcmQtZGV2ZWxvcG1lbnQta2V5LTMyYj0=",
        "ALLOWED_HOSTS": "127.0.0.1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "EVENTS_API_RATE": "100000000/min",
        "EVENTS_SDK_RATE": "100000000/min",
        "TIKTOK_SANDBOX": "false",
        "LOG_LEVEL": "ERROR",
        "SESSION_COOKIE_SECURE": "false",  # plain HTTP on loopback
        "CONN_MAX_AGE": "600",
    }


def recreate_database(database_url: str) -> None:
    import psycopg

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def seed(database_url: str, port: int) -> dict:
    """Migrate; an app with a TikTok integration, an admin, a partner user, keys and a token."""
    os.environ.update(server_environment(database_url, port))
    os.environ["DJANGO_SETTINGS_MODULE"] = "attribution_site.settings"
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from integrations.models import Role
    from integrations.services.apps import rotate_api_key
    from reporting.api_tokens import create_api_token
    from tests import factories

    call_command("migrate", verbosity=0)
    admin = factories.make_user("fuzz-admin")
    partner = factories.make_user("fuzz-partner")
    app = factories.make_app(app_id="web.fuzzed", name="Fuzzed shop", domains=[ORIGIN])
    factories.make_membership(admin, app, Role.ADMIN)
    factories.make_partner_user(partner, "tiktokweb_int")
    integration = factories.make_integration(app)
    server_key = rotate_api_key(app, acting_user=admin)
    _, pull_token = create_api_token(acting_user=admin, name="fuzz")
    connections.close_all()
    return {
        "app_id": app.app_id,
        "public_key": app.public_key,
        "integration_id": integration.pk,
        "server_key": server_key,
        "pull_token": pull_token,
    }


def start_server(database_url: str, port: int, workers: int, log: Path) -> subprocess.Popen:
    command = [
        str(Path(sys.executable).parent / "gunicorn"),
        "attribution_site.wsgi:application",
        f"--bind=127.0.0.1:{port}",
        f"--workers={workers}",
        "--log-level=warning",
        "--timeout=60",
    ]
    server = subprocess.Popen(
        command,
        cwd=ROOT,
        env=server_environment(database_url, port),
        stderr=log.open("w"),
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"http://127.0.0.1:{port}/api/schema/", timeout=10)
            return server
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("gunicorn did not start")


def logged_in_session(base: str, username: str) -> requests.Session:
    from tests.factories import PASSWORD

    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=30)
    answer = session.post(
        f"{base}/accounts/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
        },
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=30,
        allow_redirects=False,
    )
    if answer.status_code != 302:
        raise SystemExit(f"could not log in as {username}: {answer.status_code}")
    return session


class Tally:
    def __init__(self) -> None:
        self.statuses: Counter[int] = Counter()
        self.server_errors: list[str] = []

    def add(self, status: int, what: str) -> None:
        self.statuses[status] += 1
        if status >= 500 and len(self.server_errors) < 20:
            self.server_errors.append(f"{status} {what}")

    @property
    def total(self) -> int:
        return sum(self.statuses.values())


def fuzz_api(base: str, ids: dict, cases: int, tally: Tally) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(f"{base}/api/schema/?format=json")
    operations = [result.ok() for result in schema.get_all_operations()]
    strategies = [
        operation.as_strategy(generation_mode=mode)
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    session = requests.Session()

    @settings(max_examples=cases, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=st.one_of(strategies), use_real_ids=st.integers(0, 3))
    def run(case, use_real_ids: int) -> None:
        headers = None
        params = case.path_parameters or {}
        if use_real_ids:  # three cases in four
            for name in ("app_id", "public_key"):
                if name in params:
                    params[name] = ids[name]
            token = ids["pull_token"] if "/raw-data/" in case.operation.path else ids["server_key"]
            headers = {"Authorization": f"Bearer {token}", "Origin": ORIGIN}
        try:
            response = case.call(base_url=base, session=session, headers=headers, timeout=60)
        except requests.RequestException as error:
            tally.add(599, f"{case.operation.label}: no answer ({error.__class__.__name__})")
            return
        tally.add(response.status_code, f"{case.operation.label} {response.request.url[:300]}")

    run()


def fuzz_pages(base: str, ids: dict, cases: int, tally: Tally) -> None:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from tests.fuzz_inputs import ROUTES, RealIds, fill_route, queries, tricky_text

    real_ids = RealIds(ids["app_id"], ids["public_key"], ids["integration_id"])
    sessions = {
        "admin": logged_in_session(base, "fuzz-admin"),
        "partner": logged_in_session(base, "fuzz-partner"),
        "anonymous": requests.Session(),
    }

    @settings(max_examples=cases, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        route=st.sampled_from(ROUTES),
        segment=tricky_text,
        query=queries,
        use_real_ids=st.booleans(),
        who=st.sampled_from(sorted(sessions)),
    )
    def run(route: str, segment: str, query: dict, use_real_ids: bool, who: str) -> None:
        url = base + fill_route(route, real_ids, segment, use_real_ids)
        if query:
            url += "?" + urlencode(query)
        headers = {}
        if route.startswith("api/raw-data/"):
            headers["Authorization"] = f"Bearer {ids['pull_token']}"
        try:
            response = sessions[who].get(url, headers=headers, timeout=60, allow_redirects=False)
        except requests.RequestException as error:
            tally.add(599, f"GET {url[:300]}: no answer ({error.__class__.__name__})")
            return
        tally.add(response.status_code, f"GET {url[:300]} as {who}")

    run()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api-cases", type=int, default=6000)
    parser.add_argument("--page-cases", type=int, default=6000)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)
    port = free_port()
    base = f"http://127.0.0.1:{port}"

    recreate_database(database_url)
    ids = seed(database_url, port)
    log = Path(tempfile.gettempdir()) / f"signalboard-fuzz-{port}.log"
    server = start_server(database_url, port, args.workers, log)
    api, pages = Tally(), Tally()
    started = time.perf_counter()
    try:
        fuzz_api(base, ids, args.api_cases, api)
        fuzz_pages(base, ids, args.page_cases, pages)
    finally:
        server.terminate()
        server.wait(timeout=30)
    seconds = time.perf_counter() - started

    print(f"gunicorn {args.workers} workers, DEBUG off, PostgreSQL; {seconds:.0f} s")
    for name, tally in (("API (schemathesis)", api), ("pages, links, Pull API", pages)):
        statuses = ", ".join(f"{status}: {n:,}" for status, n in sorted(tally.statuses.items()))
        print(f"{name}: {tally.total:,} requests; by status {statuses}")
    everything = api.statuses + pages.statuses
    errors = sum(n for status, n in everything.items() if status >= 500)
    print(f"total: {sum(everything.values()):,} requests, {errors} answers >= 500")
    for line in api.server_errors + pages.server_errors:
        print(f"  {line}")
    tracebacks = log.read_text(errors="replace").count("Traceback")
    print(f"server log {log}: {tracebacks} tracebacks")
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
