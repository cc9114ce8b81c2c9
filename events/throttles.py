"""Rate limits for the events API: per server API key, and per public key and visitor IP.

DRF's `SimpleRateThrottle` keeps a list of request times per key and rewrites it on every
request, which costs more the higher the rate. We count per fixed window with one atomic cache
increment instead. Counters live in the cache: per process with the local-memory cache, shared
across processes with REDIS_URL.
"""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from attribution_site.client_ip import get_client_ip
from integrations.models import App


class FixedWindowThrottle(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        # Read at request time, so settings overridden in tests take effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: object) -> bool:
        self.rate = self.get_rate()
        if self.rate is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        ident = self.get_cache_key(request, view)
        if ident is None:
            return True
        now = self.timer()
        window = int(now // self.duration)
        key = f"{ident}:{window}"
        self.cache.add(key, 0, self.duration + 1)
        try:
            count = self.cache.incr(key)
        except ValueError:  # evicted between add and incr
            self.cache.set(key, 1, self.duration + 1)
            count = 1
        self.seconds_left = (window + 1) * self.duration - now
        return count <= self.num_requests

    def wait(self) -> float:
        return max(self.seconds_left, 1)


class ApiKeyRateThrottle(FixedWindowThrottle):
    scope = "events_api"

    def get_cache_key(self, request: Request, view: object) -> str | None:
        app = request.auth
        if not isinstance(app, App):
            return None
        return f"throttle:{self.scope}:{app.pk}:{app.api_key_hash[:16]}"


class PublicKeyRateThrottle(FixedWindowThrottle):
    scope = "events_sdk"

    def get_cache_key(self, request: Request, view: object) -> str | None:
        public_key = view.kwargs.get("public_key", "")[:64]
        return f"throttle:{self.scope}:{public_key}:{self.get_ident(request)}"

    def get_ident(self, request: Request) -> str:
        # The visitor behind our proxies, read as every endpoint reads it (NUM_PROXIES).
        return get_client_ip(request) or request.META.get("REMOTE_ADDR", "")
