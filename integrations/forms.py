"""Forms of the marketplace and the integration setup tabs. Field checks live here; the
partner's rules live in services.mapping and are checked again by the services."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.forms.formsets import INITIAL_FORM_COUNT, TOTAL_FORM_COUNT

from integrations.models import (
    Including,
    Integration,
    PartnerPermission,
    PartnerUser,
    PostbackWindowUnit,
    UsersFrom,
)
from integrations.secrets import SecretInput
from integrations.services.mapping import MappingRow, check_rows, warnings_for

CAPABILITIES = {
    "web": ("supports_web", "Web"),
    "app": ("supports_app", "App"),
    "events_api": ("supports_events_api", "Events API"),
    "cost": ("supports_cost", "Cost"),
    "ad_revenue": ("supports_ad_revenue", "Ad revenue"),
}


class MarketplaceSearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=100, label="Search partners")
    capability = forms.MultipleChoiceField(
        required=False,
        choices=[(key, label) for key, (_, label) in CAPABILITIES.items()],
        widget=forms.CheckboxSelectMultiple,
    )


class IntegrationSettingsForm(forms.Form):
    """Activation, credentials and privacy. Which fields appear depends on the partner."""

    is_active = forms.BooleanField(required=False, label="Activate partner")
    pixel_code = forms.CharField(
        required=False,
        max_length=64,
        label="Pixel ID",
        help_text="From TikTok Events Manager, e.g. CQ8RT3JC77U4D5MLS2A0.",
    )
    access_token = forms.CharField(
        required=False,
        max_length=512,
        label="Access token",
        widget=SecretInput(),
        help_text="Events API access token from the pixel's settings in TikTok Events Manager.",
    )
    tiktok_app_id = forms.CharField(
        required=False,
        max_length=32,
        label="TikTok App ID",
        help_text="From TikTok Events Manager → App; app events are sent to this id.",
    )
    ccpa_limited_data_use = forms.BooleanField(
        required=False, label="Limit TikTok's use of personal information (CCPA)"
    )
    view_through_enabled = forms.BooleanField(required=False, label="View-through attribution")
    install_postbacks = forms.ChoiceField(
        choices=UsersFrom.choices,
        widget=forms.RadioSelect,
        label="Send install postbacks for installs attributed to",
        required=False,
    )

    def __init__(self, *args: Any, integration: Integration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.integration = integration
        partner = integration.partner
        pixel = getattr(integration, "pixel", None)
        self.token_hint = pixel.access_token.hint if pixel else ""
        if self.token_hint:
            self.fields["access_token"].label = "Replace access token"
            self.fields["access_token"].help_text = "Leave empty to keep the saved token."
        if partner.is_app:
            del self.fields["pixel_code"]
        else:
            for name in ("tiktok_app_id", "view_through_enabled", "install_postbacks"):
                del self.fields[name]
        if not partner.supports_view_through and "view_through_enabled" in self.fields:
            del self.fields["view_through_enabled"]
        if not partner.supports_install_postbacks and "install_postbacks" in self.fields:
            del self.fields["install_postbacks"]
        if not partner.supports_events_api:
            # The page shows these in its Events API section, which such partners lack; a field
            # the page does not show must not be bound, or saving would blank what it holds.
            for name in list(self.fields):
                if name != "is_active":
                    del self.fields[name]

    @staticmethod
    def initial_for(integration: Integration) -> dict[str, Any]:
        pixel = getattr(integration, "pixel", None)
        return {
            "is_active": integration.is_active,
            "pixel_code": pixel.pixel_code if pixel else "",
            "tiktok_app_id": integration.tiktok_app_id,
            "ccpa_limited_data_use": integration.ccpa_limited_data_use,
            "view_through_enabled": integration.view_through_enabled,
            "install_postbacks": integration.install_postbacks,
        }

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        settings = {
            name: data[name]
            for name in (
                "ccpa_limited_data_use",
                "tiktok_app_id",
                "view_through_enabled",
                "install_postbacks",
            )
            if name in self.fields
        }
        if "install_postbacks" in settings and not settings["install_postbacks"]:
            settings.pop("install_postbacks")
        return {
            "is_active": data["is_active"],
            "settings": settings,
            "pixel_code": data.get("pixel_code") if "pixel_code" in self.fields else None,
            "new_access_token": data.get("access_token", ""),
        }


class PostbackSettingsForm(forms.Form):
    in_app_postbacks_enabled = forms.BooleanField(required=False, label="In-app event postbacks")
    postback_window_value = forms.IntegerField(
        required=False, min_value=1, label="Postback window", widget=forms.NumberInput
    )
    postback_window_unit = forms.ChoiceField(
        choices=PostbackWindowUnit.choices, label="Window unit"
    )
    block_flagged_installs = forms.BooleanField(
        required=False,
        label="Don't send installs flagged as fraud",
        help_text="Installs the fraud checks flag (see Protect360), and the events of their "
        "users, are kept out of this partner's postbacks.",
    )

    @staticmethod
    def initial_for(integration: Integration) -> dict[str, Any]:
        return {
            "block_flagged_installs": integration.block_flagged_installs,
            "in_app_postbacks_enabled": integration.in_app_postbacks_enabled,
            "postback_window_value": integration.postback_window_value,
            "postback_window_unit": integration.postback_window_unit,
        }


class ConditionsField(forms.CharField):
    """The row's conditions as JSON, edited by static/js/mapping.js as small rows."""

    widget = forms.HiddenInput

    def to_python(self, value: Any) -> list[dict[str, str]]:
        text = (value or "").strip()
        if not text:
            return []
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            raise forms.ValidationError("The conditions could not be read.") from None
        if not isinstance(parsed, list):
            raise forms.ValidationError("The conditions could not be read.")
        return [
            {
                "field": str(item.get("field", "")).strip(),
                "op": str(item.get("op", "")),
                "value": str(item.get("value", "")).strip(),
            }
            for item in parsed
            if isinstance(item, dict)
        ]

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, list):
            return json.dumps(value)
        return value or "[]"


