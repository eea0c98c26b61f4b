"""The services directory: everyone who sees patients signposts from it; administrators keep it."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from caseload.forms.services import ServiceForm, ServiceSearchForm
from caseload.models import Patient, Service
from pcn.audit import audit
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, has_perm, permission_required

PAGE_SIZE = 50


def _signposting_for(request: HttpRequest) -> Patient | None:
    """Coming from a patient's signposting form (?patient=), each service links back to it, chosen."""
    patient_id = request.GET.get("patient", "")
    if not patient_id.isdigit() or not has_perm(request.user, Perm.MANAGE_CASELOAD):
        return None
    return Patient.objects.visible_to(request.user).filter(pk=patient_id).first()


def service_list_view(request: HttpRequest) -> HttpResponse:
    """The directory: everyone who sees patients (to signpost them), and administrators (to keep it)."""
    can_administer = has_perm(request.user, Perm.ADMINISTER)
    if not (can_administer or has_perm(request.user, Perm.VIEW_PATIENTS)):
        raise PermissionDenied
    form = ServiceSearchForm(request.GET, can_administer=can_administer)
    services = form.filter(Service.objects.order_by("name", "id"))
    page = CappedPaginator(services, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "caseload/service_list.html",
        {
            "form": form,
            "page": page,
            "services": list(page.object_list),
            "patient": _signposting_for(request),
            "can_administer": can_administer,
            "query_string": query_without(request, "page"),
        },
    )


@permission_required(Perm.ADMINISTER)
def service_add_view(request: HttpRequest) -> HttpResponse:
    form = ServiceForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        service = form.save()
        audit(request, "service.add", service_id=service.pk)
        messages.success(request, f"{service.name} added to the directory.")
        return redirect("caseload:service_list")
    return render(request, "caseload/service_form.html", {"form": form, "service": None})


@permission_required(Perm.ADMINISTER)
def service_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    service = get_object_or_404(Service, pk=pk)
    form = ServiceForm(request.POST if request.method == "POST" else None, instance=service)
    if request.method == "POST" and form.is_valid():
        form.save()
        audit(request, "service.edit", service_id=service.pk, changed=form.changed_data)
        messages.success(request, f"{service.name} updated.")
        return redirect("caseload:service_list")
    return render(request, "caseload/service_form.html", {"form": form, "service": service})
