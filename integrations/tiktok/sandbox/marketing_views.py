"""The sandbox's advertiser OAuth and Reporting endpoints (spec §4, §5, §7).

The consent page stands in for TikTok's "Advertiser authorization" page; the JSON endpoints
answer in TikTok's envelope, HTTP 200 for errors too.
"""

from __future__ import annotations

import ast
import hashlib
import json
import secrets
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from integrations.tiktok.sandbox import marketing, state
from integrations.tiktok.sandbox.models import AccessToken, AuthCode
from integrations.tiktok.sandbox.views import _answer, _apply_fault, envelope

AUTH_CODE_LIFETIME = timedelta(hours=1)  # §4.1
SCOPES = [1, 2, 3, 4, 7, 11]
ATTRIBUTE_METRICS = {
    "campaign_name", "campaign_id", "adgroup_name", "adgroup_id", "ad_name", "currency",
    "objective_type", "promotion_type", "placement_type", "ad_text", "call_to_action",
    *("app_promotion_type", "bid", "bid_strategy", "billing_event", "budget", "campaign_budget",
      "campaign_dedicate_type", "dpa_target_audience_type", "image_mode", "is_smart_creative",
      "mobile_app_id", "opt_status", "rf_campaign_type", "smart_target", "split_test",
      "tt_app_id", "tt_app_name"),
}  # fmt: skip
# Ad attributes the sandbox has no model for: TikTok sends these as plain strings.
PLAIN_ATTRIBUTES = {
    "app_promotion_type": "UNSET", "bid": "0", "bid_strategy": "BID_STRATEGY_MAX_CONVERSION",
    "billing_event": "OCPM", "budget": "50.00", "campaign_budget": "0.00",
    "campaign_dedicate_type": "NOT_DSA", "dpa_target_audience_type": "", "image_mode": "",
    "is_smart_creative": "false", "mobile_app_id": "0", "opt_status": "ENABLE",
    "rf_campaign_type": "STANDARD", "smart_target": "", "split_test": "",
    "tt_app_id": "0", "tt_app_name": "",
}  # fmt: skip
# BASIC counters TikTok documents beyond the four the sandbox computes directly; each is derived
# deterministically from impressions (rates from their counter), always sent as a string.
DERIVED_COUNTERS = {
    "reach": 800, "result": 9, "real_time_conversion": 10, "real_time_result": 9,
    "secondary_goal_result": 3, "video_play_actions": 600, "video_watched_2s": 400,
    "video_watched_6s": 200, "video_views_p25": 300, "video_views_p50": 200,
    "video_views_p75": 120, "video_views_p100": 80, "profile_visits": 15, "likes": 25,
    "comments": 3, "shares": 4, "follows": 5, "clicks_on_music_disc": 1,
    "real_time_app_install": 6, "app_install": 6, "engaged_view": 90, "engaged_view_15s": 50,
    "paid_engaged_view": 40, "paid_engagement_engaged_view": 30, "gross_impressions": 1100,
}  # fmt: skip
DERIVED_RATIOS = {
    "frequency", "average_video_play", "average_video_play_per_user", "cost_per_1000_reached",
    "conversion_rate", "cost_per_result", "result_rate", "real_time_cost_per_conversion",
    "real_time_conversion_rate", "real_time_cost_per_result", "real_time_result_rate",
    "cost_per_secondary_goal_result", "secondary_goal_result_rate",
    "real_time_app_install_cost", "profile_visits_rate", "conversion_rate_v2",
    "real_time_conversion_rate_v2",
}  # fmt: skip
# In-app, page-event and attribution counters (per mille of impressions, like the above), the
# value they carry per event in the advertiser's currency, and the costs and rates derived.
EVENT_COUNTERS = {
    "purchase": 2, "complete_payment": 2, "registration": 4, "sales_lead": 1,
    "total_app_event_add_to_cart": 5, "total_pageview": 30, "onsite_shopping": 1,
    "cta_conversion": 8, "vta_conversion": 2, "cta_purchase": 2, "vta_purchase": 1,
}  # fmt: skip
EVENT_VALUES = {
    "total_purchase_value": ("purchase", 35),
    "total_onsite_shopping_value": ("onsite_shopping", 40),
}
EVENT_RATIOS = {
    "cost_per_app_install", "cost_per_purchase", "cost_per_registration",
    "cost_per_sales_lead", "cost_per_total_sales_lead", "cost_per_total_app_event_add_to_cart",
    "purchase_rate", "registration_rate", "sales_lead_rate", "total_complete_payment_rate",
    "value_per_complete_payment",
}  # fmt: skip
SPEND_SPLIT = {"cash_spend", "voucher_spend"}  # every sandbox cent is cash
KNOWN_METRICS = (
    {"spend", "impressions", "clicks", "conversion", "ctr", "cpc", "cpm", "cost_per_conversion"}
    | ATTRIBUTE_METRICS
    | set(DERIVED_COUNTERS)
    | DERIVED_RATIOS
    | set(EVENT_COUNTERS)
    | set(EVENT_VALUES)
    | EVENT_RATIOS
    | SPEND_SPLIT
)
# Breakdowns by who saw the ads (AUDIENCE reports) and by hour: each ad's delivery in a
# country on a day is split by these fixed shares, so every breakdown sums to the same totals.
AUDIENCE_SHARES: dict[str, list[tuple[str, int]]] = {
    "gender": [("MALE", 55), ("FEMALE", 42), ("NONE", 3)],
    "age": [
        ("AGE_13_17", 2), ("AGE_18_24", 30), ("AGE_25_34", 35), ("AGE_35_44", 18),
        ("AGE_45_54", 10), ("AGE_55_100", 5),
    ],
    "platform": [("IOS", 45), ("ANDROID", 50), ("PC", 5)],
}  # fmt: skip
# province_id: geoname ids of each country's regions the sandbox delivers in.
PROVINCE_SHARES: dict[str, list[tuple[str, int]]] = {
    "US": [("5332921", 40), ("4736286", 35), ("5128638", 25)],
    "GB": [("6269131", 85), ("2638360", 15)],
    "JP": [("1850144", 60), ("1853904", 40)],
    "DE": [("2951839", 50), ("2861876", 50)],
    "FR": [("3012874", 100)],
    "NL": [("2749879", 100)],
}
HOUR_SHARES = [
    (f"{h:02d}", w)
    for h, w in enumerate([2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 5, 5, 5, 5, 5, 5, 5, 6, 7, 8, 8, 7, 5, 3])
]
AUDIENCE_DIMENSIONS = {"gender", "age", "platform", "province_id", "country_code"}
BASIC_DIMENSIONS = {"country_code"}
# data_level → the id dimension it is grouped by (§5): every level sums the ad-level rows.
LEVEL_IDS = {
    "AUCTION_AD": "ad_id",
    "AUCTION_ADGROUP": "adgroup_id",
    "AUCTION_CAMPAIGN": "campaign_id",
    "AUCTION_ADVERTISER": "advertiser_id",
}
MAX_DAYS_WITH_STAT_TIME_DAY = 30


class Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def registered_redirect_uris() -> list[str]:
    """The sandbox developer app's registered redirect URLs (TikTok allows up to 10 per app,
    §4.1): ours, the OAuth callback under PUBLIC_BASE_URL."""
    path = reverse(f"{settings.SOCIAL_AUTH_URL_NAMESPACE}:complete", args=["tiktok-business"])
    return [f"{settings.PUBLIC_BASE_URL}{path}"]


def consent(request: HttpRequest) -> HttpResponse:
    """GET/POST /portal/auth: the advertiser picks accounts and approves or declines (§4.1)."""
    params = request.POST if request.method == "POST" else request.GET
    app_id = params.get("app_id", "")
    redirect_uri = params.get("redirect_uri", "")
    oauth_state = params.get("state", "")
    problem = ""
    registered = registered_redirect_uris()
    if not redirect_uri.startswith(("http://", "https://")):
        problem = "redirect_uri is missing or not a URL."
    elif redirect_uri not in registered:
        # Compared exactly, as TikTok does: anything else would send the code (or the browser)
        # wherever a crafted link says.
        problem = (
            f"The redirect_uri {redirect_uri!r} is not registered for this app. "
            f"Registered: {', '.join(registered)}."
        )
    elif settings.TIKTOK_APP_ID and app_id != settings.TIKTOK_APP_ID:
        problem = f"No TikTok developer app has the app_id {app_id!r}."
    if problem:
        return render(request, "tiktok_sandbox/consent.html", {"problem": problem}, status=400)
    if request.method == "POST":
        if "decline" in request.POST:
            query = {"state": oauth_state, "error": "access_denied"}
            return HttpResponseRedirect(f"{redirect_uri}?{urlencode(query)}")
        chosen = [a for a in request.POST.getlist("advertiser_id") if a in marketing.ADVERTISERS]
        code = secrets.token_hex(16)
        AuthCode.objects.create(
            code_hash=_hash(code), advertiser_ids=chosen, redirect_uri=redirect_uri
        )
        query = {"auth_code": code, "code": code, "state": oauth_state}
        return HttpResponseRedirect(f"{redirect_uri}?{urlencode(query)}")
    return render(
        request,
        "tiktok_sandbox/consent.html",
        {
            "advertisers": marketing.ADVERTISERS.values(),
            "default_grant": marketing.DEFAULT_GRANT,
            "app_id": app_id,
            "redirect_uri": redirect_uri,
            "state": oauth_state,
        },
    )


