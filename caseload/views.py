"""Patient search and the patient summary page (the place other issues add to)."""

from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from caseload.models import Patient
from pcn.audit import audit
from pcn.permissions import Perm, permission_required

PAGE_SIZE = 50


@permission_required(Perm.VIEW_PATIENTS)
def patient_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:100]
    patients = Patient.objects.visible_to(request.user).select_related("practice").search(query)
    page = Paginator(patients, PAGE_SIZE).get_page(request.GET.get("page"))
    audit(request, "patient.list", page.object_list, query=query, page=page.number)
    return render(
        request,
        "caseload/patient_list.html",
        {"page": page, "query": query, "query_string": urlencode({"q": query}) if query else ""},
    )


@permission_required(Perm.VIEW_PATIENTS)
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patient = get_object_or_404(
        Patient.objects.visible_to(request.user).select_related("practice", "care_home"), pk=pk
    )
    snapshots = list(patient.risk_snapshots.order_by("-taken_on", "-id")[:12])
    audit(request, "patient.view", [patient])
    return render(
        request,
        "caseload/patient_detail.html",
        {"patient": patient, "snapshots": snapshots, "age": patient.age(timezone.localdate())},
    )
