"""Caseload episodes: taking patients on (from Find patients or a patient's page), transferring them
to another care coordinator, closing the episode."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse

from caseload.forms.episodes import EpisodeCloseForm, EpisodeOpenForm, EpisodeTransferForm
from caseload.models import CaseloadEpisode, Patient
from caseload.services.episodes import episode_close, episode_transfer, episodes_open
from pcn.audit import audit
from pcn.forms import refusal_shown_on
from pcn.models import User
from pcn.permissions import Perm, permission_required

MOST_PATIENTS_AT_ONCE = 500


def _patients_chosen(request: HttpRequest) -> list[Patient]:
    ids = request.POST.getlist("patient") if request.method == "POST" else request.GET.getlist("patient")
    return list(
        Patient.objects.visible_to(request.user)
        .select_related("practice")
        .filter(pk__in=[i for i in ids if i.isdigit()][:MOST_PATIENTS_AT_ONCE])
    )


def _tell_opened(
    request: HttpRequest, opened: list[CaseloadEpisode], skipped: list[Patient], to: User
) -> None:
    messages.success(
        request, f"{len(opened)} patient{'s' if len(opened) != 1 else ''} added to {to}'s caseload."
    )
    if skipped:
        names = ", ".join(p.display_name for p in skipped[:5])
        messages.warning(request, f"{len(skipped)} already on a caseload and left as they were: {names}.")


@permission_required(Perm.MANAGE_CASELOAD)
def episode_add_view(request: HttpRequest) -> HttpResponse:
    """Take one or more patients (ticked in Find patients, or from a patient's page) onto a caseload."""
    patients = _patients_chosen(request)
    if not patients:
        messages.error(request, "Select at least one patient to add to a caseload.")
        return redirect(request.POST.get("back") or reverse("caseload:patient_list"))
    confirming = request.method == "POST" and "reason" in request.POST
    form = EpisodeOpenForm(request.POST if confirming else None, patients=patients, user=request.user)  # type: ignore[arg-type]
    if confirming and form.is_valid():
        with refusal_shown_on(form, "coordinator"):
            opened, skipped = episodes_open(patients=patients, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            coordinator = form.cleaned_data["coordinator"]
            _tell_opened(request, opened, skipped, coordinator)
            if len(patients) == 1:
                return redirect(patients[0])
            return redirect(f"{reverse('overview:my_caseload')}?coordinator={coordinator.pk}")
    audit(request, "caseload.open_form", patients)
    return render(request, "caseload/episode_add.html", {"form": form, "patients": patients})


def _episode_for(request: HttpRequest, pk: int) -> CaseloadEpisode:
    return get_object_or_404(
        CaseloadEpisode.objects.visible_to(request.user).select_related("patient__practice", "coordinator"),
        pk=pk,
    )


@permission_required(Perm.MANAGE_CASELOAD)
def episode_transfer_view(request: HttpRequest, pk: int) -> HttpResponse:
    episode = _episode_for(request, pk)
    form = EpisodeTransferForm(request.POST if request.method == "POST" else None, episode=episode)
    if request.method == "POST" and form.is_valid():
        with refusal_shown_on(form, "coordinator"):
            episode_transfer(episode=episode, to=form.cleaned_data["coordinator"], by=request.user)  # type: ignore[arg-type]
            messages.success(
                request, f"{episode.patient.display_name} is now on {episode.coordinator}'s caseload."
            )
            return redirect(episode.patient)
    return render(request, "caseload/episode_transfer.html", {"form": form, "episode": episode})


@permission_required(Perm.MANAGE_CASELOAD)
def episode_close_view(request: HttpRequest, pk: int) -> HttpResponse:
    episode = _episode_for(request, pk)
    if not episode.is_open:
        messages.error(request, "This episode is already closed.")
        return redirect(episode.patient)
    form = EpisodeCloseForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        episode_close(episode=episode, by=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        messages.success(request, f"{episode.patient.display_name} is off {episode.coordinator}'s caseload.")
        return redirect(episode.patient)
    return render(request, "caseload/episode_close.html", {"form": form, "episode": episode})
