"""What the raw-data reports page shows: the filters as typed, the preview, the count, and the
links that give the same rows (CSV export, Pull API, background job)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import QueryDict
from django.urls import reverse

from events.models import ORGANIC, InAppEvent, Install
from integrations.models import Integration
from integrations.policy import Action, AppAccess
from reporting import cost_report, export_jobs, raw_data, raw_data_csv
from reporting.models import ExportJob
from reporting.raw_data_columns import ADDITIONAL_COLUMNS


def params_from(query_dict: QueryDict) -> dict[str, str]:
    """Checkbox lists (media_source=a&media_source=b) read like the API's comma lists."""
    return {
        key: ",".join(value.strip() for value in values if value.strip())
        for key, values in query_dict.lists()
    }


def allowed_kinds(access: AppAccess) -> list[raw_data.ReportKind]:
    return [kind for kind in raw_data.KINDS.values() if access.can(kind.need)]


def media_source_choices(access: AppAccess) -> list[str]:
    """Organic, the app's partners, and every source its installs and events came from."""
    if access.media_source is not None:
        return [access.media_source]
    seen = set(
        Integration.objects.filter(app=access.app).values_list("partner__media_source", flat=True)
    )
    for model in (Install, InAppEvent):
        rows = model.objects.filter(app=access.app).order_by()
        seen |= set(rows.values_list("media_source", flat=True).distinct())
    return sorted(seen | {ORGANIC})


def build_context(
    access: AppAccess, query_dict: QueryDict, *, user_id: int, api_base: str
) -> dict[str, Any]:
    kinds = allowed_kinds(access)
    params = params_from(query_dict)
    if not params.get("from") and not params.get("to"):
        params["from"], params["to"] = cost_report.last_seven_days(access)
    default_kind = "in_app_events" if access.can(Action.VIEW_EVENTS_REPORT) else kinds[0].key
    kind_key = params.get("report") or default_kind
    context: dict[str, Any] = {
        "kinds": kinds,
        "values": {**params, "report": kind_key},
        "selected_sources": set(raw_data.split_names(params.get("media_source", ""))),
        "selected_fields": set(raw_data.split_names(params.get("additional_fields", ""))),
        "media_sources": media_source_choices(access),
        "additional_columns": ADDITIONAL_COLUMNS,
        "timezone": params.get("timezone") or access.app.timezone,
        "can_export": access.can(Action.EXPORT_REPORTS),
        "background_rows": settings.EXPORT_BACKGROUND_ROWS,
    }
    export_jobs.fail_stalled_export_jobs()  # so a job whose worker was stopped shows why
    context["jobs"] = ExportJob.objects.filter(app=access.app, user_id=user_id)[:5]
    if kind_key not in {kind.key for kind in kinds}:
        context["error"] = "Your role does not include this report."
        return context
    try:
        query = raw_data.parse_query(access, params, kind_key=kind_key)
    except raw_data.BadQuery as error:
        context["error"] = str(error)
        return context
    rows = raw_data.report_rows(query)
    header = raw_data.headers(query)
    preview = list(raw_data_csv.formatted_rows(query, rows[: raw_data.PREVIEW_ROWS]))
    filled = [i for i in range(len(header)) if any(cells[i] for cells in preview)]
    total = rows.count()
    query_string = urlencode({"report": kind_key, **query.params})
    context |= {
        "query": query,
        "row_count": total,
        "export_rows": min(total, query.maximum_rows),
        "preview_header": [header[i] for i in filled],
        "preview_rows": [[cells[i] for i in filled] for cells in preview],
        "hidden_columns": len(header) - len(filled),
        "column_count": len(header),
        "query_string": query_string,
        "export_url": reverse("reporting:raw-data-export", args=[access.app.app_id])
        + "?"
        + query_string,
        "api_url": _api_url(query, api_base),
    }
    return context


def _api_url(query: raw_data.RawDataQuery, api_base: str) -> str | None:
    report = raw_data.pull_api_path(query)
    if report is None:
        return None
    params = {key: value for key, value in query.params.items() if key != "reattr"}
    if report.startswith("organic_"):
        params.pop("media_source", None)
    path = reverse("reporting:pull-api", args=[query.app.app_id, report])
    return f"{api_base}{path}?{urlencode(params)}"
