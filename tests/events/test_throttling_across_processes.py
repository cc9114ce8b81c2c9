"""The web SDK's rate limit under a real multi-process server: with REDIS_URL every gunicorn
worker counts in the same Redis, so three workers together accept the rate once, not three
times. (Without REDIS_URL each worker counts on its own: README, EVENTS_SDK_RATE.)"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
RATE = 20
SETUP = """
from integrations.models import App
app = App.objects.create(app_id="web.multi", name="Multi", platform="web",
    website_url="https://shop.example.com/", domains=["https://shop.example.com"])
print(app.public_key)
"""


def _wait_for(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, "gunicorn stopped"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail("gunicorn did not start")


@pytest.fixture
def three_workers(redis_url, tmp_path) -> Iterator[tuple[str, str]]:
    """gunicorn with three worker processes on a migrated SQLite file and REDIS_URL set."""
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "REDIS_URL": redis_url,
            "EVENTS_SDK_RATE": f"{RATE}/day",  # one window for the whole test
            "LOG_LEVEL": "WARNING",
        }
    )
    python = [sys.executable, "manage.py"]
    for command in (["migrate", "-v0"], ["shell", "-c", SETUP]):
        result = subprocess.run(  # noqa: S603
            python + command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, result.stderr
    public_key = result.stdout.strip().splitlines()[-1]
    port = free_port()
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent))
    server = subprocess.Popen(  # noqa: S603
        [gunicorn, "-w", "3", "-b", f"127.0.0.1:{port}", "attribution_site.wsgi"],
        cwd=ROOT,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(port, server)
        yield f"http://127.0.0.1:{port}", public_key
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_three_workers_share_one_allowance_through_redis(three_workers):
    base_url, public_key = three_workers
    statuses = []
    for n in range(3 * RATE):
        # A new connection each time, so gunicorn hands the requests to all three workers.
        response = requests.post(
            f"{base_url}/api/v1/sdk/{public_key}/visit",
            data=f'{{"web_user_id": "wu-{n:010d}", "visit_id": "visit-{n:06d}", "params": {{}}}}',
            headers={"Origin": "https://shop.example.com", "Connection": "close"},
            timeout=10,
        )
        statuses.append(response.status_code)
    assert statuses.count(202) == RATE
    assert statuses.count(429) == 2 * RATE
