"""The care plan pages: the plan (current version, draft, history), editing a draft, agreeing it,
comparing versions, and the PDFs (the person's copy and the full staff record)."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from weasyprint import HTML

from careplans.forms.plans import AgreeForm, PlanForm
from careplans.models import CarePlan, CarePlanVersion, DecisionAidOffer
from careplans.services.plans import care_plan_agree, care_plan_compare, care_plan_draft, care_plan_save
from caseload.models import Patient
from caseload.views.patients import patient_for
from pcn.audit import audit
from pcn.permissions import Perm, has_perm, permission_required


def _version_for(request: HttpRequest, pk: int) -> CarePlanVersion:
    return get_object_or_404(
        CarePlanVersion.objects.visible_to(request.user).select_related(
            "plan__patient__practice", "named_coordinator", "agreed_by"
        ),
        pk=pk,
    )


def _plan_url(patient: Any) -> str:
    return reverse("careplans:plan", args=[patient.pk])


def _pam_latest(patient: Patient) -> Any:
    return patient.activation_measures.order_by("-measured_on", "-id").first()


def _around(patient: Patient) -> dict[str, Any]:
    """The records kept on the patient, not on a version, that the plan shows as they are now: the
    people around the person (its contacts section) and the decision aids offered (its shared decision
    making section). Two queries."""
    offers = DecisionAidOffer.objects.filter(patient=patient).select_related("aid", "offered_by")
    return {"people_around": list(patient.people_around.all()), "decision_aid_offers": list(offers)}


@permission_required(Perm.VIEW_PATIENTS)
def plan_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient's care plan: the current agreed version, the draft, every version. POST (to
    manage the caseload) starts editing: the draft, made if there is none."""
    patient = patient_for(request, pk)
    if request.method == "POST":
        return _start_editing(request, patient)
    care_plan = CarePlan.objects.filter(patient=patient).first()
    versions = list(care_plan.versions.with_rows()) if care_plan else []
    audit(request, "careplan.view", [patient], plan_id=care_plan.pk if care_plan else None)
    return render(
        request,
        "careplans/plan.html",
        {
            "patient": patient,
            "care_plan": care_plan,
            "versions": versions,
            "current": next((v for v in versions if v.status == CarePlanVersion.Status.AGREED), None),
            "draft": next((v for v in versions if v.is_draft), None),
            "pam_latest": _pam_latest(patient),
            "can_edit": has_perm(request.user, Perm.MANAGE_CASELOAD),
            **_around(patient),
        },
    )


def _start_editing(request: HttpRequest, patient: Patient) -> HttpResponse:
    if not has_perm(request.user, Perm.MANAGE_CASELOAD):
        raise PermissionDenied
    draft = care_plan_draft(patient=patient, by=request.user)  # type: ignore[arg-type]
    audit(request, "careplan.draft", [patient], version_id=draft.pk)
    return redirect("careplans:edit", draft.pk)


@permission_required(Perm.MANAGE_CASELOAD)
def edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    """One form with every section; goals and support needs as formsets; the lock_version hidden.
    A stale save shows the form again with the user's text and says nothing was saved."""
    version = _version_for(request, pk)
    patient = version.plan.patient
    if not version.is_draft:
        messages.info(
            request, "This version has been agreed and cannot change: start editing to make a new draft."
        )
        return redirect(_plan_url(patient))
    form = PlanForm(request.POST if request.method == "POST" else None, instance=version, patient=patient)
    if form.is_bound and form.is_valid():
        try:
            care_plan_save(version=version, by=request.user, **form.changes())  # type: ignore[arg-type]
        except ValidationError as error:
            if error.code != "stale":
                raise
            form.refuse_stale()
        else:
            audit(request, "careplan.save", [patient], version_id=version.pk)
            messages.success(request, "Care plan saved.")
            return redirect(_plan_url(patient))
    audit(request, "careplan.form", [patient], version_id=version.pk)
    context = {"version": version, "patient": patient, "form": form, "stale": form.stale}
    return render(request, "careplans/edit.html", context | {"goals": form.goals, "needs": form.needs})


