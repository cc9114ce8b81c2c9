"""The aggregate Pull API, in AppsFlyer's shape: `GET /api/agg-data/export/app/<app>/<report>/v5`
with `Authorization: Bearer <token>`, answering CSV, or a plain-text reason with the raw-data
API's statuses (400, 401, 403, 404). See reporting.aggregate and docs/pull-api-aggregate.md."""

from __future__ import annotations

import csv
import io

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from attribution_site.db_routers import replica_reads
from integrations.models import App
from integrations.policy import Action, access_for
from reporting import aggregate
from reporting.api import HOW_TO_AUTHENTICATE, _text
from reporting.api_tokens import user_for_token
from reporting.raw_data import BadQuery


@never_cache
@require_GET
@replica_reads
def agg_data_export(request: HttpRequest, app_id: str, report: str) -> HttpResponse:
    scheme, _, raw_token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw_token.strip():
        return _text(HOW_TO_AUTHENTICATE, 401)
    user = user_for_token(raw_token.strip())
    if user is None:
        return _text("Unknown or revoked API token.", 401)
    kind = aggregate.AGGREGATE_REPORTS.get(report)
    if kind is None:
        known = ", ".join(aggregate.AGGREGATE_REPORTS)
        return _text(f"Unknown report {report!r}. Reports: {known}.", 404)
    app = App.objects.filter(app_id=app_id).first()
    access = access_for(user, app) if app is not None else None
    if access is None:
        return _text(f"No app {app_id!r} among those your token can read.", 404)
    if not access.can(Action.VIEW_REPORTS) or not access.can(Action.EXPORT_REPORTS):
        return _text(f"Your access to {app.app_id} does not include the {report}.", 403)
    params = {key: request.GET.get(key, "") for key in request.GET}
    try:
        query = aggregate.parse_aggregate_query(access, kind, params)
    except BadQuery as error:
        return _text(str(error), 400)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(aggregate.csv_lines(query))
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"{app.app_id}_{report}_{query.date_from}_{query.date_to}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
