"""The recall worklist: the coordinator's main recall page. Every open review of their practices'
patients this QOF year, filtered, counted per state, sorted and paged; tick patients (or take every
one matching the filter) to preview an invitation batch.

Reading needs Perm.VIEW_PATIENTS; the batch it leads to needs Perm.MANAGE_CASELOAD (recall.views.batches).
"""

from django.core.paginator import Page
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from pcn.audit import audit
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, has_perm, permission_required
from recall.filters import SORT_LABELS, WorklistFilter, worklist_filter
from recall.models import Channel, RecallEntry, qof_year, year_label
from recall.services.invitations import BATCH_LIMIT

PAGE_SIZE = 50
# The counts' words: shorter than the states' own, so that the seven fit in one row.
COUNT_LABELS = {
    RecallEntry.State.DUE: "Due", RecallEntry.State.INVITED: "Invited",
    RecallEntry.State.EXCEPTED: "Excepted but still due", RecallEntry.State.BOOKED: "Booked",
    RecallEntry.State.SEEN: "Seen", RecallEntry.State.PCA: "PCA", RecallEntry.State.CLOSED: "Closed",
}  # fmt: skip


def _entries(request: HttpRequest) -> WorklistFilter:
    return worklist_filter(request.GET, user=request.user)  # type: ignore[arg-type]


def _page(
    request: HttpRequest, worklist: WorklistFilter, counts: dict[str, int]
) -> tuple[Page, list[RecallEntry]]:
    """The page's entries. Over 100,000 patients sorting whole rows is slow (bench/recall.py), so the
    page's ids are found first (a narrow sort), then their rows; the count comes from the state counts."""
    total = sum(counts[state] for state in worklist.states())
    ids = CappedPaginator(worklist.qs.values_list("pk", flat=True), PAGE_SIZE, known_count=total)
    page = ids.get_page(request.GET.get("page"))
    rows = {entry.pk: entry for entry in worklist.queryset.filter(pk__in=list(page.object_list))}
    return page, [rows[pk] for pk in page.object_list]


@permission_required(Perm.VIEW_PATIENTS)
def worklist_view(request: HttpRequest) -> HttpResponse:
    """The worklist: open entries by default (excepted-but-still-due ones among them, badged)."""
    worklist = _entries(request)
    counts = worklist.counts()
    page, rows = _page(request, worklist, counts)
    audit(request, "recall.worklist.view", [row.patient_id for row in rows], page=page.number,
          filters=query_without(request, "page"))  # fmt: skip
    sort = worklist.cleaned.get("sort") or "due"
    context = {
        "filter": worklist, "page": page, "entries": rows, "counts": [(state, COUNT_LABELS[state], counts[state]) for state in COUNT_LABELS],
        "query_string": query_without(request, "page"),
        "state_query": query_without(request, "page", "state"),
        "sort_query": query_without(request, "page", "sort"), "current_sort": sort,
        "sort_label": SORT_LABELS[sort],
        "current_state": worklist.cleaned.get("state", ""), "channels": Channel.choices,
        "can_invite": has_perm(request.user, Perm.MANAGE_CASELOAD), "batch_limit": BATCH_LIMIT,
        "several_practices": len(request.user.practice_ids()) > 1,  # type: ignore[union-attr]
        "year_label": year_label(int(worklist.cleaned.get("year") or qof_year(timezone.localdate()))),
    }  # fmt: skip
    return render(request, "recall/worklist.html", context)
