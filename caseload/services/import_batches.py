"""The end of an import batch, whichever kind (population or care events feed): failing it with the
reason, or, after an unexpected error, failing it and logging the error without patient data."""

import logging
import traceback

from django.db import transaction
from django.utils import timezone

from caseload.models import (
    CARE_EVENT_FEED_SOURCE,
    ImportBatch,
)
from caseload.services.import_files import (
    report_csv,
)
from caseload.services.uploads import report_store, upload_delete
from pcn.audit import audit

IMPORT_REPORT_ERRORS_SHOWN = 1000  # errors (and warnings) kept in ImportBatch.report; the CSV has them all


# Every import takes this transaction-level advisory lock, so two imports never interleave (IMP-10).
IMPORT_LOCK_KEY = 72_610_001


_log = logging.getLogger(__name__)


def batch_still(batch: ImportBatch, *statuses: str) -> bool:
    """Lock the batch's row and say whether it is still in one of `statuses` (someone may have cancelled it)."""
    current = ImportBatch.objects.select_for_update().values_list("status", flat=True).get(pk=batch.pk)
    return current in statuses


@transaction.atomic
def batch_fail(batch: ImportBatch, message: str) -> ImportBatch:
    """A problem with the whole file: nothing was written; say why."""
    if not batch_still(
        batch, ImportBatch.Status.CHECKING, ImportBatch.Status.PENDING, ImportBatch.Status.RUNNING
    ):
        batch.refresh_from_db()
        return batch
    batch.status = ImportBatch.Status.FAILED
    batch.error_message = message
    batch.finished_at = timezone.now()
    batch.counts = {"rows": 0, "new": 0, "updated": 0, "unchanged": 0, "invalid": 0}
    batch.report = {"errors": [], "error_count": 0, "notes": []}
    report_store(batch, report_csv([], message=message))
    batch.save()
    audit(
        None, "population.import", user=batch.created_by, batch_id=batch.pk, profile=batch.source,
        status=batch.status, error=message, patient_list="not listed: nothing was written",
    )  # fmt: skip
    upload_delete(batch)
    return batch


def care_event_feed_fail(batch: ImportBatch, message: str) -> ImportBatch:
    """The feed cannot be imported: nothing was written; say why. The uploaded copy goes."""
    batch.status, batch.error_message, batch.finished_at = ImportBatch.Status.FAILED, message, timezone.now()
    if not batch.counts:
        batch.counts = {"rows": 0, "new": 0, "unchanged": 0, "unmatched": 0, "invalid": 0}
    batch.save()
    upload_delete(batch)
    return batch


def crash_log(what: str, error: Exception) -> str:
    """Log an unexpected error with its traceback, but not its message: a database error's message
    quotes the row it failed on, and no patient data goes in the logs (DESIGN.md). Returns the
    error's kind, for the person who started the import."""
    kind = type(error).__name__
    sqlstate = getattr(error.__cause__, "sqlstate", None)
    _log.error(
        "%s failed: %s%s\nTraceback (most recent call last):\n%s",
        what,
        kind,
        f" (SQLSTATE {sqlstate})" if sqlstate else "",
        "".join(traceback.format_tb(error.__traceback__)).rstrip(),
    )
    return kind


def batch_crashed(batch: ImportBatch, error: Exception) -> ImportBatch:
    """A worker raised something unexpected: the batch ends FAILED with the reason, never stays
    CHECKING or RUNNING. The write is one transaction, already rolled back, so nothing was imported."""
    kind = crash_log(f"Import batch {batch.pk}", error)
    batch.refresh_from_db()  # what was set on it before the error was rolled back
    message = (
        f"The import stopped because of an unexpected error ({kind}), so nothing was imported. "
        f"The details are in the server's log under import batch {batch.pk}."
    )
    if batch.source == CARE_EVENT_FEED_SOURCE:
        return care_event_feed_fail(batch, message)
    return batch_fail(batch, message)
