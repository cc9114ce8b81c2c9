"""The setup page's "Test Events API": send one test event through the real client."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from integrations.models import Integration, PartnerEvent, Pixel
from integrations.services.audit import record_audit
from integrations.services.setup import missing_for_activation
from integrations.tiktok import events_api, payloads, transport


@dataclass
class TestEventOutcome:
    ok: bool
    message: str
    code: int | None = None
    request_id: str = ""
    http_status: int | None = None
    duration_ms: int = 0
    fix: str = ""
    sent: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TestEventChoice:
    """One entry of the test-event picker: TikTok's name as sent, with a note that gives the
    catalog's name where it differs (the app catalog's `Pay` goes out as `Purchase`)."""

    api_name: str
    note: str


def test_event_choices(partner_events: list[PartnerEvent]) -> list[TestEventChoice]:
    """Current events first, then legacy ones; one entry per name TikTok receives."""
    choices: dict[str, TestEventChoice] = {}
    for event in sorted(partner_events, key=lambda event: event.is_legacy):
        if event.is_legacy:
            kind = f"legacy{f': use {event.replacement}' if event.replacement else ''}"
        else:
            kind = "may carry revenue" if event.allows_revenue else "standard event"
        note = kind if event.name == event.api_name else f"{event.name} · {kind}"
        choices.setdefault(event.api_name, TestEventChoice(api_name=event.api_name, note=note))
    return list(choices.values())


def send_test_event(
    integration: Integration,
    *,
    acting_user: AbstractBaseUser,
    test_event_code: str,
    event_name: str,
    ip: str,
    user_agent: str,
) -> TestEventOutcome:
    """Send a test event as TikTok's Test Events panel expects and record the answer in the
    integration's history. Never raises for TikTok's answers: the page shows them."""
    pixel = Pixel.objects.filter(integration=integration).first()
    missing = missing_for_activation(integration, pixel)
    if not integration.partner.supports_events_api:
        # Such partners (cost only) need nothing to activate, so `missing` is empty for them too.
        message = f"{integration.partner.name} does not take events, so there is nothing to test."
        outcome = TestEventOutcome(ok=False, message=message)
    elif missing or pixel is None:
        outcome = TestEventOutcome(ok=False, message=f"Add {' and '.join(missing)} first.")
    else:
        # The picker offers TikTok's names (`Purchase`); the catalog's (`Pay`) still work.
        partner_event = (
            PartnerEvent.objects.filter(partner=integration.partner)
            .filter(Q(api_name=event_name) | Q(name=event_name))
            .order_by("is_legacy", "sort_order")
            .first()
        )
        item = payloads.test_event_item(
            integration,
            partner_event.api_name if partner_event else event_name,
            with_value=bool(partner_event and partner_event.allows_revenue),
            ip=ip,
            user_agent=user_agent,
        )
        body = payloads.request_body(integration, [item], test_event_code=test_event_code)
        outcome = _send(pixel.access_token.reveal(), body)
    record_audit(
        integration=integration,
        acting_user=acting_user,
        action="integration.test_event_sent",
        changes={},
        details=asdict(outcome),
    )
    return outcome


def _send(access_token: str, body: dict[str, Any]) -> TestEventOutcome:
    sent = transport.strip_secrets(body)
    try:
        result = events_api.track(access_token=access_token, body=body)
    except transport.TikTokError as error:
        return TestEventOutcome(
            ok=False,
            message=error.message,
            code=error.code,
            request_id=error.request_id,
            http_status=error.http_status,
            duration_ms=error.duration_ms,
            fix=error.fix,
            sent=sent,
        )
    return TestEventOutcome(
        ok=True,
        message=result.message,
        code=result.code,
        request_id=result.request_id,
        http_status=200,
        duration_ms=result.duration_ms,
        sent=sent,
    )


def last_test_event(integration: Integration) -> dict[str, Any] | None:
    entry = integration.audit_entries.filter(action="integration.test_event_sent").first()
    if entry is None:
        return None
    details = entry.details
    return {
        **details,
        "at": entry.created_at,
        "actor": entry.actor,
        "sent_json": json.dumps(details.get("sent") or {}, indent=2),
    }
