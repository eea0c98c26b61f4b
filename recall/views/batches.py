"""Invitation batches: the preview and confirm page, the list, a batch's page (counts, exclusions,
the letters' progress), its three downloads, the letters' retry, and the same-day undo.

Reading needs Perm.VIEW_PATIENTS, making and undoing Perm.MANAGE_CASELOAD. A batch is reached through
InvitationBatch.objects.visible_to (a member of every practice it invited): otherwise 404.
"""

from collections.abc import Callable, Iterable
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from pcn.audit import audit
from pcn.exports import csv_download
from pcn.permissions import Perm, has_perm, permission_required
from recall.forms.batches import BatchForm
from recall.models import Channel, InvitationBatch
from recall.services.invitations import (
    CODING_HEADER,
    MESSAGING_HEADER,
    coding_rows,
    invitation_batch_create,
    invitation_batch_undo,
    messaging_rows,
)
from recall.services.letters import batch_letters_retry
from recall.tasks import batch_letters_enqueue

BATCH_PAGE_SIZE = 25


def _batch_for(request: HttpRequest, pk: int) -> InvitationBatch:
    return get_object_or_404(
        InvitationBatch.objects.visible_to(request.user).select_related("created_by"), pk=pk
    )


def _batch_patient_ids(batch: InvitationBatch) -> list[int]:
    return sorted(set(batch.invitations.values_list("patient_id", flat=True)))


def _downloadable(request: HttpRequest, batch: InvitationBatch) -> bool:
    if batch.is_cancelled:
        messages.error(
            request, "This batch was undone: its invitations were cancelled, so there is nothing to send."
        )
    return not batch.is_cancelled


def _batch_make(request: HttpRequest, form: BatchForm) -> InvitationBatch | None:
    """Confirmed: the batch (or the one this form's key made already), its letters started."""
    user: Any = request.user
    key = form.cleaned_data["key"]
    made = InvitationBatch.objects.filter(request_key=key, created_by=user).first()
    if made is not None:
        messages.info(request, "These invitations were sent already: this is the batch they made.")
        return made
    try:
        batch = invitation_batch_create(
            entries=form.entries(), channel=form.cleaned_data["channel"], on=timezone.localdate(), by=user,
            description=form.description(), request_key=key,
        )  # fmt: skip
    except ValidationError as error:
        form.add_error(None, error)
        return None
    if batch.channel == Channel.LETTER:
        batch_letters_enqueue(batch)
    messages.success(
        request, f"{batch.patient_count:,} patient{'s' if batch.patient_count != 1 else ''} invited."
    )
    return batch


def _preview(request: HttpRequest, form: BatchForm) -> HttpResponse:
    plan = None
    if form.can_plan():
        try:
            plan = form.plan(timezone.localdate())
        except ValidationError as error:
            form.add_error(None, error)
    if plan is not None:
        patients = {*plan.patient_ids, *(exclusion.patient_id for exclusion in plan.exclusions)}
        audit(request, "recall.batch.preview", patients, channel=form.cleaned_data["channel"],
              invitations=len(plan.entries), excluded=len(plan.exclusions))  # fmt: skip
    channel = Channel(form.cleaned_data["channel"]) if plan is not None else None
    return render(request, "recall/batch_new.html", {"form": form, "plan": plan, "channel": channel})


@permission_required(Perm.MANAGE_CASELOAD)
def batch_new_view(request: HttpRequest) -> HttpResponse:
    """GET: who the batch would invite, and who it leaves out and why. POST: make it."""
    if request.method == "GET" and not {"entry", "all"} & request.GET.keys():
        messages.error(request, "Select the patients to invite, or every one matching the filter.")
        return redirect("recall:worklist")
    data = request.POST if request.method == "POST" else request.GET
    form = BatchForm(data, user=request.user)  # type: ignore[arg-type]
    if request.method == "POST" and form.is_valid():
        batch = _batch_make(request, form)
        if batch is not None:
            return redirect(batch)
    return _preview(request, form)


