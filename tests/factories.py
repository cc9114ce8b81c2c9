"""Small factories: plain functions with overridable defaults (no large JSON fixtures)."""

from __future__ import annotations

import itertools
from datetime import datetime
from typing import Any

from django.contrib.auth import get_user_model
from django.utils import timezone

from events.models import (
    InAppEvent,
    Install,
    Postback,
    Touchpoint,
    click_details_of,
    install_details_of,
)
from integrations.models import (
    App,
    AppMembership,
    EventMapping,
    Integration,
    Partner,
    PartnerPermission,
    PartnerUser,
    Pixel,
)

_counter = itertools.count(1)

PASSWORD = "correct-horse-battery"


def make_user(username: str | None = None, **overrides: Any):
    username = username or f"user{next(_counter)}"
    user = get_user_model().objects.create_user(
        username=username, email=f"{username}@example.com", password=PASSWORD, **overrides
    )
    return user


def make_app(**overrides: Any) -> App:
    n = next(_counter)
    fields = {
        "app_id": f"web.example{n}",
        "name": f"Example shop {n}",
        "platform": "web",
        "website_url": "https://shop.example.com/",
        "domains": ["https://shop.example.com"],
        "timezone": "UTC",
        "currency": "USD",
    }
    fields.update(overrides)
    return App.objects.create(**fields)


def make_membership(user, app: App, role: str) -> AppMembership:
    return AppMembership.objects.create(user=user, app=app, role=role)


def partner(media_source: str = "tiktokweb_int") -> Partner:
    return Partner.objects.get(media_source=media_source)


def make_integration(
    app: App, media_source: str = "tiktokweb_int", **overrides: Any
) -> Integration:
    return Integration.objects.create(app=app, partner=partner(media_source), **overrides)


def make_pixel(integration: Integration, **overrides: Any) -> Pixel:
    fields = {"pixel_code": "CQ8RT3JC77U4D5MLS2A0", "access_token": "token-" + "a" * 34}
    fields.update(overrides)
    return Pixel.objects.create(integration=integration, **fields)


def make_mapping(integration: Integration, **overrides: Any) -> EventMapping:
    fields = {"app_event_name": "purchase", "partner_event_name": "Purchase"}
    fields.update(overrides)
    return EventMapping.objects.create(integration=integration, **fields)


def make_partner_user(user, media_source: str = "tiktokweb_int") -> PartnerUser:
    return PartnerUser.objects.create(user=user, partner=partner(media_source))


def grant(
    app: App,
    media_source: str = "tiktokweb_int",
    partner_user: PartnerUser | None = None,
    **grants: bool,
) -> PartnerPermission:
    return PartnerPermission.objects.create(
        app=app, partner=partner(media_source), partner_user=partner_user, **grants
    )


def make_touchpoint(app: App, **overrides: Any) -> Touchpoint:
    n = next(_counter)
    fields = {
        "click_id": f"click-{n}",
        "occurred_at": timezone.now(),
        "media_source": "tiktokweb_int",
    }
    fields.update(overrides)
    return Touchpoint.objects.create(app=app, **fields)


def make_install(app: App, **overrides: Any) -> Install:
    n = next(_counter)
    fields = {"device_id": f"device-{n}", "installed_at": timezone.now()}
    # As ingest does: the install keeps a copy of its click's details.
    fields.update(click_details_of(overrides.get("touchpoint")))
    fields.update(overrides)
    return Install.objects.create(app=app, **fields)


def make_event(app: App, event_time: datetime | None = None, **overrides: Any) -> InAppEvent:
    n = next(_counter)
    fields = {
        "event_id": f"evt-{n}",
        "event_name": "purchase",
        "event_time": event_time or timezone.now(),
    }
    if overrides.get("install") is not None:
        # As ingest does: an event of a user with an install copies its details.
        fields.update(install_details_of(overrides["install"]))
    fields.update(overrides)
    return InAppEvent.objects.create(app=app, **fields)


def make_postback(integration: Integration, event: InAppEvent, **overrides: Any) -> Postback:
    fields = {
        "partner_event_name": "Purchase",
        "next_attempt_at": timezone.now(),
        "event_time": event.event_time,
    }
    fields.update(overrides)
    return Postback.objects.create(integration=integration, event=event, **fields)


def make_cost_record(app: App, **overrides: Any):
    """A pulled cost row (TikTok's cost media source, one campaign and day, USD)."""
    from reporting.models import CostRecord

    fields: dict[str, Any] = {
        "media_source": "tiktokglobal_int",
        "stat_date": timezone.now().date(),
        "advertiser_id": "7000000000000000001",
        "campaign_id": "1800000001",
        "currency": "USD",
        "spend": "10",
        "pulled_at": timezone.now(),
    }
    fields.update(overrides)
    return CostRecord.objects.create(app=app, **fields)
