"""Shared decision making: recording a decision aid offered to the person (from the patient page) and,
later, what came of the conversation. The offers show in the care plan's shared decision making section
and on the patient timeline."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from careplans.forms.decision_aids import DecisionAidOfferForm, offer_initial
from careplans.models import DecisionAidOffer
from careplans.services.decision_aids import decision_aid_offer_record, decision_aid_offer_update
from caseload.views.patients import patient_for
from pcn.audit import audit
from pcn.forms import refusal_shown_on
from pcn.permissions import Perm, permission_required


@permission_required(Perm.MANAGE_CASELOAD)
def decision_aid_offer_add_view(request: HttpRequest, pk: int) -> HttpResponse:
    patient = patient_for(request, pk)
    data = request.POST if request.method == "POST" else None
    form = DecisionAidOfferForm(data, initial={"offered_on": timezone.localdate()})
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            offer = decision_aid_offer_record(patient=patient, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            messages.success(request, f"Decision aid offered: {offer.aid.title}.")
            return redirect(patient)
    audit(request, "decision_aid.offer_form", [patient])
    return render(request, "careplans/decision_aid_offer_form.html", {"form": form, "patient": patient})


@permission_required(Perm.MANAGE_CASELOAD)
def decision_aid_offer_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    offer = get_object_or_404(
        DecisionAidOffer.objects.visible_to(request.user).select_related("patient__practice", "aid"), pk=pk
    )
    data = request.POST if request.method == "POST" else None
    form = DecisionAidOfferForm(data, initial=offer_initial(offer), offer=offer)
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            decision_aid_offer_update(offer=offer, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            messages.success(request, f"Decision aid offer saved: {offer.aid.title}.")
            return redirect(offer.patient)
    audit(request, "decision_aid.offer_view", [offer.patient_id], offer_id=offer.pk)
    context = {"form": form, "patient": offer.patient, "offer": offer}
    return render(request, "careplans/decision_aid_offer_form.html", context)
