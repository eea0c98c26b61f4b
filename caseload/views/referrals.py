"""Referrals: record one on a patient, the inbox, and the three decisions (accept, decline, MDT).

Everyone who sees patients sees referrals for their practices' patients (Perm.VIEW_PATIENTS);
recording and deciding need Perm.MANAGE_CASELOAD. Out of scope is a 404.
"""

from django.contrib import messages
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from caseload.filters import ReferralFilter
from caseload.forms.referrals import (
    ReferralAcceptForm,
    ReferralDeclineForm,
    ReferralForm,
    ReferralTypeForm,
)
from caseload.models import CareEvent, Patient, Referral, ReferralType
from caseload.services.referrals import (
    referral_accept,
    referral_create,
    referral_decline,
)
from caseload.views.patients import patient_for
from pcn.audit import audit
from pcn.forms import refusal_shown_on
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, has_perm, permission_required

PAGE_SIZE = 50
URGENCY_ORDER = Case(
    When(urgency=Referral.Urgency.URGENT, then=Value(0)),
    When(urgency=Referral.Urgency.SOON, then=Value(1)),
    default=Value(2),
    output_field=IntegerField(),
)


def _referrals(request: HttpRequest) -> QuerySet[Referral]:
    return Referral.objects.visible_to(request.user).select_related(
        "patient__practice", "referral_type", "decided_by", "created_by", "mdt_series", "episode__coordinator"
    )


def _care_event_to_refer(request: HttpRequest, patient: Patient) -> CareEvent | None:
    """From the triage of a transfer of care (`?care_event=`): the event, still to triage."""
    event_id = request.POST.get("care_event") or request.GET.get("care_event") or ""
    if not event_id.isdigit():
        return None
    return get_object_or_404(
        CareEvent.objects.visible_to(request.user).to_triage(), pk=event_id, patient=patient
    )


def _referral_type_chosen(request: HttpRequest) -> ReferralType | None:
    type_id = request.POST.get("referral_type") or request.GET.get("referral_type") or ""
    if not type_id.isdigit():
        return None
    return ReferralType.objects.filter(is_active=True).prefetch_related("criteria").filter(pk=type_id).first()


def _referral_type_step(request: HttpRequest, patient: Patient, care_event: CareEvent | None) -> HttpResponse:
    """Step 1: which kind of referral (its criteria checklist follows)."""
    form = ReferralTypeForm(request.GET if "referral_type" in request.GET else None)
    form.is_valid()
    audit(request, "referral.add_form", [patient])
    context = {"patient": patient, "care_event": care_event, "form": form}
    return render(request, "caseload/referral_type.html", context)


