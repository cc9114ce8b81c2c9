"""/healthz for load balancers and /metrics for Prometheus: what they say when things work and
when they do not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from django_q.models import Schedule
from prometheus_client.parser import text_string_to_metric_families

from tests import factories

pytestmark = pytest.mark.django_db


def beat(minutes_ago: float) -> None:
    """The every-minute delivery schedule, as a running cluster leaves it."""
    Schedule.objects.filter(name="Deliver postbacks").update(
        next_run=timezone.now() - timedelta(minutes=minutes_ago)
    )


def test_healthz_is_200_when_the_database_broker_and_cluster_work(client):
    beat(0.5)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["problems"] == []
    assert body["checks"]["database"] == body["checks"]["broker"] == "ok"


def test_healthz_is_503_with_the_reason_when_the_cluster_stopped(client):
    beat(10)
    response = client.get("/healthz")
    assert response.status_code == 503
    [problem] = response.json()["problems"]
    assert "task cluster not running" in problem and "qcluster" in problem


def test_healthz_is_503_when_postbacks_wait_past_their_time(client, app):
    beat(0.5)
    integration = factories.make_integration(app, is_active=True)
    event = factories.make_event(app)
    factories.make_postback(
        integration, event, next_attempt_at=timezone.now() - timedelta(minutes=20)
    )
    response = client.get("/healthz")
    assert response.status_code == 503
    assert "not being delivered" in response.json()["problems"][0]
    assert response.json()["checks"]["deliveries"]["oldest_due_seconds"] >= 20 * 60


def test_a_postback_tiktok_refused_for_good_is_not_counted_as_waiting(client, app):
    """A failed postback is settled (a person may requeue it): an old one must not turn the
    load balancer's check red."""
    beat(0.5)
    integration = factories.make_integration(app, is_active=True)
    factories.make_postback(
        integration,
        factories.make_event(app),
        status="failed",
        next_attempt_at=timezone.now() - timedelta(hours=3),
    )
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["deliveries"]["oldest_due_seconds"] is None


def test_metrics_are_off_without_a_token_and_refuse_a_wrong_one(client):
    assert client.get("/metrics").status_code == 404
    with override_settings(METRICS_TOKEN="scrape-secret"):
        assert client.get("/metrics").status_code == 401
        wrong = client.get("/metrics", HTTP_AUTHORIZATION="Bearer guess")
        assert wrong.status_code == 401


@override_settings(METRICS_TOKEN="scrape-secret")
def test_metrics_count_postbacks_by_status_and_the_due_outbox(client, app):
    integration = factories.make_integration(app, is_active=True)
    for status in ("pending", "pending", "delivered", "dead", "failed"):
        factories.make_postback(
            integration,
            factories.make_event(app),
            status=status,
            next_attempt_at=timezone.now() - timedelta(seconds=90),
        )
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }
    assert samples[("signalboard_postbacks", (("status", "pending"),))] == 2
    assert samples[("signalboard_postbacks", (("status", "dead"),))] == 1
    assert samples[("signalboard_postbacks", (("status", "failed"),))] == 1
    assert samples[("signalboard_outbox_due", ())] == 2
    assert samples[("signalboard_outbox_oldest_due_seconds", ())] >= 90
    assert samples[("signalboard_events_stored_total", ())] >= 4
