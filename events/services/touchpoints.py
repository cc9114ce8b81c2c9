"""Clicks and impressions: what an attribution link records and where it sends the visitor.

A click must never be lost to a typo in an ad's URL, so link parameters are tidied (trimmed,
cut to the column's length, unfilled macros dropped) rather than refused.
"""

from __future__ import annotations

import ipaddress
import re
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from django.db import transaction
from django.utils import timezone

from events.models import Touchpoint
from events.services.bulk import insert_new_rows
from events.services.normalise import max_length_of
from integrations.models import App, Platform, media_source_validator
from integrations.request_values import first_control_character

# AppsFlyer's attribution-link parameters → Touchpoint fields.
LINK_PARAMETERS: dict[str, str] = {
    "c": "campaign",
    "af_c_id": "campaign_id",
    "af_adset": "adset",
    "af_adset_id": "adset_id",
    "af_ad": "ad",
    "af_ad_id": "ad_id",
    "af_siteid": "site_id",
    "af_channel": "channel",
    "af_keywords": "keywords",
    "af_sub1": "sub1",
    "af_sub2": "sub2",
    "af_sub3": "sub3",
    "af_sub4": "sub4",
    "af_sub5": "sub5",
}
# The names other tools' links use for the same fields, so ads keep working when a team
# switches (docs/link-parameters.md). AppsFlyer's name wins when a link carries both.
PARAMETER_ALIASES: dict[str, tuple[str, ...]] = {
    "campaign": ("campaign_name", "utm_campaign"),
    "campaign_id": ("campaign_id", "utm_id"),
    "adset": ("adset_name", "adgroup_name"),
    "adset_id": ("adset_id", "adgroup_id"),
    "ad": ("ad_name", "utm_content"),
    "ad_id": ("ad_id",),
    "site_id": ("utm_source",),
    "channel": ("utm_medium",),
    "keywords": ("utm_term",),
}
# TikTok's click id travels as `ttclid` on web, and as `clickid` or `callback` in app campaigns.
CLICK_ID_PARAMETERS = ("ttclid", "clickid", "callback")
ADVERTISING_ID_PARAMETERS = {"idfa": "idfa", "gaid": "gaid", "advertising_id": "gaid"}
# Our own click id, added to the redirect so the web SDK can tie the landing visit to the click.
CLICK_REFERENCE_PARAMETER = "sb_click"
PLAY_REFERRER_CLICK_ID = "sb_click_id"
UNFILLED_MACRO = re.compile(r"^(__[A-Z0-9_]+__|\{[a-z0-9_]+\}|\$\{[^}]*\})\Z")
TRUTHY = {"1", "true", "yes", "on"}

# Link unfurlers and crawlers fetch ad URLs without a person behind them.
PREVIEW_BOTS = re.compile(
    r"facebookexternalhit|facebot|twitterbot|slackbot|linkedinbot|discordbot|telegrambot|"
    r"whatsapp|skypeuripreview|googlebot|bingbot|applebot|pinterest|redditbot|embedly|iframely|"
    r"vkshare|yandexbot|duckduckbot|baiduspider|bytespider|petalbot|ahrefsbot|semrushbot",
    re.IGNORECASE,
)


def is_link_preview(user_agent: str, headers: Mapping[str, str]) -> bool:
    """True for link-preview bots and browser prefetches, which must not count as clicks."""
    purpose = headers.get("Sec-Purpose", "") or headers.get("Purpose", "")
    if "prefetch" in purpose.lower():
        return True
    return bool(PREVIEW_BOTS.search(user_agent))


def find_app_by_public_key(public_key: str) -> App | None:
    if not public_key or len(public_key) > 64:
        return None
    return App.objects.filter(public_key=public_key).first()


def is_valid_media_source(media_source: str) -> bool:
    try:
        media_source_validator(media_source)
    except Exception:
        return False
    return True


def tidy(value: str, max_length: int) -> str:
    value = value.replace("\x00", "").strip()
    value = value.encode("utf-8", "replace").decode("utf-8")
    if UNFILLED_MACRO.match(value):
        return ""
    return value[:max_length]


def link_parameters(query: Mapping[str, str]) -> dict[str, str]:
    """A link's query parameters, without any whose name or value holds a control character
    (NUL, which PostgreSQL refuses, and the like): the click still counts and redirects, only
    the bad parameter is dropped."""
    return {
        key: value
        for key in query
        if first_control_character(key + (value := query.get(key, ""))) is None
    }


def touchpoint_fields(params: Mapping[str, str]) -> dict[str, object]:
    """Touchpoint fields from a link's (or a landing page's) query parameters."""
    fields: dict[str, object] = {}
    for parameter, name in LINK_PARAMETERS.items():
        if params.get(parameter):
            fields[name] = tidy(params[parameter], max_length_of(Touchpoint, name))
    for name, aliases in PARAMETER_ALIASES.items():
        alias = next((a for a in aliases if params.get(a)), None)
        if alias is not None and not fields.get(name):
            fields[name] = tidy(params[alias], max_length_of(Touchpoint, name))
    for parameter in CLICK_ID_PARAMETERS:
        if params.get(parameter) and not fields.get("ttclid"):
            fields["ttclid"] = tidy(params[parameter], 255)
    for parameter, name in ADVERTISING_ID_PARAMETERS.items():
        if params.get(parameter) and not fields.get(name):
            fields[name] = normalise_advertising_id(params[parameter], upper=name == "idfa")
    if params.get("is_retargeting", "").lower() in TRUTHY:
        fields["is_retargeting"] = True
    return {name: value for name, value in fields.items() if value not in ("", None)}


