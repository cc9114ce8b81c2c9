import csv
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from attribution_site.db_routers import replica_reads
from integrations.policy import Action, get_app_for_user
from integrations.request_values import parse_id
from reporting import (
    alerts,
    cost_report,
    export_jobs,
    raw_data,
    raw_data_csv,
    raw_data_page,
)
from reporting import overview as overview_report
from reporting import protect360 as protect360_report
from reporting import retention as retention_report
from reporting.api_tokens import create_api_token, revoke_api_token
from reporting.forms import AlertSettingsForm, ApiTokenForm
from reporting.models import AlertSettings, ApiToken, ExportJob
from reporting.overview import chart as overview_chart
from reporting.retention_chart import retention_chart
from reporting.spreadsheet import defuse_formula


@never_cache  # reports hold data no shared or browser cache should keep
@login_required
@replica_reads
def cost(request: HttpRequest, app_id: str) -> HttpResponse:
    """All Cost: cost by date, media source, advertiser, campaign, ad set, ad and country."""
    access = get_app_for_user(request.user, app_id, need=Action.VIEW_COST)
    form = cost_report.CostFilterForm(request.GET, access=access)
    context = {"app": access.app, "form": form, "columns": cost_report.COLUMNS}
    if form.is_valid():
        rows = cost_report.filtered_costs(access, form.cleaned_data)
        context |= {
            "rows": rows[: cost_report.ROWS_SHOWN],
            "row_count": rows.count(),
            "rows_shown": cost_report.ROWS_SHOWN,
            "totals": cost_report.totals_by_currency(rows),
            "can_export": access.can(Action.EXPORT_REPORTS),
        }
    return render(request, "reporting/cost.html", context, status=200 if form.is_valid() else 400)


