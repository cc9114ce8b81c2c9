"""The fixed cast every test can use: an app, its admin, marketer and analyst, a TikTok partner
user, and an outsider with no role anywhere."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django_q.conf import Conf

from integrations.catalog import load_catalog
from integrations.models import App, Partner, PartnerDefaultMapping, PartnerEvent, Role
from tests import factories


@pytest.fixture(autouse=True)
def _q_sync(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run django-q2 tasks inline. Q_CLUSTER is read once at import, so override_settings cannot
    do this (see LIBRARY-NOTES.md)."""
    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture(autouse=True)
def _no_config_cache() -> Iterator[None]:
    """Tests change mappings and keys between requests and reuse primary keys across tests:
    nothing is remembered between requests unless a test turns it on (test_config_cache.py)."""
    with override_settings(CONFIG_CACHE_SECONDS=0):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing() -> Iterator[None]:
    """PBKDF2 costs ~0.2 s a user; the cast would spend a second per test hashing passwords."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


def _is_transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _partner_catalog(request: pytest.FixtureRequest) -> None:
    """Transactional tests (live server, browser) end by flushing every table, which also drops
    the partner catalog our data migration loaded. pytest-django runs them last, so each one
    loads the catalog again if an earlier one flushed it."""
    if not _is_transactional(request):
        return
    request.getfixturevalue("_django_db_helper")
    if not Partner.objects.exists():
        load_catalog(Partner, PartnerEvent, PartnerDefaultMapping)


@pytest.fixture
def app(db: None) -> App:
    return factories.make_app(app_id="web.trailhead", name="Trailhead shop")


@pytest.fixture
def admin_user(app: App) -> User:
    user = factories.make_user("alice-admin")
    factories.make_membership(user, app, Role.ADMIN)
    return user


@pytest.fixture
def marketer(app: App) -> User:
    user = factories.make_user("bob-marketer")
    factories.make_membership(user, app, Role.MARKETER)
    return user


@pytest.fixture
def analyst(app: App) -> User:
    user = factories.make_user("carol-analyst")
    factories.make_membership(user, app, Role.ANALYST)
    return user


@pytest.fixture
def partner_user(app: App) -> User:
    """Dave works for TikTok (tiktokweb_int). He starts with no grants on the app."""
    user = factories.make_user("dave-partner")
    factories.make_partner_user(user, "tiktokweb_int")
    return user


@pytest.fixture
def outsider(db: None) -> User:
    return factories.make_user("eve-outsider")


@pytest.fixture
def superuser(db: None) -> User:
    return factories.make_user("root", is_staff=True, is_superuser=True)


def pytest_report_header(config: pytest.Config) -> str:
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    return f"database: {engine}"


@pytest.fixture
def tiktok_sandbox(live_server: object) -> Iterator[str]:
    """Point the TikTok clients at the sandbox served by the live test server, over real HTTP.
    Yields the sandbox's base URL."""
    base_url = f"{live_server.url}/tiktok-sandbox"
    with override_settings(TIKTOK_API_BASE_URL=base_url, TIKTOK_HTTP_TIMEOUT=3):
        yield base_url


# A throwaway Redis server on a free port (the REDIS_URL backends' tests and many workers').
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
