"""A few seconds of memory, per process, for what every event request reads and almost never
changes: the app a server key belongs to, and the app's forwarding integrations with their
mapping rows. At 200 requests/s this saves three queries per request.

A change (a mapping edited, an integration paused, a key rotated) takes effect in every process
within `CONFIG_CACHE_SECONDS` (5 by default; 0 turns the memory off, as the tests do).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.conf import settings

T = TypeVar("T")
MAX_ENTRIES = 10_000  # more apps than this per process: start afresh rather than grow


class ConfigCache(Generic[T]):
    def __init__(self) -> None:
        self._entries: dict[Hashable, tuple[float, T]] = {}

    def get(self, key: Hashable, load: Callable[[], T]) -> T:
        seconds = settings.CONFIG_CACHE_SECONDS
        if seconds <= 0:
            return load()
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < seconds:
            return entry[1]
        value = load()
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = (now, value)
        return value

    def forget(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