@never_cache
@login_required
@replica_reads
def cost_export(request: HttpRequest, app_id: str) -> HttpResponse:
    access = get_app_for_user(request.user, app_id, need=Action.VIEW_COST)
    access.require(Action.EXPORT_REPORTS)
    form = cost_report.CostFilterForm(request.GET, access=access)
    if not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in form.errors.items())
        return HttpResponse(f"Bad filters: {errors}\n", status=400, content_type="text/plain")
    rows = cost_report.filtered_costs(access, form.cleaned_data)
    data = form.cleaned_data
    name = f"{access.app.app_id}_cost_{data['date_from']}_{data['date_to']}.csv"
    response = StreamingHttpResponse(cost_report.csv_lines(rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@never_cache
@login_required
@replica_reads
def raw_data_report(request: HttpRequest, app_id: str) -> HttpResponse:
    """Raw-data reports: filters, a preview with the total count, and the exports."""
    access = get_app_for_user(request.user, app_id, need=Action.VIEW_REPORTS)
    context = raw_data_page.build_context(
        access,
        request.GET,
        user_id=request.user.pk,
        api_base=request.build_absolute_uri("/").rstrip("/"),
    )
    status = 400 if context.get("error") else 200
    return render(request, "reporting/raw_data.html", {"app": access.app, **context}, status=status)


@never_cache
@login_required
@replica_reads
def raw_data_export(request: HttpRequest, app_id: str) -> HttpResponse:
    """The page's CSV: the same writer, and so the same bytes, as the Pull API."""
    access = get_app_for_user(request.user, app_id, need=Action.VIEW_REPORTS)
    params = raw_data_page.params_from(request.GET)
    kind = raw_data.KINDS.get(params.get("report", ""))
    if kind is None:
        return HttpResponse("Choose a report.\n", status=400, content_type="text/plain")
    try:
        query = raw_data.open_report(access, kind, params)
    except raw_data.BadQuery as error:
        return HttpResponse(f"{error}\n", status=400, content_type="text/plain")
    response = StreamingHttpResponse(
        raw_data_csv.stream_csv(query), content_type="text/csv; charset=utf-8"
    )
    name = f"{access.app.app_id}_{kind.key}_{query.date_from}_{query.date_to}.csv"
    response["Content-Disposition"] = f'attachment; filename="{_safe_name(name)}"'
    return response


@login_required
@require_POST
def export_job_start(request: HttpRequest, app_id: str) -> HttpResponse:
    access = get_app_for_user(request.user, app_id, need=Action.VIEW_REPORTS)
    params = raw_data_page.params_from(request.POST)
    params.pop("csrfmiddlewaretoken", None)
    page = reverse("reporting:raw-data", args=[app_id]) + "?" + urlencode(params)
    kind = raw_data.KINDS.get(params.get("report", ""))
    if kind is None:
        messages.error(request, "Choose a report.")
        return redirect(page)
    try:
        query = raw_data.open_report(access, kind, params)
    except raw_data.BadQuery as error:
        messages.error(request, str(error))
        return redirect(page)
    job = export_jobs.start_export_job(query, acting_user=request.user)
    messages.success(
        request, f"Preparing the file ({job.total_rows:,} rows). It appears below when ready."
    )
    return redirect(page)


@never_cache
@login_required
def export_job_status(request: HttpRequest, app_id: str, job_id: int) -> JsonResponse:
    export_jobs.fail_stalled_export_jobs()
    job = _own_job(request, app_id, job_id)
    return JsonResponse(
        {
            "status": job.status,
            "status_label": job.get_status_display(),
            "rows_written": job.rows_written,
            "total_rows": job.total_rows,
            "error": job.error,
        }
    )


@never_cache
@login_required
def export_job_download(request: HttpRequest, app_id: str, job_id: int) -> HttpResponse:
    job = _own_job(request, app_id, job_id)
    path = export_jobs.file_path(job)
    if job.status != ExportJob.Status.DONE or not path.exists():
        raise Http404("This export is not ready or has been deleted.")
    name = f"{job.app.app_id}_{job.report}_{job.params.get('from')}_{job.params.get('to')}.csv"
    return FileResponse(path.open("rb"), as_attachment=True, filename=_safe_name(name))


def _own_job(request: HttpRequest, app_id: str, job_id: int) -> ExportJob:
    """A user sees only their own export jobs, and only while they still may view reports."""
    access = get_app_for_user(request.user, app_id, need=Action.VIEW_REPORTS)
    return get_object_or_404(ExportJob, pk=job_id, app=access.app, user=request.user)


def _safe_name(name: str) -> str:
    return "".join(char if char.isalnum() or char in "._-" else "_" for char in name)


@login_required
def api_tokens(request: HttpRequest) -> HttpResponse:
    """Profile → API tokens: create (shown once) and revoke Pull API tokens."""
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and "revoke" in request.POST:
        token_id = parse_id(request.POST["revoke"]) or 0
        token = revoke_api_token(acting_user=request.user, token_id=token_id)
        if token is not None:
            messages.success(request, f"Revoked “{token.name}”. It stops working at once.")
        return redirect("reporting:api-tokens")
    new_token = None
    if request.method == "POST" and form.is_valid():
        token, new_token = create_api_token(
            acting_user=request.user, name=form.cleaned_data["name"]
        )
        form = ApiTokenForm()
    tokens = ApiToken.objects.filter(user=request.user)
    context = {"form": form, "tokens": tokens, "new_token": new_token}
    response = render(request, "reporting/api_tokens.html", context)
    response["Cache-Control"] = "no-store"  # the new token is in this page, once
    return response


@never_cache
@login_required
@replica_reads
def overview(request: HttpRequest, app_id: str) -> HttpResponse:
    """Overview: installs, revenue and cost per media source and campaign, ad set or ad."""
    access = get_app_for_user(request.user, app_id, need=Action.VIEW_REPORTS)
    form = overview_report.OverviewFilterForm(request.GET, access=access)
    context = {"app": access.app, "form": form, "overview": None}
    if form.is_valid():
        filters = form.filters()
        result = overview_report.build_overview(access, filters)
        context |= {
            "filters": filters,
            "overview": result,
            "chart": overview_chart.daily_chart(
                result.days, shows_spend=result.shows_cost, shows_revenue=result.shows_revenue
            ),
            "level_label": overview_report.LEVEL_LABELS[result.level],
            "base_query": urlencode(
                {
                    "date_from": filters.date_from.isoformat(),
                    "date_to": filters.date_to.isoformat(),
                    "media_source": filters.media_sources,
                },
                doseq=True,
            ),
        }
    status = 200 if form.is_valid() else 400
    return render(request, "reporting/overview.html", context, status=status)


@never_cache
@login_required
@replica_reads
def protect360(request: HttpRequest, app_id: str) -> HttpResponse:
    """Protect360: fraud signals per media source and campaign or site id, flagged installs."""
    access = get_app_for_user(request.user, app_id, need=Action.VIEW_PROTECT360)
    form = protect360_report.Protect360FilterForm(request.GET, access=access)
    context: dict[str, Any] = {"app": access.app, "form": form, "report": None}
    if form.is_valid():
        context["report"] = protect360_report.build(access, form.cleaned_data)
    status = 200 if form.is_valid() else 400
    return render(request, "reporting/protect360.html", context, status=status)


@never_cache
@login_required
def alert_settings(request: HttpRequest, app_id: str) -> HttpResponse:
    """Where the app's alerts go and which kinds are on (admins)."""
    access = get_app_for_user(request.user, app_id, need=Action.MANAGE_APP)
    stored = AlertSettings.objects.filter(app=access.app).first()
    initial = {"kinds": [], "emails": ""}
    if stored is not None:
        initial = {"kinds": stored.enabled_kinds, "emails": "\n".join(stored.emails)}
    form = AlertSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        alerts.save_alert_settings(access.app, **form.cleaned_data)
        messages.success(request, "Alert settings saved.")
        return redirect("reporting:alerts", app_id=app_id)
    context = {
        "app": access.app,
        "form": form,
        "webhook_hint": stored.webhook_url.hint if stored else "",
        "open_states": access.app.alert_states.filter(resolved_at__isnull=True),
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "reporting/alerts.html", context, status=status)


@never_cache
@login_required
@replica_reads
def retention(request: HttpRequest, app_id: str) -> HttpResponse:
    """Retention cohorts by install day or week: a heat map, curves, LTV and ROAS, and a CSV."""
    access = get_app_for_user(request.user, app_id, need=Action.VIEW_RETENTION)
    form = retention_report.CohortFilterForm(request.GET, access=access)
    if not form.is_valid():
        return render(
            request, "reporting/retention.html", {"app": access.app, "form": form}, status=400
        )
    filters = form.cleaned_data
    shows_revenue = access.can(Action.VIEW_REVENUE)
    shows_cost = shows_revenue and access.can(Action.VIEW_COST)
    rows = retention_report.cohorts(
        access, filters, with_revenue=shows_revenue, with_cost=shows_cost
    )
    unit = "Week " if filters["period"] == "week" else "Day "
    columns = retention_report.periods(filters)
    if request.GET.get("format") == "csv":
        return _cohorts_csv(access.app.app_id, filters, unit, rows)
    context = {
        "app": access.app,
        "form": form,
        "cohorts": rows,
        "columns": [f"{unit}{n}" for n in columns],
        "cohort_label": "Install week" if filters["period"] == "week" else "Install day",
        "group_label": retention_report.GROUPS[filters["group_by"]],
        "query": request.GET.urlencode(),
        "shows_revenue": shows_revenue,
        "shows_cost": shows_cost,
        "ltv_columns": [f"{unit}{n}" for n in retention_report.milestones(filters)],
        "chart": retention_chart(rows, len(columns), unit[0]),
        "unit_word": unit.strip().lower(),
    }
    return render(request, "reporting/retention.html", context)


def _cohorts_csv(
    app_id: str, filters: dict[str, Any], unit: str, rows: list[retention_report.Cohort]
) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{app_id}-retention.csv"'
    writer = csv.writer(response)
    columns = [f"{unit}{n}" for n in retention_report.periods(filters)]
    cohort_label = "Install week" if filters["period"] == "week" else "Install day"
    group = retention_report.GROUPS[filters["group_by"]]
    writer.writerow([cohort_label, group, "Installs", *columns])
    for row in rows:
        retained = ["" if users is None else users for users in row.retained]
        writer.writerow([row.day.isoformat(), defuse_formula(row.group), row.installs, *retained])
    return response


@never_cache
@login_required
@replica_reads
def loyal_users(request: HttpRequest, app_id: str) -> HttpResponse:
    """Loyal users: installs of a range that reached the app's session threshold."""
    access = get_app_for_user(request.user, app_id, need=Action.VIEW_LOYAL_USERS)
    form = retention_report.CohortFilterForm(request.GET, access=access)
    context: dict[str, Any] = {"app": access.app, "form": form, "rows": None}
    if form.is_valid():
        context |= {
            "rows": retention_report.loyal_users(access, form.cleaned_data),
            "group_label": retention_report.GROUPS[form.cleaned_data["group_by"]],
        }
    status = 200 if form.is_valid() else 400
    return render(request, "reporting/loyal_users.html", context, status=status)
