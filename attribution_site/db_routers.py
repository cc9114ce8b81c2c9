"""Reads of reports, exports and the Pull API go to a read replica when DATABASE_REPLICA_URL
names one; everything else (every write, and every read that must see its own writes: logins,
sessions, tokens, setup pages, prepared export jobs) stays on the primary.

A view opts in with `@replica_reads`, innermost (after `login_required` has loaded the user
from the primary). A streaming response keeps reading from the replica while it streams.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any

from django.conf import settings

REPLICA = "replica"
_on_replica: ContextVar[bool] = ContextVar("reads_on_replica", default=False)


def has_replica() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def reading_from_replica() -> Iterator[None]:
    token = _on_replica.set(True)
    try:
        yield
    finally:
        _on_replica.reset(token)


def _streamed_from_replica(chunks: Iterator[Any]) -> Iterator[Any]:
    iterator = iter(chunks)
    while True:
        with reading_from_replica():
            try:
                chunk = next(iterator)
            except StopIteration:
                return
        yield chunk


def replica_reads(view: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(view)
    def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
        if not has_replica():
            return view(request, *args, **kwargs)
        user = getattr(request, "user", None)
        if user is not None:
            bool(user.is_authenticated)  # load the session's user from the primary first
        with reading_from_replica():
            response = view(request, *args, **kwargs)
        if getattr(response, "streaming", False):
            response.streaming_content = _streamed_from_replica(response.streaming_content)
        return response

    return wrapper


class ReplicaRouter:
    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        return REPLICA if _on_replica.get() and has_replica() else None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return None  # the primary

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # one database, copied

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db != REPLICA  # the replica gets its schema by replication