def _json_body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise Refused(40002, "body: Invalid JSON.") from None
    if not isinstance(body, dict):
        raise Refused(40002, "body: must be a JSON object.")
    return body


def _check_app(app_id: Any, secret: Any) -> None:
    if app_id != settings.TIKTOK_APP_ID or secret != settings.TIKTOK_APP_SECRET:
        raise Refused(40101, "The app_id or secret is incorrect.")


def _token_of(request: HttpRequest) -> tuple[str, AccessToken]:
    token = request.headers.get("Access-Token", "")
    if not token:
        raise Refused(
            40104, "Access token is null, you should set it in http header with key Access-Token."
        )
    known = state.find_token(token)
    if known is None or known.revoked_at is not None:
        raise Refused(40105, "Access token is incorrect or has been revoked.")
    return token, known


def _json_list(raw: str, name: str) -> list[Any]:
    """List parameters arrive JSON-encoded (§0); old clients sent a Python repr."""
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        try:
            value = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            raise Refused(40002, f"{name}: Not a valid list.") from None
    if not isinstance(value, list):
        raise Refused(40002, f"{name}: Not a valid list.")
    return value


def _refusal(
    request: HttpRequest, target: str, token: str, body: Any, error: Refused
) -> JsonResponse:
    return _answer(request, target, token, body, envelope(error.code, str(error)))


