"""Forms of the app settings, team and first-run pages."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django import forms
from django.contrib.auth import password_validation

from integrations.models import App, Platform, Role

TIMEZONES = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})


class DomainsField(forms.CharField):
    """Origins the web SDK may send from, one per line (https://shop.example.com)."""

    widget = forms.Textarea(attrs={"rows": 3})

    def to_python(self, value: Any) -> list[str]:
        lines = [line.strip().rstrip("/") for line in (value or "").splitlines()]
        return [line for line in lines if line]

    def prepare_value(self, value: Any) -> str:
        return "\n".join(value) if isinstance(value, list) else (value or "")

    def validate(self, value: list[str]) -> None:
        for origin in value:
            if not origin.startswith(("https://", "http://")) or "/" in origin.split("//", 1)[1]:
                raise forms.ValidationError(
                    f"{origin!r} is not an origin: write it as https://shop.example.com, "
                    "one per line, without a path."
                )


class AppSettingsForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=[(name, name) for name in TIMEZONES])
    currency = forms.RegexField(
        regex=r"^[A-Z]{3}\Z",
        max_length=3,
        help_text="ISO 4217 code, e.g. USD, EUR, JPY: reports show money in it.",
        error_messages={"invalid": "Use a three-letter ISO 4217 code such as USD or EUR."},
    )
    domains = DomainsField(
        required=False, help_text="One origin per line, e.g. https://shop.example.com"
    )
    loyal_after_sessions = forms.IntegerField(
        label="Loyal after",
        min_value=1,
        max_value=100,
        required=False,
        initial=3,
        help_text="Sessions after which a user counts as loyal (AppsFlyer: 3).",
    )

    class Meta:
        model = App
        fields = [
            "name", "app_id", "platform", "store_id", "website_url", "domains", "timezone",
            "currency", "loyal_after_sessions", "ios_app", "android_app",
        ]  # fmt: skip
        help_texts = {
            "app_id": "AppsFlyer-style: the App Store id (id1453847291), the Play package name, "
            "or e.g. web.yourshop. It is in your links and SDK setup and cannot change later.",
        }

    def __init__(self, *args: Any, creating: bool, user: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not creating:  # in links and SDK setups: fixed once created
            for name in ("app_id", "platform"):
                self.fields[name].disabled = True
        self.fields["platform"].choices = Platform.choices
        # Only apps this user runs can be linked (a superuser's: all of them).
        for name, platform in (("ios_app", Platform.IOS), ("android_app", Platform.ANDROID)):
            apps = App.objects.filter(platform=platform)
            if user is not None and not user.is_superuser:
                apps = apps.filter(memberships__user=user, memberships__role=Role.ADMIN)
            if self.instance.pk:
                apps = apps.exclude(pk=self.instance.pk)
            self.fields[name].queryset = apps.order_by("name")
            self.fields[name].empty_label = "None"
        if not creating and self.instance.platform != Platform.WEB:
            del self.fields["ios_app"], self.fields["android_app"]  # websites only

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        platform = data.get("platform")
        if platform in (Platform.IOS, Platform.ANDROID) and not data.get("store_id"):
            self.add_error("store_id", "An iOS or Android app needs its store id.")
        if platform == Platform.WEB and not data.get("website_url"):
            self.add_error("website_url", "A website needs its address.")
        if platform != Platform.WEB:
            for name in ("ios_app", "android_app"):
                if data.get(name):
                    self.add_error(name, "Only a website links to apps (web-to-app).")
        if data.get("loyal_after_sessions") is None:
            data["loyal_after_sessions"] = 3
        return data


class InviteForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MARKETER)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class NewAccountForm(forms.Form):
    """Username and password for an invitation or the first admin."""

    username = forms.RegexField(
        regex=r"^[\w.@+-]{3,150}\Z",
        help_text="3 to 150 letters, digits and . @ + - _",
        error_messages={"invalid": "Use 3 to 150 letters, digits and . @ + - _ (no spaces)."},
        widget=forms.TextInput(attrs={"autocomplete": "username"}),
    )
    password1 = forms.CharField(
        label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )
    password2 = forms.CharField(
        label="Password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        first, second = data.get("password1"), data.get("password2")
        if first and second and first != second:
            self.add_error("password2", "The two passwords differ.")
        elif first:
            try:
                password_validation.validate_password(first)
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return data


class FirstAdminForm(NewAccountForm):
    email = forms.EmailField(help_text="For password resets.")
    field_order = ["username", "email", "password1", "password2"]


class PartnerInviteForm(forms.Form):
    email = forms.EmailField(label="Email of the partner's team member")
