"""What the overview is asked for: date range, media sources, and the drill-down level."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from django import forms
from django.http import QueryDict

from events.models import ORGANIC
from integrations.models import Partner
from integrations.policy import AppAccess
from reporting.cost_report import check_date_range, last_seven_days
from reporting.models import CostRecord

# Web campaigns' cost is pulled through the "web cost" partner, but their clicks are attributed
# to the web partner: the same TikTok campaigns, so the overview shows them on one row.
COST_MEDIA_SOURCES = {"tiktokglobal_int": "tiktokweb_int"}


class Level(StrEnum):
    CAMPAIGN = "campaign"
    ADSET = "adset"
    AD = "ad"


# (id field, name field) per level, the same on Install, InAppEvent and CostRecord.
LEVEL_FIELDS = {
    Level.CAMPAIGN: ("campaign_id", "campaign"),
    Level.ADSET: ("adset_id", "adset"),
    Level.AD: ("ad_id", "ad"),
}
LEVEL_LABELS = {Level.CAMPAIGN: "Campaign", Level.ADSET: "Ad set", Level.AD: "Ad"}


@dataclass(frozen=True)
class Filters:
    date_from: date
    date_to: date
    media_sources: tuple[str, ...] = ()
    campaign_id: str = ""
    adset_id: str = ""

    @property
    def level(self) -> Level:
        if self.campaign_id and self.adset_id:
            return Level.AD
        if self.campaign_id:
            return Level.ADSET
        return Level.CAMPAIGN


class OverviewFilterForm(forms.Form):
    date_from = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    media_source = forms.MultipleChoiceField(
        label="Media sources",
        required=False,
        help_text="None chosen means all.",
        widget=forms.CheckboxSelectMultiple,  # as on Raw data
    )
    campaign_id = forms.RegexField(
        r"^[0-9A-Za-z_.-]{1,64}\Z", required=False, widget=forms.HiddenInput
    )
    adset_id = forms.RegexField(
        r"^[0-9A-Za-z_.-]{1,64}\Z", required=False, widget=forms.HiddenInput
    )

    def __init__(self, data: QueryDict | dict[str, Any] | None, *, access: AppAccess) -> None:
        first, last = last_seven_days(access)
        merged = QueryDict(mutable=True)
        if data:
            for key in data:
                values = data.getlist(key) if hasattr(data, "getlist") else [data[key]]
                merged.setlist(key, [value for value in values if value != ""])
        if not merged.get("date_from"):
            merged["date_from"] = first
        if not merged.get("date_to"):
            merged["date_to"] = last
        super().__init__(merged)
        self.fields["media_source"].choices = [
            (source, source) for source in media_source_choices(access)
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        check_date_range(self, cleaned)
        if cleaned.get("adset_id") and not cleaned.get("campaign_id"):
            self.add_error(None, "An ad set is chosen within a campaign.")
        return cleaned

    def filters(self) -> Filters:
        data = self.cleaned_data
        return Filters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            media_sources=tuple(data.get("media_source") or ()),
            campaign_id=data.get("campaign_id") or "",
            adset_id=data.get("adset_id") or "",
        )


def media_source_choices(access: AppAccess) -> list[str]:
    """The catalog's partners, organic, and whatever cost arrived under, as the rows show them
    (web cost under the web source); a partner user sees only their own. Install media sources
    outside the catalog still show under "all"."""
    if access.media_source is not None:
        return [access.media_source]
    sources = set(Partner.objects.values_list("media_source", flat=True)) | {ORGANIC}
    sources -= set(COST_MEDIA_SOURCES)
    costs = CostRecord.objects.filter(app=access.app).values_list("media_source", flat=True)
    sources |= {COST_MEDIA_SOURCES.get(source, source) for source in costs.distinct()}
    return sorted(sources)


def cost_sources_for(sources: Iterable[str]) -> set[str]:
    """The media sources cost rows are stored under, for media sources shown on the page."""
    wanted = set(sources)
    return wanted | {cost for cost, shown in COST_MEDIA_SOURCES.items() if shown in wanted}
