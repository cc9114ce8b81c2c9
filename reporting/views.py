from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from integrations.policy import Action, get_app_for_user
from reporting import cost_report


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