class MappingRowForm(forms.Form):
    app_event_name = forms.CharField(max_length=100, label="App event")
    partner_event_name = forms.CharField(max_length=100, label="TikTok event")
    users_from = forms.ChoiceField(choices=UsersFrom.choices, label="For users from")
    including = forms.ChoiceField(choices=Including.choices, label="Including")
    conditions = ConditionsField(required=False, label="Conditions")
    is_enabled = forms.BooleanField(required=False, label="Enabled")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The table shows one header per column, so each input names itself for screen readers.
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", str(field.label))
        self.fields["app_event_name"].widget.attrs.update(
            {"list": "seen-event-names", "placeholder": "e.g. purchase", "autocomplete": "off"}
        )
        self.fields["partner_event_name"].widget.attrs.update(
            {"list": "partner-event-names", "placeholder": "e.g. Purchase", "autocomplete": "off"}
        )
        self.fields["conditions"].widget.attrs["class"] = "conditions-data"

    def as_row(self) -> MappingRow:
        data = self.cleaned_data
        return MappingRow(
            app_event_name=data["app_event_name"].strip(),
            partner_event_name=data["partner_event_name"].strip(),
            users_from=data["users_from"],
            including=data["including"],
            conditions=data["conditions"],
            is_enabled=data["is_enabled"],
        )


class BaseMappingFormSet(forms.BaseFormSet):
    def __init__(self, *args: Any, integration: Integration, **kwargs: Any) -> None:
        self.integration = integration
        super().__init__(*args, **kwargs)

    def kept_forms(self) -> list[MappingRowForm]:
        """Rows that will be saved: not marked for deletion, and not left blank."""
        return [
            form for form in self.forms if not self._should_delete_form(form) and form.cleaned_data
        ]

    def rows(self) -> list[MappingRow]:
        return [form.as_row() for form in self.kept_forms()]

    def clean(self) -> None:
        if any(form.errors for form in self.forms if not self._should_delete_form(form)):
            return
        kept = self.kept_forms()
        for index, row_errors in check_rows(self.integration.partner, self.rows()).items():
            for field_name, message in row_errors.items():
                kept[index].add_error(field_name, message)

    def warnings(self) -> dict[int, list[str]]:
        result = {}
        for index, form in enumerate(self.forms):
            name = form["partner_event_name"].value() or ""
            notes = warnings_for(self.integration.partner, MappingRow("", name.strip()))
            if notes:
                result[index] = notes
        return result

    def with_rows_added(self, rows: list[MappingRow]) -> tuple[BaseMappingFormSet, int]:
        """This posted table with `rows` appended where it lacks them, and how many were added.

        Everything the user typed stays as typed (nothing is validated or saved): the result is
        the same formset bound to its data plus the new rows, written through the formset's own
        prefixes so the next Save posts them like any other row.
        """
        management = self.management_form
        total = management.cleaned_data.get(TOTAL_FORM_COUNT) if management.is_valid() else None
        if total is None or total > self.absolute_max:
            # Not a count our page sends (or more rows than the formset takes): leave the data
            # as posted, for the formset to refuse, rather than loop over millions of rows.
            return self, 0
        present = {
            (form["app_event_name"].value() or "", form["partner_event_name"].value() or "")
            for form in self.forms
            if not (self.can_delete and form["DELETE"].value())
        }
        present = {(app.strip(), partner.strip()) for app, partner in present}
        data = self.data.copy()
        added = 0
        for row in rows:
            if (row.app_event_name, row.partner_event_name) in present:
                continue
            form = self.form(prefix=self.add_prefix(total + added))
            values = {
                "app_event_name": row.app_event_name,
                "partner_event_name": row.partner_event_name,
                "users_from": row.users_from,
                "including": row.including,
                "conditions": form.fields["conditions"].prepare_value(row.conditions),
            }
            for name, value in values.items():
                data[form.add_prefix(name)] = value
            if row.is_enabled:
                data[form.add_prefix("is_enabled")] = "on"
            added += 1
        data[management.add_prefix(TOTAL_FORM_COUNT)] = str(total + added)
        data.setdefault(management.add_prefix(INITIAL_FORM_COUNT), "0")
        grown = type(self)(
            data,
            integration=self.integration,
            prefix=self.prefix,
            form_kwargs=self.form_kwargs,
        )
        return grown, added

    @staticmethod
    def initial_for(integration: Integration) -> list[dict[str, Any]]:
        return [
            {
                "app_event_name": mapping.app_event_name,
                "partner_event_name": mapping.partner_event_name,
                "users_from": mapping.users_from,
                "including": mapping.including,
                "conditions": mapping.conditions,
                "is_enabled": mapping.is_enabled,
            }
            for mapping in integration.mappings.all()
        ]


