"""The attribution engine: which touchpoint, if any, wins a conversion (an install or an event).

Pure functions over plain values, so the rules can be read and tested as a table:

1. Deterministic matches first: the conversion carries the touchpoint's `ttclid`, our click id
   (from Google Play's install referrer or the redirect), its advertising id (IDFA/GAID) or its
   first-party web user id. Among those, the last click within the click-through lookback wins.
2. Then, for app installs reached from the web (web-to-app), a click from the same IP address and
   the same device (operating system and version read from the user agent) within a short window.
3. Else the last deterministically matched impression within the view-through lookback, for
   media sources whose integration has view-through on (or that have no integration).
4. Else organic.

A touchpoint counts when it happened at or before the conversion and no longer ago than the
window: a click exactly seven days before is inside a seven-day lookback, one microsecond earlier
is not. Lookbacks come from the app's integration for the touchpoint's media source. One allowance:
a conversion that carries a click's own id (`ttclid` or our click id) may state a time up to
CLICK_ID_CLOCK_TOLERANCE before that click, because servers send whole seconds and their clocks
drift from ours; the id proves it is the same journey. Shared keys (web user id, advertising id)
get no such allowance: a later click by the same person must not take an earlier conversion.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

CLICK = "click"
IMPRESSION = "impression"
PROBABILISTIC_WINDOW = timedelta(hours=24)
CLICK_ID_CLOCK_TOLERANCE = timedelta(seconds=5)


class MatchType(StrEnum):
    TTCLID = "ttclid"
    CLICK_ID = "click_id"
    ADVERTISING_ID = "advertising_id"
    WEB_USER_ID = "web_user_id"
    IP_USER_AGENT = "ip_user_agent"


@dataclass(frozen=True)
class Lookback:
    click: timedelta = timedelta(days=7)
    view: timedelta | None = timedelta(days=1)  # None: view-through attribution is off


DEFAULT_LOOKBACK = Lookback()


@dataclass(frozen=True)
class Touch:
    """What the engine needs to know about a touchpoint."""

    key: int
    kind: str
    media_source: str
    occurred_at: datetime
    ttclid: str = ""
    click_id: str = ""
    idfa: str = ""
    gaid: str = ""
    web_user_id: str = ""
    ip: str | None = None
    user_agent: str = ""


@dataclass(frozen=True)
class Conversion:
    """An install or an event, seen through the keys that can tie it to a touchpoint."""

    at: datetime
    ttclids: frozenset[str] = field(default_factory=frozenset)
    click_ids: frozenset[str] = field(default_factory=frozenset)
    advertising_ids: frozenset[str] = field(default_factory=frozenset)
    web_user_id: str = ""
    ip: str | None = None
    user_agent: str = ""
    allows_probabilistic: bool = False


@dataclass(frozen=True)
class Decision:
    touch: Touch | None
    match_type: str = ""

    @property
    def is_organic(self) -> bool:
        return self.touch is None


ORGANIC_DECISION = Decision(touch=None)


def deterministic_match(conversion: Conversion, touch: Touch) -> MatchType | None:
    """The strongest key the conversion shares with the touchpoint, if any."""
    if touch.ttclid and touch.ttclid in conversion.ttclids:
        return MatchType.TTCLID
    if touch.click_id and touch.click_id in conversion.click_ids:
        return MatchType.CLICK_ID
    if touch.idfa and touch.idfa in conversion.advertising_ids:
        return MatchType.ADVERTISING_ID
    if touch.gaid and touch.gaid in conversion.advertising_ids:
        return MatchType.ADVERTISING_ID
    if touch.web_user_id and touch.web_user_id == conversion.web_user_id:
        return MatchType.WEB_USER_ID
    return None


def is_within(
    touch: Touch,
    conversion: Conversion,
    window: timedelta | None,
    tolerance: timedelta = timedelta(0),
) -> bool:
    if window is None:
        return False
    if touch.occurred_at > conversion.at + tolerance:
        return False
    return conversion.at - touch.occurred_at <= window


def clock_tolerance(match: MatchType | None) -> timedelta:
    """How far after the conversion's stated time a matched touch may be (module docstring)."""
    if match in (MatchType.TTCLID, MatchType.CLICK_ID):
        return CLICK_ID_CLOCK_TOLERANCE
    return timedelta(0)


def decide(
    conversion: Conversion,
    touches: Iterable[Touch],
    lookbacks: Mapping[str, Lookback],
) -> Decision:
    """Pick the winning touchpoint for one conversion (see the module docstring)."""
    deterministic_clicks: list[tuple[Touch, MatchType]] = []
    probabilistic_clicks: list[Touch] = []
    deterministic_views: list[tuple[Touch, MatchType]] = []
    for touch in touches:
        lookback = lookbacks.get(touch.media_source, DEFAULT_LOOKBACK)
        match = deterministic_match(conversion, touch)
        if touch.kind == CLICK:
            if match is not None and is_within(
                touch, conversion, lookback.click, clock_tolerance(match)
            ):
                deterministic_clicks.append((touch, match))
            elif (
                match is None
                and conversion.allows_probabilistic
                and is_within(touch, conversion, min(lookback.click, PROBABILISTIC_WINDOW))
                and is_same_device(conversion, touch)
            ):
                probabilistic_clicks.append(touch)
        elif (
            touch.kind == IMPRESSION
            and match is not None
            and is_within(touch, conversion, lookback.view, clock_tolerance(match))
        ):
            deterministic_views.append((touch, match))
    if deterministic_clicks:
        touch, match = max(deterministic_clicks, key=_recency)
        return Decision(touch=touch, match_type=match)
    if probabilistic_clicks:
        return Decision(
            touch=max(probabilistic_clicks, key=_touch_recency),
            match_type=MatchType.IP_USER_AGENT,
        )
    if deterministic_views:
        touch, match = max(deterministic_views, key=_recency)
        return Decision(touch=touch, match_type=match)
    return ORGANIC_DECISION


def _recency(pair: tuple[Touch, MatchType]) -> tuple[datetime, int]:
    return _touch_recency(pair[0])


def _touch_recency(touch: Touch) -> tuple[datetime, int]:
    # Two touches in the same microsecond: the one recorded last (higher id) is the last click.
    return (touch.occurred_at, touch.key)


def is_same_device(conversion: Conversion, touch: Touch) -> bool:
    """Same public IP and the same operating system and version (browser and app user agents
    differ, but both name the OS)."""
    if not conversion.ip or conversion.ip != touch.ip:
        return False
    ours, theirs = device_signature(conversion.user_agent), device_signature(touch.user_agent)
    return bool(ours) and ours == theirs


_IOS = re.compile(r"(?:iPhone|iPad|iPod).*? OS (\d+)[_.](\d+)")
_DARWIN = re.compile(r"\bDarwin/(\d+)\.")
_ANDROID = re.compile(r"Android[ /](\d+)")


def device_signature(user_agent: str) -> str:
    """`ios:17` or `android:14` from a browser's or an app's user agent; else the agent itself.

    iOS apps often send `CFNetwork/… Darwin/23.3.0`; Darwin 23 is iOS 17 (Darwin major − 6)."""
    if match := _IOS.search(user_agent):
        return f"ios:{match.group(1)}"
    if match := _DARWIN.search(user_agent):
        return f"ios:{int(match.group(1)) - 6}"
    if match := _ANDROID.search(user_agent):
        return f"android:{match.group(1)}"
    return user_agent.strip()
