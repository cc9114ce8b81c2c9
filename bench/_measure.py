"""What the benches share: a free port, and CPU time per process read from /proc.

CPU time (user + system) barely moves when the shared box is busy, where wall-clock does, so
each bench reports CPU microseconds per event for every process that did the work (web
workers, task workers, PostgreSQL backends) beside its wall-clock figure.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process so far (0 once it has gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    fields = text.rsplit(")", 1)[1].split()  # the name may hold spaces; fields follow ")"
    return (int(fields[11]) + int(fields[12])) / TICKS


def children_of(pid: int) -> list[int]:
    """Direct children (gunicorn's workers of its master, say)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def backend_pids(connection, database: str) -> list[int]:  # noqa: ANN001 - a psycopg connection
    """PostgreSQL backends connected to `database`, but for the asking connection's own."""
    return list(backends_by_application(connection, database))


def backends_by_application(connection, database: str) -> dict[int, str]:  # noqa: ANN001
    """PostgreSQL's client backends connected to `database` (but the asking connection's own),
    each with its client's application_name (a process started with PGAPPNAME=x connects as x).
    Autovacuum workers are left out: they tidy up after whatever ran before the measured run
    (the bench's own set-up, say), not after the run alone."""
    rows = connection.execute(
        "SELECT pid, application_name FROM pg_stat_activity WHERE datname = %s "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'",
        [database],
    ).fetchall()
    return dict(rows)


@dataclass
class CpuMeter:
    """CPU seconds of groups of processes between `start()` and `stop()`."""

    groups: dict[str, list[int]] = field(default_factory=dict)
    _before: dict[int, float] = field(default_factory=dict)
    used: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, pids: Iterable[int]) -> None:
        self.groups.setdefault(name, []).extend(pids)

    def start(self) -> None:
        self._before = {pid: cpu_seconds(pid) for pids in self.groups.values() for pid in pids}

    def stop(self, late: dict[str, list[int]] | None = None) -> dict[str, float]:
        """`late`: processes that may have started during the run (a worker's new database
        connection): counted from zero."""
        for name, pids in (late or {}).items():
            self.groups.setdefault(name, [])
            self.groups[name] += [pid for pid in pids if pid not in self.groups[name]]
        self.used = {
            name: sum(cpu_seconds(pid) - self._before.get(pid, 0.0) for pid in pids)
            for name, pids in self.groups.items()
        }
        return self.used

    def per_event_lines(self, events: int) -> list[str]:
        return [
            f"  {name}: {seconds:.2f} s CPU in {len(self.groups[name])} process(es) = "
            f"{seconds / events * 1e6:,.0f} µs per event"
            for name, seconds in self.used.items()
        ]
