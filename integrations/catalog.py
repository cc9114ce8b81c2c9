"""The partner catalog as data. A data migration loads it; loading again updates in place.

Event names follow shared/spec/tiktok-api.md §2: current web names first, renamed ones kept and
marked legacy. App event identifiers are AppsFlyer's names for TikTok For Business; `api_name` is
the spelling TikTok's Events API expects (§2.3, Go/React-Native casing).
"""

from __future__ import annotations

from typing import Any

WEB_EVENTS = [
    "AddPaymentInfo",
    "AddToCart",
    "AddToWishlist",
    "ApplicationApproval",
    "CompleteRegistration",
    "Contact",
    "CustomizeProduct",
    "Download",
    "FindLocation",
    "InitiateCheckout",
    "Lead",
    "Purchase",
    "Schedule",
    "Search",
    "StartTrial",
    "SubmitApplication",
    "Subscribe",
    "ViewContent",
]

# old name → replacement ("" when TikTok dropped it without one)
LEGACY_WEB_EVENTS = {
    "CompletePayment": "Purchase",
    "PlaceAnOrder": "Purchase",
    "SubmitForm": "Lead",
    "ClickButton": "",
}

# AppsFlyer identifier → (label, TikTok Events API name)
APP_EVENTS = [
    ("Registration", "Registration", "Registration"),
    ("Pay", "Pay (Purchase)", "Purchase"),
    ("View_content", "View content", "ViewContent"),
    ("Checkout", "Checkout", "Checkout"),
    ("Add_to_cart", "Add to cart", "AddToCart"),
    ("2D_retention", "Day-2 retention", "2Dretention"),
    ("Unlock_achievement", "Unlock achievement", "UnlockAchievement"),
    ("Subscribe", "Subscribe", "Subscribe"),
    ("Start_trial", "Start trial", "StartTrial"),
    ("Spend_credits", "Spend credits", "SpendCredits"),
    ("Search", "Search", "Search"),
    ("Rate", "Rate", "Rate"),
    ("Login", "Login", "Login"),
    ("Loan_disbursal", "Loan disbursal", "LoanDisbursal"),
    ("Loan_approval", "Loan approval", "LoanApproval"),
    ("Loan_application", "Loan application", "LoanApplication"),
    ("Achieve_level", "Achieve level", "AchieveLevel"),
    ("Join_group", "Join group", "JoinGroup"),
    ("InApp_ad_impr", "In-app ad impression", "InAppADImpr"),
    ("InApp_ad_click", "In-app ad click", "InAppADClick"),
    ("Generate_lead", "Generate lead", "GenerateLead"),
    ("Create_role", "Create role", "CreateRole"),
    ("Create_group", "Create group", "CreateGroup"),
    ("Complete_tutorial", "Complete tutorial", "CompleteTutorial"),
    ("Launch_app", "Launch app", "LaunchAPP"),
    ("Add_to_wishlist", "Add to wishlist", "AddToWishlist"),
    ("Add_payment_info", "Add payment info", "AddPaymentInfo"),
]

NONE, VALUES, REVENUE = "no_values", "values", "values_and_revenue"

WEB_DEFAULT_MAPPING = [
    # (app event, partner event, primary, including)
    ("install", "Download", True, NONE),
    ("session_start", "ViewContent", True, NONE),
    ("sign_up", "CompleteRegistration", True, NONE),
    ("register", "CompleteRegistration", True, NONE),
    ("start_trial", "StartTrial", True, VALUES),
    ("subscribe", "Subscribe", True, VALUES),
    ("purchase", "Purchase", True, REVENUE),
    ("initiate_checkout", "InitiateCheckout", False, VALUES),
    ("add_payment_info", "AddPaymentInfo", False, NONE),
    ("add_to_cart", "AddToCart", False, VALUES),
    ("add_to_wishlist", "AddToWishlist", False, VALUES),
    ("view_content", "ViewContent", False, NONE),
    ("view_item", "ViewContent", False, NONE),
    ("search", "Search", False, VALUES),
    # Subscription receivers' events (App Store, Google Play, RevenueCat); refunds never go.
    # TikTok's web partner takes revenue on Purchase only: Subscribe rows send values.
    ("trial_started", "StartTrial", True, VALUES),
    ("subscription_started", "Subscribe", True, VALUES),
    ("trial_converted", "Subscribe", True, VALUES),
    ("renewal", "Purchase", False, REVENUE),
]

