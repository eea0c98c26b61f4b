"""Reconciling with the GP record: upload a recall dates file; the result (counts, row errors) shows
at once.

The file is reconciled in the request, not in a Celery task: bench/recall.py measures a 5,000-row file
in well under a second, and the web page takes at most RECALL_DATES_MAX_ROWS rows (larger files go
through `manage.py import_recall_dates`). The uploaded file is kept only for the request.
"""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pcn.permissions import Perm, permission_required
from recall.forms.report import RecallDatesUploadForm
from recall.services.reconcile import ERRORS_KEPT, recall_dates_upload


@permission_required(Perm.MANAGE_CASELOAD)
def reconcile_view(request: HttpRequest) -> HttpResponse:
    """Upload a recall dates file (coordinators, clinical leads, managers); the result on the same page."""
    form = RecallDatesUploadForm(request.POST or None, request.FILES or None)
    result, rejected = None, ""
    if request.method == "POST" and form.is_valid():
        result, rejected = recall_dates_upload(upload=form.cleaned_data["file"], by=request.user)  # type: ignore[arg-type]
    return render(
        request,
        "recall/reconcile.html",
        {
            "form": form,
            "result": result,
            "rejected": rejected,
            "errors_kept": ERRORS_KEPT,
            "max_rows": settings.RECALL_DATES_MAX_ROWS,
        },
    )
