"""Cost connections: a TikTok for Business account linked by OAuth to one integration, the
advertisers the marketer picks, and the pull runs that read them.

The pull itself writes `reporting.CostRecord`s, so it lives in `reporting.cost_pulls`; this
module only queues it, through the task `reporting` registers in `integrations.hooks`, so
`integrations` imports nothing of `reporting` (ARCHITECTURE.md: dependencies point one way).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.utils import timezone
from django_q.tasks import async_task

from integrations import hooks
from integrations.hooks import task_path
from integrations.models import CostAdvertiser, CostConnection, CostPull, Integration
from integrations.secrets import Secret
from integrations.services.audit import record_audit
from integrations.tiktok import marketing_api
from integrations.tiktok.transport import TikTokError

log = logging.getLogger(__name__)

DAILY_SCHEDULE = "Pull cost"


def uid_for_token(access_token: str) -> str:
    """TikTok's token answer carries no user id (§4.2), so the social-auth association is keyed
    on a hash of the token: reconnecting with the same grant finds the same association."""
    return hashlib.sha256(access_token.encode()).hexdigest()[:40]


def connect_account(
    integration: Integration,
    *,
    acting_user: AbstractBaseUser,
    access_token: str,
    scope: list[int] | None = None,
) -> CostConnection:
    """Store a new (or renewed) grant and the advertisers it reaches, with their currency and
    timezone. Raises TikTokError when TikTok will not list them; nothing is stored then."""
    advertisers = marketing_api.authorized_advertisers(access_token)
    details = {
        a.advertiser_id: a
        for a in marketing_api.advertiser_details(
            access_token, [a.advertiser_id for a in advertisers]
        )
    }
    # TikTok is asked first, outside the transaction: no lock is held while we wait on it.
    with transaction.atomic():
        uid = uid_for_token(access_token)
        connection = (
            CostConnection.objects.select_for_update()
            .filter(integration=integration, oauth_uid=uid)
            .first()
        )
        if connection is None:
            connection = CostConnection(
                integration=integration, created_by_id=acting_user.pk, oauth_uid=uid
            )
        connection.access_token = Secret(access_token)
        connection.scope = list(scope or [])
        connection.status = CostConnection.Status.CONNECTED
        connection.last_error = ""
        first_name = next(iter(advertisers), None)
        connection.label = connection.label or (
            f"{first_name.name} and {len(advertisers) - 1} more"
            if first_name and len(advertisers) > 1
            else (first_name.name if first_name else "TikTok account")
        )
        fields = ["access_token", "scope", "status", "last_error", "label"]
        connection.save(update_fields=fields if connection.pk else None)
        for advertiser in advertisers:
            detail = details.get(advertiser.advertiser_id, advertiser)
            CostAdvertiser.objects.update_or_create(
                connection=connection,
                advertiser_id=advertiser.advertiser_id,
                defaults={
                    "name": detail.name or advertiser.name,
                    "currency": detail.currency,
                    "timezone": detail.timezone,
                },
            )
        record_audit(
            integration=integration,
            acting_user=acting_user,
            action="cost.connected",
            changes={},
            details={
                "connection": connection.pk,
                "summary": f"{connection.label}: {len(advertisers)} advertiser(s)",
            },
        )
    return connection


def save_cost_settings(
    integration: Integration,
    *,
    acting_user: AbstractBaseUser,
    is_enabled: bool,
    selected_advertiser_ids: set[int],
) -> list[CostPull]:
    """Save Cost: which advertisers to pull, and whether cost is on. Turning cost on, or
    picking an advertiser never pulled, starts a pull of the last 7 days at once."""
    connections = list(integration.cost_connections.filter(status=CostConnection.Status.CONNECTED))
    reachable = set(
        CostAdvertiser.objects.filter(connection__in=connections).values_list("pk", flat=True)
    )
    unknown = selected_advertiser_ids - reachable
    if unknown:
        raise ValidationError("One of the chosen advertisers is not part of a live connection.")
    if is_enabled and not selected_advertiser_ids:
        raise ValidationError("Pick at least one advertiser to pull cost for.")
    pulls = []
    with transaction.atomic():
        was_enabled = integration.cost_enabled
        CostAdvertiser.objects.filter(connection__in=connections).exclude(
            pk__in=selected_advertiser_ids
        ).update(is_selected=False)
        newly = CostAdvertiser.objects.filter(
            pk__in=selected_advertiser_ids, is_selected=False
        ).values_list("connection_id", flat=True)
        needs_pull = set(newly)
        CostAdvertiser.objects.filter(pk__in=selected_advertiser_ids).update(is_selected=True)
        integration.cost_enabled = is_enabled
        integration.save(update_fields=["cost_enabled", "updated_at"])
        record_audit(
            integration=integration,
            acting_user=acting_user,
            action="cost.saved",
            changes={"cost_enabled": (was_enabled, is_enabled)}
            if was_enabled != is_enabled
            else {},
            details={"summary": f"{len(selected_advertiser_ids)} advertiser(s) chosen"},
        )
        if is_enabled:
            if not was_enabled:
                needs_pull = {c.pk for c in connections}
            for connection in connections:
                if (
                    connection.pk in needs_pull
                    and connection.advertisers.filter(is_selected=True).exists()
                ):
                    pulls.append(_queue_pull(connection, CostPull.Trigger.BACKFILL))
    return pulls


def request_pull(
    connection: CostConnection, *, acting_user: AbstractBaseUser | None = None
) -> CostPull:
    """ "Pull now": one pull at a time per connection; asking again returns the running one."""
    if not connection.is_connected:
        raise ValidationError("This connection needs reconnecting before it can pull.")
    if not connection.integration.cost_enabled:
        raise ValidationError("Turn on “Get cost data” and save first.")
    with transaction.atomic():
        running = connection.pulls.filter(
            status__in=[CostPull.Status.QUEUED, CostPull.Status.RUNNING]
        ).first()
        if running is not None:
            return running
        pull = _queue_pull(connection, CostPull.Trigger.MANUAL)
        if acting_user is not None:
            record_audit(
                integration=connection.integration,
                acting_user=acting_user,
                action="cost.pull_requested",
                changes={},
                details={"connection": connection.pk, "summary": f"Pull now: {connection}"},
            )
    return pull


def _queue_pull(connection: CostConnection, trigger: str) -> CostPull:
    pull = CostPull.objects.create(connection=connection, trigger=trigger)
    transaction.on_commit(
        lambda: async_task(
            task_path(hooks.cost_pull_tasks().run),
            pull.pk,
            task_name=f"pull cost {pull.pk}",
            group="cost",
        )
    )
    return pull


def queue_daily_pulls() -> list[CostPull]:
    """The daily schedule: one pull per live connection with cost on and advertisers chosen.
    A connection whose previous pull still runs is skipped."""
    pulls = []
    connections = CostConnection.objects.filter(
        status=CostConnection.Status.CONNECTED,
        integration__cost_enabled=True,
        advertisers__is_selected=True,
    ).distinct()
    for connection in connections:
        with transaction.atomic():
            if connection.pulls.filter(
                status__in=[CostPull.Status.QUEUED, CostPull.Status.RUNNING]
            ).exists():
                continue
            pulls.append(_queue_pull(connection, CostPull.Trigger.DAILY))
    return pulls


def schedule_retry(connection: CostConnection, *, after_seconds: int) -> None:
    """A pull ended on a failure that passes by itself (rate limit, TikTok down): try again
    later, from where it stopped (each advertiser remembers the last day it read)."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=f"Retry cost pull of connection {connection.pk}",
        defaults={
            "func": task_path(hooks.cost_pull_tasks().retry),
            "args": repr((connection.pk,)),
            "schedule_type": Schedule.ONCE,
            "repeats": -1,
            "next_run": timezone.now() + timedelta(seconds=after_seconds),
        },
    )


