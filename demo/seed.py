"""Deterministic demo data: users, two apps with TikTok integrations, 30 days of traffic and cost.

Every calendar day is generated from its own seeded random generator, so the same day always gets
the same rows, and a day that already exists is skipped: running the seed twice changes nothing,
and running it a week later adds only the new days. The rows are history, written in bulk; they
go around the ingestion API on purpose, so nothing is sent anywhere: the postbacks forwarding
would have delivered are written as delivered history, their payloads built by the real payload
code, so the integrations' match-key coverage shows the demo's real shares.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from events.models import (
    ORGANIC,
    InAppEvent,
    Install,
    Postback,
    Touchpoint,
    click_details_of,
    install_details_of,
)
from events.services.delivery import forwarded_event
from events.services.forwarding import INSTALL_EVENT
from events.services.normalise import hash_email, hash_phone
from integrations.models import (
    App,
    AppMembership,
    CostAdvertiser,
    CostConnection,
    EventMapping,
    Including,
    Integration,
    Partner,
    PartnerEvent,
    PartnerPermission,
    PartnerUser,
    Pixel,
    Role,
    UsersFrom,
)
from integrations.secrets import mask_secret
from integrations.services.apps import hash_api_key
from integrations.services.deliveries import record_delivery_outcome, record_match_keys
from integrations.services.mapping import record_seen_event_names
from integrations.tiktok import match_quality, payloads, transport
from reporting.models import CostRecord, ExchangeRate

DEMO_PASSWORD = "signalboard-demo"  # noqa: S105 - printed for the demo on purpose
DEMO_DAYS = 30
DEMO_WEB_APP_ID = "web.trailhead-outfitters"
DEMO_IOS_APP_ID = "id1453847291"
DEMO_PIXEL = "CQ8RT3JC77U4D5MLS2A0"
DEMO_EVENTS_TOKEN = "3f9c2b6e8d41a07c5e19b2d4f6a8c0e1b3d5f7a9"  # noqa: S105 - sandbox token
DEMO_ADVERTISER_ID = "7012345678901234567"
DEMO_TIKTOK_APP_ID = "7301234567890123456"
# A TikTok for Business grant the sandbox knows: two of its advertisers, none chosen yet, so the
# Cost tab shows a connection and pulls start only when someone picks an advertiser and saves.
DEMO_COST_TOKEN = "5d0c7a1e9b3f48e2a6c4d8f0b2e1a3c5d7f9b1e3"  # noqa: S105 - sandbox token
DEMO_COST_ADVERTISERS = [
    ("7012345678901234568", "Trailhead Shop US", "USD", "Etc/GMT+5"),
    ("7012345678901234569", "Trailhead Shop Japan", "JPY", "Asia/Tokyo"),
]


@dataclass(frozen=True)
class DemoUser:
    username: str
    role: str
    is_admin: bool = False


DEMO_USERS = [
    DemoUser("demo-admin", Role.ADMIN, is_admin=True),
    DemoUser("demo-marketer", Role.MARKETER),
    DemoUser("demo-analyst", Role.ANALYST),
    DemoUser("demo-partner", "partner"),
]


@dataclass(frozen=True)
class Campaign:
    campaign_id: str
    name: str
    adsets: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...]


def _campaigns(prefix: str, seed: int, names: list[str]) -> list[Campaign]:
    campaigns = []
    for index, name in enumerate(names):
        base = 1780000000000000000 + seed * 10_000_000 + index * 10_000
        adsets = tuple(
            (
                str(base + 100 + set_index),
                f"{name}_{audience}",
                tuple(
                    (str(base + 1000 + set_index * 10 + ad_index), f"{name}_{audience}_{creative}")
                    for ad_index, creative in enumerate(["ugc_video", "product_demo"])
                ),
            )
            for set_index, audience in enumerate(["broad", "lookalike"])
        )
        campaigns.append(Campaign(str(base), f"{prefix}{name}", adsets))
    return campaigns


WEB_CAMPAIGNS = _campaigns("WEB_", 1, ["Spring_Sale", "Prospecting_US", "Retarget_Cart"])
APP_CAMPAIGNS = _campaigns("APP_", 2, ["Install_iOS_US", "Install_iOS_GB", "Trial_Push"])
COUNTRIES = [("US", 0.62), ("GB", 0.23), ("DE", 0.15)]
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_3 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.3 Mobile/15E148 Safari/604.1"
)
DESKTOP_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)


def _uid(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:24]


def _weighted_country(rng: random.Random) -> str:
    return rng.choices([c for c, _ in COUNTRIES], weights=[w for _, w in COUNTRIES])[0]


def ensure_users() -> dict[str, object]:
    user_model = get_user_model()
    users = {}
    for demo in DEMO_USERS:
        user, created = user_model.objects.get_or_create(
            username=demo.username,
            defaults={"email": f"{demo.username}@example.com"},
        )
        if created or not user.check_password(DEMO_PASSWORD):
            user.set_password(DEMO_PASSWORD)
        user.is_staff = demo.is_admin
        user.is_superuser = demo.is_admin
        user.save()
        users[demo.username] = user
    return users


def ensure_apps() -> tuple[App, App]:
    web_app, _ = App.objects.get_or_create(
        app_id=DEMO_WEB_APP_ID,
        defaults={
            "name": "Trailhead Outfitters (web)",
            "platform": "web",
            "website_url": "https://shop.trailhead.example/",
            "domains": ["https://shop.trailhead.example"],
            "timezone": "America/New_York",
            "currency": "USD",
        },
    )
    ios_app, _ = App.objects.get_or_create(
        app_id=DEMO_IOS_APP_ID,
        defaults={
            "name": "Trailhead Run Club (iOS)",
            "platform": "ios",
            "store_id": "1453847291",
            "website_url": "https://run.trailhead.example/",
            "timezone": "Europe/London",
            "currency": "GBP",
        },
    )
    for app in (web_app, ios_app):
        if not app.api_key_hash:
            raw = demo_api_key(app)
            app.api_key_hash = hash_api_key(raw)
            app.api_key_hint = mask_secret(raw)
            app.save(update_fields=["api_key_hash", "api_key_hint"])
    return web_app, ios_app


def demo_api_key(app: App) -> str:
    """The demo's server key, derived from SECRET_KEY so it is stable and can be printed."""
    return (
        "sk_demo_" + hashlib.sha256(f"{settings.SECRET_KEY}{app.app_id}".encode()).hexdigest()[:32]
    )