APP_DEFAULT_MAPPING = [
    ("session_start", "Launch_app", True, NONE),
    ("sign_up", "Registration", True, NONE),
    ("register", "Registration", True, NONE),
    ("start_trial", "Start_trial", True, VALUES),
    ("subscribe", "Subscribe", True, REVENUE),
    ("purchase", "Pay", True, REVENUE),
    ("initiate_checkout", "Checkout", False, VALUES),
    ("add_payment_info", "Add_payment_info", False, NONE),
    ("add_to_cart", "Add_to_cart", False, VALUES),
    ("add_to_wishlist", "Add_to_wishlist", False, VALUES),
    ("view_content", "View_content", False, NONE),
    ("view_item", "View_content", False, NONE),
    ("search", "Search", False, VALUES),
    ("login", "Login", False, NONE),
    ("trial_started", "Start_trial", True, VALUES),
    ("subscription_started", "Subscribe", True, REVENUE),
    ("trial_converted", "Subscribe", True, REVENUE),
    ("renewal", "Pay", False, REVENUE),
]

PARTNERS: list[dict[str, Any]] = [
    {
        "media_source": "tiktokweb_int",
        "name": "TikTok For Business - Advanced SRN",
        "summary": "Web campaigns: forward website conversions to TikTok's Events API.",
        "description": (
            "Attribute website visits and conversions from TikTok web campaigns and send the "
            "events you map to your TikTok Pixel through the Events API, server to server. "
            "TikTok appends its click id (ttclid) to your landing page URL; Signalboard keeps it "
            "with the visit so TikTok can match every conversion. Re-engagement postbacks are "
            "not supported. Only Purchase may carry revenue, and it must."
        ),
        "event_source": "web",
        "supports_web": True,
        "supports_events_api": True,
        "sort_order": 10,
    },
    {
        "media_source": "bytedanceglobal_int",
        "name": "TikTok For Business",
        "summary": "App campaigns: click and view-through attribution, postbacks, cost.",
        "description": (
            "Attribute app installs from TikTok ads by click and by view, send install and "
            "in-app event postbacks to TikTok with your TikTok App ID, pull ad cost, and map "
            "ad revenue. Grant TikTok's team the permissions it needs to optimise your campaigns."
        ),
        "event_source": "app",
        "supports_app": True,
        "supports_events_api": True,
        "supports_install_postbacks": True,
        "supports_view_through": True,
        "supports_cost": True,
        "supports_ad_revenue": True,
        "sort_order": 20,
    },
    {
        "media_source": "tiktokglobal_int",
        "name": "TikTok For Business - Web cost",
        "summary": "Cost of TikTok web campaigns, pulled from TikTok's Marketing API.",
        "description": (
            "Connect your TikTok for Business account to pull daily spend, impressions and "
            "clicks of your web campaigns by campaign, ad group, ad and country."
        ),
        "event_source": "web",
        "supports_web": True,
        "supports_cost": True,
        "sort_order": 30,
    },
]


def partner_events(media_source: str) -> list[dict[str, Any]]:
    if media_source == "tiktokweb_int":
        rows = [
            {
                "name": name,
                "api_name": name,
                "label": name,
                "allows_revenue": name == "Purchase",
                "requires_revenue": name == "Purchase",
                "sort_order": index,
            }
            for index, name in enumerate(WEB_EVENTS)
        ]
        rows += [
            {
                "name": name,
                "api_name": name,
                "label": name,
                "is_legacy": True,
                "replacement": replacement,
                "sort_order": 100 + index,
            }
            for index, (name, replacement) in enumerate(LEGACY_WEB_EVENTS.items())
        ]
        return rows
    if media_source == "bytedanceglobal_int":
        return [
            {
                "name": name,
                "api_name": api_name,
                "label": label,
                "allows_revenue": True,
                "is_legacy": name == "Rate",
                "sort_order": index,
            }
            for index, (name, label, api_name) in enumerate(APP_EVENTS)
        ]
    return []


def default_mapping(media_source: str) -> list[tuple[str, str, bool, str]]:
    return {
        "tiktokweb_int": WEB_DEFAULT_MAPPING,
        "bytedanceglobal_int": APP_DEFAULT_MAPPING,
    }.get(media_source, [])


def _known(model: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Only the fields the (possibly historical) model has, so an old data migration keeps
    working after the catalog grows new fields."""
    names = {field.name for field in model._meta.get_fields()}
    return {key: value for key, value in values.items() if key in names}


def load_catalog(partner_model: Any, event_model: Any, mapping_model: Any) -> None:
    """Upsert the catalog. Takes model classes so a migration can pass its historical ones."""
    for spec in PARTNERS:
        fields = {key: value for key, value in spec.items() if key != "media_source"}
        partner, _ = partner_model.objects.update_or_create(
            media_source=spec["media_source"], defaults=_known(partner_model, fields)
        )
        for event in partner_events(partner.media_source):
            event_model.objects.update_or_create(
                partner=partner,
                name=event["name"],
                defaults=_known(event_model, {k: v for k, v in event.items() if k != "name"}),
            )
        for order, (app_event, partner_event, primary, including) in enumerate(
            default_mapping(partner.media_source)
        ):
            mapping_model.objects.update_or_create(
                partner=partner,
                app_event_name=app_event,
                partner_event_name=partner_event,
                defaults=_known(
                    mapping_model,
                    {"is_primary": primary, "sort_order": order, "including": including},
                ),
            )
