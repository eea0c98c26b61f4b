"""Safeguarding concerns: raise one from the patient page, read it, acknowledge it, close it with an
outcome, and the Safeguarding list of concerns to acknowledge.

A concern's category, words and outcome are for its readers alone (the raiser, the practice's
safeguarding lead, its clinical leads and administrators: `readable_by`); anyone else gets a 404, as for
a record at another practice. Acknowledging and closing are the lead's and the clinical leads'
(`actionable_by`); a reader who may not act gets a 403. Every read is audited.
"""

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from caseload.forms.safeguarding import SafeguardingCloseForm, SafeguardingConcernForm, SafeguardingListForm
from caseload.models import SafeguardingConcern
from caseload.services.safeguarding import (
    safeguarding_concern_acknowledge,
    safeguarding_concern_close,
    safeguarding_concern_raise,
    safeguarding_recipients,
)
from caseload.views.patients import patient_for
from pcn.audit import audit
from pcn.models import User
from pcn.pagination import CappedPaginator, query_without
from pcn.permissions import Perm, has_perm, permission_required

PAGE_SIZE = 50
# Administrators read concerns (they see no patient pages); the rest of the page's rules are the concern's.
READERS = (Perm.VIEW_PATIENTS, Perm.ADMINISTER)


def _concern_for(request: HttpRequest, pk: int) -> SafeguardingConcern:
    return get_object_or_404(
        SafeguardingConcern.objects.readable_by(request.user).select_related(
            "patient__practice__safeguarding_lead", "raised_by", "acknowledged_by", "closed_by"
        ),
        pk=pk,
    )


def _may_act(request: HttpRequest, concern: SafeguardingConcern) -> bool:
    return SafeguardingConcern.objects.actionable_by(request.user).filter(pk=concern.pk).exists()


def _names(people: list[User]) -> str:
    names = [str(person) for person in people]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _raised_message(recipients: list[User], to_clinical_leads: bool, practice: Any) -> str:
    if not recipients:
        return (
            f"Safeguarding concern recorded, but nobody was told: {practice.name} has no safeguarding lead "
            "and no clinical lead. Tell the GP now, and ask an administrator to name a safeguarding lead."
        )
    told = f"{_names(recipients)} {'has' if len(recipients) == 1 else 'have'} been sent an email and a task."
    if to_clinical_leads:
        return (
            f"Safeguarding concern raised. {practice.name} has no named safeguarding lead, so it went to "
            f"its clinical leads: {told}"
        )
    return f"Safeguarding concern raised. {told}"


@permission_required(Perm.MANAGE_CASELOAD)
def safeguarding_raise_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    recipients, to_clinical_leads = safeguarding_recipients(patient.practice)
    form = SafeguardingConcernForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            concern = safeguarding_concern_raise(patient=patient, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _raised_message(recipients, to_clinical_leads, patient.practice))
            return redirect(concern)
    audit(request, "safeguarding.form", [patient])
    context = {
        "form": form,
        "patient": patient,
        "recipients": recipients,
        "to_clinical_leads": to_clinical_leads,
    }
    return render(request, "caseload/safeguarding_raise.html", context)


@permission_required(*READERS)
def safeguarding_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    concern = _concern_for(request, pk)
    sent_to = sorted({task.owner for task in concern.tasks.select_related("owner")}, key=str)
    audit(request, "safeguarding.view", [concern.patient_id], concern_id=concern.pk)
    context = {
        "concern": concern,
        "patient": concern.patient,
        "sent_to": sent_to,
        "may_act": _may_act(request, concern),
        "sees_patients": has_perm(request.user, Perm.VIEW_PATIENTS),
    }
    return render(request, "caseload/safeguarding_detail.html", context)


@require_POST
@permission_required(*READERS)
def safeguarding_acknowledge_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Acknowledge (safe to repeat: a second time says who did it)."""
    concern = _concern_for(request, pk)
    if not _may_act(request, concern):
        raise PermissionDenied
    if safeguarding_concern_acknowledge(concern=concern, by=request.user):  # type: ignore[arg-type]
        messages.success(request, "Concern acknowledged. The person who raised it can see that you have.")
    else:
        messages.info(request, f"The concern was acknowledged already, by {concern.acknowledged_by}.")
    return redirect(concern)


@permission_required(*READERS)
def safeguarding_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    concern = _concern_for(request, pk)
    if not _may_act(request, concern):
        raise PermissionDenied
    if concern.state != SafeguardingConcern.State.ACKNOWLEDGED:
        messages.info(
            request,
            "The concern is closed already."
            if concern.state == SafeguardingConcern.State.CLOSED
            else "Acknowledge the concern before closing it.",
        )
        return redirect(concern)
    form = SafeguardingCloseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            safeguarding_concern_close(concern=concern, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Concern closed with its outcome.")
            return redirect(concern)
    audit(request, "safeguarding.close_form", [concern.patient_id], concern_id=concern.pk)
    context = {"form": form, "concern": concern, "patient": concern.patient}
    return render(request, "caseload/safeguarding_close.html", context)


@permission_required(*READERS)
def safeguarding_list_view(request: HttpRequest) -> HttpResponse:
    """Concerns awaiting acknowledgement (or acknowledged, or closed) that the user may read: at the
    practices where they are the safeguarding lead or a clinical lead (or an administrator), and those
    they raised. Immediate risk first, then the longest waiting."""
    user: Any = request.user
    form = SafeguardingListForm(request.GET or None)
    state = (form.cleaned_data.get("state") if form.is_valid() else "") or SafeguardingConcern.State.RAISED
    concerns = SafeguardingConcern.objects.readable_by(user).in_state(state)
    page = CappedPaginator(concerns, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    audit(
        request, "safeguarding.list", [c.patient_id for c in rows], concern_ids=[c.pk for c in rows],
        state=state, page=page.number,
    )  # fmt: skip
    context = {
        "form": form,
        "page": page,
        "concerns": rows,
        "state": state,
        "state_label": dict(SafeguardingListForm.STATES)[state],
        "query_string": query_without(request, "page"),
        "sees_patients": has_perm(user, Perm.VIEW_PATIENTS),
    }
    return render(request, "caseload/safeguarding_list.html", context)
