"""Installs (an app's first open, a website's first visit) and re-engagements, and the web SDK's
visit report that records the landing click and the first visit together."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from events.attribution import CLICK, Conversion, decide
from events.models import Install, Touchpoint, click_details_of
from events.services import fraud
from events.services.bulk import insert_new_rows
from events.services.event_input import Errors
from events.services.forwarding import plan_postbacks_for_install
from events.services.matching import (
    ATTRIBUTION_FIELDS,
    UserKeys,
    attribute_conversions,
    attribution_from_touchpoint,
    load_touch_index,
    longest_window,
    lookbacks_for_app,
)
from events.services.normalise import (
    FieldError,
    check_text,
    clean_device_uuid,
    clean_ip,
    column_lengths,
    parse_event_time,
)
from events.services.sessions import add_sessions
from events.services.touchpoints import (
    CLICK_REFERENCE_PARAMETER,
    click_id_from_play_referrer,
    is_valid_media_source,
    record_touchpoint,
    tidy,
)
from integrations.models import App, Platform

ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REENGAGEMENT = "reengagement"
# The web SDK's ids: random, URL-safe, long enough not to collide.
SDK_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# A click id without pid can only have come from a TikTok ad pointing straight at the site.
TIKTOK_WEB_SOURCE = "tiktokweb_int"

INSTALL_ALIASES = {
    "device_id": ("appsflyer_id",),
    "installed_at": ("install_time",),
    "play_referrer": ("install_referrer",),
    "gaid": ("advertising_id",),
}
INSTALL_TEXT_LIMITS = {
    **column_lengths(
        Install,
        ("device_id", "customer_user_id", "web_user_id", "app_version", "os_version", "ttclid"),
    ),
    **column_lengths(Touchpoint, ("click_id",)),  # matched against our clicks' ids
    # Text columns without a length: our own limits.
    "user_agent": 2048,
    "play_referrer": 2048,
}


@dataclass
class InstallDraft:
    device_id: str
    installed_at: datetime
    customer_user_id: str = ""
    web_user_id: str = ""
    idfa: str = ""
    idfv: str = ""
    gaid: str = ""
    ip: str | None = None
    user_agent: str = ""
    play_referrer: str = ""
    app_version: str = ""
    os_version: str = ""
    country_code: str = ""
    ttclid: str = ""
    click_id: str = ""
    ignored_fields: list[str] = field(default_factory=list)


@dataclass
class InstallResult:
    status: str
    install: Install

    def as_dict(self) -> dict[str, Any]:
        install = self.install
        attribution = {name: getattr(install, name) for name in ATTRIBUTION_FIELDS}
        attribution["touch_time"] = (
            install.touch_time.isoformat() if install.touch_time is not None else None
        )
        return {
            "status": self.status,
            "device_id": install.device_id,
            "installed_at": install.installed_at.isoformat(),
            "is_reengagement": install.is_reengagement,
            "attribution": attribution,
        }


def read_install(item: Any, *, received_at: datetime) -> InstallDraft | Errors:
    """Validate an install report; every problem at once, keyed by field."""
    if not isinstance(item, dict):
        return {"item": ["must be a JSON object."]}
    errors: Errors = {}
    raw: dict[str, Any] = dict(item)
    for name, aliases in INSTALL_ALIASES.items():
        for alias in aliases:
            if alias in item:
                if name in item:
                    errors.setdefault(name, []).append(f"give either {name} or {alias}, not both.")
                raw[name] = item[alias]
    cleaned: dict[str, Any] = {}
    known = set(INSTALL_TEXT_LIMITS) | {"installed_at", "idfa", "idfv", "gaid", "ip"}
    known |= {"country_code"}
    for name in known:
        if raw.get(name) is None:
            continue
        try:
            cleaned[name] = _clean_install_field(name, raw[name], received_at)
        except FieldError as error:
            errors.setdefault(name, []).append(str(error))
    if not cleaned.get("device_id"):
        cleaned["device_id"] = cleaned.get("web_user_id", "")
    if not cleaned["device_id"] and "device_id" not in errors:
        errors["device_id"] = [
            "is required: send device_id (or AppsFlyer's appsflyer_id), or web_user_id for a "
            "website's first visit."
        ]
    if errors:
        return errors
    alias_names = {alias for names in INSTALL_ALIASES.values() for alias in names}
    return InstallDraft(
        installed_at=cleaned.pop("installed_at", received_at),
        click_id=cleaned.pop("click_id", "")
        or click_id_from_play_referrer(cleaned.get("play_referrer", "")),
        ignored_fields=sorted(k for k in item if k not in known | alias_names),
        **cleaned,
    )


def _clean_install_field(name: str, value: Any, received_at: datetime) -> Any:
    if name == "installed_at":
        return parse_event_time(value, now=received_at)
    if name in ("idfa", "idfv"):
        return clean_device_uuid(value, upper=True)
    if name == "gaid":
        return clean_device_uuid(value, upper=False)
    if name == "ip":
        return clean_ip(value)
    if name == "country_code":
        code = check_text(value, max_length=2).upper()
        if code and (len(code) != 2 or not code.isalpha() or not code.isascii()):
            raise FieldError("must be a two-letter ISO 3166 country code such as US.")
        return code
    return check_text(value, max_length=INSTALL_TEXT_LIMITS[name])


def as_conversion(app: App, draft: InstallDraft) -> Conversion:
    return Conversion(
        at=draft.installed_at,
        ttclids=frozenset({draft.ttclid} - {""}),
        click_ids=frozenset({draft.click_id} - {""}),
        advertising_ids=frozenset({draft.idfa, draft.gaid} - {""}),
        web_user_id=draft.web_user_id,
        ip=draft.ip,
        user_agent=draft.user_agent,
        allows_probabilistic=app.platform != Platform.WEB,
    )


def record_install(app: App, draft: InstallDraft) -> InstallResult:
    """Store a first install with the attribution it wins, once per device. A known device that
    comes back through a newer, deterministically matched click is a re-engagement: stored as
    its own row and marked, never counted as a first install. Otherwise a repeat is a duplicate
    and the stored install (with its attribution, never recomputed) is returned."""
    with transaction.atomic():
        # Locking the first install serialises concurrent re-engagement checks for one device.
        first = (
            Install.objects.select_for_update()
            .filter(app=app, device_id=draft.device_id, is_reengagement=False)
            .first()
        )
        conversion = as_conversion(app, draft)
        lookbacks = lookbacks_for_app(app)
        if first is None:
            [(decision, touchpoint)] = attribute_conversions(app, [conversion], lookbacks)
            install = _new_install(app, draft, touchpoint, decision.match_type)
            install.fraud_reasons = ",".join(fraud.check_install(app, install, touchpoint))
            inserted = insert_new_rows(Install, [install], ["id"])
            if not inserted:  # a concurrent request stored this device's first open first
                existing = Install.objects.get(
                    app=app, device_id=draft.device_id, is_reengagement=False
                )
                return InstallResult(DUPLICATE, existing)
            install.pk = inserted[0][0]
            fraud.flag_burst_companions(app, install)
            plan_postbacks_for_install(app, install)
            return InstallResult(ACCEPTED, install)
        # The device's newest install (the first one exists, so there is one).
        latest = Install.objects.filter(app=app, device_id=draft.device_id).latest(
            "installed_at", "pk"
        )
        index = load_touch_index(app, [conversion], longest_window(lookbacks))
        newer_clicks = [
            touch
            for touch in index.candidates(conversion)
            if touch.kind == CLICK and touch.occurred_at > latest.installed_at
        ]
        deterministic = Conversion(**{**conversion.__dict__, "allows_probabilistic": False})
        decision = decide(deterministic, newer_clicks, lookbacks)
        if decision.touch is None:
            return InstallResult(DUPLICATE, first)
        touchpoint = index.by_pk[decision.touch.key]
        install = _new_install(app, draft, touchpoint, decision.match_type, is_reengagement=True)
        install.fraud_reasons = ",".join(fraud.check_install(app, install, touchpoint))
        install.pk = insert_new_rows(Install, [install], ["id"])[0][0]
        fraud.flag_burst_companions(app, install)
        plan_postbacks_for_install(app, install)
        return InstallResult(REENGAGEMENT, install)


def _new_install(
    app: App,
    draft: InstallDraft,
    touchpoint: Touchpoint | None,
    match_type: str,
    *,
    is_reengagement: bool = False,
) -> Install:
    return Install(
        app=app,
        touchpoint=touchpoint,
        installed_at=draft.installed_at,
        **UserKeys.of(draft).as_fields(),
        ip=draft.ip,
        user_agent=draft.user_agent,
        country_code=draft.country_code,
        os_version=draft.os_version,
        app_version=draft.app_version,
        play_referrer=draft.play_referrer,
        is_reengagement=is_reengagement,
        **attribution_from_touchpoint(touchpoint, match_type),
        **click_details_of(touchpoint),
    )


@dataclass
class VisitDraft:
    web_user_id: str
    visit_id: str
    params: dict[str, str]
    url: str = ""
    referrer: str = ""


def read_visit(item: Any) -> VisitDraft | Errors:
    """The web SDK's visit report: its ids, the landing URL's query parameters, the referrer."""
    if not isinstance(item, dict):
        return {"item": ["must be a JSON object."]}
    errors: Errors = {}
    for name in ("web_user_id", "visit_id"):
        value = item.get(name)
        if not isinstance(value, str) or not SDK_ID.fullmatch(value):
            errors[name] = ["is required: 8 to 64 letters, digits, '-' or '_'."]
    params = item.get("params", {})
    if not isinstance(params, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in params.items()
    ):
        errors["params"] = ["must be an object of query parameter names to string values."]
    elif len(params) > 100:
        errors["params"] = ["must hold at most 100 parameters."]
    else:
        errors.update(_param_errors(params))
    texts: dict[str, str] = {}
    for name in ("url", "referrer"):
        try:
            value = item.get(name)
            texts[name] = "" if value is None else check_text(value, max_length=4096)
        except FieldError as error:
            errors[name] = [str(error)]
    if errors:
        return errors
    return VisitDraft(
        web_user_id=item["web_user_id"],
        visit_id=item["visit_id"],
        params={tidy(k, 64): tidy(v, 1024) for k, v in params.items()},
        **texts,
    )


def _param_errors(params: dict[str, str]) -> Errors:
    """Parameters are tidied (trimmed, cut) like a link's, but what no column can hold (NUL, a
    lone surrogate) is refused, naming the parameter."""
    problems = []
    for name, value in params.items():
        for text in (name, value):
            try:
                check_text(text, max_length=len(text))
            except FieldError as error:
                problems.append(f"{name[:64]!r} {error}")
                break
    return {"params": problems} if problems else {}


@dataclass
class VisitResult:
    install: InstallResult
    is_click_recorded: bool
    click_lookback_days: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "install": self.install.as_dict(),
            "click_recorded": self.is_click_recorded,
            "click_lookback_days": self.click_lookback_days,
        }


def record_visit(app: App, visit: VisitDraft, *, ip: str | None, user_agent: str) -> VisitResult:
    """A landing-page visit: the ad click it carries (if any) becomes a touchpoint tied to the
    visitor's web user id, then the first visit is recorded as the website's install."""
    params = visit.params
    media_source = params.get("pid") or (TIKTOK_WEB_SOURCE if params.get("ttclid") else "")
    click_reference = params.get(CLICK_REFERENCE_PARAMETER, "")[:64]
    now = timezone.now()
    is_click_recorded = False
    with transaction.atomic():
        if click_reference:
            # The visitor came through our attribution link, which already recorded the click.
            is_click_recorded = bool(
                Touchpoint.objects.filter(app=app, click_id=click_reference, web_user_id="").update(
                    web_user_id=visit.web_user_id
                )
            )
        elif media_source and is_valid_media_source(media_source):
            _, is_click_recorded = record_touchpoint(
                app,
                kind=CLICK,
                media_source=media_source,
                params=params,
                ip=ip,
                user_agent=user_agent,
                referrer=visit.referrer,
                url=visit.url,
                web_user_id=visit.web_user_id,
                click_id=f"v-{visit.visit_id[:62]}",
                occurred_at=now,
            )
        draft = InstallDraft(
            device_id=visit.web_user_id,
            web_user_id=visit.web_user_id,
            installed_at=now,
            ip=ip,
            user_agent=tidy(user_agent, 2048),
            ttclid=tidy(params.get("ttclid", ""), 255),
            click_id=click_reference,
        )
        install = record_install(app, draft)
        # Every visit is a session of the visitor (the first one also their "install").
        day = now.astimezone(ZoneInfo(app.timezone or "UTC")).date()
        add_sessions(app, Counter({(visit.web_user_id, day, install.install.pk): 1}))
    lookback = lookbacks_for_app(app).get(media_source)
    days = lookback.click.days if lookback else 7
    return VisitResult(install, is_click_recorded, days)
