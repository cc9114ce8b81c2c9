"""Recurring django-q2 schedules, created from code after every migrate (never by hand).

`schedule()` raises when the name exists, so each one is upserted by name. Apps add theirs to
SCHEDULES through `register`; catch-up is off so downtime does not cause a burst.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone


@dataclass(frozen=True)
class RecurringTask:
    name: str
    func: str
    minutes: int


SCHEDULES: dict[str, RecurringTask] = {}


def register(name: str, func: str, minutes: int) -> None:
    SCHEDULES[name] = RecurringTask(name=name, func=func, minutes=minutes)


register("Clear expired sessions", "integrations.tasks.clear_expired_sessions", minutes=60)


def ensure_schedules(**kwargs: Any) -> None:
    """post_migrate handler: create or update every registered schedule."""
    from django_q.models import Schedule

    for task in SCHEDULES.values():
        Schedule.objects.update_or_create(
            name=task.name,
            defaults={
                "func": task.func,
                "schedule_type": Schedule.MINUTES,
                "minutes": task.minutes,
                "repeats": -1,
            },
        )
        # A new schedule runs soon after the cluster starts, not an interval later.
        Schedule.objects.filter(name=task.name, next_run__isnull=True).update(
            next_run=timezone.now()
        )
