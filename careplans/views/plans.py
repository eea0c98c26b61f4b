"""The care plan pages: the plan (current version, draft, history), editing a draft, agreeing it,
comparing versions, and the PDFs (the person's copy and the full staff record)."""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from weasyprint import HTML

from careplans.forms.plans import AgreeForm, GoalFormSet, PlanForm, SupportNeedFormSet, formset_rows
from careplans.models import CarePlan, CarePlanVersion, Goal, SupportNeed
from careplans.services.plans import care_plan_agree, care_plan_compare, care_plan_draft, care_plan_save
from caseload.models import Patient
from pcn.audit import audit
from pcn.permissions import Perm, has_perm, permission_required

STALE_MESSAGE = "Someone else saved this plan since you opened it: your changes are below, not saved"


def _version_for(request: HttpRequest, pk: int) -> CarePlanVersion:
    return get_object_or_404(
        CarePlanVersion.objects.visible_to(request.user).select_related(
            "plan__patient__practice", "named_coordinator", "agreed_by"
        ),
        pk=pk,
    )


def _plan_url(patient: Any) -> str:
    return reverse("careplans:plan", args=[patient.pk])


@permission_required(Perm.VIEW_PATIENTS)
def plan(request: HttpRequest, pk: int) -> HttpResponse:
    """The patient's care plan: the current agreed version, the draft, every version. POST (to
    manage the caseload) starts editing: the draft, made if there is none."""
    patient = get_object_or_404(Patient.objects.visible_to(request.user).select_related("practice"), pk=pk)
    if request.method == "POST":
        if not has_perm(request.user, Perm.MANAGE_CASELOAD):
            raise PermissionDenied
        draft = care_plan_draft(patient=patient, by=request.user)  # type: ignore[arg-type]
        audit(request, "careplan.draft", [patient], version_id=draft.pk)
        return redirect("careplans:edit", draft.pk)
    care_plan = CarePlan.objects.filter(patient=patient).first()
    versions = list(
        care_plan.versions.select_related("agreed_by", "named_coordinator").prefetch_related(
            Prefetch("goals", queryset=Goal.objects.select_related("signposting__service")),
            Prefetch("support_needs", queryset=SupportNeed.objects.select_related("signposting__service")),
        )
        if care_plan
        else []
    )
    current = next((v for v in versions if v.status == CarePlanVersion.Status.AGREED), None)
    draft = next((v for v in versions if v.is_draft), None)
    audit(request, "careplan.view", [patient], plan_id=care_plan.pk if care_plan else None)
    return render(
        request,
        "careplans/plan.html",
        {
            "patient": patient,
            "care_plan": care_plan,
            "versions": versions,
            "current": current,
            "draft": draft,
            "pam_latest": patient.activation_measures.order_by("-measured_on", "-id").first(),
            "can_edit": has_perm(request.user, Perm.MANAGE_CASELOAD),
        },
    )


@permission_required(Perm.MANAGE_CASELOAD)
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    """One form with every section; goals and support needs as formsets; the lock_version hidden.
    A stale save shows the form again with the user's text and says nothing was saved."""
    version = _version_for(request, pk)
    patient = version.plan.patient
    if not version.is_draft:
        messages.info(
            request, "This version has been agreed and cannot change: start editing to make a new draft."
        )
        return redirect(_plan_url(patient))
    post = request.POST if request.method == "POST" else None
    form = PlanForm(post, instance=version, patient=patient, initial={"lock_version": version.lock_version})
    # The patient's signposting records are the rows' choices: read once per formset.
    goals = GoalFormSet(post, queryset=version.goals.all(), prefix="goals", form_kwargs={"patient": patient})
    needs = SupportNeedFormSet(
        post, queryset=version.support_needs.all(), prefix="needs", form_kwargs={"patient": patient}
    )
    stale = False
    if post is not None and form.is_valid() and goals.is_valid() and needs.is_valid():
        try:
            care_plan_save(
                version=version,
                data={name: form.cleaned_data[name] for name in form.Meta.fields},
                lock_version=form.cleaned_data["lock_version"],
                by=request.user,  # type: ignore[arg-type]
                goals=formset_rows(goals),
                support_needs=formset_rows(needs),
            )
        except ValidationError as error:
            if error.code != "stale":
                raise
            stale = True
            form.add_error(None, STALE_MESSAGE)
            # Keep the user's text; the hidden lock_version moves on, so a deliberate re-save works.
            data = request.POST.copy()
            data["lock_version"] = str(CarePlanVersion.objects.get(pk=version.pk).lock_version)
            form.data = data
        else:
            audit(request, "careplan.save", [patient], version_id=version.pk)
            messages.success(request, "Care plan saved.")
            return redirect(_plan_url(patient))
    audit(request, "careplan.form", [patient], version_id=version.pk)
    return render(
        request,
        "careplans/edit.html",
        {
            "version": version,
            "patient": patient,
            "form": form,
            "goals": goals,
            "needs": needs,
            "stale": stale,
        },
    )


@permission_required(Perm.MANAGE_CASELOAD)
def agree(request: HttpRequest, pk: int) -> HttpResponse:
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
def compare(request: HttpRequest, pk: int) -> HttpResponse:
    """Two versions side by side: ?a=&b= version numbers (default: the two latest)."""
    care_plan = get_object_or_404(CarePlan.objects.visible_to(request.user).select_related("patient"), pk=pk)
    versions = list(care_plan.versions.order_by("-number"))
    by_number = {v.number: v for v in versions}

    def pick(key: str, default: int) -> CarePlanVersion | None:
        try:
            return by_number.get(int(request.GET.get(key, "")))
        except ValueError:
            return versions[default] if len(versions) > default else None

    newer, older = pick("b", 0), pick("a", 1)
    if newer and older and older.number > newer.number:
        older, newer = newer, older
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
            "pam_latest": patient.activation_measures.order_by("-measured_on", "-id").first(),
            "reviews": list(version.reviews.select_related("recorded_by")),
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
def pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The person's copy: plain language, NHS.UK look; ?large=1 for large print."""
    return _pdf(request, pk, template="pdf/care_plan.html", kind="patient")


@permission_required(Perm.VIEW_PATIENTS)
def staff_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The full record, with agreement and audit details."""
    return _pdf(request, pk, template="pdf/care_plan_staff.html", kind="staff")
