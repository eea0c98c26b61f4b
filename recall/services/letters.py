"""A letter batch's PDF: one letter per patient (the practice's name and address, the reviews due),
made in the background in chunks so the batch page can show progress, then stored."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from weasyprint import HTML

from pcn.nhs_number import format_nhs_number
from recall.models import InvitationBatch
from recall.services.invitations import batch_patients

LETTERS_PER_CHUNK = 50  # progress is saved after each chunk


def _lines(text: str, postcode: str) -> list[str]:
    parts = [part.strip() for part in text.replace("\n", ",").split(",") if part.strip()]
    return [*parts, postcode] if postcode else parts


def _letter(patient: Any, invitations: list[Any]) -> dict[str, Any]:
    practice = patient.practice
    return {
        "name": patient.full_name,
        "salutation": patient.full_name if patient.given_name else "patient",
        "nhs_number": format_nhs_number(patient.nhs_number),
        "address_lines": _lines(patient.address, patient.postcode),
        "practice": practice,
        "practice_lines": _lines(practice.address, practice.postcode),
        "reviews": [row.register.review_name for row in invitations],
    }


def batch_letters_render(*, batch: InvitationBatch) -> InvitationBatch:
    """Render and store the batch's letters (a batch whose letters are ready or cancelled is left alone)."""
    with transaction.atomic():
        batch = InvitationBatch.objects.select_for_update().get(pk=batch.pk)
        # Ready, or a batch without letters: nothing to do. Rendering: a worker died mid-way and the task
        # was redelivered (acks_late), so start again.
        if batch.letters_state in ("", InvitationBatch.LettersState.READY) or batch.is_cancelled:
            return batch
        batch.letters_state, batch.letters_done, batch.letters_error = (
            InvitationBatch.LettersState.RENDERING,
            0,
            "",
        )
        batch.save(update_fields=["letters_state", "letters_done", "letters_error"])
    try:
        pages: list[Any] = []
        first = None
        letters = [_letter(patient, rows) for patient, rows in batch_patients(batch)]
        for start in range(0, len(letters), LETTERS_PER_CHUNK):
            chunk = letters[start : start + LETTERS_PER_CHUNK]
            html = render_to_string("pdf/recall_letters.html", {"letters": chunk, "sent_on": batch.sent_on})
            document = HTML(string=html).render()
            first = first or document
            pages.extend(document.pages)
            InvitationBatch.objects.filter(pk=batch.pk).update(letters_done=start + len(chunk))
        pdf = first.copy(pages).write_pdf() if first else b""
    except Exception as error:
        InvitationBatch.objects.filter(pk=batch.pk).update(
            letters_state=InvitationBatch.LettersState.FAILED, letters_error=str(error)[:300]
        )
        raise
    batch.refresh_from_db()
    batch.letters_file.save(f"recall-batch-{batch.pk}-letters.pdf", ContentFile(pdf), save=False)
    batch.letters_state, batch.letters_done = InvitationBatch.LettersState.READY, len(letters)
    batch.save(update_fields=["letters_file", "letters_state", "letters_done"])
    return batch


@transaction.atomic
def batch_letters_retry(*, batch: InvitationBatch) -> InvitationBatch:
    """Letters that failed go back to waiting, for the task (`recall.tasks.batch_letters_enqueue`) to
    make again."""
    batch = InvitationBatch.objects.select_for_update().get(pk=batch.pk)
    if batch.is_cancelled:
        raise ValidationError("This batch has been undone: it has no letters to make.", code="cancelled")
    if batch.letters_state != InvitationBatch.LettersState.FAILED:
        raise ValidationError("Only letters that failed can be made again.", code="not_failed")
    batch.letters_state, batch.letters_done, batch.letters_error = InvitationBatch.LettersState.PENDING, 0, ""
    batch.save(update_fields=["letters_state", "letters_done", "letters_error"])
    return batch