def ensure_memberships(users: dict, apps: tuple[App, App]) -> None:
    for app in apps:
        for demo in DEMO_USERS:
            if demo.role == "partner":
                continue
            AppMembership.objects.update_or_create(
                user=users[demo.username], app=app, defaults={"role": demo.role}
            )
    web_partner = Partner.objects.get(media_source="tiktokweb_int")
    partner_user, _ = PartnerUser.objects.get_or_create(
        user=users["demo-partner"], defaults={"partner": web_partner}
    )
    PartnerPermission.objects.get_or_create(
        app=apps[0],
        partner=web_partner,
        partner_user=None,
        defaults={"can_view_in_app_events": True, "can_view_revenue": True},
    )


def ensure_integrations(web_app: App, ios_app: App) -> None:
    web = Partner.objects.get(media_source="tiktokweb_int")
    web_cost = Partner.objects.get(media_source="tiktokglobal_int")
    app_partner = Partner.objects.get(media_source="bytedanceglobal_int")
    web_integration, created = Integration.objects.get_or_create(
        app=web_app,
        partner=web,
        defaults={
            "is_active": True,
            "activated_at": timezone.now(),
            "in_app_postbacks_enabled": True,
            "link_base_url": web_app.website_url,
        },
    )
    if created:
        Pixel.objects.create(
            integration=web_integration, pixel_code=DEMO_PIXEL, access_token=DEMO_EVENTS_TOKEN
        )
        for order, (app_event, partner_event, including) in enumerate(
            [
                ("purchase", "Purchase", Including.VALUES_AND_REVENUE),
                ("add_to_cart", "AddToCart", Including.VALUES),
                ("view_content", "ViewContent", Including.NO_VALUES),
                ("sign_up", "CompleteRegistration", Including.NO_VALUES),
            ]
        ):
            EventMapping.objects.create(
                integration=web_integration,
                app_event_name=app_event,
                partner_event_name=partner_event,
                users_from=UsersFrom.THIS_PARTNER,
                including=including,
                sort_order=order,
            )
    Integration.objects.get_or_create(
        app=web_app, partner=web_cost, defaults={"cost_enabled": True}
    )
    Integration.objects.get_or_create(
        app=ios_app,
        partner=app_partner,
        defaults={
            "is_active": True,
            "activated_at": timezone.now(),
            "tiktok_app_id": DEMO_TIKTOK_APP_ID,
            "view_through_enabled": True,
            "cost_enabled": True,
        },
    )
    ios_integration = Integration.objects.get(app=ios_app, partner=app_partner)
    Pixel.objects.get_or_create(
        integration=ios_integration, defaults={"access_token": DEMO_EVENTS_TOKEN}
    )