def queue_retry_pull(connection_id: int) -> CostPull | None:
    connection = CostConnection.objects.filter(
        pk=connection_id, status=CostConnection.Status.CONNECTED, integration__cost_enabled=True
    ).first()
    if connection is None:
        return None
    with transaction.atomic():
        if connection.pulls.filter(
            status__in=[CostPull.Status.QUEUED, CostPull.Status.RUNNING]
        ).exists():
            return None
        return _queue_pull(connection, CostPull.Trigger.RETRY)


@dataclass(frozen=True)
class Deletion:
    """What "Delete connection" did, in a sentence for the page."""

    is_deleted: bool
    message: str


def delete_connection(connection: CostConnection, *, acting_user: AbstractBaseUser) -> Deletion:
    """Revoke the token at TikTok, then delete the connection (pulls stop; cost rows already
    pulled stay). When TikTok does not confirm the revocation (an error, or no answer), nothing
    is deleted: the token stays stored so the revocation can be tried again, instead of being
    forgotten here while it still works at TikTok. A token TikTok already refuses (revoked, or
    access removed in TikTok for Business; or a connection marked for reconnecting) has nothing
    left to revoke, so the connection is deleted and the message says so."""
    token = connection.access_token.reveal()
    if not token or not connection.is_connected:
        message = (
            "The connection is deleted. TikTok had already refused its access token, so there "
            "was nothing to revoke."
        )
    else:
        try:
            revocation = marketing_api.revoke(token)
        except TikTokError as error:
            log.warning("Revoking cost connection %s failed: %s", connection.pk, error)
            detail = (
                str(error) if error.code is not None else f"TikTok could not be reached: {error}"
            )
            return Deletion(
                is_deleted=False,
                message=(
                    f"Nothing was deleted: TikTok did not confirm the revocation ({detail}). The "
                    "connection keeps its access token so it can be revoked: try again in a few "
                    "minutes, or remove Signalboard's access in TikTok for Business and then "
                    "delete the connection here."
                ),
            )
        message = (
            "The connection is deleted. TikTok no longer accepted its access token (revoked or "
            "removed in TikTok for Business), so there was nothing left to revoke."
            if revocation.was_already_refused
            else "The connection is deleted and TikTok revoked its access token."
        )
    with transaction.atomic():
        connection.status = CostConnection.Status.REVOKED
        connection.access_token = Secret("")
        connection.save(update_fields=["status", "access_token"])
        connection.advertisers.update(is_selected=False)
        connection.pulls.filter(status=CostPull.Status.QUEUED).update(
            status=CostPull.Status.FAILED, error="The connection was deleted."
        )
        _forget_association(connection)
        record_audit(
            integration=connection.integration,
            acting_user=acting_user,
            action="cost.connection_deleted",
            changes={},
            details={"connection": connection.pk, "summary": connection.label},
        )
    return Deletion(is_deleted=True, message=message)


