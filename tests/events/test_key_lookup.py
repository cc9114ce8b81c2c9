"""The batch lookups of users' installs and candidate touchpoints: on PostgreSQL they are SQL of
our own read into model instances, so every field must come back exactly as the ORM gives it,
and exactly the rows of the app whose keys (and, for touchpoints, times) match."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Model

from events.attribution import Conversion
from events.models import Touchpoint
from events.services.matching import UserKeys, load_install_index, load_touch_index
from tests import factories

pytestmark = pytest.mark.django_db

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def assert_loaded_as_the_orm_loads(loaded: list[Model]) -> None:
    model = type(loaded[0])
    fresh = model._default_manager.in_bulk([row.pk for row in loaded])
    for row in loaded:
        assert row._state.adding is False
        for field in model._meta.concrete_fields:
            got, want = getattr(row, field.attname), getattr(fresh[row.pk], field.attname)
            assert (got, type(got)) == (want, type(want)), field.name


def test_installs_of_the_batch_users_come_back_whole():
    app, other_app = factories.make_app(), factories.make_app()
    click = Touchpoint.objects.create(
        app=app, occurred_at=AT, click_id="c-1", sub1="s1", url="https://a.example/?x=1"
    )
    filled = factories.make_install(
        app,
        touchpoint=click,
        device_id="dev-1",
        web_user_id="web-1",
        idfa="AAAA-1111",
        customer_user_id="cu-1",
        installed_at=AT,
        media_source="tiktok_int",
        campaign="Spring",
        campaign_id="1790000000000000001",
        touch_time=AT - timedelta(hours=1),
        ip="2001:db8::7",
        user_agent="UA/1.0",
        country_code="DE",
        os_version="17.3",
        app_version="2.1.0",
        fraud_reasons="too_fast",
        is_reengagement=True,
    )
    by_gaid = factories.make_install(app, device_id="dev-2", gaid="g-2", ip="198.51.100.4")
    factories.make_install(app, device_id="dev-3")  # a user the batch does not name
    factories.make_install(other_app, device_id="dev-1", customer_user_id="cu-1")

    index = load_install_index(
        app, [UserKeys(customer_user_id="cu-1"), UserKeys(gaid="g-2"), UserKeys(idfv="none")]
    )
    loaded = {install.pk: install for installs in index.by_key.values() for install in installs}
    assert set(loaded) == {filled.pk, by_gaid.pk}
    assert_loaded_as_the_orm_loads(list(loaded.values()))


def test_touchpoints_matching_any_key_within_the_window_come_back_whole():
    app, other_app = factories.make_app(), factories.make_app()
    window = timedelta(days=7)

    clicks = iter(range(100))

    def touch(target=app, **fields):
        defaults = {"occurred_at": AT, "click_id": f"click-{next(clicks)}"}
        return Touchpoint.objects.create(app=target, **{**defaults, **fields})

    by_ttclid = touch(
        ttclid="E.C.P.1", media_source="tiktok_int", campaign="Spring", sub2="s2",
        url="https://a.example/?c=1", referrer="https://b.example/", user_agent="UA/2.0",
    )  # fmt: skip
    by_gaid = touch(gaid="g-1", occurred_at=AT - window)  # the window's first instant
    by_ip = touch(ip="2001:db8::9", occurred_at=AT - timedelta(hours=1))
    touch(ip="2001:db8::9", occurred_at=AT - window - timedelta(microseconds=1))  # too early
    touch(web_user_id="someone-else")
    touch(other_app, ttclid="E.C.P.1")

    conversion = Conversion(
        at=AT,
        ttclids=frozenset({"E.C.P.1"}),
        advertising_ids=frozenset({"g-1"}),
        ip="2001:db8::9",
        allows_probabilistic=True,
    )
    index = load_touch_index(app, [conversion], window)
    assert set(index.by_pk) == {by_ttclid.pk, by_gaid.pk, by_ip.pk}
    assert_loaded_as_the_orm_loads(list(index.by_pk.values()))
