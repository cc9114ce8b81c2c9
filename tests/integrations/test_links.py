from __future__ import annotations

from django.test import override_settings

from integrations.services import links
from tests import factories


def test_the_web_url_carries_the_seed_parameters_with_macros_intact(app):
    integration = factories.make_integration(app, link_base_url="https://shop.example.com/")
    assert links.web_landing_url(integration) == (
        "https://shop.example.com/?pid=tiktokweb_int&c=__CAMPAIGN_NAME__&af_c_id=__CAMPAIGN_ID__"
        "&af_adset=__AID_NAME__&af_adset_id=__AID__&af_ad=__CID_NAME__&af_ad_id=__CID__"
    )


def test_a_base_url_with_a_query_gets_an_ampersand_and_values_are_encoded(app):
    integration = factories.make_integration(
        app,
        link_base_url="https://shop.example.com/?ref=tt",
        link_parameters=[["pid", "tiktokweb_int"], ["af_sub1", "spring sale&more"]],
    )
    assert links.web_landing_url(integration) == (
        "https://shop.example.com/?ref=tt&pid=tiktokweb_int&af_sub1=spring%20sale%26more"
    )


@override_settings(PUBLIC_BASE_URL="https://attr.example.com")
def test_app_links_point_at_our_click_and_impression_endpoints_with_lookbacks(app):
    integration = factories.make_integration(
        app, "bytedanceglobal_int", click_lookback_days=7, view_lookback_hours=24
    )
    click = links.click_link(integration)
    assert click.startswith(f"https://attr.example.com/l/{app.public_key}/bytedanceglobal_int?")
    assert "pid=bytedanceglobal_int" in click
    assert "clickid=__CALLBACK_PARAM__" in click
    assert click.endswith("af_click_lookback=7d")
    impression = links.impression_link(integration)
    assert impression.startswith(f"https://attr.example.com/i/{app.public_key}/")
    assert impression.endswith("af_viewthrough_lookback=24h")
