"""Django's PostgreSQL backend with one change: a kept connection is health-checked before a
request only when it sat idle since the last one.

With CONN_HEALTH_CHECKS Django sends `SELECT 1` before the first query of every request, a
round trip to the database per request. A connection in steady use is known to work (the
previous request just used it); one left idle may have been cut meanwhile (a database
restart, a firewall's idle timeout), so that one is still checked. What this gives up: when
the database restarts under load, each worker's next request can fail once with a database
error (answered 500, stored nothing); Django then drops the broken connection and the request
after that connects afresh.
"""

from __future__ import annotations

import time

from django.db.backends.postgresql import base

IDLE_SECONDS_BEFORE_CHECK = 5.0


class DatabaseWrapper(base.DatabaseWrapper):
    last_request_boundary = float("-inf")  # time.monotonic() of the last request's start or end

    def close_if_unusable_or_obsolete(self) -> None:
        """Runs at each request's start and end. At a start, the time since the previous end
        is how long the connection sat idle."""
        idle = time.monotonic() - self.last_request_boundary
        super().close_if_unusable_or_obsolete()
        self.last_request_boundary = time.monotonic()
        if self.connection is not None and idle < IDLE_SECONDS_BEFORE_CHECK:
            self.health_check_done = True