@permission_required(Perm.MANAGE_CASELOAD)
def referral_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a referral: choose its type, then the details and the type's criteria checklist.

    From the triage of a transfer of care (`?care_event=`), the event is triaged as "Referred"."""
    patient = patient_for(request, pk)
    care_event = _care_event_to_refer(request, patient)
    referral_type = _referral_type_chosen(request)
    if referral_type is None:
        return _referral_type_step(request, patient, care_event)
    data = request.POST if request.method == "POST" else None
    form = ReferralForm(data, referral_type=referral_type, care_event=care_event)
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            referral = referral_create(
                patient=patient, referral_type=referral_type, care_event=care_event, by=request.user,  # type: ignore[arg-type]
                **form.service_kwargs(),
            )  # fmt: skip
            messages.success(request, f"The referral ({referral_type.name}) is recorded.")
            return redirect("caseload:referral_detail", referral.pk)
    audit(request, "referral.add_form", [patient])
    context = {"patient": patient, "care_event": care_event, "form": form, "referral_type": referral_type}
    return render(request, "caseload/referral_form.html", context)


@permission_required(Perm.VIEW_PATIENTS)
def referral_list_view(request: HttpRequest) -> HttpResponse:
    """The inbox: new referrals by default, urgent first, then oldest first."""
    referrals = _referrals(request).order_by(URGENCY_ORDER, "received_on", "id")
    referral_filter = ReferralFilter(request.GET, queryset=referrals, user=request.user)  # type: ignore[arg-type]
    page = CappedPaginator(referral_filter.qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    audit(request, "referral.list", [r.patient_id for r in rows], page=page.number)
    return render(
        request,
        "caseload/referral_list.html",
        {
            "filter": referral_filter,
            "page": page,
            "referrals": rows,
            "query_string": query_without(request, "page"),
        },
    )


@permission_required(Perm.VIEW_PATIENTS)
def referral_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    referral = get_object_or_404(_referrals(request), pk=pk)
    audit(request, "referral.view", [referral.patient_id], referral_id=referral.pk)
    return render(
        request,
        "caseload/referral_detail.html",
        {
            "referral": referral,
            "patient": referral.patient,
            "can_decide": referral.status == Referral.Status.NEW
            and has_perm(request.user, Perm.MANAGE_CASELOAD),
            # Where a referral directed to an MDT is on the agenda (the patient's practice is the
            # series', so whoever sees the referral sees the meeting).
            "agenda_meetings": [
                item.meeting
                for item in referral.agenda_items.select_related("meeting").order_by("meeting__starts_at")
            ]
            if referral.status == Referral.Status.DIRECTED_TO_MDT
            else [],
        },
    )


def _new_referral(request: HttpRequest, pk: int) -> Referral | HttpResponse:
    referral = get_object_or_404(_referrals(request), pk=pk)
    if referral.status != Referral.Status.NEW:
        messages.error(
            request, f"This referral has already been decided ({referral.get_status_display().lower()})."
        )
        return redirect("caseload:referral_detail", referral.pk)
    return referral


@permission_required(Perm.MANAGE_CASELOAD)
def referral_accept_view(request: HttpRequest, pk: int) -> HttpResponse:
    referral = _new_referral(request, pk)
    if isinstance(referral, HttpResponse):
        return referral
    form = ReferralAcceptForm(
        request.POST if request.method == "POST" else None,
        patient=referral.patient,
        user=request.user,  # type: ignore[arg-type]
    )
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            referral_accept(referral=referral, coordinator=form.cleaned_data["coordinator"], by=request.user)  # type: ignore[arg-type]
            messages.success(
                request,
                f"Referral accepted: {referral.patient.display_name} is on {referral.episode.coordinator}'s caseload.",
            )
            return redirect("caseload:referral_detail", referral.pk)
    audit(request, "referral.decide_form", [referral.patient_id], referral_id=referral.pk)
    return render(request, "caseload/referral_accept.html", {"form": form, "referral": referral})


@permission_required(Perm.MANAGE_CASELOAD)
def referral_decline_view(request: HttpRequest, pk: int) -> HttpResponse:
    referral = _new_referral(request, pk)
    if isinstance(referral, HttpResponse):
        return referral
    form = ReferralDeclineForm(request.POST if request.method == "POST" else None, referral=referral)
    if request.method == "POST" and form.is_valid():
        tell = form.cleaned_data.get("tell_referrer", False)
        with refusal_shown_on(form):
            referral_decline(
                referral=referral, reason=form.cleaned_data["reason"], tell_referrer=tell, by=request.user
            )  # type: ignore[arg-type]
            messages.success(request, "Referral declined.")
            if tell and referral.referrer_told_at is None:
                messages.warning(
                    request, "The email to the referrer could not be sent: tell them another way."
                )
            elif tell:
                messages.success(request, f"The referrer was emailed at {referral.referrer_email}.")
            return redirect("caseload:referral_detail", referral.pk)
    audit(request, "referral.decide_form", [referral.patient_id], referral_id=referral.pk)
    return render(request, "caseload/referral_decline.html", {"form": form, "referral": referral})
