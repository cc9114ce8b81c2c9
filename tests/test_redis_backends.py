"""With REDIS_URL set, the cache and django-q2's broker both run on a real Redis server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

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
