"""The Pull API, in AppsFlyer's shape: `GET /api/raw-data/export/app/<app>/<report>/v5` with
`Authorization: Bearer <token>`, answering CSV, or a plain-text reason with 400 (bad
parameters, too long a window), 401 (no or bad token), 403 (not allowed) or 404. Existing
clients of AppsFlyer's Pull API work by changing only the host."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from attribution_site.db_routers import replica_reads
from integrations.models import App
from integrations.policy import access_for
from reporting import raw_data, raw_data_csv
from reporting.api_tokens import user_for_token

HOW_TO_AUTHENTICATE = (
    "Send your API token (create one on the API tokens page, /account/api-tokens/, linked "
    "at the top of every page once signed in) as "
    "'Authorization: Bearer <token>'.\n"
)


def _text(message: str, status: int) -> HttpResponse:
    response = HttpResponse(message.rstrip("\n") + "\n", status=status)
    response["Content-Type"] = "text/plain; charset=utf-8"
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="signalboard-pull-api"'
    return response


@never_cache
@require_GET
@replica_reads
def raw_data_export(request: HttpRequest, app_id: str, report: str) -> HttpResponse:
    scheme, _, raw_token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw_token.strip():
        return _text(HOW_TO_AUTHENTICATE, 401)
    user = user_for_token(raw_token.strip())
    if user is None:
        return _text("Unknown or revoked API token.", 401)
    reports = raw_data.PULL_API_REPORTS | raw_data.UNINSTALL_REPORTS
    if report not in reports:
        known = ", ".join(reports)
        return _text(f"Unknown report {report!r}. Reports: {known}.", 404)
    app = App.objects.filter(app_id=app_id).first()
    access = access_for(user, app) if app is not None else None
    if access is None:
        return _text(f"No app {app_id!r} among those your token can read.", 404)
    kind_key, organic, retargeting = reports[report]
    kind = raw_data.KINDS[kind_key]
    if not raw_data.may_open(access, kind):
        return _text(f"Your access to {app.app_id} does not include the {report}.", 403)
    if organic and access.media_source is not None:
        return _text(f"Your access covers only {access.media_source} rows.", 403)
    params = {key: request.GET.get(key, "") for key in request.GET}
    try:
        query = raw_data.open_report(
            access, kind, params, organic=organic, retargeting=True if retargeting else None
        )
    except raw_data.BadQuery as error:
        return _text(str(error), 400)
    if report in raw_data.UNINSTALL_REPORTS:
        header = raw_data_csv.csv_line(raw_data.headers(query))
        return HttpResponse(header, content_type="text/csv; charset=utf-8")
    response = StreamingHttpResponse(
        raw_data_csv.stream_csv(query), content_type="text/csv; charset=utf-8"
    )
    name = f"{app.app_id}_{report}_{query.date_from}_{query.date_to}.csv".replace(" ", "_")
    response["Content-Disposition"] = f'attachment; filename="{name.replace(":", "-")}"'
    return response
