"""A recall entry by hand: a Personalised Care Adjustment recorded (one of the five reasons, with its
date) or withdrawn (after a confirmation page)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from pcn.audit import audit
from pcn.forms import refusal_shown_on
from pcn.permissions import Perm, permission_required
from recall.forms.entries import PcaForm
from recall.models import RecallEntry
from recall.services.entries import entry_pca_record, entry_pca_withdraw


def _entry(request: HttpRequest, pk: int) -> RecallEntry:
    return get_object_or_404(
        RecallEntry.objects.visible_to(request.user).select_related("patient__practice", "register"), pk=pk
    )


@permission_required(Perm.MANAGE_CASELOAD)
def entry_pca_view(request: HttpRequest, pk: int) -> HttpResponse:
    entry = _entry(request, pk)
    if not entry.is_open:
        messages.info(request, f"The {entry.register.review_name} is {entry.state_text().lower()}: no PCA.")
        return redirect(entry.patient)
    form = PcaForm(request.POST if request.method == "POST" else None, initial=request.GET.dict())
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form):
            entry = entry_pca_record(entry=entry, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            what = f"{entry.register.review_name} {entry.year_label}"
            messages.success(request, f"PCA recorded for the {what}: {entry.get_pca_reason_display()}.")
            return redirect(entry.patient)
    audit(request, "recall.pca.form", [entry.patient_id], entry_id=entry.pk)
    return render(request, "recall/entry_pca.html", {"form": form, "entry": entry, "patient": entry.patient})


@permission_required(Perm.MANAGE_CASELOAD)
def entry_pca_withdraw_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: are you sure? POST: the PCA is withdrawn and the review is due again."""
    entry = _entry(request, pk)
    if entry.state != RecallEntry.State.PCA:
        messages.info(request, f"The {entry.register.review_name} has no PCA to withdraw.")
        return redirect(entry.patient)
    if request.method == "POST":
        entry = entry_pca_withdraw(entry=entry, by=request.user)  # type: ignore[arg-type]
        messages.success(
            request, f"PCA withdrawn: the {entry.register.review_name} is {entry.state_text().lower()}."
        )
        return redirect(entry.patient)
    audit(request, "recall.pca.view", [entry.patient_id], entry_id=entry.pk)
    return render(request, "recall/entry_pca_withdraw.html", {"entry": entry, "patient": entry.patient})
