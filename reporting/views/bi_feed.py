"""The BI feed: a report's figures as CSV for Power BI or Excel, authenticated by an API token.

The feed is not a page: it ignores the session (signed in or not, a request needs a token), so it is
exempt from the sign-in and two-factor middleware (`login_not_required`, which
pcn.middleware.RequireTwoFactorMiddleware also honours) and answers 401 without a live token. The token
goes in the `Authorization: Bearer …` header only: a token in the address (?token=) is refused, because
addresses are written to web server, proxy and browser logs and to this service's own audit trail
(which records each request's path). GET only; it changes nothing but the token's last use, so CSRF
does not arise.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.http import require_GET

from pcn.audit import audit
from pcn.exports import csv_download
from reporting.forms import ReportPeriodForm
from reporting.reports import REPORTS
from reporting.services.bi_feed import FEED_HEADER, bi_feed_rows
from reporting.services.tokens import api_token_authenticate

REFUSED = "A valid API token is needed: send it as the header 'Authorization: Bearer <token>'."
IN_ADDRESS = (
    "Tokens in the address are refused (addresses are logged): send it as 'Authorization: Bearer <token>'."
)


def _refuse(message: str, status: int = 401) -> HttpResponse:
    response = HttpResponse(message + "\n", status=status, content_type="text/plain; charset=utf-8")
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="bi-feed"'
    return response


@login_not_required
@require_GET
def bi_feed_view(request: HttpRequest, key: str) -> HttpResponse:
    if "token" in request.GET:
        return _refuse(IN_ADDRESS)
    token = api_token_authenticate(header=request.headers.get("Authorization", ""))
    if token is None:
        return _refuse(REFUSED)
    if key not in REPORTS:
        raise Http404("No such report")
    form = ReportPeriodForm(request.GET or None, user=token.user, today=timezone.localdate())
    if form.is_bound and not form.is_valid():
        return _refuse("; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()), 400)
    report, period, practice_ids = REPORTS[key], form.chosen_period(), form.practice_ids()
    rows = bi_feed_rows(report=report, period=period, practice_ids=practice_ids)
    audit(
        request, "report.bi_feed", user=token.user, token=token.pk, report=key, version=report.version,
        period=period.label, period_start=period.start.isoformat(), practices=practice_ids,
    )  # fmt: skip
    return csv_download(f"{key}-{period.start.isoformat()}.csv", FEED_HEADER, rows)
