"""The Integration tab hands partner event names to mapping.js as JSON that cannot end its
<script> block, whatever a staff user typed into the admin; and no template marks data safe."""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.conf import settings
from django.urls import reverse

from integrations.models import PartnerEvent
from tests import factories

HOSTILE = "</script><script>alert(1)</script>"


def _mapping_meta(html: str) -> dict:
    opening = '<script id="mapping-meta" type="application/json">'
    match = re.search(re.escape(opening) + r"(.*?)</script>", html, re.S)
    assert match, "the mapping-meta block is missing"
    return json.loads(match.group(1))


def test_partner_event_names_cannot_break_out_of_the_script_block(client, app, marketer):
    integration = factories.make_integration(app, "tiktokweb_int")
    partner = integration.partner
    PartnerEvent.objects.create(partner=partner, name=HOSTILE, api_name="Hostile")
    legacy = "OldName" + HOSTILE
    PartnerEvent.objects.create(
        partner=partner, name=legacy, api_name="Old", is_legacy=True, replacement=HOSTILE
    )
    client.force_login(marketer)
    url = reverse("integrations:setup", args=[app.app_id, integration.pk, "integration"])
    html = client.get(url).content.decode()
    assert "<script>alert(1)" not in html
    meta = _mapping_meta(html)
    assert HOSTILE in meta["standard"]
    assert meta["legacy"][legacy] == HOSTILE
    assert "Purchase" in meta["standard"]
    assert meta["operators"]


def test_nothing_marks_data_safe():
    """`|safe`, `{% autoescape off %}` or mark_safe() on data is how text someone typed becomes
    markup. Code that truly needs one must come with its own test, and be named here."""
    root = Path(settings.BASE_DIR)
    templates = [*root.joinpath("templates").rglob("*.html"), *root.glob("*/templates/**/*.html")]
    code = [path for package in PACKAGES for path in root.joinpath(package).rglob("*.py")]
    offenders = [
        str(path.relative_to(root))
        for path in templates + code
        if re.search(r"\|\s*safe\b|autoescape\s+off|mark_safe\(|SafeString\(", path.read_text())
    ]
    assert offenders == []


PACKAGES = ["attribution_site", "integrations", "events", "reporting"]
