"""With REDIS_URL set, the cache and django-q2's broker both run on a real Redis server."""

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

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
from django.core.cache import cache
from django_q.brokers import get_broker
cache.set("probe", "cached", 30)
broker = get_broker()
broker.enqueue("signed-task")
task = broker.dequeue()
print(type(broker).__name__, cache.get("probe"), task[0][1].decode())
broker.acknowledge(task[0][0])
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def redis_url() -> Iterator[str]:
    server_binary = shutil.which("redis-server")
    if server_binary is None:
        pytest.fail("redis-server not found: `make test` installs Debian's redis-server")
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [server_binary, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_the_cache_and_the_task_broker_use_redis(redis_url):
    environment = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    environment["REDIS_URL"] = redis_url
    result = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", "shell", "-c", PROBE],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-3:] == ["Redis", "cached", "signed-task"]
