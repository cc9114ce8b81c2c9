from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from integrations.policy import Action, get_app_for_user
from reporting import cost_report, overview_chart
from reporting import overview as overview_report


@login_required
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


@login_required
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


@login_required
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
            "cost_sources": overview_report.COST_MEDIA_SOURCES,
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
