"""The population import, as a person drives it: upload (its check is queued), start (the import is
queued), cancel. The work itself is caseload.services.import_runs, which the Celery tasks call."""

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from caseload.models import (
    ImportBatch,
    ImportProfile,
)
from caseload.services.uploads import upload_delete, upload_store
from caseload.tasks import population_import_preview_task, population_import_run_task
from pcn.audit import audit_by
from pcn.models import User


@transaction.atomic
def population_import_upload(*, profile: ImportProfile, upload: UploadedFile, by: User) -> ImportBatch:
    """Keep an uploaded file under MEDIA_ROOT/imports/ and queue its check (the preview)."""
    stored, sha256 = upload_store(upload=upload, suffixes=(".csv", ".xlsx", ".txt"))
    batch = ImportBatch.objects.create(
        source=profile.name[:100],
        profile=profile,
        filename=Path(upload.name or "upload").name[:255],
        file=stored,
        file_sha256=sha256,
        created_by=by,
        status=ImportBatch.Status.CHECKING,
    )
    transaction.on_commit(lambda: population_import_preview_task.delay(batch.pk))
    return batch


@transaction.atomic
def population_import_start(*, batch: ImportBatch, skip_invalid: bool, by: User) -> ImportBatch:
    """The person who checked the file chose to import it: queue the import."""
    batch.status = ImportBatch.objects.select_for_update().values_list("status", flat=True).get(pk=batch.pk)
    if batch.status != ImportBatch.Status.CHECKED:
        raise ValidationError("This import has already started or ended.", code="not_checked")
    if batch.counts.get("invalid") and not skip_invalid:
        raise ValidationError(
            "The file has invalid rows: import only the valid ones, or correct the file and upload it again.",
            code="invalid_rows",
        )
    batch.status = ImportBatch.Status.PENDING
    batch.skip_invalid = skip_invalid
    batch.attempts = 0
    batch.rows_done = 0
    batch.save(update_fields=["status", "skip_invalid", "attempts", "rows_done", "updated_at"])
    transaction.on_commit(lambda: population_import_run_task.delay(batch.pk))
    return batch


@transaction.atomic
def population_import_cancel(*, batch: ImportBatch, by: User) -> ImportBatch:
    """Decide not to import a checked file: the stored copy is deleted."""
    batch.status = ImportBatch.objects.select_for_update().values_list("status", flat=True).get(pk=batch.pk)
    if batch.status not in (ImportBatch.Status.CHECKING, ImportBatch.Status.CHECKED):
        raise ValidationError("This import has already started or ended.", code="not_checked")
    batch.status = ImportBatch.Status.CANCELLED
    batch.finished_at = timezone.now()
    batch.save(update_fields=["status", "finished_at"])
    upload_delete(batch)
    audit_by(by, "population.import_cancel", batch_id=batch.pk, profile=batch.source)
    return batch