MappingFormSet: type[BaseMappingFormSet] = forms.formset_factory(  # type: ignore[assignment]
    MappingRowForm,
    formset=BaseMappingFormSet,
    extra=0,
    can_delete=True,
    max_num=200,
    # Bound forms are capped here: a posted TOTAL_FORMS of millions renders 200 rows, not
    # Django's default of max_num + 1,000.
    absolute_max=200,
)


class TestEventForm(forms.Form):
    test_event_code = forms.RegexField(
        regex=r"^[A-Za-z0-9_-]{1,64}\Z",
        max_length=64,
        label="Test event code",
        help_text="From TikTok Events Manager → your pixel → Test Events.",
        error_messages={"invalid": "Copy the code exactly as TikTok shows it (letters, digits)."},
    )
    event_name = forms.CharField(max_length=100, label="Event", initial="ViewContent")


class LinkParameterForm(forms.Form):
    key = forms.RegexField(
        regex=r"^[A-Za-z0-9_]{1,64}\Z",
        max_length=64,
        label="Parameter",
        error_messages={"invalid": "Use letters, digits and underscores."},
    )
    value = forms.CharField(max_length=255, label="Value")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.setdefault("aria-label", str(field.label))


class BaseLinkParameterFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        keys = set()
        for form in self.forms:
            if self._should_delete_form(form) or not form.cleaned_data:
                continue
            key = form.cleaned_data["key"]
            if key in keys:
                form.add_error("key", f"{key} appears twice.")
            keys.add(key)

    def pairs(self) -> list[list[str]]:
        return [
            [form.cleaned_data["key"], form.cleaned_data["value"]]
            for form in self.forms
            if not self._should_delete_form(form) and form.cleaned_data
        ]


LinkParameterFormSet = forms.formset_factory(
    LinkParameterForm, formset=BaseLinkParameterFormSet, extra=0, can_delete=True, max_num=60
)


