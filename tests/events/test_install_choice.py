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
