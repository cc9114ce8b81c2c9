"""DATABASE_REPLICA_URL: reports, exports and the Pull API read the replica; writes, logins and
tokens stay on the primary. Run in a separate process with the real settings against two real
databases (two SQLite files, or two PostgreSQL databases when the suite runs on PostgreSQL),
the second a copy of the first standing in for a streaming replica, then changed on its own so
the test can tell which one a page read."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.filterwarnings("ignore")

SEED = """
from django.contrib.auth import get_user_model
from integrations.models import Role
from integrations.services.apps import create_app
from reporting.api_tokens import create_api_token
from tests import factories
user = get_user_model().objects.create_user("rita-analyst", password="x" * 12)
app, key = create_app(acting_user=None, app_id="web.replica", name="Replica shop",
                      platform="web", website_url="https://shop.example.com/")
factories.make_membership(user, app, Role.ADMIN)
_, token = create_api_token(acting_user=user, name="pull")
print(key + " " + token)
"""

ON_REPLICA_ONLY = """
from django.utils import timezone
from integrations.models import App
from tests import factories
app = App.objects.get(app_id="web.replica")
for n in range(3):
    factories.make_install(app, device_id=f"replicated-{n}", media_source="tiktokweb_int",
                           installed_at=timezone.now())
"""

CHECK = """
import json, sys
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()  # so the response carries its template context
from django.contrib.auth import get_user_model
from django.utils import timezone
from events.models import InAppEvent
from integrations.models import App
key, token = sys.argv[1], sys.argv[2]
day = timezone.now().date().isoformat()
client = Client()
pulled = client.get("/api/raw-data/export/app/web.replica/installs_report/v5",
                    {"from": day, "to": day}, HTTP_AUTHORIZATION=f"Bearer {token}")
rows = b"".join(pulled.streaming_content).decode().strip().splitlines()
client.force_login(get_user_model().objects.get(username="rita-analyst"))
page = client.get("/apps/web.replica/reports/overview/")
sent = client.post("/api/v1/apps/web.replica/events",
                   json.dumps({"event_id": "e-1", "event_name": "purchase",
                               "customer_user_id": "c-1"}),
                   content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
print(json.dumps({"pull_status": pulled.status_code, "pull_rows": len(rows) - 1,
                  "page_status": page.status_code,
                  "page_installs": page.context["overview"].totals.installs,
                  "event_status": sent.status_code,
                  "events_on_primary": InAppEvent.objects.using("default").count(),
                  "events_on_replica": InAppEvent.objects.using("replica").count()}))
"""


def _run(script: str, env: dict[str, str], *args: str) -> str:
    """This test's own script, in a fresh interpreter with the given environment."""
    done = subprocess.run(  # noqa: S603 - our interpreter and our script
        [sys.executable, "-c", "import django; django.setup()\n" + script, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""


@pytest.fixture
def two_databases(tmp_path):
    """(primary URL, replica URL, how to copy the primary onto the replica, clean-up)."""
    engine = settings.DATABASES["default"]["ENGINE"]
    if "sqlite" in engine:
        primary, replica = tmp_path / "primary.sqlite3", tmp_path / "replica.sqlite3"
        yield (f"sqlite:///{primary}", f"sqlite:///{replica}",
               lambda: shutil.copyfile(primary, replica))  # fmt: skip
        return
    import psycopg

    base = urlsplit(os.environ["DATABASE_URL"])
    admin = base._replace(path="/postgres").geturl()
    suffix = uuid.uuid4().hex[:8]
    names = (f"sb_primary_{suffix}", f"sb_replica_{suffix}")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{names[0]}"')

    def copy() -> None:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{names[1]}" TEMPLATE "{names[0]}"')

    yield (base._replace(path=f"/{names[0]}").geturl(), base._replace(path=f"/{names[1]}").geturl(),
           copy)  # fmt: skip
    with psycopg.connect(admin, autocommit=True) as connection:
        for name in names:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_reports_and_the_pull_api_read_the_replica_and_writes_go_to_the_primary(two_databases):
    primary, replica, copy = two_databases
    base_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "attribution_site.settings",
                "DEBUG": "true", "ALLOWED_HOSTS": "testserver",
                "CONFIG_CACHE_SECONDS": "0"}  # fmt: skip
    base_env.pop("DATABASE_REPLICA_URL", None)
    on_primary = {**base_env, "DATABASE_URL": primary}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=on_primary,
                   check=True, timeout=300)  # fmt: skip
    key, token = _run(SEED, on_primary).split()
    copy()  # the replica has caught up with the primary…
    _run(ON_REPLICA_ONLY, {**base_env, "DATABASE_URL": replica})  # …and only it has these rows
    both = {**base_env, "DATABASE_URL": primary, "DATABASE_REPLICA_URL": replica}
    import json

    result = json.loads(_run(CHECK, both, key, token))
    assert result["pull_status"] == 200 and result["pull_rows"] == 3  # read on the replica
    assert result["page_status"] == 200 and result["page_installs"] == 3
    assert result["event_status"] == 202  # the server key is read on the primary
    assert (result["events_on_primary"], result["events_on_replica"]) == (1, 0)
