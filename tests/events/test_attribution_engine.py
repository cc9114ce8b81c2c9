"""The attribution engine's rules as a table, with the window edges tested exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from events.attribution import (
    CLICK,
    IMPRESSION,
    Conversion,
    Lookback,
    MatchType,
    Touch,
    decide,
    device_signature,
)

AT = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
MICRO = timedelta(microseconds=1)
IPHONE_SAFARI = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) Safari/604.1"
IPHONE_APP = "RunClub/4.12 CFNetwork/1494.0.7 Darwin/23.3.0"
ANDROID = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Chrome/131.0 Mobile Safari/537.36"


def touch(key: int, ago: timedelta, kind: str = CLICK, source: str = "tiktokweb_int", **keys):
    return Touch(key=key, kind=kind, media_source=source, occurred_at=AT - ago, **keys)


WEB = Conversion(at=AT, web_user_id="wu-1", ttclids=frozenset({"E.C.P.1"}))
APP = Conversion(
    at=AT,
    advertising_ids=frozenset({"6D92078A-8246-4BA4-AE5B-76104861E7DC"}),
    ip="203.0.113.7",
    user_agent=IPHONE_APP,
    allows_probabilistic=True,
)
IDFA = "6D92078A-8246-4BA4-AE5B-76104861E7DC"

CASES = [
    # (name, conversion, touches, lookbacks, expected winner key, expected match type)
    ("no touchpoints is organic", WEB, [], {}, None, ""),
    (
        "a ttclid click one hour ago wins",
        WEB,
        [touch(1, timedelta(hours=1), ttclid="E.C.P.1")],
        {},
        1,
        MatchType.TTCLID,
    ),
    (
        "a click exactly at the 7-day edge is inside",
        WEB,
        [touch(1, timedelta(days=7), web_user_id="wu-1")],
        {},
        1,
        MatchType.WEB_USER_ID,
    ),
    (
        "a click one microsecond beyond 7 days is outside",
        WEB,
        [touch(1, timedelta(days=7) + MICRO, web_user_id="wu-1")],
        {},
        None,
        "",
    ),
    (
        "a click at the same instant as the conversion counts",
        WEB,
        [touch(1, timedelta(0), web_user_id="wu-1")],
        {},
        1,
        MatchType.WEB_USER_ID,
    ),
    (
        "a click after the conversion does not count",
        WEB,
        [touch(1, -MICRO, web_user_id="wu-1")],
        {},
        None,
        "",
    ),
    (
        "a conversion stamped in whole seconds still matches its own ttclid click",
        WEB,
        [touch(1, -timedelta(milliseconds=900), ttclid="E.C.P.1")],
        {},
        1,
        MatchType.TTCLID,
    ),
    (
        "a server clock five seconds behind ours still matches the click it names",
        WEB,
        [touch(1, -timedelta(seconds=5), ttclid="E.C.P.1")],
        {},
        1,
        MatchType.TTCLID,
    ),
    (
        "a ttclid click more than five seconds after the conversion does not count",
        WEB,
        [touch(1, -timedelta(seconds=5) - MICRO, ttclid="E.C.P.1")],
        {},
        None,
        "",
    ),
    (
        "a later click by the same web user gets no clock allowance",
        WEB,
        [touch(1, -timedelta(milliseconds=900), web_user_id="wu-1")],
        {},
        None,
        "",
    ),
    (
        "the integration's 1-day click lookback is honoured at its edge",
        WEB,
        [touch(1, timedelta(days=1), web_user_id="wu-1")],
        {"tiktokweb_int": Lookback(click=timedelta(days=1))},
        1,
        MatchType.WEB_USER_ID,
    ),
    (
        "the integration's 1-day click lookback excludes older clicks",
        WEB,
        [touch(1, timedelta(days=1) + MICRO, web_user_id="wu-1")],
        {"tiktokweb_int": Lookback(click=timedelta(days=1))},
        None,
        "",
    ),
    (
        "a 28-day lookback keeps a 20-day-old click",
        WEB,
        [touch(1, timedelta(days=20), web_user_id="wu-1")],
        {"tiktokweb_int": Lookback(click=timedelta(days=28))},
        1,
        MatchType.WEB_USER_ID,
    ),
    (
        "the last of two clicks wins",
        WEB,
        [
            touch(1, timedelta(days=2), source="bytedanceglobal_int", web_user_id="wu-1"),
            touch(2, timedelta(hours=3), ttclid="E.C.P.1"),
        ],
        {},
        2,
        MatchType.TTCLID,
    ),
    (
        "a click of someone else is ignored",
        WEB,
        [touch(1, timedelta(hours=1), web_user_id="wu-2", ttclid="E.C.P.2")],
        {},
        None,
        "",
    ),
    (
        "a click beats a later impression",
        APP,
        [
            touch(1, timedelta(days=3), idfa=IDFA),
            touch(2, timedelta(hours=1), kind=IMPRESSION, idfa=IDFA),
        ],
        {},
        1,
        MatchType.ADVERTISING_ID,
    ),
    (
        "an impression exactly 24 hours ago wins when there is no click",
        APP,
        [touch(1, timedelta(hours=24), kind=IMPRESSION, idfa=IDFA)],
        {},
        1,
        MatchType.ADVERTISING_ID,
    ),
    (
        "an impression just over 24 hours ago is outside",
        APP,
        [touch(1, timedelta(hours=24) + MICRO, kind=IMPRESSION, idfa=IDFA)],
        {},
        None,
        "",
    ),
    (
        "view-through switched off on the integration ignores impressions",
        APP,
        [touch(1, timedelta(hours=1), kind=IMPRESSION, idfa=IDFA)],
        {"tiktokweb_int": Lookback(click=timedelta(days=7), view=None)},
        None,
        "",
    ),
    (
        "a 6-hour view lookback is honoured at its edge",
        APP,
        [touch(1, timedelta(hours=6), kind=IMPRESSION, idfa=IDFA)],
        {"tiktokweb_int": Lookback(view=timedelta(hours=6))},
        1,
        MatchType.ADVERTISING_ID,
    ),
    (
        "same IP and iOS version within 24 hours matches web-to-app",
        APP,
        [touch(1, timedelta(hours=24), ip="203.0.113.7", user_agent=IPHONE_SAFARI)],
        {},
        1,
        MatchType.IP_USER_AGENT,
    ),
    (
        "an IP match just over 24 hours old is outside the short window",
        APP,
        [touch(1, timedelta(hours=24) + MICRO, ip="203.0.113.7", user_agent=IPHONE_SAFARI)],
        {},
        None,
        "",
    ),
    (
        "the same IP from another device does not match",
        APP,
        [touch(1, timedelta(hours=1), ip="203.0.113.7", user_agent=ANDROID)],
        {},
        None,
        "",
    ),
    (
        "a deterministic click beats a newer probabilistic one",
        APP,
        [
            touch(1, timedelta(days=5), idfa=IDFA),
            touch(2, timedelta(minutes=5), ip="203.0.113.7", user_agent=IPHONE_SAFARI),
        ],
        {},
        1,
        MatchType.ADVERTISING_ID,
    ),
    (
        "websites are never matched by IP alone",
        Conversion(at=AT, web_user_id="wu-1", ip="203.0.113.7", user_agent=IPHONE_SAFARI),
        [touch(1, timedelta(hours=1), ip="203.0.113.7", user_agent=IPHONE_SAFARI)],
        {},
        None,
        "",
    ),
    (
        "our click id from Play's install referrer matches",
        Conversion(at=AT, click_ids=frozenset({"abc123"})),
        [touch(1, timedelta(days=6), click_id="abc123")],
        {},
        1,
        MatchType.CLICK_ID,
    ),
    (
        "of two clicks in the same microsecond the one recorded last wins",
        WEB,
        [
            touch(5, timedelta(hours=1), web_user_id="wu-1"),
            touch(4, timedelta(hours=1), web_user_id="wu-1"),
        ],
        {},
        5,
        MatchType.WEB_USER_ID,
    ),
]


@pytest.mark.parametrize(
    ("conversion", "touches", "lookbacks", "winner", "match_type"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_it_picks_the_winning_touchpoint(conversion, touches, lookbacks, winner, match_type):
    decision = decide(conversion, touches, lookbacks)
    assert (decision.touch.key if decision.touch else None, decision.match_type) == (
        winner,
        match_type,
    )


@pytest.mark.parametrize(
    ("user_agent", "signature"),
    [
        (IPHONE_SAFARI, "ios:17"),
        (IPHONE_APP, "ios:17"),
        (ANDROID, "android:14"),
        ("RunClub/4.12 (Linux; U; Android 14; Pixel 8)", "android:14"),
    ],
)
def test_it_reads_the_device_from_browser_and_app_user_agents(user_agent, signature):
    assert device_signature(user_agent) == signature
