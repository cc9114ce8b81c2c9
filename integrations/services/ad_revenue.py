"""Ad revenue settings of an integration (the Ad revenue tab).

TikTok's ad revenue API is not specified yet (shared/spec/tiktok-api.md has no section on it),
so nothing is pulled: ad revenue arrives through our events API as ad-revenue events, and the
tab shows what arrived per day. The App ID, Secure Key and Account ID are kept for the pull
that will need them; the key is encrypted and write-only.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from integrations.models import AdRevenueSettings, Integration
from integrations.secrets import Secret
from integrations.services.audit import record_audit

FIELDS = ("is_enabled", "tiktok_app_id", "account_id", "event_source")


def settings_for(integration: Integration) -> AdRevenueSettings:
    existing = AdRevenueSettings.objects.filter(integration=integration).first()
    return existing or AdRevenueSettings(integration=integration, secure_key=Secret(""))


@transaction.atomic
def save_ad_revenue_settings(
    integration: Integration,
    *,
    acting_user: AbstractBaseUser,
    is_enabled: bool,
    tiktok_app_id: str,
    account_id: str,
    event_source: str,
    secure_key: str = "",
) -> AdRevenueSettings:
    """Save the tab. A blank secure key keeps the stored one."""
    row, _ = AdRevenueSettings.objects.select_for_update().get_or_create(integration=integration)
    new = {
        "is_enabled": is_enabled,
        "tiktok_app_id": tiktok_app_id.strip(),
        "account_id": account_id.strip(),
        "event_source": event_source.strip(),
    }
    changes = {name: (getattr(row, name), value) for name, value in new.items()}
    if secure_key.strip():
        new_key = Secret(secure_key.strip())
        changes["secure_key"] = (row.secure_key, new_key)  # the history keeps masked hints
        row.secure_key = new_key
    for name, value in new.items():
        setattr(row, name, value)
    row.save(update_fields=[*new, "secure_key", "updated_at"])  # get_or_create made the row
    record_audit(
        integration=integration,
        acting_user=acting_user,
        action="ad_revenue.saved",
        changes={name: pair for name, pair in changes.items() if pair[0] != pair[1]},
    )
    return row