@permission_required(Perm.MANAGE_CASELOAD)
def agree_view(request: HttpRequest, pk: int) -> HttpResponse:
    version = _version_for(request, pk)
    patient = version.plan.patient
    if not version.is_draft:
        messages.info(request, "This version has already been agreed.")
        return redirect(_plan_url(patient))
    form = AgreeForm(
        request.POST if request.method == "POST" else None, initial={"agreed_on": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        care_plan_agree(version=version, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        audit(request, "careplan.agree", [patient], version_id=version.pk)
        messages.success(request, f"Care plan version {version.number} agreed.")
        return redirect(_plan_url(patient))
    audit(request, "careplan.agree_form", [patient], version_id=version.pk)
    return render(request, "careplans/agree.html", {"version": version, "patient": patient, "form": form})


@permission_required(Perm.VIEW_PATIENTS)
def compare_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Two versions side by side: ?a=&b= version numbers (default: the two latest)."""
    care_plan = get_object_or_404(CarePlan.objects.visible_to(request.user).select_related("patient"), pk=pk)
    versions = list(care_plan.versions.order_by("-number"))
    older, newer = _versions_to_compare(versions, a=request.GET.get("a", ""), b=request.GET.get("b", ""))
    changes = care_plan_compare(older=older, newer=newer) if older and newer and older != newer else []
    audit(request, "careplan.compare", [care_plan.patient_id], plan_id=care_plan.pk)
    return render(
        request,
        "careplans/compare.html",
        {
            "care_plan": care_plan,
            "patient": care_plan.patient,
            "versions": versions,
            "older": older,
            "newer": newer,
            "changes": changes,
        },
    )


def _versions_to_compare(
    versions: list[CarePlanVersion], *, a: str, b: str
) -> tuple[CarePlanVersion | None, CarePlanVersion | None]:
    """(older, newer) of versions number `a` and `b` (newest first in `versions`). A number that is
    no version's gives None; no number (or not a number) gives the latest (`b`) or the one before (`a`)."""
    by_number = {v.number: v for v in versions}

    def pick(number: str, default: int) -> CarePlanVersion | None:
        try:
            return by_number.get(int(number))
        except ValueError:
            return versions[default] if len(versions) > default else None

    newer, older = pick(b, 0), pick(a, 1)
    if newer and older and older.number > newer.number:
        return newer, older
    return older, newer


def _pdf(request: HttpRequest, pk: int, *, template: str, kind: str) -> HttpResponse:
    # A plan is 2-4 pages, well under a second: rendered in the request, unlike the MDT packs.
    version = _version_for(request, pk)
    patient = version.plan.patient
    large = request.GET.get("large") == "1"
    html = render_to_string(
        template,
        {
            "version": version,
            "patient": patient,
            "goals": list(version.goals.select_related("signposting__service")),
            "needs": list(version.support_needs.select_related("signposting__service")),
            "large": large,
            "printed_on": timezone.localdate(),
            "pam_latest": _pam_latest(patient),
            "reviews": list(version.reviews.select_related("recorded_by")),
            **_around(patient),
        },
    )
    pdf = HTML(string=html).write_pdf()
    audit(request, f"careplan.{kind}_pdf", [patient], version_id=version.pk, large=large)
    response = HttpResponse(pdf, content_type="application/pdf")
    suffix = "-large-print" if large else ""
    response["Content-Disposition"] = (
        f'attachment; filename="care-plan-{patient.nhs_number}-v{version.number}-{kind}{suffix}.pdf"'
    )
    return response


@permission_required(Perm.VIEW_PATIENTS)
def pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The person's copy: plain language, NHS.UK look; ?large=1 for large print."""
    return _pdf(request, pk, template="pdf/care_plan.html", kind="patient")


@permission_required(Perm.VIEW_PATIENTS)
def staff_pdf_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The full record, with agreement and audit details."""
    return _pdf(request, pk, template="pdf/care_plan_staff.html", kind="staff")