@csrf_exempt
def access_token(request: HttpRequest) -> HttpResponse:
    """POST /open_api/v1.3/oauth2/access_token/ (§4.2): single-use, one-hour auth codes."""
    body: Any = None
    try:
        body = _json_body(request)
        _check_app(body.get("app_id"), body.get("secret"))
        code = str(body.get("auth_code") or "")
        row = AuthCode.objects.filter(code_hash=_hash(code)).first() if code else None
        if row is None:
            raise Refused(40101, "auth_code is invalid.")
        is_expired = timezone.now() - row.created_at > AUTH_CODE_LIFETIME
        # The conditional update makes the code single use even under concurrent exchanges.
        claimed = AuthCode.objects.filter(pk=row.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        if is_expired or not claimed:
            raise Refused(40110, "Auth code has been used or has expired.")
    except Refused as error:
        return _refusal(request, "", "", _redacted(body), error)
    token = state.issue_token(advertiser_ids=row.advertiser_ids)
    data = {"access_token": token, "advertiser_ids": row.advertiser_ids, "scope": SCOPES}
    state.record_request(
        path=request.path, target="", token=token, body=_redacted(body), answer=envelope()
    )
    return JsonResponse(envelope(data=data))


def _redacted(body: Any) -> Any:
    if not isinstance(body, dict):
        return body
    hidden = ("secret", "auth_code", "access_token")
    return {key: ("[removed]" if key in hidden else value) for key, value in body.items()}


def advertiser_get(request: HttpRequest) -> HttpResponse:
    """GET /open_api/v1.3/oauth2/advertiser/get/ (§4.3)."""
    token = request.headers.get("Access-Token", "")
    try:
        token, known = _token_of(request)
        _check_app(request.GET.get("app_id"), request.GET.get("secret"))
    except Refused as error:
        return _refusal(request, "", token, None, error)
    rows = [
        {"advertiser_id": a, "advertiser_name": marketing.ADVERTISERS[a].name}
        for a in known.advertiser_ids
        if a in marketing.ADVERTISERS
    ]
    return _answer(request, "", token, None, envelope(data={"list": rows}))


def advertiser_info(request: HttpRequest) -> HttpResponse:
    """GET /open_api/v1.3/advertiser/info/ (§4.5)."""
    token = request.headers.get("Access-Token", "")
    try:
        token, known = _token_of(request)
        wanted = _json_list(request.GET.get("advertiser_ids", ""), "advertiser_ids")
        for advertiser_id in wanted:
            if advertiser_id not in known.advertiser_ids:
                raise Refused(40001, f"No permission to operate advertiser {advertiser_id}.")
    except Refused as error:
        return _refusal(request, "", token, None, error)
    rows = []
    for advertiser_id in wanted:
        a = marketing.ADVERTISERS[advertiser_id]
        rows.append(
            {
                "advertiser_id": a.advertiser_id,
                "name": a.name,
                "currency": a.currency,
                "timezone": a.timezone,
                "display_timezone": a.timezone,
                "status": "STATUS_ENABLE",
                "role": "ROLE_ADVERTISER",
                "create_time": marketing.created_at(a.advertiser_id),
            }
        )
    return _answer(request, "", token, None, envelope(data={"list": rows}))


# campaign/get, adgroup/get, ad/get: the entity, its id filter and the ids it lists.
ENTITY_IDS = {"campaign": "campaign_ids", "adgroup": "adgroup_ids", "ad": "ad_ids"}


def entity_get(request: HttpRequest, entity: str) -> HttpResponse:
    """GET /open_api/v1.3/{campaign,adgroup,ad}/get/: paged, filterable by ids and status,
    create_time/modify_time as TikTok formats them ("YYYY-MM-DD HH:MM:SS", UTC)."""
    token = request.headers.get("Access-Token", "")
    target = request.GET.get("advertiser_id", "")
    try:
        token, known = _token_of(request)
        if not target:
            raise Refused(40002, "advertiser_id: Missing data for required field.")
        if target not in known.advertiser_ids or target not in marketing.ADVERTISERS:
            raise Refused(40001, f"No permission to operate advertiser {target}.")
        page, page_size = _paging(request.GET)
        raw = request.GET.get("filtering", "")
        filtering = json.loads(raw) if raw else {}
        if not isinstance(filtering, dict):
            raise Refused(40002, "filtering: must be a JSON object.")
    except json.JSONDecodeError:
        return _refusal(request, target, token, None, Refused(40002, "filtering: Invalid JSON."))
    except Refused as error:
        return _refusal(request, target, token, None, error)
    rows = marketing.entities(marketing.ADVERTISERS[target], entity)
    wanted_ids = filtering.get(ENTITY_IDS[entity])
    if wanted_ids:
        rows = [r for r in rows if r[f"{entity}_id"] in {str(i) for i in wanted_ids}]
    status = filtering.get("primary_status") or filtering.get("secondary_status")
    if status and status != "STATUS_ALL":
        rows = [r for r in rows if r["operation_status"] == status.replace("STATUS_", "")]
    elif not status:
        rows = [r for r in rows if r["operation_status"] != "DELETE"]
    total = len(rows)
    data = {
        "list": rows[(page - 1) * page_size : page * page_size],
        "page_info": {
            "page": page,
            "page_size": page_size,
            "total_number": total,
            "total_page": (total + page_size - 1) // page_size,
        },
    }
    return _answer(request, target, token, None, envelope(data=data))


def user_info(request: HttpRequest) -> HttpResponse:
    """GET /open_api/v1.3/user/info/: who the token belongs to (clients' connection check)."""
    token = request.headers.get("Access-Token", "")
    try:
        token, known = _token_of(request)
    except Refused as error:
        return _refusal(request, "", token, None, error)
    data = {
        "core_user_id": "7" + known.token_hash[:18].translate(str.maketrans("abcdef", "123456")),
        "display_name": "Sandbox advertiser user",
        "email": "sandbox-user@example.com",
        "avatar_url": "",
        "create_time": marketing.created_at(known.token_hash[:8]),
    }
    return _answer(request, "", token, None, envelope(data=data))


@csrf_exempt
def revoke_token(request: HttpRequest) -> HttpResponse:
    """POST /open_api/v1.3/oauth2/revoke_token/ (§4.4). A token already revoked is refused like
    an unknown one. Faults are injected with the developer app's `app_id` as target."""
    body: Any = None
    try:
        body = _json_body(request)
    except Refused as error:
        return _refusal(request, "", "", None, error)
    app_id = body.get("app_id")
    faulted = _apply_fault(request, app_id if isinstance(app_id, str) else "", "", _redacted(body))
    if faulted is not None:
        return faulted
    try:
        _check_app(app_id, body.get("secret"))
        token = str(body.get("access_token") or "")
        known = state.find_token(token)
        if known is None or known.revoked_at is not None:
            raise Refused(40105, "Access token is incorrect or has been revoked.")
    except Refused as error:
        return _refusal(request, "", "", _redacted(body), error)
    state.revoke_token(token)
    data = {"app_id": settings.TIKTOK_APP_ID, "advertiser_ids": known.advertiser_ids}
    return _answer(request, "", token, _redacted(body), envelope(data=data))


def report(request: HttpRequest) -> HttpResponse:
    """GET /open_api/v1.3/report/integrated/get/ (§5): ad level, daily, optional country."""
    token = request.headers.get("Access-Token", "")
    target = request.GET.get("advertiser_id", "")
    query = dict(request.GET.items())
    faulted = _apply_fault(request, target, token, query)
    if faulted is not None:
        return faulted
    try:
        token, known = _token_of(request)
        answer = _report_page(request.GET, known)
    except Refused as error:
        return _refusal(request, target, token, query, error)
    return _answer(request, target, token, query, answer)


def _report_page(params: Any, known: AccessToken) -> dict[str, Any]:
    advertiser_id = params.get("advertiser_id", "")
    if not advertiser_id:
        raise Refused(40002, "advertiser_id: Missing data for required field.")
    if advertiser_id not in known.advertiser_ids or advertiser_id not in marketing.ADVERTISERS:
        raise Refused(40001, f"No permission to operate advertiser {advertiser_id}.")
    advertiser = marketing.ADVERTISERS[advertiser_id]
    report_type = params.get("report_type", "")
    if report_type not in ("BASIC", "AUDIENCE"):
        raise Refused(40002, "report_type: the sandbox answers BASIC and AUDIENCE reports.")
    level = params.get("data_level", "")
    if level not in LEVEL_IDS:
        raise Refused(40002, f"data_level: must be one of {', '.join(LEVEL_IDS)}.")
    id_dimension = LEVEL_IDS[level]
    dimensions = _json_list(params.get("dimensions", "[]"), "dimensions")
    if id_dimension not in dimensions:
        raise Refused(40002, f"dimensions: {level} reports need {id_dimension}.")
    breakdowns = [d for d in dimensions if d not in (id_dimension, "stat_time_day")]
    allowed = AUDIENCE_DIMENSIONS if report_type == "AUDIENCE" else BASIC_DIMENSIONS
    if set(breakdowns) - allowed - {"stat_time_hour"}:
        raise Refused(40002, f"dimensions: unsupported dimension in {dimensions}.")
    by_day = "stat_time_day" in dimensions
    by_hour = "stat_time_hour" in dimensions
    if by_day and by_hour:
        raise Refused(40002, "dimensions: use stat_time_day or stat_time_hour, not both.")
    metrics = _json_list(params.get("metrics", '["spend","impressions"]'), "metrics")
    unknown = [m for m in metrics if m not in KNOWN_METRICS]
    if unknown:
        raise Refused(40002, f"metrics: unknown metric {unknown[0]}.")
    if str(params.get("query_lifetime", params.get("lifetime", ""))).lower() == "true":
        if by_day or by_hour or "country_code" in breakdowns:
            raise Refused(
                40002, "dimensions: lifetime reports take no time or country_code dimension."
            )
        start = datetime.fromtimestamp(marketing.created_at(advertiser_id), tz=UTC).date()
        end = advertiser.local_today()
    else:
        start, end = _date_span(params, max_days=_longest_span(by_day=by_day, by_hour=by_hour))
    page, page_size = _paging(params)
    # §5.1: below the advertiser level TikTok leaves deleted campaigns out unless asked.
    include_deleted = level == "AUCTION_ADVERTISER" or _has_status_all(params.get("filtering", ""))
    rows = _rows(
        advertiser,
        start,
        end,
        id_dimension=id_dimension,
        by_day=by_day or by_hour,
        breakdowns=breakdowns,
        include_deleted=include_deleted,
    )
    total = len(rows)
    chosen = rows[(page - 1) * page_size : page * page_size]
    return envelope(
        data={
            "list": [_render_row(advertiser, row, metrics, id_dimension, by_day) for row in chosen],
            "page_info": {
                "page": page,
                "page_size": page_size,
                "total_number": total,
                "total_page": (total + page_size - 1) // page_size,
            },
        }
    )


def _longest_span(*, by_day: bool, by_hour: bool) -> int:
    """§5.1: 1 day with stat_time_hour, 30 with stat_time_day, 365 with no time dimension."""
    if by_hour:
        return 1
    return MAX_DAYS_WITH_STAT_TIME_DAY if by_day else 365


def _date_span(params: Any, *, max_days: int) -> tuple[date, date]:
    try:
        start = date.fromisoformat(params.get("start_date", ""))
        end = date.fromisoformat(params.get("end_date", ""))
    except ValueError:
        raise Refused(40002, "start_date/end_date: use YYYY-MM-DD.") from None
    if end < start:
        raise Refused(40002, "end_date must not be earlier than start_date.")
    if (end - start).days + 1 > max_days:
        raise Refused(
            40002,
            f"The time span between start_date and end_date exceeds {max_days} "
            f"day{'s' if max_days != 1 else ''}.",
        )
    return start, end


def _paging(params: Any) -> tuple[int, int]:
    try:
        page = int(params.get("page", "1"))
        page_size = int(params.get("page_size", "10"))
    except ValueError:
        raise Refused(40002, "page/page_size: Not a valid integer.") from None
    if page < 1 or not 1 <= page_size <= 1000:
        raise Refused(40002, "page_size: must be between 1 and 1000.")
    return page, page_size


def _has_status_all(raw: str) -> bool:
    if not raw:
        return False
    for item in _json_list(raw, "filtering"):
        if not isinstance(item, dict) or item.get("field_name") != "campaign_status":
            continue
        values = item.get("filter_value", "[]")
        values = _json_list(values, "filter_value") if isinstance(values, str) else values
        if "STATUS_ALL" in values:
            return True
    return False


Segment = tuple[tuple[str, str], ...]  # (dimension, value) pairs, in the request's order
Row = tuple[date | None, marketing.Ad, Segment, marketing.Metrics]


def _rows(
    advertiser: marketing.SandboxAdvertiser,
    start: date,
    end: date,
    *,
    id_dimension: str,
    by_day: bool,
    breakdowns: list[str],
    include_deleted: bool,
) -> list[Row]:
    """The ad-level delivery split by the breakdowns and summed to the level's id (and day
    when asked): the ad kept in each row stands for its group's campaign/ad group names."""
    rows = marketing.delivery(advertiser, start, end, include_deleted=include_deleted)
    summed: dict[tuple[date | None, str, Segment], Row] = {}
    for day, ad, country, metrics in rows:
        group = (
            advertiser.advertiser_id
            if id_dimension == "advertiser_id"
            else getattr(ad, id_dimension)
        )
        for segment, part in _segments(advertiser, day, country, metrics, breakdowns):
            key = (day if by_day else None, group, segment)
            previous = summed.get(key)
            summed[key] = (key[0], ad, segment, previous[3] + part if previous else part)
    return list(summed.values())


def _segments(
    advertiser: marketing.SandboxAdvertiser,
    day: date,
    country: str,
    metrics: marketing.Metrics,
    breakdowns: list[str],
) -> list[tuple[Segment, marketing.Metrics]]:
    """One delivery row split by each breakdown in turn (fixed shares; parts sum exactly)."""
    parts: list[tuple[Segment, marketing.Metrics]] = [((), metrics)]
    for dimension in breakdowns:
        if dimension == "country_code":
            shares = [(country, 1)]
        elif dimension == "province_id":
            shares = PROVINCE_SHARES.get(country, [("0", 1)])
        elif dimension == "stat_time_hour":
            shares = [(f"{day.isoformat()} {hour}:00:00", w) for hour, w in HOUR_SHARES]
        else:
            shares = AUDIENCE_SHARES[dimension]
        parts = [
            ((*segment, (dimension, value)), piece)
            for segment, whole in parts
            for (value, _), piece in zip(
                shares, _split(whole, [w for _, w in shares], advertiser.currency), strict=True
            )
        ]
    return parts


def _split(m: marketing.Metrics, weights: list[int], currency: str) -> list[marketing.Metrics]:
    """`m` in parts by `weights`: whole counts and whole currency units (cents, or yen), the
    remainder in the last part, so the parts add up to `m` exactly."""
    scale = 1 if currency in marketing.ZERO_DECIMAL_CURRENCIES else 100
    cents = int(m.spend * scale)
    total = sum(weights)
    values = [cents, m.impressions, m.clicks, m.conversion]
    pieces = [[v * w // total for v in values] for w in weights]
    for index, value in enumerate(values):
        pieces[-1][index] += value - sum(piece[index] for piece in pieces)
    return [
        marketing.Metrics(Decimal(c) / scale, impressions, clicks, conversion)
        for c, impressions, clicks, conversion in pieces
    ]


def _render_row(
    advertiser: marketing.SandboxAdvertiser,
    row: Row,
    metrics: list[str],
    id_dimension: str,
    by_day: bool,
) -> dict[str, Any]:
    day, ad, segment, m = row
    group = (
        advertiser.advertiser_id if id_dimension == "advertiser_id" else getattr(ad, id_dimension)
    )
    dimensions = {id_dimension: group}
    if by_day and day is not None:
        dimensions["stat_time_day"] = marketing.stat_time_day(day)
    dimensions.update(dict(segment))
    money = marketing.format_money
    values: dict[str, Any] = {
        "spend": money(m.spend, advertiser.currency),
        "cash_spend": money(m.spend, advertiser.currency),
        "voucher_spend": money(Decimal(0), advertiser.currency),
        "impressions": str(m.impressions),
        "clicks": m.clicks,  # some counters come unquoted (§5.2)
        "conversion": str(m.conversion),
        # A cost or rate with nothing to divide by is zero, as TikTok sends it; "-" is for
        # metrics that do not apply at all (tap-tiktok-ads reads only those as null).
        "ctr": f"{100 * m.clicks / m.impressions:.2f}" if m.impressions else "0.00",
        "cpc": money(m.spend / m.clicks if m.clicks else Decimal(0), advertiser.currency),
        "cpm": money(
            1000 * m.spend / m.impressions if m.impressions else Decimal(0), advertiser.currency
        ),
        "cost_per_conversion": money(
            m.spend / m.conversion if m.conversion else Decimal(0), advertiser.currency
        ),
        "campaign_name": ad.campaign_name,
        "campaign_id": ad.campaign_id,
        "adgroup_name": ad.adgroup_name,
        "adgroup_id": ad.adgroup_id,
        "ad_name": ad.ad_name,
        "currency": advertiser.currency,
        "objective_type": "CONVERSIONS",
        "promotion_type": "WEBSITE",
        "placement_type": "PLACEMENT_TYPE_AUTOMATIC",
        "ad_text": ad.ad_name,
        "call_to_action": "SHOP_NOW",
    }
    counters = {
        name: m.impressions * per_mille // 1000
        for name, per_mille in {**DERIVED_COUNTERS, **EVENT_COUNTERS}.items()
    }
    values.update({name: str(count) for name, count in counters.items()})
    values.update(
        {
            name: money(Decimal(counters[event] * unit_value), advertiser.currency)
            for name, (event, unit_value) in EVENT_VALUES.items()
        }
    )
    values.update(PLAIN_ATTRIBUTES)
    values.update(_ratios(advertiser, m, counters))
    return {"dimensions": dimensions, "metrics": {name: values[name] for name in metrics}}


def _ratios(
    advertiser: marketing.SandboxAdvertiser, m: marketing.Metrics, counters: dict[str, int]
) -> dict[str, str]:
    money = marketing.format_money

    def per(amount: Any, count: int) -> str:
        return money(amount / count, advertiser.currency) if count else "0"

    def rate(part: int, whole: int) -> str:
        return f"{100 * part / whole:.2f}" if whole else "0.00"

    reach = counters["reach"]
    plays = counters["video_play_actions"]
    return {
        "frequency": f"{m.impressions / reach:.2f}" if reach else "0.00",
        "average_video_play": f"{3 + plays % 7 / 10:.2f}",
        "average_video_play_per_user": f"{1 + plays % 5 / 10:.2f}",
        "cost_per_1000_reached": per(1000 * m.spend, reach),
        "conversion_rate": rate(m.conversion, m.clicks),
        "conversion_rate_v2": rate(m.conversion, m.impressions),
        "real_time_conversion_rate_v2": rate(counters["real_time_conversion"], m.impressions),
        "cost_per_result": per(m.spend, counters["result"]),
        "result_rate": rate(counters["result"], m.impressions),
        "real_time_cost_per_conversion": per(m.spend, counters["real_time_conversion"]),
        "real_time_conversion_rate": rate(counters["real_time_conversion"], m.clicks),
        "real_time_cost_per_result": per(m.spend, counters["real_time_result"]),
        "real_time_result_rate": rate(counters["real_time_result"], m.impressions),
        "cost_per_secondary_goal_result": per(m.spend, counters["secondary_goal_result"]),
        "secondary_goal_result_rate": rate(counters["secondary_goal_result"], m.impressions),
        "real_time_app_install_cost": per(m.spend, counters["real_time_app_install"]),
        "profile_visits_rate": rate(counters["profile_visits"], m.impressions),
        "cost_per_app_install": per(m.spend, counters["app_install"]),
        "cost_per_purchase": per(m.spend, counters["purchase"]),
        "cost_per_registration": per(m.spend, counters["registration"]),
        "cost_per_sales_lead": per(m.spend, counters["sales_lead"]),
        "cost_per_total_sales_lead": per(m.spend, counters["sales_lead"]),
        "cost_per_total_app_event_add_to_cart": per(
            m.spend, counters["total_app_event_add_to_cart"]
        ),
        "purchase_rate": rate(counters["purchase"], m.clicks),
        "registration_rate": rate(counters["registration"], m.clicks),
        "sales_lead_rate": rate(counters["sales_lead"], m.clicks),
        "total_complete_payment_rate": rate(counters["complete_payment"], m.clicks),
        "value_per_complete_payment": per(
            Decimal(counters["purchase"] * EVENT_VALUES["total_purchase_value"][1]),
            counters["complete_payment"],
        ),
    }
