"""Directing a referral to an MDT: the referral is caseload's, the agenda it goes on is this app's."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from caseload.models import Referral
from caseload.services.patients import mdt_series_for
from mdt.forms import ReferralMdtForm
from mdt.models import Meeting
from mdt.services.schedule import referral_to_agenda
from pcn.audit import audit
from pcn.forms import refusal_shown_on
from pcn.permissions import Perm, permission_required


def _directed_to(referral: Referral, meeting: Meeting | None) -> str:
    if meeting is None:
        where = "not on an agenda yet, they go on the next one still open to changes"
    else:
        where = f"on the agenda of {timezone.localtime(meeting.starts_at):%A %-d %B %Y}"
    return f"Referral directed to the {referral.mdt_series}: {where}."


@permission_required(Perm.MANAGE_CASELOAD)
def referral_direct_to_mdt_view(request: HttpRequest, pk: int) -> HttpResponse:
    visible = Referral.objects.visible_to(request.user).select_related("patient", "referral_type")
    referral = get_object_or_404(visible, pk=pk)
    if referral.status != Referral.Status.NEW:
        messages.error(
            request, f"This referral has already been decided ({referral.get_status_display().lower()})."
        )
        return redirect("caseload:referral_detail", referral.pk)
    series = mdt_series_for(patient=referral.patient, user=request.user)  # type: ignore[arg-type]
    data = request.POST if request.method == "POST" else None
    form = ReferralMdtForm(data, series=series, preferred_kind=referral.referral_type.mdt_kind)
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            meeting = referral_to_agenda(
                referral=referral, series=form.cleaned_data["series"], by=request.user
            )  # type: ignore[arg-type]
            messages.success(request, _directed_to(referral, meeting))
            return redirect("caseload:referral_detail", referral.pk)
    audit(request, "referral.decide_form", [referral.patient_id], referral_id=referral.pk)
    return render(request, "mdt/referral_direct_to_mdt.html", {"form": form, "referral": referral})
