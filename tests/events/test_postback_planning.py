"""Which events become postbacks: each mapping rule, decided in the ingestion transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from events.models import Postback
from events.services.forwarding import explain
from events.services.ingest import record_events
from events.services.installs import read_install, record_install
from tests import factories


@pytest.fixture
def shop(app):
    return app


@pytest.fixture
def tiktok(shop):
    integration = factories.make_integration(shop, is_active=True, in_app_postbacks_enabled=True)
    factories.make_pixel(integration)
    return integration


def click(shop, **overrides):
    fields = {
        "media_source": "tiktokweb_int",
        "campaign": "WEB_Spring",
        "ttclid": "E.C.P.abc",
        "web_user_id": "wu-1",
        "occurred_at": timezone.now() - timedelta(hours=2),
    }
    fields.update(overrides)
    return factories.make_touchpoint(shop, **fields)


def send(shop, *events):
    defaults = {"web_user_id": "wu-1", "event_time": timezone.now().isoformat()}
    return record_events(shop, [{**defaults, **event} for event in events])


def planned(**filters):
    return list(
        Postback.objects.filter(**filters).values_list("event__event_id", "partner_event_name")
    )


def test_a_mapped_event_from_tiktok_becomes_one_postback(shop, tiktok):
    click(shop)
    factories.make_mapping(tiktok, including="values_and_revenue")
    send(shop, {"event_id": "o-1", "event_name": "purchase", "revenue": 10, "currency": "EUR"})
    postback = Postback.objects.get()
    assert (postback.event.event_id, postback.partner_event_name) == ("o-1", "Purchase")
    assert postback.include_values and postback.include_revenue
    assert postback.status == "pending"


def test_an_unmapped_event_leaves_no_row(shop, tiktok):
    click(shop)
    factories.make_mapping(tiktok)
    send(shop, {"event_id": "v-1", "event_name": "view_item"})
    assert not Postback.objects.exists()


def test_a_duplicate_event_is_not_planned_twice(shop, tiktok):
    click(shop)
    factories.make_mapping(tiktok)
    send(shop, {"event_id": "o-1", "event_name": "purchase"})
    send(shop, {"event_id": "o-1", "event_name": "purchase"})
    assert Postback.objects.count() == 1


def test_this_partner_only_skips_organic_users(shop, tiktok):
    factories.make_mapping(tiktok, users_from="this_partner")
    send(shop, {"event_id": "o-1", "event_name": "purchase", "web_user_id": "organic-user"})
    assert not Postback.objects.exists()


def test_all_media_sources_sends_organic_users_too(shop, tiktok):
    factories.make_mapping(tiktok, users_from="all_sources")
    send(shop, {"event_id": "o-1", "event_name": "purchase", "web_user_id": "organic-user"})
    assert planned() == [("o-1", "Purchase")]


@pytest.mark.parametrize(
    ("unit", "size", "install_age", "sent"),
    [
        ("hours", 24, timedelta(hours=23, minutes=59), True),
        ("hours", 24, timedelta(hours=24), True),
        ("hours", 24, timedelta(hours=24, seconds=1), False),
        ("days", 7, timedelta(days=7), True),
        ("days", 7, timedelta(days=7, seconds=1), False),
        ("lifetime", None, timedelta(days=400), True),
    ],
)
def test_the_postback_window_counts_from_the_install(shop, tiktok, unit, size, install_age, sent):
    tiktok.postback_window_unit, tiktok.postback_window_value = unit, size
    tiktok.save()
    factories.make_mapping(tiktok)
    now = timezone.now()
    touch = click(shop, occurred_at=now - install_age - timedelta(minutes=5))
    factories.make_install(
        shop,
        device_id="wu-1",
        web_user_id="wu-1",
        installed_at=now - install_age,
        media_source="tiktokweb_int",
        touchpoint=touch,
        touch_time=touch.occurred_at,
    )
    send(shop, {"event_id": "o-1", "event_name": "purchase", "event_time": now.isoformat()})
    assert Postback.objects.exists() is sent


def test_an_event_before_the_users_install_follows_its_own_attribution(shop, tiktok):
    """The install came through TikTok, but the purchase happened before it: the purchase is
    organic, so a row for users from TikTok only does not send it."""
    factories.make_mapping(tiktok, users_from="this_partner")
    now = timezone.now()
    touch = click(shop, occurred_at=now - timedelta(hours=1))
    factories.make_install(
        shop,
        device_id="wu-1",
        web_user_id="wu-1",
        installed_at=now,
        media_source="tiktokweb_int",
        touchpoint=touch,
        touch_time=touch.occurred_at,
    )
    earlier = (now - timedelta(days=2)).isoformat()
    send(
        shop,
        {"event_id": "o-before", "event_name": "purchase", "event_time": earlier},
        {"event_id": "o-after", "event_name": "purchase", "event_time": now.isoformat()},
    )
    assert planned() == [("o-after", "Purchase")]
    (reason,) = explain(shop.events.get(event_id="o-before"), shop.integrations.all())
    assert reason.why == "Attributed to organic; this row sends only users from tiktokweb_int."


@pytest.mark.parametrize(
    ("conditions", "value", "revenue", "sent"),
    [
        ([{"field": "plan", "op": "eq", "value": "pro"}], {"plan": "pro"}, None, True),
        ([{"field": "plan", "op": "eq", "value": "pro"}], {"plan": "basic"}, None, False),
        ([{"field": "plan", "op": "neq", "value": "pro"}], {}, None, True),
        ([{"field": "items", "op": "gte", "value": "2"}], {"items": 2}, None, True),
        ([{"field": "items", "op": "gt", "value": "2"}], {"items": "2"}, None, False),
        ([{"field": "items", "op": "lt", "value": "2"}], {"items": "many"}, None, False),
        ([{"field": "revenue", "op": "gt", "value": "50"}], {}, 60, True),
        (
            [{"field": "tags", "op": "contains", "value": "sale"}],
            {"tags": ["new", "sale"]},
            None,
            True,
        ),
        (
            [
                {"field": "plan", "op": "eq", "value": "pro"},
                {"field": "items", "op": "lte", "value": "1"},
            ],
            {"plan": "pro", "items": 3},
            None,
            False,
        ),
    ],
)
def test_every_condition_must_hold(shop, tiktok, conditions, value, revenue, sent):
    click(shop)
    factories.make_mapping(
        tiktok,
        app_event_name="subscribe",
        partner_event_name="Subscribe",
        conditions=conditions,
        including="values",
    )
    event = {"event_id": "s-1", "event_name": "subscribe", "value": value}
    if revenue is not None:
        event.update(revenue=revenue, currency="EUR")
    send(shop, event)
    assert Postback.objects.exists() is sent


def test_including_decides_values_and_revenue(shop, tiktok):
    click(shop)
    factories.make_mapping(
        tiktok, app_event_name="add_to_cart", partner_event_name="AddToCart", including="values"
    )
    factories.make_mapping(
        tiktok, app_event_name="sign_up", partner_event_name="Lead", including="no_values"
    )
    send(
        shop,
        {"event_id": "c-1", "event_name": "add_to_cart"},
        {"event_id": "r-1", "event_name": "sign_up"},
    )
    flags = dict(Postback.objects.values_list("partner_event_name", "include_values"))
    assert flags == {"AddToCart": True, "Lead": False}
    assert not Postback.objects.filter(include_revenue=True).exists()


def test_one_event_can_feed_two_rows(shop, tiktok):
    click(shop)
    factories.make_mapping(
        tiktok, app_event_name="sign_up", partner_event_name="CompleteRegistration"
    )
    factories.make_mapping(tiktok, app_event_name="sign_up", partner_event_name="Lead")
    send(shop, {"event_id": "r-1", "event_name": "sign_up"})
    assert sorted(name for _, name in planned()) == ["CompleteRegistration", "Lead"]


@pytest.mark.parametrize(
    "change",
    [
        {"is_active": False},
        {"in_app_postbacks_enabled": False},
    ],
)
def test_inactive_integrations_or_postbacks_off_send_nothing(shop, tiktok, change):
    for name, value in change.items():
        setattr(tiktok, name, value)
    tiktok.save()
    click(shop)
    factories.make_mapping(tiktok)
    send(shop, {"event_id": "o-1", "event_name": "purchase"})
    assert not Postback.objects.exists()


def test_a_disabled_row_sends_nothing(shop, tiktok):
    click(shop)
    factories.make_mapping(tiktok, is_enabled=False)
    send(shop, {"event_id": "o-1", "event_name": "purchase"})
    assert not Postback.objects.exists()


def test_reengagement_events_are_never_forwarded(shop, tiktok):
    factories.make_mapping(tiktok, users_from="all_sources")
    factories.make_install(shop, device_id="wu-1", web_user_id="wu-1", is_reengagement=True)
    event = factories.make_event(shop, event_name="purchase", is_reengagement=True)
    from events.services.forwarding import plan_postbacks_for_events

    assert plan_postbacks_for_events(shop, [event]) == 0


def test_the_events_page_explains_why_nothing_was_sent(shop, tiktok):
    factories.make_mapping(tiktok, users_from="this_partner")
    send(shop, {"event_id": "o-1", "event_name": "purchase", "web_user_id": "organic-user"})
    event = shop.events.get(event_id="o-1")
    (reason,) = explain(event, shop.integrations.all())
    assert not reason.sent
    assert reason.why == "Attributed to organic; this row sends only users from tiktokweb_int."


def install(app, device_id):
    draft = read_install({"device_id": device_id}, received_at=timezone.now())
    return record_install(app, draft)


def test_app_partners_get_install_postbacks_by_their_choice(db):
    ios = factories.make_app(app_id="id1", platform="ios", store_id="1")
    integration = factories.make_integration(ios, "bytedanceglobal_int", is_active=True)
    factories.make_pixel(integration, pixel_code="")
    install(ios, "organic-device")
    assert not Postback.objects.exists()
    integration.install_postbacks = "all_sources"
    integration.save()
    install(ios, "device-2")
    postback = Postback.objects.get()
    assert postback.partner_event_name == "InstallApp"
    assert postback.install.device_id == "device-2"
