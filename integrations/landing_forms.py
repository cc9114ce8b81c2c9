"""The landing-page builder's form."""

from __future__ import annotations

from typing import Any

from django import forms

from integrations.models import LandingPage
from integrations.services.landing_pages import MAX_IMAGE_BYTES


class LandingPageForm(forms.ModelForm):
    image_file = forms.FileField(
        label="Image",
        required=False,
        help_text="PNG, JPEG, GIF or WebP, up to 1 MB.",
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}
        ),
    )
    remove_image = forms.BooleanField(label="Remove the image", required=False)

    class Meta:
        model = LandingPage
        fields = [
            "slug", "headline", "text", "image_file", "remove_image", "image_alt",
            "media_source", "show_app_store", "show_google_play", "web_button_label",
            "web_button_url", "is_published",
        ]  # fmt: skip
        widgets = {"text": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args: Any, media_sources: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(source, source) for source in media_sources]
        self.fields["media_source"] = forms.ChoiceField(
            label="Attribute store clicks to",
            choices=choices or [("tiktokweb_int", "tiktokweb_int")],
            help_text="One of the app's partners; its clicks are attributed to it.",
        )
        if not self.instance.image:
            del self.fields["remove_image"]

    def clean_image_file(self) -> Any:
        upload = self.cleaned_data.get("image_file")
        if upload and upload.size > MAX_IMAGE_BYTES:
            raise forms.ValidationError("The image is over 1,000 kB; use a smaller one.")
        return upload

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        keeps_image = self.instance.image and not data.get("remove_image")
        if (data.get("image_file") or keeps_image) and not data.get("image_alt"):
            self.add_error("image_alt", "Describe the image for people who cannot see it.")
        label, url = data.get("web_button_label"), data.get("web_button_url")
        if bool(label) != bool(url):
            self.add_error(
                "web_button_label" if url else "web_button_url",
                "A “continue on web” button needs both its label and its address.",
            )
        return data

    def image_bytes(self) -> bytes | None:
        upload = self.cleaned_data.get("image_file")
        return upload.read() if upload else None