def ensure_sandbox_credentials() -> None:
    """Teach the built-in TikTok sandbox the demo's pixel, app id and token, so test events and
    forwarding work out of the box. Real TikTok knows them from Events Manager instead."""
    if not settings.TIKTOK_SANDBOX:
        return
    from integrations.tiktok.sandbox import state

    state.register_event_source(DEMO_PIXEL, kind="web", name="Trailhead web pixel")
    state.register_event_source(DEMO_TIKTOK_APP_ID, kind="app", name="Trailhead iOS")
    state.issue_token(sources=[DEMO_PIXEL, DEMO_TIKTOK_APP_ID], token=DEMO_EVENTS_TOKEN)
    state.issue_token(advertiser_ids=[a[0] for a in DEMO_COST_ADVERTISERS], token=DEMO_COST_TOKEN)


def ensure_cost_connection(web_app: App) -> None:
    """A connected TikTok account on the web cost integration (sandbox only: the token is one
    the sandbox knows). What the OAuth walk on the Cost tab would have stored."""
    if not settings.TIKTOK_SANDBOX:
        return
    integration = Integration.objects.get(app=web_app, partner__media_source="tiktokglobal_int")
    connection, created = CostConnection.objects.get_or_create(
        integration=integration,
        label="Trailhead Shop US and 1 more",
        defaults={"access_token": DEMO_COST_TOKEN, "oauth_uid": "demo"},
    )
    if created:
        for advertiser_id, name, currency, zone in DEMO_COST_ADVERTISERS:
            CostAdvertiser.objects.create(
                connection=connection,
                advertiser_id=advertiser_id,
                name=name,
                currency=currency,
                timezone=zone,
            )


def ensure_exchange_rates(days: list[date]) -> None:
    rates = []
    for day in days:
        rng = random.Random(f"fx-{day.isoformat()}")  # noqa: S311 - demo data
        rates.append(ExchangeRate(day=day, currency="USD", per_usd=Decimal("1")))
        rates.append(
            ExchangeRate(
                day=day, currency="EUR", per_usd=Decimal(f"{0.92 + rng.uniform(-0.01, 0.01):.6f}")
            )
        )
        rates.append(
            ExchangeRate(
                day=day, currency="GBP", per_usd=Decimal(f"{0.79 + rng.uniform(-0.01, 0.01):.6f}")
            )
        )
    ExchangeRate.objects.bulk_create(rates, ignore_conflicts=True)


@dataclass
class DayRows:
    touchpoints: list[Touchpoint]
    installs: list[Install]
    events: list[InAppEvent]
    costs: list[CostRecord]


@dataclass(frozen=True)
class AdSpend:
    app: App
    media_source: str
    advertiser_id: str
    currency: str
    day: date
    pulled_at: datetime