@permission_required(Perm.VIEW_PATIENTS)
def batch_list_view(request: HttpRequest) -> HttpResponse:
    batches = InvitationBatch.objects.visible_to(request.user).select_related("created_by", "cancelled_by")
    page = Paginator(batches, BATCH_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "recall/batch_list.html", {"page": page, "today": timezone.localdate()})


@permission_required(Perm.VIEW_PATIENTS)
def batch_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The batch's counts, who was left out and why, its downloads; htmx polls the letters' progress."""
    batch = _batch_for(request, pk)
    context = {"batch": batch, "can_manage": has_perm(request.user, Perm.MANAGE_CASELOAD),
               "can_undo": batch.can_undo(timezone.localdate())}  # fmt: skip
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "recall/batch_detail.html#letters", context)
    excluded = {row["patient_id"] for row in batch.excluded}
    audit(request, "recall.batch.view", excluded, batch_id=batch.pk)
    return render(request, "recall/batch_detail.html", context)


def _batch_csv(
    request: HttpRequest,
    pk: int,
    kind: str,
    header: list[str],
    rows: Callable[[InvitationBatch], Iterable[Iterable[Any]]],
) -> HttpResponse:
    """The batch's `kind` CSV ("messaging", "coding"), audited; none for a batch that was undone."""
    batch = _batch_for(request, pk)
    if not _downloadable(request, batch):
        return redirect(batch)
    audit(request, f"recall.batch.{kind}_csv", _batch_patient_ids(batch), batch_id=batch.pk)
    return csv_download(f"recall-batch-{batch.pk}-{kind}.csv", header, rows(batch))


@permission_required(Perm.VIEW_PATIENTS)
def batch_messaging_csv_view(request: HttpRequest, pk: int) -> HttpResponse:
    """For a batch-messaging tool: one row per patient, however many of their reviews are due."""
    return _batch_csv(request, pk, "messaging", MESSAGING_HEADER, messaging_rows)


@permission_required(Perm.VIEW_PATIENTS)
def batch_coding_csv_view(request: HttpRequest, pk: int) -> HttpResponse:
    """For entering in the GP record: one row per invitation."""
    return _batch_csv(request, pk, "coding", CODING_HEADER, coding_rows)


@permission_required(Perm.VIEW_PATIENTS)
def batch_letters_view(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_for(request, pk)
    if not _downloadable(request, batch):
        return redirect(batch)
    if batch.letters_state != InvitationBatch.LettersState.READY or not batch.letters_file:
        messages.error(request, "The letters are not ready yet.")
        return redirect(batch)
    audit(request, "recall.batch.letters", _batch_patient_ids(batch), batch_id=batch.pk)
    filename = f"recall-batch-{batch.pk}-letters.pdf"
    return FileResponse(
        batch.letters_file.open("rb"), as_attachment=True, filename=filename, content_type="application/pdf"
    )


@require_POST
@permission_required(Perm.MANAGE_CASELOAD)
def batch_letters_retry_view(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch_for(request, pk)
    try:
        batch = batch_letters_retry(batch=batch)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        batch_letters_enqueue(batch)
        messages.success(request, "The letters are being made again.")
    return redirect(batch)


@permission_required(Perm.MANAGE_CASELOAD)
def batch_undo_view(request: HttpRequest, pk: int) -> HttpResponse:
    """GET: what undoing does, and whether it still can. POST: cancel the batch's invitations (kept)."""
    batch = _batch_for(request, pk)
    today = timezone.localdate()
    if request.method == "POST":
        try:
            invitation_batch_undo(batch=batch, by=request.user, today=today)  # type: ignore[arg-type]
        except ValidationError as error:
            messages.error(request, error.messages[0])
        else:
            messages.success(
                request,
                "The batch is undone: its invitations are cancelled and the worklist counts them no more.",
            )
        return redirect(batch)
    return render(request, "recall/batch_undo.html", {"batch": batch, "can_undo": batch.can_undo(today)})
