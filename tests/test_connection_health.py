"""A kept PostgreSQL connection is checked before a request only after it sat idle: in steady
use no `SELECT 1` round trip precedes each request, and a connection cut while idle is
replaced before the request uses it (attribution_site/postgresql)."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import OperationalError, connection

from attribution_site.postgresql import base

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL backend"),
]


@pytest.fixture
def kept_connection():
    """A connection of its own (not the test's transaction) kept between requests."""
    wrapper = base.DatabaseWrapper({**connection.settings_dict, "CONN_MAX_AGE": 600}, "kept")
    yield wrapper
    wrapper.close()


def backend_pid(wrapper) -> int:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def cut(pid: int) -> None:
    """What a database restart or an idle timeout does to one connection."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"],
        dbname=settings["NAME"], autocommit=True,
    ) as admin:  # fmt: skip
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    time.sleep(0.05)


def request(wrapper) -> int:
    """One request's connection handling, as Django's request signals run it."""
    wrapper.close_if_unusable_or_obsolete()
    try:
        return backend_pid(wrapper)
    finally:
        wrapper.close_if_unusable_or_obsolete()


def test_a_connection_in_steady_use_is_not_checked_and_a_cut_costs_one_request(
    kept_connection,
):
    first = request(kept_connection)
    assert request(kept_connection) == first  # kept between requests
    cut(first)
    # No check ran before this request, so it meets the cut connection…
    with pytest.raises(OperationalError):
        request(kept_connection)
    # …and the request after it connects afresh.
    assert request(kept_connection) not in (first, None)


def test_a_connection_left_idle_is_checked_and_replaced_before_use(kept_connection, monkeypatch):
    monkeypatch.setattr(base, "IDLE_SECONDS_BEFORE_CHECK", 0.2)
    first = request(kept_connection)
    cut(first)
    time.sleep(0.3)
    assert request(kept_connection) not in (first, None)