def _ad_cost_rows(
    spend_of: AdSpend,
    rng: random.Random,
    ad_path: tuple[Campaign, str, str, str, str],
    clicks: int,
    *,
    impressions_per_click: tuple[int, int],
    cost_per_impression: tuple[float, float],
    reported: tuple[str, int],
) -> list[CostRecord]:
    """One ad's cost for one day, split over the demo countries as TikTok's report would.
    `reported` names TikTok's own count (conversions or installs) and clicks per unit of it."""
    campaign, adset_id, adset, ad_id, ad = ad_path
    rows = []
    for country, share in COUNTRIES:
        country_clicks = max(1, round(clicks * share))
        impressions = country_clicks * rng.randint(*impressions_per_click)
        spend = Decimal(impressions) * Decimal(f"{rng.uniform(*cost_per_impression):.5f}")
        reported_field, clicks_per_unit = reported
        rows.append(
            CostRecord(
                app=spend_of.app,
                media_source=spend_of.media_source,
                stat_date=spend_of.day,
                advertiser_id=spend_of.advertiser_id,
                campaign_id=campaign.campaign_id,
                campaign=campaign.name,
                adset_id=adset_id,
                adset=adset,
                ad_id=ad_id,
                ad=ad,
                country_code=country,
                currency=spend_of.currency,
                spend=spend.quantize(Decimal("0.01")),
                impressions=impressions,
                clicks=country_clicks,
                pulled_at=spend_of.pulled_at,
                **{reported_field: rng.randint(0, max(1, country_clicks // clicks_per_unit))},
            )
        )
    return rows


def _local_moment(day: date, tz: ZoneInfo, rng: random.Random) -> datetime:
    seconds = rng.randint(7 * 3600, 23 * 3600 + 3599)
    return datetime.combine(day, time(0), tzinfo=tz) + timedelta(seconds=seconds)


def _generate_web_day(app: App, day: date, now: datetime) -> DayRows:
    rng = random.Random(f"{app.app_id}-{day.isoformat()}")  # noqa: S311 - demo data
    tz = ZoneInfo(app.timezone)
    rows = DayRows([], [], [], [])
    weekday_boost = 1.25 if day.weekday() >= 5 else 1.0
    for campaign in WEB_CAMPAIGNS:
        for adset_id, adset, ads in campaign.adsets:
            for ad_id, ad in ads:
                clicks = int(rng.randint(25, 60) * weekday_boost)
                rows.costs += _ad_cost_rows(
                    AdSpend(app, "tiktokglobal_int", DEMO_ADVERTISER_ID, "USD", day, now),
                    rng,
                    (campaign, adset_id, adset, ad_id, ad),
                    clicks,
                    impressions_per_click=(70, 110),
                    cost_per_impression=(0.006, 0.011),
                    reported=("reported_conversions", 12),
                )
                for n in range(clicks):
                    key = _uid(app.app_id, day, ad_id, n)
                    at = _local_moment(day, tz, rng)
                    if at > now:
                        continue  # today's later clicks have not happened yet
                    ttclid = f"E.C.P.{key[:20]}"
                    touch = Touchpoint(
                        app=app,
                        kind=Touchpoint.Kind.CLICK,
                        click_id=f"demo-{key}",
                        occurred_at=at,
                        media_source="tiktokweb_int",
                        campaign=campaign.name,
                        campaign_id=campaign.campaign_id,
                        adset=adset,
                        adset_id=adset_id,
                        ad=ad,
                        ad_id=ad_id,
                        ttclid=ttclid,
                        web_user_id=f"wu-{key[:16]}",
                        ip=f"203.0.113.{rng.randint(1, 254)}",
                        user_agent=rng.choice([IPHONE_UA, DESKTOP_UA]),
                        url=f"{app.website_url}?pid=tiktokweb_int&ttclid={ttclid}",
                    )
                    rows.touchpoints.append(touch)
                    if rng.random() < 0.55:
                        _web_visitor(
                            app, rows, rng, touch, at + timedelta(seconds=rng.randint(2, 30)), now
                        )
    for n in range(rng.randint(60, 95)):
        key = _uid(app.app_id, day, "organic", n)
        visitor = Touchpoint(web_user_id=f"wu-{key[:16]}", ip=f"198.51.100.{rng.randint(1, 254)}")
        _web_visitor(app, rows, rng, visitor, _local_moment(day, tz, rng), now, organic=True)
    return rows


def _attribution_from(touch: Touchpoint) -> dict:
    return {
        "media_source": touch.media_source,
        "campaign": touch.campaign,
        "campaign_id": touch.campaign_id,
        "adset": touch.adset,
        "adset_id": touch.adset_id,
        "ad": touch.ad,
        "ad_id": touch.ad_id,
        "touch_type": touch.kind,
        "touch_time": touch.occurred_at,
        "ttclid": touch.ttclid,
    }


def _web_visitor(
    app: App,
    rows: DayRows,
    rng: random.Random,
    touch: Touchpoint,
    at: datetime,
    now: datetime,
    organic: bool = False,
) -> None:
    if at > now:
        return
    attribution = {"media_source": ORGANIC} if organic else _attribution_from(touch)
    install = Install(
        app=app,
        touchpoint=None if organic else touch,
        installed_at=at,
        device_id=touch.web_user_id,
        web_user_id=touch.web_user_id,
        ip=touch.ip,
        user_agent=touch.user_agent or DESKTOP_UA,
        country_code=_weighted_country(rng),
        match_type="" if organic else "web_user_id",
        **attribution,
    )
    rows.installs.append(install)
    # Who this visitor is, from their own generator: the day's sequence stays as it was.
    person = random.Random(install.device_id)  # noqa: S311 - demo data
    ttp = _uid("ttp", install.device_id)[:27] if person.random() < 0.7 else ""
    funnel = [("view_content", 0.9), ("add_to_cart", 0.35), ("purchase", 0.45)]
    moment = at
    for name, chance in funnel:
        if rng.random() > chance:
            break
        moment += timedelta(minutes=rng.randint(1, 40))
        if moment > now:
            return
        revenue = currency = None
        value: dict = {}
        customer: dict = {}
        if name == "purchase":
            # A checkout asks for an email, sometimes a phone; some buyers are signed in.
            customer = {
                "email_sha256": hash_email(f"{install.device_id}@example.com")
                if person.random() < 0.8
                else "",
                "phone_sha256": hash_phone(f"+4477009{person.randint(10000, 99999)}")
                if person.random() < 0.25
                else "",
                "customer_user_id": f"cust-{install.device_id[3:11]}"
                if person.random() < 0.5
                else "",
            }
            currency = rng.choice(["USD", "USD", "USD", "EUR"])
            revenue = Decimal(f"{rng.uniform(18, 140):.2f}")
            value = {
                "order_id": _uid("order", install.device_id)[:10],
                "num_items": rng.randint(1, 4),
            }
        elif name == "add_to_cart":
            value = {"content_id": f"SKU-{rng.randint(1000, 1099)}"}
        rows.events.append(
            InAppEvent(
                app=app,
                event_id=_uid(install.device_id, name),
                event_name=name,
                event_time=moment,
                device_id=install.device_id,
                web_user_id=install.web_user_id,
                ip=install.ip,
                user_agent=install.user_agent,
                country_code=install.country_code,
                value=value,
                revenue=revenue,
                currency=currency or "",
                url=f"{app.website_url}{name.replace('_', '-')}",
                ttp=ttp,
                match_type=install.match_type,
                **customer,
                **attribution,
            )
        )


def _generate_ios_day(app: App, day: date, now: datetime) -> DayRows:
    rng = random.Random(f"{app.app_id}-{day.isoformat()}")  # noqa: S311 - demo data
    tz = ZoneInfo(app.timezone)
    rows = DayRows([], [], [], [])
    for campaign in APP_CAMPAIGNS:
        for adset_id, adset, ads in campaign.adsets:
            for ad_id, ad in ads:
                clicks = rng.randint(15, 40)
                views = rng.randint(10, 25)
                rows.costs += _ad_cost_rows(
                    AdSpend(app, "bytedanceglobal_int", "7012345678901234999", "GBP", day, now),
                    rng,
                    (campaign, adset_id, adset, ad_id, ad),
                    clicks,
                    impressions_per_click=(80, 140),
                    cost_per_impression=(0.004, 0.009),
                    reported=("reported_installs", 3),
                )
                for n in range(clicks + views):
                    key = _uid(app.app_id, day, ad_id, n)
                    kind = Touchpoint.Kind.CLICK if n < clicks else Touchpoint.Kind.IMPRESSION
                    at = _local_moment(day, tz, rng)
                    if at > now:
                        continue  # today's later clicks have not happened yet
                    idfa = str(_uid_as_uuid(key)).upper()
                    touch = Touchpoint(
                        app=app,
                        kind=kind,
                        click_id=f"demo-{key}",
                        occurred_at=at,
                        media_source="bytedanceglobal_int",
                        campaign=campaign.name,
                        campaign_id=campaign.campaign_id,
                        adset=adset,
                        adset_id=adset_id,
                        ad=ad,
                        ad_id=ad_id,
                        idfa=idfa,
                        ttclid=f"CB.{key[:20]}" if kind == Touchpoint.Kind.CLICK else "",
                        ip=f"192.0.2.{rng.randint(1, 254)}",
                        user_agent=IPHONE_UA,
                    )
                    rows.touchpoints.append(touch)
                    chance = 0.3 if kind == Touchpoint.Kind.CLICK else 0.08
                    if rng.random() < chance:
                        _ios_user(
                            app, rows, rng, touch, at + timedelta(minutes=rng.randint(2, 90)), now
                        )
    for n in range(rng.randint(25, 45)):
        key = _uid(app.app_id, day, "organic", n)
        organic = Touchpoint(
            idfa=str(_uid_as_uuid(key)).upper(), ip=f"192.0.2.{rng.randint(1, 254)}"
        )
        _ios_user(app, rows, rng, organic, _local_moment(day, tz, rng), now, organic=True)
    return rows


def _uid_as_uuid(key: str) -> str:
    digest = hashlib.md5(key.encode(), usedforsecurity=False).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


def _ios_user(
    app: App,
    rows: DayRows,
    rng: random.Random,
    touch: Touchpoint,
    at: datetime,
    now: datetime,
    organic: bool = False,
) -> None:
    if at > now:
        return
    attribution = {"media_source": ORGANIC} if organic else _attribution_from(touch)
    device_id = "af-" + _uid("device", touch.idfa)[:20]
    # Who this user is, from their own generator: the day's sequence stays as it was. Most iOS
    # users decline tracking (ATT): their app reports no IDFA, and a click is matched on
    # TikTok's callback instead.
    person = random.Random(device_id)  # noqa: S311 - demo data
    allows_tracking = person.random() < 0.4 or not touch.ttclid
    match_type = "advertising_id" if allows_tracking else "ttclid"
    install = Install(
        app=app,
        touchpoint=None if organic else touch,
        installed_at=at,
        device_id=device_id,
        customer_user_id=f"runner-{device_id[3:11]}" if person.random() < 0.35 else "",
        idfa=touch.idfa if allows_tracking else "",
        idfv=_uid_as_uuid(device_id).upper(),
        ip=touch.ip,
        user_agent=IPHONE_UA,
        country_code=_weighted_country(rng),
        os_version="17.3",
        app_version="4.12.0",
        match_type="" if organic else match_type,
        **attribution,
    )
    rows.installs.append(install)
    moment = at
    for name, chance in [("sign_up", 0.6), ("start_trial", 0.45), ("subscribe", 0.4)]:
        if rng.random() > chance:
            break
        moment += timedelta(hours=rng.randint(0, 30), minutes=rng.randint(1, 59))
        if moment > now:
            return
        revenue = Decimal("9.99") if name == "subscribe" else None
        rows.events.append(
            InAppEvent(
                app=app,
                event_id=_uid(device_id, name),
                event_name=name,
                event_time=moment,
                device_id=device_id,
                idfa=install.idfa,
                idfv=install.idfv,
                ip=install.ip,
                user_agent=IPHONE_UA,
                country_code=install.country_code,
                value={"plan": "monthly"} if name == "subscribe" else {},
                revenue=revenue,
                currency="GBP" if revenue else "",
                match_type=install.match_type,
                **attribution,
            )
        )


def _day_exists(app: App, day: date) -> bool:
    return CostRecord.objects.filter(app=app, stat_date=day).exists()


def _write_day(rows: DayRows) -> None:
    # Installs and events point at objects created just before them: bulk_create fills in the
    # primary keys (PostgreSQL and SQLite >= 3.35 return them), and Django copies them into the
    # foreign keys when the next bulk_create prepares its rows.
    # As ingest does, installs copy their click's details and events their install's.
    Touchpoint.objects.bulk_create(rows.touchpoints, batch_size=1000)
    for install in rows.installs:
        for name, value in click_details_of(install.touchpoint).items():
            setattr(install, name, value)
    Install.objects.bulk_create(rows.installs, batch_size=1000)
    by_device = {install.device_id: install for install in rows.installs}
    for event in rows.events:
        event.install = by_device.get(event.device_id)
        if event.install is not None:
            for name, value in install_details_of(event.install).items():
                setattr(event, name, value)
    InAppEvent.objects.bulk_create(rows.events, batch_size=1000)
    CostRecord.objects.bulk_create(rows.costs, batch_size=1000)


def _delivered_history(app: App, rows: DayRows, now: datetime) -> None:
    """The postbacks forwarding would have delivered for a day's rows, written as delivered:
    events matching an enabled mapping row ("for users from" included) and installs for app
    partners' install postbacks. Each payload is built by the real payload code, so the keys it
    carries, on the row and in the integration's daily tally, are the ones TikTok would get."""
    integrations = (
        Integration.objects.filter(app=app, is_active=True, partner__supports_events_api=True)
        .select_related("app", "partner", "pixel")
        .prefetch_related("mappings")
    )
    for integration in integrations:
        source = integration.partner.media_source
        api_names = dict(
            PartnerEvent.objects.filter(partner=integration.partner).values_list("name", "api_name")
        )
        postbacks = []
        if integration.partner.supports_install_postbacks:
            postbacks += [
                Postback(integration=integration, install=install, partner_event_name=INSTALL_EVENT)
                for install in rows.installs
                if integration.install_postbacks == UsersFrom.ALL_SOURCES
                or install.media_source == source
            ]
        if integration.in_app_postbacks_enabled:
            for mapping in integration.mappings.all():
                postbacks += [
                    Postback(
                        integration=integration,
                        event=event,
                        event_time=event.event_time,
                        partner_event_name=mapping.partner_event_name,
                        include_values=mapping.including != Including.NO_VALUES,
                        include_revenue=mapping.including == Including.VALUES_AND_REVENUE,
                    )
                    for event in rows.events
                    if mapping.is_enabled
                    and event.event_name == mapping.app_event_name
                    and (
                        mapping.users_from == UsersFrom.ALL_SOURCES or event.media_source == source
                    )
                ]
        if postbacks:
            _write_delivered(integration, postbacks, api_names, now)


def _write_delivered(
    integration: Integration, postbacks: list[Postback], api_names: dict[str, str], now: datetime
) -> None:
    masks_by_day: dict[date, tuple[datetime, list[int]]] = {}
    partner_id = integration.partner_id
    names = {(partner_id, name): api_name for name, api_name in api_names.items()}
    for postback in postbacks:
        happened = postback.event.event_time if postback.event else postback.install.installed_at
        delivered = min(happened + timedelta(seconds=3), now)
        item = payloads.event_item(integration, forwarded_event(postback, names))
        body = payloads.request_body(integration, [item])
        postback.match_keys = match_quality.keys_carried(item)
        postback.request_body = transport.strip_secrets(body)
        postback.status = Postback.Status.DELIVERED
        postback.attempts = 1
        postback.next_attempt_at = postback.last_attempt_at = postback.delivered_at = delivered
        postback.response_code, postback.response_message, postback.http_status = 0, "OK", 200
        postback.batch_size = 1
        day = match_quality.coverage_day(integration.app, delivered)
        masks_by_day.setdefault(day, (delivered, []))[1].append(postback.match_keys)
    Postback.objects.bulk_create(postbacks, batch_size=1000)
    for at, masks in masks_by_day.values():
        record_match_keys(integration, at=at, masks=masks)
    latest = max(postback.delivered_at for postback in postbacks)
    if integration.last_delivery_at is None or latest > integration.last_delivery_at:
        record_delivery_outcome(integration.pk, ok=True, at=latest)
        integration.last_delivery_at = latest


def seed(today: date | None = None, days: int = DEMO_DAYS) -> dict[str, int]:
    """Create the demo; returns how many days were added per app."""
    now = timezone.now()
    users = ensure_users()
    web_app, ios_app = ensure_apps()
    ensure_memberships(users, (web_app, ios_app))
    ensure_integrations(web_app, ios_app)
    ensure_sandbox_credentials()
    ensure_cost_connection(web_app)
    added = {}
    for app, generate in ((web_app, _generate_web_day), (ios_app, _generate_ios_day)):
        local_today = today or now.astimezone(ZoneInfo(app.timezone)).date()
        window = [local_today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
        ensure_exchange_rates(window)
        count = 0
        for day in window:
            if _day_exists(app, day):
                continue
            rows = generate(app, day, now)
            with transaction.atomic():
                _write_day(rows)
                _delivered_history(app, rows, now)
            count += 1
        record_seen_event_names(
            app.pk,
            InAppEvent.objects.filter(app=app).values_list("event_name", flat=True).distinct(),
        )
        added[app.app_id] = count
    return added