def normalise_advertising_id(value: str, *, upper: bool) -> str:
    try:
        parsed = str(uuid.UUID(value.strip()))
    except ValueError:
        return ""
    if parsed == "00000000-0000-0000-0000-000000000000":  # limit-ad-tracking zeros
        return ""
    return parsed.upper() if upper else parsed


def new_click_id() -> str:
    return secrets.token_hex(16)


def viewer_of(params: Mapping[str, str], ip: str | None, user_agent: str) -> tuple[str | None, str]:
    """The viewer's IP and user agent. TikTok reports app-campaign clicks and views from its own
    servers and passes the viewer's in `af_ip` / `af_ua` (the setup page's link has them)."""
    try:
        forwarded_ip = ipaddress.ip_address(tidy(params.get("af_ip", ""), 45))
    except ValueError:
        forwarded_ip = None
    if forwarded_ip is not None and not getattr(forwarded_ip, "scope_id", None):
        ip = str(forwarded_ip)
    forwarded_user_agent = tidy(params.get("af_ua", ""), 2048)
    return ip, forwarded_user_agent or user_agent


def record_touchpoint(
    app: App,
    *,
    kind: str,
    media_source: str,
    params: Mapping[str, str],
    ip: str | None,
    user_agent: str,
    referrer: str = "",
    url: str = "",
    web_user_id: str = "",
    click_id: str | None = None,
    occurred_at: datetime | None = None,
) -> tuple[Touchpoint, bool]:
    """Store a click or impression. With a caller-chosen `click_id` (the web SDK's visit id) a
    retried request finds the first row instead of adding a second; returns (row, is_new)."""
    ip, user_agent = viewer_of(params, ip, user_agent)
    touchpoint = Touchpoint(
        app=app,
        kind=kind,
        click_id=click_id or new_click_id(),
        occurred_at=occurred_at or timezone.now(),
        media_source=media_source,
        ip=ip,
        user_agent=tidy(user_agent, 2048),
        referrer=tidy(referrer, 4096),
        url=tidy(url, 4096),
        web_user_id=web_user_id,
        **touchpoint_fields(params),
    )
    with transaction.atomic():
        inserted = insert_new_rows(Touchpoint, [touchpoint], ["id"])
        if inserted:
            touchpoint.pk = inserted[0][0]
            return touchpoint, True
        return Touchpoint.objects.get(click_id=touchpoint.click_id), False


def device_family(user_agent: str) -> str:
    if re.search(r"iPhone|iPad|iPod", user_agent):
        return "ios"
    if "Android" in user_agent:
        return "android"
    return "desktop"


def store_app_for(website: App, user_agent: str) -> App | None:
    """Web-to-app: the phone app a website's "app via store" link sends this device to (its
    linked iOS app for iPhones, Android app for Android phones), or None (desktops, or no
    linked app): then the link goes to the website."""
    device = device_family(user_agent)
    linked = {"ios": website.ios_app, "android": website.android_app}.get(device)
    return linked if linked is not None and linked.store_id else None


def link_destination(app: App, touchpoint: Touchpoint, params: Mapping[str, str]) -> str:
    """Where a click goes: the website (web apps, desktops), the App Store for iPhones, Google
    Play for Android phones with our click id in Play's install referrer."""
    device = device_family(touchpoint.user_agent)
    if app.platform == Platform.IOS and device == "ios" and app.store_id:
        return app_store_url(app.store_id)
    if app.platform == Platform.ANDROID and device == "android" and app.store_id:
        return play_store_url(app.store_id, touchpoint)
    if app.website_url:
        carried = dict(params) | {"pid": touchpoint.media_source}
        if touchpoint.click_id:
            carried[CLICK_REFERENCE_PARAMETER] = touchpoint.click_id
        if touchpoint.ttclid:
            carried["ttclid"] = touchpoint.ttclid
        return with_query(app.website_url, carried)
    if app.platform == Platform.IOS and app.store_id:
        return app_store_url(app.store_id)
    if app.platform == Platform.ANDROID and app.store_id:
        return play_store_url(app.store_id, touchpoint)
    return ""


def app_store_url(store_id: str) -> str:
    digits = store_id.removeprefix("id")
    return f"https://apps.apple.com/app/id{quote(digits)}"


def play_store_url(package: str, touchpoint: Touchpoint) -> str:
    referrer = {"pid": touchpoint.media_source}
    if touchpoint.click_id:
        referrer[PLAY_REFERRER_CLICK_ID] = touchpoint.click_id
    if touchpoint.campaign:
        referrer["c"] = touchpoint.campaign
    return "https://play.google.com/store/apps/details?" + urlencode(
        {"id": package, "referrer": urlencode(referrer)}
    )


def with_query(url: str, params: Mapping[str, str]) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True)) | dict(params)
    return urlunsplit(parts._replace(query=urlencode(query)))


def click_id_from_play_referrer(play_referrer: str) -> str:
    """Our click id from Play's install referrer (`sb_click_id=…&pid=…`), if it is there."""
    if not play_referrer:
        return ""
    return dict(parse_qsl(play_referrer.strip())).get(PLAY_REFERRER_CLICK_ID, "")[:64]
