"""Many workers: delivery throughput with one django-q2 cluster, then with two, sharing one Redis
broker and one PostgreSQL database, every event received by the TikTok sandbox exactly once.

Each round writes N events with their postbacks to the outbox, starts K clusters (`manage.py
qcluster`, separate processes with their own NODE_NAME and Q_WORKERS workers each), queues
delivery runs on Redis and waits until every postback is delivered. Prints events/s from the
first claim to the last answer, the CPU of the clusters' processes and of PostgreSQL per event,
and the ratio of two clusters to one. On a machine with fewer cores than the clusters' workers
plus the sandbox and PostgreSQL need, the ratio shows the cores, not the design.

    .venv/bin/python bench/clusters.py [--events 20000] [--workers-per-cluster 1]

Needs PostgreSQL at BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/
sb_bench_clusters; dropped and created afresh) and Debian's redis-server (a private one is
started on a free port).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import forward  # noqa: E402
from bench._measure import backends_by_application, children_of, cpu_seconds, free_port  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/sb_bench_clusters"
ENQUEUE = """
import django; django.setup()
from django_q.tasks import async_task
for _ in range({runs}):
    async_task("events.tasks.deliver_postbacks", task_name="deliver postbacks", group="postbacks")
"""


def start_redis() -> tuple[subprocess.Popen, str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found: install Debian's redis-server")
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [binary, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    return server, f"redis://127.0.0.1:{port}/0"


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its descendants still alive."""
    return cpu_seconds(pid) + sum(tree_cpu(child) for child in children_of(pid))


def run_round(
    database_url: str,
    app,
    integration,
    clusters: int,
    events: int,
    workers: int,  # noqa: ANN001
) -> dict[str, float]:
    import psycopg
    from django.db.models import Max, Min

    from events.models import Postback
    from integrations.tiktok.sandbox.models import ReceivedEvent

    prefix = f"round{clusters}"
    forward.fill_outbox(app, integration, events, prefix=prefix)
    rows = Postback.objects.filter(event__event_id__startswith=f"{prefix}-")
    environment = forward.environment(database_url) | {"Q_WORKERS": str(workers)}
    processes = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "manage.py", "qcluster"],
            cwd=ROOT,
            env=environment | {"NODE_NAME": f"cluster-{n}", "PGAPPNAME": f"cluster-{n}"},
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for n in range(clusters)
    ]
    name = urlsplit(database_url).path.lstrip("/")
    backends: dict[int, float] = {}
    stop = threading.Event()

    def clusters_backends(watcher) -> dict[int, float]:  # noqa: ANN001 - psycopg connection
        return {
            pid: cpu_seconds(pid)
            for pid, application in backends_by_application(watcher, name).items()
            if application.startswith("cluster-")
        }

    def sample() -> None:
        with psycopg.connect(database_url, autocommit=True) as watcher:
            while not stop.is_set():
                for pid, seconds in clusters_backends(watcher).items():
                    backends[pid] = max(backends.get(pid, 0.0), seconds)
                time.sleep(0.05)

    try:
        time.sleep(4)  # the clusters start their workers
        before = {process.pid: tree_cpu(process.pid) for process in processes}
        with psycopg.connect(database_url, autocommit=True) as watcher:
            started = clusters_backends(watcher)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        enqueue = [sys.executable, "-c", ENQUEUE.format(runs=2 * clusters)]
        subprocess.run(enqueue, cwd=ROOT, env=environment, check=True, timeout=60)  # noqa: S603
        deadline = time.monotonic() + 300
        while rows.exclude(status="delivered").exists() and time.monotonic() < deadline:
            time.sleep(0.25)
        cluster_cpu = sum(tree_cpu(process.pid) - before[process.pid] for process in processes)
        stop.set()
        sampler.join(5)
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    span = rows.aggregate(first=Min("last_attempt_at"), last=Max("delivered_at"))
    seconds = (span["last"] - span["first"]).total_seconds()
    delivered = rows.filter(status="delivered").count()
    received = ReceivedEvent.objects.filter(event_id__startswith=f"{prefix}-")
    nodes = {claim.split(":")[0] for claim in rows.values_list("claimed_by", flat=True)}
    return {
        "seconds": seconds,
        "delivered": delivered,
        "received": received.count(),
        "unique": received.values("event_id").distinct().count(),
        "sent twice": rows.filter(attempts__gt=1).count(),
        "clusters that delivered": len(nodes),
        "cluster CPU": cluster_cpu,
        "PostgreSQL CPU": sum(s - started.get(pid, 0.0) for pid, s in backends.items()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--workers-per-cluster", type=int, default=1)
    parser.add_argument("--sandbox-workers", type=int, default=2)
    args = parser.parse_args()
    database_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB)

    redis, redis_url = start_redis()
    os.environ["REDIS_URL"] = redis_url
    try:
        forward.recreate_database(database_url)
        app, integration, _key = forward.set_up(database_url)
        sandbox = forward.gunicorn(database_url, forward.SANDBOX_PORT, args.sandbox_workers)
        try:
            rounds = {
                clusters: run_round(
                    database_url, app, integration, clusters, args.events, args.workers_per_cluster
                )
                for clusters in (1, 2)
            }
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=30)
    finally:
        redis.terminate()
        redis.wait(timeout=10)

    print(
        f"machine: {os.cpu_count()} cores; PostgreSQL; Redis broker; clusters of "
        f"{args.workers_per_cluster} worker(s); the sandbox: gunicorn "
        f"{args.sandbox_workers} workers"
    )
    for clusters, result in rounds.items():
        rate = result["delivered"] / result["seconds"]
        print(
            f"{clusters} cluster(s): {result['delivered']:,} of {args.events:,} delivered in "
            f"{result['seconds']:.2f} s = {rate:,.0f} events/s; the sandbox received "
            f"{result['received']:,} ({result['unique']:,} distinct), {result['sent twice']} "
            f"sent twice; {result['clusters that delivered']} cluster(s) delivered a share"
        )
        for group in ("cluster CPU", "PostgreSQL CPU"):
            per_event = result[group] / max(result["delivered"], 1) * 1e6
            print(f"  {group}: {result[group]:.2f} s = {per_event:,.0f} µs per event")
    one, two = (rounds[n]["delivered"] / rounds[n]["seconds"] for n in (1, 2))
    print(f"two clusters / one: {two / one:.2f}× the throughput")


if __name__ == "__main__":
    main()