def _forget_association(connection: CostConnection) -> None:
    from social_django.models import UserSocialAuth

    if connection.oauth_uid:
        UserSocialAuth.objects.filter(provider="tiktok-business", uid=connection.oauth_uid).delete()


def mark_broken(connection: CostConnection, error: TikTokError) -> None:
    """TikTok refused the token (40105 and friends): stop pulling and ask for a reconnect."""
    with transaction.atomic():
        updated = CostConnection.objects.filter(
            pk=connection.pk, status=CostConnection.Status.CONNECTED
        ).update(status=CostConnection.Status.BROKEN, last_error=str(error)[:500])
        if updated:
            record_audit(
                integration=connection.integration,
                acting_user=None,
                action="cost.connection_broken",
                changes={},
                details={"connection": connection.pk, "summary": f"{connection}: {error}"},
            )


def claim_pull(pull_id: int) -> CostPull | None:
    """Queued → running, once: a task handed out twice finds nothing to do."""
    claimed = CostPull.objects.filter(pk=pull_id, status=CostPull.Status.QUEUED).update(
        status=CostPull.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        return None
    return CostPull.objects.select_related("connection__integration__partner").get(pk=pull_id)


def record_span_pulled(
    pull: CostPull, advertiser: CostAdvertiser, *, through: date, rows_saved: int
) -> None:
    """One span of days is stored: the advertiser is pulled through its last day, and the
    pull's counters (rows_read, pages, requests set by the caller) are written."""
    CostAdvertiser.objects.filter(pk=advertiser.pk).update(pulled_through=through)
    advertiser.pulled_through = through
    pull.rows_saved += rows_saved
    pull.save(update_fields=["rows_saved", "rows_read", "pages", "requests"])


def finish_pull(pull: CostPull, *, error: TikTokError | None) -> None:
    """Record how a pull ended (its counters set by the caller) and the connection's last
    success or error."""
    pull.finished_at = timezone.now()
    pull.status = CostPull.Status.FAILED if error else CostPull.Status.SUCCEEDED
    pull.error = str(error)[:500] if error else ""
    pull.error_code = error.code if error else None
    pull.save(
        update_fields=[
            "rows_read",
            "pages",
            "requests",
            "retries",
            "duration_ms",
            "finished_at",
            "status",
            "error",
            "error_code",
        ]
    )
    connections = CostConnection.objects.filter(pk=pull.connection_id)
    if error:
        connections.update(last_error=pull.error)
    else:
        connections.update(last_error="", last_success_at=pull.finished_at)


@dataclass(frozen=True)
class CostOverview:
    connections: list[CostConnection]
    next_pull_at: datetime | None
    has_pull_in_progress: bool


def cost_overview(integration: Integration) -> CostOverview:
    """What the Cost tab shows: live and broken connections, their advertisers and pulls."""
    connections = list(
        integration.cost_connections.exclude(status=CostConnection.Status.REVOKED)
        .prefetch_related(
            Prefetch("advertisers", queryset=CostAdvertiser.objects.order_by("name")),
        )
        .order_by("created_at", "id")
    )
    for connection in connections:
        connection.recent_pulls = list(connection.pulls.order_by("-queued_at", "-id")[:5])
        connection.latest_pull = next(iter(connection.recent_pulls), None)
    return CostOverview(
        connections=connections,
        next_pull_at=_next_daily_pull() if integration.cost_enabled else None,
        has_pull_in_progress=any(
            c.latest_pull is not None and c.latest_pull.is_in_progress for c in connections
        ),
    )


def _next_daily_pull() -> datetime | None:
    from django_q.models import Schedule

    schedule = Schedule.objects.filter(name=DAILY_SCHEDULE).first()
    if schedule is None or schedule.next_run is None:
        return None
    return max(schedule.next_run, timezone.now())
