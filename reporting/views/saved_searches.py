"""Saved searches: the list (mine and the PCN's shared ones), one search's run history, running it,
downloading its result, and the owner's edit and delete. Saving starts from Find patients or the
recall worklist ("Save this search")."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from pcn.audit import audit
from pcn.permissions import Perm, has_perm, permission_required
from reporting.forms import ListDownloadForm, SavedSearchCreateForm, SavedSearchEditForm
from reporting.models import SavedSearch, SavedSearchRun
from reporting.services.list_exports import saved_search_list
from reporting.services.saved_searches import (
    change_words,
    counted,
    filters_described,
    previous_run,
    saved_search_create,
    saved_search_filter,
    saved_search_run,
    saved_search_update,
)
from reporting.views.exports import list_download

HISTORY_ROWS = 100


def _search_or_404(request: HttpRequest, pk: int) -> SavedSearch:
    """The user's own search or a shared one; another person's private search is a 404."""
    return get_object_or_404(SavedSearch.objects.visible_to(request.user).select_related("owner"), pk=pk)


def _own_or_403(request: HttpRequest, pk: int) -> SavedSearch:
    """Only the owner changes a search. A shared one the user can see: 403; a private one: 404."""
    search = _search_or_404(request, pk)
    if search.owner_id != request.user.pk:
        raise PermissionDenied
    return search


@permission_required(Perm.VIEW_PATIENTS)
def saved_search_list_view(request: HttpRequest) -> HttpResponse:
    searches = (
        SavedSearch.objects.visible_to(request.user).select_related("owner").with_latest_runs(request.user)
    )
    return render(request, "reporting/saved_search_list.html", {"searches": list(searches)})


@permission_required(Perm.VIEW_PATIENTS)
def saved_search_create_view(request: HttpRequest) -> HttpResponse:
    """The list page's small form posts here; a refused one (no name, filters it cannot keep) comes back
    as this page with the errors."""
    if request.method == "POST":
        form = SavedSearchCreateForm(request.POST, user=request.user)  # type: ignore[arg-type]
    else:
        form = SavedSearchCreateForm(initial=request.GET.dict(), user=request.user)  # type: ignore[arg-type]
    if request.method == "POST" and form.is_valid():
        search = saved_search_create(owner=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, f"Saved “{search.name}”. Run it to count its result now, or open the list.")
        return redirect(search)
    kind = form["kind"].value()
    back = (
        SavedSearch(kind=kind, query=form["query"].value() or "").list_url()
        if kind in SavedSearch.Kind.values
        else None
    )
    return render(request, "reporting/saved_search_create.html", {"form": form, "back": back})


def _history(search: SavedSearch, request: HttpRequest) -> list[dict[str, Any]]:
    """The runs the user sees, newest first, each with its change since the one before."""
    runs = list(
        SavedSearchRun.objects.seen_by(request.user)
        .filter(search=search)
        .select_related("run_by")[: HISTORY_ROWS + 1]
    )
    return [
        {"run": run, "change": run.count - runs[i + 1].count if i + 1 < len(runs) else None}
        for i, run in enumerate(runs[:HISTORY_ROWS])
    ]


@permission_required(Perm.VIEW_PATIENTS)
def saved_search_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    search = _search_or_404(request, pk)
    try:
        filters, refused = saved_search_filter(search=search, user=request.user), None  # type: ignore[arg-type]
    except ValidationError as error:
        filters, refused = None, error.messages
    context = {
        "search": search, "history": _history(search, request), "refused": refused,
        "filters": filters_described(filters) if filters else [], "is_owner": search.owner_id == request.user.pk,
        "can_schedule": has_perm(search.owner, Perm.VIEW_PCN_FIGURES),
        "background_rows": settings.REPORTING_EXPORT_BACKGROUND_ROWS, "keep_days": settings.REPORTING_EXPORT_KEEP_DAYS,
    }  # fmt: skip
    return render(request, "reporting/saved_search_detail.html", context)


@require_POST
@permission_required(Perm.VIEW_PATIENTS)
def saved_search_run_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Count the result now in the user's scope, record the run, then open the list with the filters."""
    search = _search_or_404(request, pk)
    try:
        run = saved_search_run(search=search, by=request.user)  # type: ignore[arg-type]
    except ValidationError as refused:
        messages.error(request, "This search cannot be run for your practices: " + " ".join(refused.messages))
        return redirect(search)
    audit(request, "report.saved_search.run", saved_search=search.pk, kind=search.kind, count=run.count)
    change = change_words(run.count, previous_run(run, request.user))  # type: ignore[arg-type]
    messages.success(
        request, f"“{search.name}”: {counted(search.kind, run.count)}" + (f", {change}." if change else ".")
    )
    return redirect(search.list_url())


@require_POST
@permission_required(Perm.VIEW_PATIENTS)
def saved_search_download_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The result as CSV or Excel, in the user's scope: Find patients' columns, or the worklist's. Over
    REPORTING_EXPORT_BACKGROUND_ROWS rows it is made in the background (reporting.views.exports)."""
    search = _search_or_404(request, pk)
    form = ListDownloadForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose CSV or Excel to download.")
        return redirect(search)
    try:
        patients = saved_search_list(search=search, user=request.user)  # type: ignore[arg-type]
    except ValidationError as refused:
        messages.error(request, "This search cannot be run for your practices: " + " ".join(refused.messages))
        return redirect(search)
    return list_download(
        request, patients, format=form.cleaned_data["format"], saved_search=search,
        practice_ids=sorted(request.user.practice_ids()),  # type: ignore[union-attr]
    )  # fmt: skip


@permission_required(Perm.VIEW_PATIENTS)
def saved_search_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    search = _own_or_403(request, pk)
    form = SavedSearchEditForm(request.POST or None, search=search, user=request.user)  # type: ignore[arg-type]
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        saved_search_update(
            search=search, name=data["name"], shared=data["shared"], today=timezone.localdate(),
            schedule=data.get("schedule", search.schedule),
        )  # fmt: skip
        messages.success(request, f"Saved the changes to “{search.name}”.")
        return redirect(search)
    return render(request, "reporting/saved_search_edit.html", {"form": form, "search": search})


@permission_required(Perm.VIEW_PATIENTS)
def saved_search_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Asks first (GET); the POST deletes the search and its run history."""
    search = _own_or_403(request, pk)
    if request.method == "POST":
        search.delete()
        messages.success(request, f"Deleted the saved search “{search.name}”.")
        return redirect("reporting:saved_search_list")
    runs = search.runs.count()
    return render(request, "reporting/saved_search_delete.html", {"search": search, "runs": runs})
