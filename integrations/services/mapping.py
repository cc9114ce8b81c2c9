"""Postback mapping rows: their rules (checked by the setup form and again by the service), the
catalog's default rows, replacing an integration's rows, and the event names an app has sent.

They come from the partners' own rules (see the catalog): for TikTok web, a row mapped to
Purchase must send values and revenue, and only Purchase may send revenue.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone

from integrations.models import (
    EventMapping,
    Including,
    Integration,
    Partner,
    PartnerDefaultMapping,
    PartnerEvent,
    SeenEventName,
    UsersFrom,
)

OPERATORS = {
    "eq": "is",
    "neq": "is not",
    "gt": ">",
    "gte": "≥",
    "lt": "<",
    "lte": "≤",
    "contains": "contains",
}
NUMERIC_OPERATORS = {"gt", "gte", "lt", "lte"}
CUSTOM_EVENT_WARNING = (
    "Custom event: TikTok accepts it for reporting and audiences, but it cannot be used for "
    "campaign optimisation."
)


@dataclass
class MappingRow:
    app_event_name: str
    partner_event_name: str
    users_from: str = UsersFrom.THIS_PARTNER
    including: str = Including.NO_VALUES
    conditions: list[dict] = field(default_factory=list)
    is_enabled: bool = True


def partner_event_index(partner: Partner) -> dict[str, PartnerEvent]:
    return {event.name: event for event in partner.events.all()}


def check_rows(partner: Partner, rows: list[MappingRow]) -> dict[int, dict[str, str]]:
    """Errors per row index and field; an empty dict means the rows may be saved."""
    known = partner_event_index(partner)
    errors: dict[int, dict[str, str]] = {}
    seen: dict[tuple[str, str], int] = {}
    for index, row in enumerate(rows):
        row_errors = errors.setdefault(index, {})
        event = known.get(row.partner_event_name)
        if event is not None and event.requires_revenue:
            if row.including != Including.VALUES_AND_REVENUE:
                row_errors["including"] = (
                    f"{event.name} must include values and revenue; TikTok rejects "
                    f"{event.name} postbacks without them."
                )
        elif row.including == Including.VALUES_AND_REVENUE and not (event and event.allows_revenue):
            allowed = ", ".join(sorted(e.name for e in known.values() if e.allows_revenue))
            row_errors["including"] = (
                f"Only {allowed or 'no event'} may include revenue for {partner.name}. "
                "Choose “Values without revenue” or “No values”."
            )
        key = (row.app_event_name, row.partner_event_name)
        if key in seen:
            row_errors["partner_event_name"] = (
                f"Row {seen[key] + 1} already maps {row.app_event_name} to "
                f"{row.partner_event_name}."
            )
        else:
            seen[key] = index
        condition_error = check_conditions(row.conditions)
        if condition_error:
            row_errors["conditions"] = condition_error
    return {index: row_errors for index, row_errors in errors.items() if row_errors}


def check_conditions(conditions: list[dict]) -> str:
    for number, condition in enumerate(conditions, start=1):
        if not isinstance(condition, dict):
            return f"Condition {number} is not readable."
        field_name = str(condition.get("field", "")).strip()
        operator = condition.get("op")
        value = str(condition.get("value", "")).strip()
        if not field_name:
            return f"Condition {number}: name the field of the event value to compare."
        if operator not in OPERATORS:
            return f"Condition {number}: choose an operator."
        if value == "":
            return f"Condition {number}: enter a value to compare with."
        if operator in NUMERIC_OPERATORS:
            try:
                Decimal(value)
            except InvalidOperation:
                return f"Condition {number}: “{OPERATORS[operator]}” needs a number."
    return ""


def warnings_for(partner: Partner, row: MappingRow) -> list[str]:
    """Non-blocking notes: custom names, legacy names."""
    event = partner_event_index(partner).get(row.partner_event_name)
    if event is None:
        return [CUSTOM_EVENT_WARNING] if row.partner_event_name else []
    if event.is_legacy:
        instead = f" Use {event.replacement} instead." if event.replacement else ""
        return [f"{event.name} is a legacy TikTok event name.{instead}"]
    return []


class MappingRowsInvalid(ValidationError):
    """Errors keyed by row index, so the page can show each next to its row."""

    def __init__(self, row_errors: dict[int, dict[str, str]]) -> None:
        self.row_errors = row_errors
        super().__init__(
            [
                f"Row {index + 1}: {message}"
                for index, e in row_errors.items()
                for message in e.values()
            ]
        )


def default_mapping_rows(integration: Integration) -> list[tuple[MappingRow, bool]]:
    """The catalog's default rows as (row, is_primary)."""
    return [
        (
            MappingRow(
                app_event_name=default.app_event_name,
                partner_event_name=default.partner_event_name,
                including=default.including,
                is_enabled=default.is_primary,
            ),
            default.is_primary,
        )
        for default in PartnerDefaultMapping.objects.filter(partner=integration.partner)
    ]


def replace_mappings(
    integration: Integration, rows: list[MappingRow]
) -> tuple[list[str], list[str]] | None:
    """Make the stored rows equal `rows` (in order). Returns (removed, added) for the history."""
    before = [
        _describe(MappingRow(**{k: getattr(m, k) for k in MappingRow.__dataclass_fields__}))
        for m in integration.mappings.all()
    ]
    after = [_describe(row) for row in rows]
    if before == after:
        return None
    integration.mappings.all().delete()
    EventMapping.objects.bulk_create(
        [
            EventMapping(integration=integration, sort_order=order, **asdict(row))
            for order, row in enumerate(rows)
        ]
    )
    return sorted(set(before) - set(after)), sorted(set(after) - set(before))


def _describe(row: MappingRow) -> str:
    state = "" if row.is_enabled else " (off)"
    conditions = f", {len(row.conditions)} condition(s)" if row.conditions else ""
    return (
        f"{row.app_event_name} → {row.partner_event_name} [{row.users_from}, "
        f"{row.including}{conditions}]{state}"
    )


def record_seen_event_names(
    app_pk: int, names: Iterable[str], seen_at: datetime | None = None
) -> None:
    """Remember event names an app has sent, so the mapping page can offer them. Called by
    `events` when it stores events; one query for the known names, one insert for new ones."""
    seen_at = seen_at or timezone.now()
    wanted = {name for name in names if name}
    if not wanted:
        return
    known = set(
        SeenEventName.objects.filter(app_id=app_pk, name__in=wanted).values_list("name", flat=True)
    )
    SeenEventName.objects.bulk_create(
        [
            SeenEventName(app_id=app_pk, name=name, first_seen_at=seen_at, last_seen_at=seen_at)
            for name in sorted(wanted - known)
        ],
        ignore_conflicts=True,
    )
    if known:
        SeenEventName.objects.filter(app_id=app_pk, name__in=known).update(last_seen_at=seen_at)
