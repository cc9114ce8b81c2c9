"""Which of a user's installs an event copies its attribution from, as a table with the edges
tested exactly: never an install from after the event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.models import Install
from events.services.matching import InstallIndex, UserKeys

FIRST = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MICRO = timedelta(microseconds=1)


def installs() -> list[Install]:
    return [
        Install(pk=1, device_id="d1", installed_at=FIRST, media_source="first_int"),
        Install(
            pk=2,
            device_id="d1",
            installed_at=FIRST + timedelta(days=60),
            media_source="reengaged_int",
            is_reengagement=True,
        ),
    ]


CASES = [
    ("an event one microsecond before the install copies nothing", FIRST - MICRO, None),
    ("an event a week before the install copies nothing", FIRST - timedelta(days=7), None),
    ("an event at the install's instant copies it", FIRST, 1),
    ("an event after the install copies it", FIRST + timedelta(days=1), 1),
    (
        "an event just before a re-engagement copies the first install",
        FIRST + timedelta(days=60) - MICRO,
        1,
    ),
    ("an event at the re-engagement copies it", FIRST + timedelta(days=60), 2),
    (
        "an event 30 days after the re-engagement still copies it",
        FIRST + timedelta(days=90),
        2,
    ),
    (
        "an event later than that falls back to the first install",
        FIRST + timedelta(days=90) + MICRO,
        1,
    ),
]


@pytest.mark.parametrize(
    ("at", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_it_picks_the_install_an_event_copies(at, expected):
    install = InstallIndex(installs()).install_for(UserKeys(device_id="d1"), at)
    assert (install.pk if install else None) == expected


@pytest.mark.django_db
def test_the_batch_lookup_loads_installs_exactly_as_the_orm_does():
    """On PostgreSQL the lookup is SQL of our own read into model instances: every field of
    every matching install must come back as the ORM would give it, whichever key matched."""
    from django.db.models import Q

    from events.models import Touchpoint
    from events.services.matching import load_install_index
    from tests import factories

    app = factories.make_app()
    other_app = factories.make_app(app_id="com.example.other")
    click = Touchpoint.objects.create(
        app=app, occurred_at=FIRST, click_id="c-1", sub1="s1", url="https://a.example/?x=1"
    )
    filled = factories.make_install(
        app,
        touchpoint=click,
        device_id="dev-1",
        web_user_id="web-1",
        idfa="AAAA-1111",
        customer_user_id="cu-1",
        installed_at=FIRST,
        media_source="tiktok_int",
        campaign="Spring",
        campaign_id="1790000000000000001",
        touch_time=FIRST - timedelta(hours=1),
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
    factories.make_install(other_app, device_id="dev-1")  # the same key in another app

    index = load_install_index(
        app, [UserKeys(customer_user_id="cu-1"), UserKeys(gaid="g-2"), UserKeys(idfv="none")]
    )
    loaded = {install.pk: install for installs in index.by_key.values() for install in installs}
    assert set(loaded) == {filled.pk, by_gaid.pk}
    expected = Install.objects.filter(Q(pk=filled.pk) | Q(pk=by_gaid.pk))
    for install in expected:
        for field in Install._meta.concrete_fields:
            got, want = getattr(loaded[install.pk], field.attname), getattr(install, field.attname)
            assert (got, type(got)) == (want, type(want)), field.name
        assert loaded[install.pk]._state.adding is False
