"""Many workers: two django-q2 clusters (separate processes, each its own node name) share one
Redis broker and one PostgreSQL database, and every event reaches TikTok's sandbox exactly once
(delivery claims never overlap), with both clusters doing part of the work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from events.models import Postback
from events.services.ingest import record_events
from integrations.services.apps import create_app
from integrations.tiktok.sandbox import state
from integrations.tiktok.sandbox.models import ReceivedEvent
from tests import factories

ROOT = Path(__file__).resolve().parents[2]
PIXEL = "CQ8RT3JC77U4D5MLS2A0"
TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"
EVENTS = 3000

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="delivery claims across processes need PostgreSQL"
)

ENQUEUE = """
import django; django.setup()
from django_q.tasks import async_task
for _ in range(8):
    async_task("events.tasks.deliver_postbacks", task_name="deliver postbacks", group="postbacks")
"""


def test_two_clusters_on_redis_deliver_every_event_exactly_once(
    transactional_db,
    tiktok_sandbox,
    redis_url,
    monkeypatch,  # noqa: F811
):
    app, _ = create_app(acting_user=None, app_id="web.clusters", name="Two clusters",
                        platform="web", website_url="https://shop.example.com/")  # fmt: skip
    integration = factories.make_integration(app, is_active=True, in_app_postbacks_enabled=True)
    factories.make_pixel(integration, pixel_code=PIXEL, access_token=TOKEN)
    factories.make_mapping(integration, users_from="all_sources")
    state.issue_token(sources=[PIXEL], token=TOKEN)
    # Stored here; delivered only by the clusters (the test process queues nothing).
    monkeypatch.setattr("events.services.forwarding.queue_delivery", lambda: None)
    now = timezone.now().isoformat()
    for start in range(0, EVENTS, 1000):
        record_events(app, [
            {"event_id": f"e-{n}", "event_name": "purchase", "web_user_id": f"wu-{n}",
             "event_time": now}
            for n in range(start, start + 1000)
        ])  # fmt: skip
    assert Postback.objects.filter(status="pending").count() == EVENTS

    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "Q_WORKERS": "2",
        "POSTBACK_CLAIM_LIMIT": "100",  # many small claims, so both clusters get some
        "TIKTOK_API_BASE_URL": tiktok_sandbox,
        "DJANGO_SETTINGS_MODULE": "attribution_site.settings",
    }
    clusters = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env={**env, "NODE_NAME": name},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for name in ("cluster-a", "cluster-b")
    ]
    try:
        enqueue = [sys.executable, "-c", ENQUEUE]
        subprocess.run(enqueue, cwd=ROOT, env=env, check=True, timeout=60)  # noqa: S603
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if Postback.objects.filter(status="delivered").count() == EVENTS:
                break
            time.sleep(0.5)
    finally:
        for cluster in clusters:
            os.killpg(cluster.pid, signal.SIGKILL)
            cluster.wait(timeout=10)

    assert Postback.objects.filter(status="delivered").count() == EVENTS
    assert set(Postback.objects.values_list("attempts", flat=True)) == {1}
    received = list(ReceivedEvent.objects.values_list("event_id", flat=True))
    assert len(received) == EVENTS and len(set(received)) == EVENTS  # each exactly once
    nodes = {claim.split(":")[0] for claim in Postback.objects.values_list("claimed_by", flat=True)}
    assert nodes == {"cluster-a", "cluster-b"}  # both clusters delivered a share