class AttributionLinkForm(forms.Form):
    link_base_url = forms.URLField(
        required=False, label="Website URL", help_text="The landing page your TikTok ads open."
    )
    click_lookback_days = forms.IntegerField(
        min_value=1, max_value=30, label="Click-through lookback (days)"
    )
    view_lookback_hours = forms.IntegerField(
        min_value=1, max_value=48, label="View-through lookback (hours)"
    )

    def __init__(self, *args: Any, integration: Integration, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if integration.partner.is_app:
            del self.fields["link_base_url"]
        else:
            self.fields["link_base_url"].required = True
            del self.fields["view_lookback_hours"]


class PermissionsForm(forms.Form):
    """Grants for the partner as a whole and, optionally, each member of its team."""

    acts_as = forms.ChoiceField(
        choices=PartnerPermission.ActsAs.choices, label="The partner acts as"
    )

    def __init__(self, *args: Any, members: list[PartnerUser], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.members = members
        for grant in PartnerPermission.GRANTS:
            self.fields[f"partner__{grant}"] = forms.BooleanField(
                required=False, label=PartnerPermission._meta.get_field(grant).verbose_name
            )
        for member in members:
            self.fields[f"member_{member.pk}__custom"] = forms.BooleanField(
                required=False, label="Own permissions"
            )
            for grant in PartnerPermission.GRANTS:
                self.fields[f"member_{member.pk}__{grant}"] = forms.BooleanField(
                    required=False, label=PartnerPermission._meta.get_field(grant).verbose_name
                )

    @staticmethod
    def initial_for(app_pk: int, partner_pk: int, members: list[PartnerUser]) -> dict[str, Any]:
        rows = PartnerPermission.objects.filter(app_id=app_pk, partner_id=partner_pk)
        initial: dict[str, Any] = {"acts_as": PartnerPermission.ActsAs.AD_NETWORK}
        for row in rows:
            prefix = "partner" if row.partner_user_id is None else f"member_{row.partner_user_id}"
            if row.partner_user_id is None:
                initial["acts_as"] = row.acts_as
            else:
                initial[f"{prefix}__custom"] = True
            for grant in PartnerPermission.GRANTS:
                initial[f"{prefix}__{grant}"] = getattr(row, grant)
        return initial

    def grant_rows(self) -> list[dict[str, Any]]:
        """Rows for the template: a label and the bound fields of each grant."""
        rows = [
            {
                "label": "Everyone at the partner",
                "custom": None,
                "fields": [self[f"partner__{grant}"] for grant in PartnerPermission.GRANTS],
            }
        ]
        for member in self.members:
            rows.append(
                {
                    "label": member.user.get_username(),
                    "custom": self[f"member_{member.pk}__custom"],
                    "fields": [
                        self[f"member_{member.pk}__{grant}"] for grant in PartnerPermission.GRANTS
                    ],
                }
            )
        return rows

    def service_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        members = {}
        for member in self.members:
            prefix = f"member_{member.pk}"
            members[member.pk] = (
                {grant: data[f"{prefix}__{grant}"] for grant in PartnerPermission.GRANTS}
                if data[f"{prefix}__custom"]
                else None
            )
        return {
            "acts_as": data["acts_as"],
            "partner_wide": {
                grant: data[f"partner__{grant}"] for grant in PartnerPermission.GRANTS
            },
            "members": members,
        }


class CostSettingsForm(forms.Form):
    """The Cost tab's Save: cost on or off, and which advertisers of live connections to pull."""

    is_enabled = forms.BooleanField(required=False, label="Get cost data")
    advertisers = forms.TypedMultipleChoiceField(
        required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, advertiser_ids: list[int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["advertisers"].choices = [(pk, str(pk)) for pk in advertiser_ids]
        self.fields["advertisers"].error_messages["invalid_choice"] = (
            "One of the chosen advertisers is not part of a live connection."
        )


class AdRevenueForm(forms.Form):
    """Ad revenue settings. The secure key is write-only: blank keeps the stored one."""

    is_enabled = forms.BooleanField(required=False, label="Get ad revenue data")
    tiktok_app_id = forms.RegexField(
        regex=r"^[0-9]{5,32}\Z",
        required=False,
        max_length=32,
        label="App ID",
        help_text="The TikTok App ID of your app (digits).",
        error_messages={"invalid": "A TikTok App ID has only digits (5 to 32)."},
    )
    secure_key = forms.CharField(
        required=False,
        max_length=256,
        label="Secure Key",
        widget=SecretInput(),
        help_text="From TikTok's ad revenue settings. Stored encrypted and never shown again.",
    )
    account_id = forms.RegexField(
        regex=r"^[A-Za-z0-9_-]{1,64}\Z",
        required=False,
        max_length=64,
        label="Account ID",
        error_messages={"invalid": "Use letters, digits, dashes or underscores."},
    )
    event_source = forms.RegexField(
        regex=r"^[A-Za-z0-9_.:-]{1,100}\Z",
        required=False,
        max_length=100,
        label="Event to map ad revenue to",
        help_text="The app event that carries ad revenue, e.g. af_ad_revenue.",
        error_messages={"invalid": "Use an event name: letters, digits, _ . : -"},
    )

    def __init__(self, *args: Any, has_stored_key: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_stored_key = has_stored_key

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("is_enabled"):
            for name in ("tiktok_app_id", "account_id", "event_source"):
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, "Needed to get ad revenue data.")
            if not cleaned.get("secure_key") and not self.has_stored_key:
                self.add_error("secure_key", "Needed to get ad revenue data.")
        return cleaned
