"""Hosted landing pages: saving them (with their image, checked by its bytes) and where their
store buttons lead (the app's smart link, with the ad's parameters carried along)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse

from integrations.models import App, LandingPage, Platform
from integrations.services.audit import record_audit

MAX_IMAGE_BYTES = 1_000_000
# What the page accepts, by the file's first bytes (never SVG: it can carry script).
IMAGE_SIGNATURES = [
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
]
EDITABLE_FIELDS = (
    "slug", "headline", "text", "image_alt", "media_source", "show_app_store",
    "show_google_play", "web_button_label", "web_button_url", "is_published",
)  # fmt: skip
MAX_CARRIED_PARAMETERS = 30


def image_type_of(data: bytes) -> str:
    """The image's MIME type from its bytes, or ValidationError for anything else."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ValidationError(
            f"The image is over {MAX_IMAGE_BYTES // 1000:,} kB; use a smaller one."
        )
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for signature, content_type in IMAGE_SIGNATURES:
        if data.startswith(signature):
            return content_type
    raise ValidationError("Upload a PNG, JPEG, GIF or WebP image.")


def save_landing_page(
    app: App,
    page: LandingPage | None,
    *,
    acting_user: AbstractBaseUser,
    fields: Mapping[str, Any],
    image: bytes | None = None,
    remove_image: bool = False,
) -> LandingPage:
    """Create or change one of the app's landing pages; the history records what changed."""
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with transaction.atomic():
        creating = page is None
        if page is None:
            page = LandingPage(app=app)
        elif page.app_id != app.pk:
            raise ValueError("the landing page belongs to another app")
        changes = {
            name: (getattr(page, name), value)
            for name, value in fields.items()
            if creating or getattr(page, name) != value
        }
        for name, value in fields.items():
            setattr(page, name, value)
        if image is not None:
            try:
                page.image, page.image_type = image, image_type_of(image)
            except ValidationError as error:
                raise ValidationError({"image_file": error.messages}) from None
            changes["image"] = ("", f"{len(image):,} bytes")
        elif remove_image and page.image:
            page.image, page.image_type, page.image_alt = None, "", ""
            changes["image"] = ("an image", "")
        if page.image and not page.image_alt:
            raise ValidationError({"image_alt": "Describe the image for people who cannot see it."})
        page.full_clean(exclude=["app"])
        page.save()
        if changes:
            record_audit(
                app=app,
                acting_user=acting_user,
                action="landing_page.created" if creating else "landing_page.edited",
                changes=changes,
                details={"slug": page.slug},
            )
    return page


@dataclass(frozen=True)
class StoreButton:
    store: str  # "app_store" or "google_play"
    label: str
    href: str


def store_buttons(page: LandingPage, query: Mapping[str, str]) -> list[StoreButton]:
    """The page's store buttons: each goes through the app's smart link with the ad's own
    parameters (ttclid, campaign, …) so the click id survives to the install. A website's page
    leads to its linked apps; a phone app's page to its own store."""
    app = page.app
    carried = urlencode(_carried(query))
    suffix = f"?{carried}" if carried else ""
    if app.platform == Platform.WEB:
        href = reverse("events:app-click", args=[app.public_key, page.media_source]) + suffix
        stores = [
            ("app_store", "Download on the App Store",
             page.show_app_store and app.ios_app is not None),
            ("google_play", "Get it on Google Play",
             page.show_google_play and app.android_app is not None),
        ]  # fmt: skip
    else:
        href = reverse("events:click", args=[app.public_key, page.media_source]) + suffix
        stores = [
            ("app_store", "Download on the App Store",
             page.show_app_store and app.platform == Platform.IOS),
            ("google_play", "Get it on Google Play",
             page.show_google_play and app.platform == Platform.ANDROID),
        ]  # fmt: skip
    return [StoreButton(store, label, href) for store, label, shown in stores if shown]


def _carried(query: Mapping[str, str]) -> list[tuple[str, str]]:
    """The landing page's own query (the ad's macros), less `pid` (the path names the
    partner), bounded in count and length."""
    pairs = [(key, value[:500]) for key, value in query.items() if key != "pid" and len(key) <= 64]
    return pairs[:MAX_CARRIED_PARAMETERS]
