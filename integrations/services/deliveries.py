"""What `events` records about deliveries: needs-attention, the last outcome, match-key tallies."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from integrations.models import Integration, MatchKeyTally
from integrations.services.audit import record_audit
from integrations.tiktok.match_quality import KEYS, coverage_day


def mark_needs_attention(integration_id: int, *, code: int | None, reason: str) -> bool:
    """Pause an integration's deliveries because the partner refused our credentials. Called by
    `events` when a delivery fails that way; replacing the token on the Integration tab clears
    it. Returns True when this call is what raised the flag (it is recorded once)."""
    with transaction.atomic():
        integration = (
            Integration.objects.select_for_update().select_related("app").get(pk=integration_id)
        )
        if integration.needs_attention:
            return False
        integration.needs_attention = True
        integration.attention_code = code
        integration.attention_reason = reason[:300]
        integration.attention_since = timezone.now()
        integration.save(
            update_fields=[
                "needs_attention",
                "attention_code",
                "attention_reason",
                "attention_since",
                "updated_at",
            ]
        )
        record_audit(
            integration=integration,
            acting_user=None,
            action="integration.needs_attention",
            changes={"needs_attention": (False, True)},
            details={"code": code, "reason": reason},
        )
    return True


def record_delivery_outcome(integration_id: int, *, ok: bool, at: datetime) -> None:
    """The delivery summary shown in Active Integrations (written by `events`)."""
    Integration.objects.filter(pk=integration_id).update(last_delivery_at=at, last_delivery_ok=ok)


def record_match_keys(integration: Integration, *, at: datetime, masks: Sequence[int]) -> None:
    """Add delivered postbacks and the match keys each carried (MatchKey bitmasks) to the
    integration's tally for that day (written by `events` after each delivered batch). The row
    is created once and then incremented in the database, so concurrent workers add up."""
    if not masks:
        return
    day = coverage_day(integration.app, at)
    # A batch of a thousand carries a handful of distinct masks: count those, then the keys.
    rows_per_mask = Counter(masks)
    increments = {
        info.code: F(info.code) + count
        for info in KEYS
        if (count := sum(rows for mask, rows in rows_per_mask.items() if mask & info.key))
    }
    MatchKeyTally.objects.bulk_create(
        [MatchKeyTally(integration_id=integration.pk, day=day)], ignore_conflicts=True
    )
    MatchKeyTally.objects.filter(integration_id=integration.pk, day=day).update(
        delivered=F("delivered") + len(masks), **increments
    )
