"""Attribution links: the landing-page parameters for web campaigns and the click and impression
links for app campaigns, with TikTok's URL macros (TikTok fills them in when an ad is served).
"""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.urls import reverse

from integrations.models import Integration
from integrations.services.audit import assign_changes, record_audit

# The seed's mapping for TikTok web campaigns. TikTok appends ttclid by itself.
WEB_PARAMETERS = [
    ["pid", "tiktokweb_int"],
    ["c", "__CAMPAIGN_NAME__"],
    ["af_c_id", "__CAMPAIGN_ID__"],
    ["af_adset", "__AID_NAME__"],
    ["af_adset_id", "__AID__"],
    ["af_ad", "__CID_NAME__"],
    ["af_ad_id", "__CID__"],
]

# TikTok's macros for app campaigns, as TikTok's help centre shows them for MMP links.
APP_PARAMETERS = [
    ["c", "__CAMPAIGN_NAME__"],
    ["af_c_id", "__CAMPAIGN_ID__"],
    ["af_adset", "__AID_NAME__"],
    ["af_adset_id", "__AID__"],
    ["af_ad", "__CID_NAME__"],
    ["af_ad_id", "__CID__"],
    ["af_ad_type", "__CTYPE__"],
    ["af_channel", "__PLACEMENT__"],
    ["clickid", "__CALLBACK_PARAM__"],
    ["idfa", "__IDFA__"],
    ["advertising_id", "__GAID__"],
    ["android_id", "__ANDROIDID1__"],
    ["os", "__OS__"],
    ["af_ip", "__IP__"],
    ["af_ua", "__UA1__"],
    ["af_lang", "__SL__"],
]


# A web campaign's "app via store" link (web-to-app): the browser follows it, so our smart link
# sees the phone itself; TikTok's click id has to be asked for with __CALLBACK_PARAM__.
WEB_TO_APP_PARAMETERS = [
    ["ttclid", "__CALLBACK_PARAM__"],
    ["c", "__CAMPAIGN_NAME__"],
    ["af_c_id", "__CAMPAIGN_ID__"],
    ["af_adset", "__AID_NAME__"],
    ["af_adset_id", "__AID__"],
    ["af_ad", "__CID_NAME__"],
    ["af_ad_id", "__CID__"],
    ["af_channel", "__PLACEMENT__"],
    ["os", "__OS__"],
    ["af_ip", "__IP__"],
    ["af_ua", "__UA__"],
]


def default_parameters(integration: Integration) -> list[list[str]]:
    if integration.partner.is_app:
        return [list(pair) for pair in APP_PARAMETERS]
    return [list(pair) for pair in WEB_PARAMETERS]


def parameters_of(integration: Integration) -> list[list[str]]:
    """The saved parameters, or the defaults while none were saved."""
    return integration.link_parameters or default_parameters(integration)


def query_string(parameters: list[list[str]]) -> str:
    # Macros must reach TikTok intact: keep underscores and letters, encode the rest.
    return "&".join(f"{quote(key, safe='_')}={quote(value, safe='_')}" for key, value in parameters)


def web_landing_url(integration: Integration) -> str:
    base = integration.link_base_url or integration.app.website_url
    separator = "&" if "?" in base else "?"
    return f"{base}{separator}{query_string(parameters_of(integration))}"


def web_to_app_link(integration: Integration) -> str:
    """A website's smart link to its linked apps' store pages: iPhones to the App Store,
    Android phones to Google Play (our click id in the install referrer), desktops to the
    website. The click is recorded on the app the phone goes to."""
    media_source = integration.partner.media_source
    path = reverse("events:app-click", args=[integration.app.public_key, media_source])
    return f"{settings.PUBLIC_BASE_URL}{path}?{query_string(WEB_TO_APP_PARAMETERS)}"


def click_link(integration: Integration) -> str:
    lookback = ["af_click_lookback", f"{integration.click_lookback_days}d"]
    return _tracking_link(integration, "events:click", lookback)


def impression_link(integration: Integration) -> str:
    lookback = ["af_viewthrough_lookback", f"{integration.view_lookback_hours}h"]
    return _tracking_link(integration, "events:impression", lookback)


def _tracking_link(integration: Integration, url_name: str, lookback: list[str]) -> str:
    """A click or impression link: the URL `events` serves, the partner's media source as
    pid, the link parameters, then the lookback."""
    media_source = integration.partner.media_source
    path = reverse(url_name, args=[integration.app.public_key, media_source])
    parameters = [["pid", media_source], *parameters_of(integration), lookback]
    return f"{settings.PUBLIC_BASE_URL}{path}?{query_string(parameters)}"


def update_attribution_link(
    integration: Integration,
    *,
    acting_user: AbstractBaseUser,
    link_base_url: str,
    link_parameters: list[list[str]],
    click_lookback_days: int,
    view_lookback_hours: int,
) -> Integration:
    with transaction.atomic():
        integration = Integration.objects.select_for_update().get(pk=integration.pk)
        changes = assign_changes(
            integration,
            {
                "link_base_url": link_base_url,
                "link_parameters": link_parameters,
                "click_lookback_days": click_lookback_days,
                "view_lookback_hours": view_lookback_hours,
            },
            ("link_base_url", "link_parameters", "click_lookback_days", "view_lookback_hours"),
        )
        if changes:
            integration.save(update_fields=[*changes, "updated_at"])
            record_audit(
                integration=integration,
                acting_user=acting_user,
                action="integration.attribution_link_saved",
                changes=changes,
            )
    return integration
