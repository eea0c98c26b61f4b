"""Writes in the caseload app: caseload episodes (and the population import, below)."""

import csv
import hashlib
import io
import logging
import time
import traceback
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, models, transaction
from django.utils import timezone

from caseload.codes import Code
from caseload.importing import (
    CONTROL_CHARACTER,
    REPORT_HEADER,
    XLSX_MAGIC,
    FileRejected,
    ParsedFile,
    PracticeInfo,
    RowError,
    _cell_text,
    _csv_rows,
    _Invalid,
    _is_blank,
    _nhs_number,
    _xlsx_rows,
    control_cells,
    escape_control,
    heading_key,
    headings_check,
    parse_population_file,
    report_csv,
)
from caseload.models import (
    CARE_EVENT_FEED_SOURCE,
    ActivationMeasure,
    CareHome,
    CaseloadEpisode,
    CodingEntry,
    ImportBatch,
    ImportProfile,
    LongTermCondition,
    Patient,
    RiskSnapshot,
)
from mdt import services as mdt_services
from pcn.audit import audit
from pcn.exports import csv_safe
from pcn.models import Membership, Practice, Role, User
from pcn.nhs_number import format_nhs_number

# --- Caseload episodes -----------------------------------------------------------------------------


def coordinator_check(*, coordinator: User, patient: Patient) -> None:
    """A caseload belongs to a care coordinator at the patient's practice."""
    if not Membership.objects.filter(
        user=coordinator, practice_id=patient.practice_id, role=Role.COORDINATOR
    ).exists():
        raise ValidationError(
            f"{coordinator} is not a care coordinator at {patient.practice.name}.", code="not_coordinator"
        )


@transaction.atomic
def episodes_open(
    *, patients: Sequence[Patient], coordinator: User, reason: str, reason_detail: str = "", by: User
) -> tuple[list[CaseloadEpisode], list[Patient]]:
    """Take patients onto a coordinator's caseload. Returns (episodes opened, patients skipped
    because they are already on a caseload). Every patient must be at a practice where the
    coordinator works; otherwise nothing is written."""
    for patient in patients:
        coordinator_check(coordinator=coordinator, patient=patient)
    already = set(
        CaseloadEpisode.objects.open()
        .filter(patient__in=patients)
        .select_for_update()
        .values_list("patient_id", flat=True)
    )
    skipped = [p for p in patients if p.pk in already]
    now = timezone.now()
    episodes = CaseloadEpisode.objects.bulk_create(
        CaseloadEpisode(
            patient=p,
            coordinator=coordinator,
            reason=reason,
            reason_detail=reason_detail,
            opened_at=now,
            opened_by=by,
        )
        for p in patients
        if p.pk not in already
    )
    if episodes:
        audit(
            None, "caseload.open", [e.patient_id for e in episodes], user=by,
            coordinator_id=coordinator.pk, reason=reason,
        )  # fmt: skip
    return episodes, skipped


@transaction.atomic
def episode_transfer(*, episode: CaseloadEpisode, to: User, by: User) -> CaseloadEpisode:
    if not episode.is_open:
        raise ValidationError("This episode is closed: it cannot be transferred.", code="closed")
    if to.pk == episode.coordinator_id:
        raise ValidationError(f"The patient is already on {to}'s caseload.", code="same_coordinator")
    coordinator_check(coordinator=to, patient=episode.patient)
    previous = episode.coordinator_id
    episode.coordinator = to
    episode.save(update_fields=["coordinator", "updated_at"])
    audit(
        None,
        "caseload.transfer",
        [episode.patient_id],
        user=by,
        episode_id=episode.pk,
        from_id=previous,
        to_id=to.pk,
    )
    return episode


@transaction.atomic
def episode_close(*, episode: CaseloadEpisode, reason: str, note: str = "", by: User) -> CaseloadEpisode:
    if not episode.is_open:
        raise ValidationError("This episode is already closed.", code="closed")
    episode.status = CaseloadEpisode.Status.CLOSED
    episode.closed_at = timezone.now()
    episode.closed_by = by
    episode.close_reason = reason
    episode.close_note = note
    episode.save(
        update_fields=["status", "closed_at", "closed_by", "close_reason", "close_note", "updated_at"]
    )
    audit(None, "caseload.close", [episode.patient_id], user=by, episode_id=episode.pk, reason=reason)
    return episode


# --- Population import -------------------------------------------------------------------------------
#
# One service for the web upload, `manage.py import_population` and the drop-folder sweep. A file is
# read and checked row by row in Python (caseload.importing, no ORM per row); the rows that pass are
# written in one transaction. On PostgreSQL they are staged with COPY into a temporary table and
# upserted by NHS number in one statement that also writes the risk snapshots; elsewhere (the SQLite
# try-it-out default) bulk_create/bulk_update do the same, more slowly.
#
# All or nothing by default: with any invalid row nothing is written and the batch is FAILED with
# its report; `skip_invalid` imports the rest and keeps the report. Idempotent: a patient row is
# only updated when a mapped column's value differs (so updated_at moves only then), and a risk
# snapshot is only added for a new patient or one whose figures changed, so re-importing a file
# writes nothing but its ImportBatch.

IMPORT_REPORT_ERRORS_SHOWN = 1000  # errors (and warnings) kept in ImportBatch.report; the CSV has them all
IMPORT_MAX_ATTEMPTS = 3  # a task redelivered after a crash gives up after this many tries (JOB-04)
DROP_FOLDER_DONE, DROP_FOLDER_FAILED, DROP_FOLDER_PROCESSING = "done", "failed", "processing"
# Every import takes this transaction-level advisory lock, so two imports never interleave (IMP-10).
_IMPORT_LOCK_KEY = 72_610_001
_STAGING_TABLE = "population_import_staging"
# Columns of the patient table that hold figures a RiskSnapshot records.
_FIGURE_COLUMNS = ("risk_score", "efi_score", "ae_attendances_12m", "emergency_admissions_12m")
# The values a new patient gets for the columns an import does not map.
_NEW_PATIENT_DEFAULTS: dict[str, Any] = {
    "given_name": "",
    "family_name": "",
    "sex": Patient.Sex.UNKNOWN.value,
    "address": "",
    "postcode": "",
    "phone": "",
    "mobile": "",
    "preferred_language": "",
    "interpreter_needed": False,
    "is_carer": False,
    "has_carer": False,
    "is_deceased": False,
    "has_left": False,
    "efi_category": "",
    "ltc_flags": 0,
}


_log = logging.getLogger(__name__)


class _Refused(Exception):
    """The import cannot go ahead; the message is for the person who started it."""


class _AlreadyDone(Exception):
    """Another run of the same batch finished first (a redelivered task): leave its result alone."""


@transaction.atomic
def population_import_upload(*, profile: ImportProfile, upload: UploadedFile, by: User) -> ImportBatch:
    """Keep an uploaded file under MEDIA_ROOT/imports/ and queue its check (the preview)."""
    from caseload.tasks import population_import_preview_task

    suffix = Path(upload.name or "").suffix.lower()
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    stored = default_storage.save(
        f"imports/{uuid.uuid4().hex}{suffix if suffix in ('.csv', '.xlsx', '.txt') else ''}", upload
    )
    batch = ImportBatch.objects.create(
        source=profile.name[:100],
        profile=profile,
        filename=Path(upload.name or "upload").name[:255],
        file=stored,
        file_sha256=digest.hexdigest(),
        created_by=by,
        status=ImportBatch.Status.CHECKING,
    )
    transaction.on_commit(lambda: population_import_preview_task.delay(batch.pk))
    return batch


def population_import_preview(*, batch: ImportBatch) -> ImportBatch:
    """Check the batch's file and count what importing it would do: writes no patient data.

    Runs once per batch (a redelivered task finds the batch already CHECKED and does nothing).
    """
    claimed = ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.CHECKING).update(
        attempts=models.F("attempts") + 1, updated_at=timezone.now()
    )
    batch.refresh_from_db()
    if not claimed:
        return batch
    if batch.attempts > IMPORT_MAX_ATTEMPTS:
        return _batch_fail(batch, f"Checking the file stopped after {IMPORT_MAX_ATTEMPTS} attempts.")
    try:
        parsed = _population_parse(batch, path=Path(batch.file.path), user=batch.created_by)
        with transaction.atomic():
            counts = _population_write(batch, parsed, write=False)
            if not _batch_still(batch, ImportBatch.Status.CHECKING):
                return batch  # cancelled while it was being checked
            batch.status = ImportBatch.Status.CHECKED
            batch.rows_total = batch.rows_done = parsed.rows
            _batch_report(batch, parsed, counts)
            batch.save()
            audit(
                None, "population.preview", user=batch.created_by, batch_id=batch.pk,
                profile=batch.source, counts=batch.counts, patient_list="not listed: nothing was written",
            )  # fmt: skip
    except (FileRejected, _Refused) as problem:
        return _batch_fail(batch, str(problem))
    except Exception as error:  # anything else: the batch must not stay CHECKING (see _batch_crashed)
        return _batch_crashed(batch, error)
    return batch


@transaction.atomic
def population_import_start(*, batch: ImportBatch, skip_invalid: bool, by: User) -> ImportBatch:
    """The person who checked the file chose to import it: queue the import."""
    from caseload.tasks import population_import_run_task

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
    _batch_delete_upload(batch)
    audit(None, "population.import_cancel", user=by, batch_id=batch.pk, profile=batch.source)
    return batch


def population_import_run(*, batch: ImportBatch) -> ImportBatch:
    """Import the batch's stored file (the web upload, after its preview). Safe to run twice."""
    claimed = ImportBatch.objects.filter(
        pk=batch.pk, status__in=[ImportBatch.Status.PENDING, ImportBatch.Status.RUNNING]
    ).update(status=ImportBatch.Status.RUNNING, attempts=models.F("attempts") + 1, updated_at=timezone.now())
    batch.refresh_from_db()
    if not claimed:
        return batch
    if batch.attempts > IMPORT_MAX_ATTEMPTS:
        _batch_fail(batch, f"The import stopped after {IMPORT_MAX_ATTEMPTS} attempts. Nothing was imported.")
    elif not batch.file:
        _batch_fail(batch, "The uploaded file is no longer there. Upload it again.")
    else:
        _population_import(batch, path=Path(batch.file.path))
    _batch_delete_upload(batch)
    return batch


def population_import_file(
    *,
    path: Path,
    profile: ImportProfile,
    by: User | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    filename: str = "",
    drop_file: str = "",
) -> ImportBatch:
    """Import a file from the command line or the drop folder, in one go.

    `by` (optional) is who the import is for: their practices limit which rows may be imported.
    Without it (the drop folder, or the command without --user) every practice in the PCN may be.
    A dry run checks the file and counts what would change, and writes no patient data.
    `drop_file`: the file's name in the drop folder's processing/ (kept on the batch, so that the
    file is not lost there if the import's worker dies).
    """
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    batch = ImportBatch.objects.create(
        source=profile.name[:100],
        profile=profile,
        filename=(filename or path.name)[:255],
        file_sha256=digest.hexdigest(),
        created_by=by,
        status=ImportBatch.Status.RUNNING,
        dry_run=dry_run,
        skip_invalid=skip_invalid,
        attempts=1,
        drop_file=drop_file,
    )
    return _population_import(batch, path=path)


def population_import_drop_folder_sweep(*, now: float | None = None) -> list[ImportBatch]:
    """Import every file waiting in IMPORT_DROP_DIR/<profile slug>/, oldest first.

    Each file is claimed by moving it to processing/ (a rename: two sweeps never take the same
    file), imported with no user (every practice in scope), then moved to done/ or failed/ with its
    report beside it (<name>.report.csv). Files still being written (changed in the last
    IMPORT_DROP_MIN_AGE_SECONDS), hidden files and .part/.tmp files are left for the next sweep.

    Each sweep first fails the batches that are stuck (population_import_stuck_fail).
    """
    population_import_stuck_fail()
    root = Path(settings.IMPORT_DROP_DIR)
    if not root.is_dir():
        return []
    now = time.time() if now is None else now
    for folder in (DROP_FOLDER_DONE, DROP_FOLDER_FAILED, DROP_FOLDER_PROCESSING):
        (root / folder).mkdir(exist_ok=True)
    waiting: list[tuple[float, Path, str]] = []
    for folder in sorted(root.iterdir()):
        if not folder.is_dir() or folder.name in (
            DROP_FOLDER_DONE,
            DROP_FOLDER_FAILED,
            DROP_FOLDER_PROCESSING,
        ):
            continue
        for path in folder.iterdir():
            if not path.is_file() or path.name.startswith(".") or path.suffix.lower() in (".part", ".tmp"):
                continue
            modified = path.stat().st_mtime
            if now - modified >= settings.IMPORT_DROP_MIN_AGE_SECONDS:
                waiting.append((modified, path, folder.name))
    batches = []
    for _, path, slug in sorted(waiting):
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
        claimed = root / DROP_FOLDER_PROCESSING / f"{stamp}-{slug}-{path.name}"
        try:
            path.rename(claimed)
        except FileNotFoundError:
            continue  # another sweep took it
        profile = ImportProfile.objects.filter(slug=slug).first()
        if profile is None:
            target = root / DROP_FOLDER_FAILED / claimed.name
            claimed.rename(target)
            message = (
                f"There is no import profile “{slug}”: put files in a folder named after a profile's slug."
            )
            Path(f"{target}.report.csv").write_text(report_csv([], message=message), encoding="utf-8-sig")
            continue
        try:
            batch = population_import_file(
                path=claimed,
                profile=profile,
                skip_invalid=settings.IMPORT_DROP_SKIP_INVALID,
                filename=path.name,
                drop_file=claimed.name,
            )
            folder = DROP_FOLDER_DONE if batch.status == ImportBatch.Status.DONE else DROP_FOLDER_FAILED
            target = root / folder / claimed.name
            claimed.rename(target)
            Path(f"{target}.report.csv").write_text(_batch_report_text(batch), encoding="utf-8-sig")
        except Exception as error:  # the file must not sit in processing/, nor stop the other files
            kind = _crash_log(f"Drop-folder file {slug}/{path.name}", error)
            if claimed.exists():
                target = root / DROP_FOLDER_FAILED / claimed.name
                claimed.rename(target)
                message = (
                    f"The file could not be imported because of an unexpected error ({kind}). The details "
                    "are in the server's log. Move the file back into its profile's folder to try again."
                )
                Path(f"{target}.report.csv").write_text(report_csv([], message=message), encoding="utf-8-sig")
            continue
        batches.append(batch)
    return batches


def population_import_stuck_fail(*, now: datetime | None = None) -> list[ImportBatch]:
    """Fail every batch left checking, waiting or running with no sign of life (no claim, progress
    or save) for IMPORT_STUCK_AFTER_MINUTES: its worker was killed (out of memory, a restart, the
    task time limit), so nothing will finish it. Nothing was imported: the write and the DONE status
    are one transaction.

    A batch whose row is locked is left alone: its import is writing (_population_write holds the
    lock until it commits). A drop-folder file is moved from processing/ to failed/ with its report,
    not back into the queue: a file that killed its worker would kill the next one too.
    """
    minutes = settings.IMPORT_STUCK_AFTER_MINUTES
    since = (now or timezone.now()) - timedelta(minutes=minutes)
    failed = []
    for pk in ImportBatch.objects.stuck(since=since).values_list("pk", flat=True):
        with transaction.atomic():
            batch = (
                ImportBatch.objects.select_for_update(skip_locked=True)
                .stuck(since=since)
                .filter(pk=pk)
                .first()
            )
            if batch is None:
                continue  # it came back to life, or its import holds the lock
            what = {
                ImportBatch.Status.CHECKING: "Checking the file stopped without finishing",
                ImportBatch.Status.PENDING: "The import did not start",
                ImportBatch.Status.RUNNING: "The import stopped without finishing",
            }[ImportBatch.Status(batch.status)]
            again = (
                "Move the file from the drop folder's failed/ back into its profile's folder to try again."
                if batch.drop_file
                else "Import the file again."
            )
            message = (
                f"{what}: nothing was heard from it for {minutes} minutes (the server may have been restarted, "
                f"or run out of memory). Nothing was imported. {again}"
            )
            _log.warning("Import batch %s stuck since %s: failed", batch.pk, batch.updated_at.isoformat())
            if batch.source == CARE_EVENT_FEED_SOURCE:
                _care_event_feed_fail(batch, message)
            else:
                _batch_fail(batch, message)
        if batch.drop_file:
            _drop_file_fail(batch)
        failed.append(batch)
    return failed


def _drop_file_fail(batch: ImportBatch) -> None:
    """Move a failed batch's drop-folder file from processing/ to failed/, with its report beside it."""
    root = Path(settings.IMPORT_DROP_DIR)
    claimed = root / DROP_FOLDER_PROCESSING / batch.drop_file
    if not claimed.is_file():
        return  # already moved (the import ended after all), or removed by hand
    target = root / DROP_FOLDER_FAILED / batch.drop_file
    target.parent.mkdir(exist_ok=True)
    claimed.rename(target)
    Path(f"{target}.report.csv").write_text(_batch_report_text(batch), encoding="utf-8-sig")


def _population_import(batch: ImportBatch, *, path: Path) -> ImportBatch:
    """Check the file, then (unless it is a dry run or refused) write it, the batch's outcome and the
    audit event in one transaction."""
    try:
        parsed = _population_parse(batch, path=path, user=batch.created_by)
        refused = bool(parsed.invalid_rows) and not batch.skip_invalid and not batch.dry_run
        with transaction.atomic():
            if refused:
                counts = {
                    "rows": parsed.rows,
                    "new": 0,
                    "updated": 0,
                    "unchanged": 0,
                    "invalid": parsed.invalid_rows,
                }
            else:
                counts = _population_write(batch, parsed, write=not batch.dry_run)
            if not _batch_still(batch, ImportBatch.Status.RUNNING):
                raise _AlreadyDone  # another run finished it, or the stuck sweep failed it: leave it
            batch.rows_total = batch.rows_done = parsed.rows
            _batch_report(batch, parsed, counts)
            batch.finished_at = timezone.now()
            if refused:
                invalid = parsed.invalid_rows
                batch.status = ImportBatch.Status.FAILED
                batch.error_message = (
                    f"{invalid:,} row{'s have' if invalid != 1 else ' has'} a problem, so nothing was imported. "
                    "Correct the file and import it again, or choose to skip the invalid rows."
                )
            else:
                batch.status = ImportBatch.Status.DONE
            batch.save()
            audit(
                None, "population.preview" if batch.dry_run else "population.import", user=batch.created_by,
                batch_id=batch.pk, profile=batch.source, status=batch.status, dry_run=batch.dry_run,
                skip_invalid=batch.skip_invalid, counts=batch.counts,
                patient_list="not listed: the batch's risk snapshots and first_batch name the patients it added or changed",
            )  # fmt: skip
    except (FileRejected, _Refused) as problem:
        return _batch_fail(batch, str(problem))
    except _AlreadyDone:
        batch.refresh_from_db()
    except Exception as error:  # anything else: the batch must not stay RUNNING (see _batch_crashed)
        return _batch_crashed(batch, error)
    return batch


def _population_parse(batch: ImportBatch, *, path: Path, user: User | None) -> ParsedFile:
    profile = batch.profile
    if profile is None:
        raise _Refused("The import profile of this batch has been deleted.")
    practices = {
        code: PracticeInfo(pk, active)
        for pk, code, active in Practice.objects.values_list("pk", "ods_code", "is_active")
    }
    care_homes = {
        (practice_id, name.casefold()): pk
        for pk, practice_id, name in CareHome.objects.values_list("pk", "practice_id", "name")
    }
    last_update = [0.0]

    def on_progress(rows: int) -> None:
        # Outside the import's transaction, so that the page polling for progress sees it.
        if time.monotonic() - last_update[0] >= 0.5:
            last_update[0] = time.monotonic()
            ImportBatch.objects.filter(pk=batch.pk).update(rows_done=rows, updated_at=timezone.now())

    try:
        parsed = parse_population_file(
            path,
            profile=profile,
            practices=practices,
            allowed_practice_ids=user.practice_ids() if user is not None else None,
            care_homes=care_homes,
            today=timezone.localdate(),
            max_bytes=settings.IMPORT_MAX_UPLOAD_MB * 1_048_576,
            max_rows=settings.IMPORT_MAX_ROWS,
            on_progress=on_progress,
        )
    except FileNotFoundError:
        raise _Refused("The uploaded file is no longer there. Upload it again.") from None
    _exclude_new_patients_without_birth_date(parsed)
    return parsed


def _use_copy() -> bool:
    """COPY and one upsert statement on PostgreSQL; the ORM's bulk operations elsewhere (tests force either)."""
    return connection.vendor == "postgresql"


def _population_write(batch: ImportBatch, parsed: ParsedFile, *, write: bool) -> dict[str, int]:
    """Count (and, with `write`, make) the changes. Runs inside the caller's transaction."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK_KEY])
    # Writing: lock the batch's row until the transaction ends. The stuck sweep leaves a locked batch
    # alone (its import is alive), and a batch no longer RUNNING is not written again.
    if write and not _batch_still(batch, ImportBatch.Status.RUNNING):
        raise _AlreadyDone
    if _use_copy():
        new, updated = _pg_write(batch, parsed, write=write)
    else:
        new, updated = _orm_write(batch, parsed, write=write)
    return {
        "rows": parsed.rows,
        "new": new,
        "updated": updated,
        "unchanged": len(parsed.records) - new - updated,
        "invalid": parsed.invalid_rows,
    }


def _exclude_new_patients_without_birth_date(parsed: ParsedFile) -> None:
    """A profile without a date-of-birth column can update patients but cannot add them."""
    if "date_of_birth" in parsed.columns or not parsed.records:
        return
    numbers = [record[0] for record in parsed.records]
    existing: set[str] = set()
    for start in range(0, len(numbers), 5000):
        existing.update(
            Patient.objects.filter(nhs_number__in=numbers[start : start + 5000]).values_list(
                "nhs_number", flat=True
            )
        )
    kept, kept_rows = [], []
    for record, row in zip(parsed.records, parsed.record_rows, strict=True):
        if record[0] in existing:
            kept.append(record)
            kept_rows.append(row)
        else:
            parsed.errors.append(
                RowError(
                    row,
                    "",
                    format_nhs_number(record[0]),
                    "this patient is not on the register yet, and a new patient needs a date of birth, "
                    "which this profile has no column for",
                )
            )
    if len(kept) != len(parsed.records):
        parsed.invalid_rows += len(parsed.records) - len(kept)
        parsed.records, parsed.record_rows = kept, kept_rows
        parsed.errors.sort(key=lambda error: error.row)


def _figure_columns(parsed: ParsedFile) -> list[str]:
    return [column for column in (*_FIGURE_COLUMNS, "ltc_flags") if column in parsed.columns]


def _pg_write(batch: ImportBatch, parsed: ParsedFile, *, write: bool) -> tuple[int, int]:
    """Stage with COPY, then one INSERT … ON CONFLICT that also writes the snapshots (PostgreSQL)."""
    quote = connection.ops.quote_name
    staged = list(parsed.columns)
    types = {
        "practice_id": "bigint",
        "care_home_id": "bigint",
        "care_home_keep": "boolean",
    }
    definitions = ", ".join(
        f"{quote(c)} {types.get(c) or Patient._meta.get_field(c).db_type(connection)}" for c in staged
    )
    column_list = ", ".join(quote(c) for c in staged)
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {_STAGING_TABLE}")
        # Joining 100,000 staged rows to what the upsert returned sorts on disk with the default 4 MB.
        cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(f"CREATE TEMPORARY TABLE {_STAGING_TABLE} ({definitions}) ON COMMIT DROP")
        with (
            connection.connection.cursor() as raw,
            raw.copy(  # type: ignore[union-attr]
                f"COPY {_STAGING_TABLE} ({column_list}) FROM STDIN"
            ) as copy,
        ):
            for record in parsed.records:
                copy.write_row(record)

        table = quote(Patient._meta.db_table)
        written = [c for c in staged if c != "care_home_keep"]
        mask = parsed.ltc_mask
        full_mask = int(sum(LongTermCondition))

        def new_value(column: str, *, staged_alias: str, existing: str) -> str:
            """The value the patient will have: the file's, except a kept care home and unmapped condition flags."""
            if column == "care_home_id":
                return f"CASE WHEN {staged_alias}.care_home_keep THEN {existing}.care_home_id ELSE {staged_alias}.care_home_id END"
            if column == "ltc_flags" and mask != full_mask:
                return f"(({existing}.ltc_flags & {~mask & full_mask}) | {staged_alias}.ltc_flags)"
            return f"{staged_alias}.{quote(column)}"

        if not write:
            changed = " OR ".join(
                f"p.{quote(c)} IS DISTINCT FROM {new_value(c, staged_alias='t', existing='p')}"
                for c in written
            )
            cursor.execute(
                f"SELECT count(*) FILTER (WHERE p.id IS NULL), count(*) FILTER (WHERE p.id IS NOT NULL AND ({changed})) "  # noqa: S608 — names from _meta and the fixed column list
                f"FROM {_STAGING_TABLE} t LEFT JOIN {table} p ON p.nhs_number = t.nhs_number"
            )
            new, updated = cursor.fetchone()
            cursor.execute(f"DROP TABLE {_STAGING_TABLE}")
            return new, updated

        # INSERT: the file's values, the defaults for unmapped columns, and a kept care home looked up.
        insert_columns = list(written)
        select_values = []
        for column in written:
            if column == "care_home_id":
                select_values.append(
                    f"CASE WHEN t.care_home_keep THEN (SELECT x.care_home_id FROM {table} x "  # noqa: S608 — names from _meta and the fixed column list
                    f"WHERE x.nhs_number = t.nhs_number) ELSE t.care_home_id END"
                )
            else:
                select_values.append(f"t.{quote(column)}")
        params: list[Any] = []
        for column, default in _NEW_PATIENT_DEFAULTS.items():
            if column not in insert_columns:
                insert_columns.append(column)
                select_values.append("%s")
                params.append(default)
        if "date_of_birth" not in insert_columns:
            # Only patients already on the register are staged (see _exclude_new_patients_without_birth_date);
            # the proposed row still needs a date of birth to pass NOT NULL before the conflict is seen.
            insert_columns.append("date_of_birth")
            select_values.append(f"(SELECT x.date_of_birth FROM {table} x WHERE x.nhs_number = t.nhs_number)")  # noqa: S608 — names from _meta and the fixed column list
        insert_columns += ["created_at", "updated_at", "first_batch_id"]
        select_values += ["%s", "%s", "%s"]
        now = timezone.now()
        params += [now, now, batch.pk]

        updates = [
            f"{quote(c)} = {new_value(c, staged_alias='EXCLUDED', existing='p') if c == 'ltc_flags' else 'EXCLUDED.' + quote(c)}"
            for c in written
            if c != "nhs_number"
        ]
        if "risk_score" in written:
            updates.append(
                "previous_risk_score = CASE WHEN EXCLUDED.risk_score IS NOT NULL "
                "AND EXCLUDED.risk_score IS DISTINCT FROM p.risk_score THEN p.risk_score "
                "ELSE p.previous_risk_score END"
            )
        updates.append("updated_at = EXCLUDED.updated_at")
        compared = [c for c in written if c != "nhs_number"]
        old_row = ", ".join(f"p.{quote(c)}" for c in compared)
        new_row = ", ".join(
            new_value(c, staged_alias="EXCLUDED", existing="p")
            if c == "ltc_flags"
            else f"EXCLUDED.{quote(c)}"
            for c in compared
        )
        # The figures come back with the ids: a mapped figure's new value is the file's.
        returned_figures = [c for c in ("efi_category", *_FIGURE_COLUMNS) if c in written]
        returning = ", ".join(
            ["p.id", "(p.xmax = 0) AS inserted", "p.ltc_flags", *(f"p.{quote(c)}" for c in returned_figures)]
        )
        upsert = (
            f"INSERT INTO {table} AS p ({', '.join(quote(c) for c in insert_columns)}) "  # noqa: S608 — names from _meta and the fixed column list
            f"SELECT {', '.join(select_values)} FROM {_STAGING_TABLE} t "
            f"ON CONFLICT (nhs_number) DO UPDATE SET {', '.join(updates)} "
            f"WHERE ROW({old_row}) IS DISTINCT FROM ROW({new_row}) "
            f"RETURNING {returning}"
        )
        figures = _figure_columns(parsed)
        if figures:
            # Snapshot columns: the file's figures (NULL for those it does not have), the patient's
            # flags after the import. "old" is the patient table as it was before this statement
            # (every part of one statement sees the same snapshot), looked up only for updated rows.
            snap_columns = ["patient_id", "batch_id", "taken_on", "source", "ltc_flags"]
            snap_values = ["up.id", "%s", "%s", "%s", "up.ltc_flags"]
            params_snap: list[Any] = [batch.pk, timezone.localdate(), batch.source[:100]]
            for column in _FIGURE_COLUMNS:
                if column in parsed.columns:
                    snap_columns.append(column)
                    snap_values.append(f"up.{quote(column)}")
            snap_columns.append("efi_category")
            snap_values.append("up.efi_category" if "efi_score" in parsed.columns else "''")
            old_figures = ", ".join(f"old.{quote(c)}" for c in figures)
            new_figures = ", ".join(f"up.{quote(c)}" for c in figures)
            statement = (
                f"WITH up AS ({upsert}), "  # noqa: S608 — names from _meta and the fixed column list
                f"snap AS (INSERT INTO {quote(RiskSnapshot._meta.db_table)} ({', '.join(snap_columns)}) "
                f"SELECT {', '.join(snap_values)} FROM up "
                f"WHERE up.inserted OR EXISTS (SELECT FROM {table} old WHERE old.id = up.id "
                f"AND ROW({old_figures}) IS DISTINCT FROM ROW({new_figures})) RETURNING 1) "
                "SELECT count(*) FILTER (WHERE up.inserted), count(*) FILTER (WHERE NOT up.inserted), "
                "(SELECT count(*) FROM snap) FROM up"
            )
            cursor.execute(statement, [*params, *params_snap])
        else:
            cursor.execute(
                f"WITH up AS ({upsert}) SELECT count(*) FILTER (WHERE up.inserted), "  # noqa: S608 — names from _meta and the fixed column list
                "count(*) FILTER (WHERE NOT up.inserted), 0 FROM up",
                params,
            )
        new, updated, _snapshots = cursor.fetchone()
        cursor.execute(f"DROP TABLE {_STAGING_TABLE}")
    return new, updated


def _orm_write(batch: ImportBatch, parsed: ParsedFile, *, write: bool) -> tuple[int, int]:
    """The same changes as _pg_write, with the ORM in bulk (SQLite, the try-it-out default)."""
    columns = parsed.columns
    written = [c for c in columns if c != "care_home_keep"]
    compared = [c for c in written if c != "nhs_number"]
    fetched = ["id", "nhs_number", *compared]
    if "risk_score" in columns and "risk_score" not in fetched:
        fetched.append("risk_score")
    fetched += [c for c in (*_FIGURE_COLUMNS, "ltc_flags", "previous_risk_score") if c not in fetched]
    if "care_home_id" in columns and "care_home_id" not in fetched:
        fetched.append("care_home_id")
    numbers = [record[0] for record in parsed.records]
    existing: dict[str, dict[str, Any]] = {}
    for start in range(0, len(numbers), 500):
        for row in Patient.objects.filter(nhs_number__in=numbers[start : start + 500]).values(*fetched):
            existing[row["nhs_number"]] = row
    full_mask = int(sum(LongTermCondition))
    keep_mask = ~parsed.ltc_mask & full_mask
    figures = _figure_columns(parsed)
    now = timezone.now()
    new_patients: list[Patient] = []
    changed: list[Patient] = []
    snapshot_for: list[tuple[str, dict[str, Any]]] = []  # (nhs number, the file's values)
    for record in parsed.records:
        values = dict(zip(columns, record, strict=True))
        keep = values.pop("care_home_keep", False)
        old = existing.get(values["nhs_number"])
        if old is None:
            if keep:
                values["care_home_id"] = None
            new_patients.append(
                Patient(
                    **{**_NEW_PATIENT_DEFAULTS, **values}, first_batch=batch, created_at=now, updated_at=now
                )
            )
            snapshot_for.append((values["nhs_number"], values))
            continue
        if keep:
            values["care_home_id"] = old["care_home_id"]
        if "ltc_flags" in values:
            values["ltc_flags"] = (old["ltc_flags"] & keep_mask) | values["ltc_flags"]
        if all(old[c] == values[c] for c in compared):
            continue
        patient = Patient(pk=old["id"], **{c: values[c] for c in compared})
        patient.updated_at = now
        if "risk_score" in values:
            new_risk = values["risk_score"]
            patient.previous_risk_score = (
                old["risk_score"]
                if new_risk is not None and new_risk != old["risk_score"]
                else old["previous_risk_score"]
            )
        changed.append(patient)
        if figures and any(old[c] != values[c] for c in figures):
            snapshot_for.append((values["nhs_number"], values))
    if not write:
        return len(new_patients), len(changed)
    Patient.objects.bulk_create(new_patients, batch_size=1000)
    update_fields = [*compared, "updated_at"]
    if "risk_score" in columns:
        update_fields.append("previous_risk_score")
    Patient.objects.bulk_update(changed, update_fields, batch_size=1000)
    if figures:
        ids = {p.nhs_number: p.pk for p in new_patients}
        ids.update({number: row["id"] for number, row in existing.items()})
        flags = {p.nhs_number: p.ltc_flags for p in new_patients}
        today = timezone.localdate()
        RiskSnapshot.objects.bulk_create(
            [
                RiskSnapshot(
                    patient_id=ids[number],
                    batch=batch,
                    taken_on=today,
                    source=batch.source[:100],
                    ltc_flags=values.get(
                        "ltc_flags", flags.get(number, existing.get(number, {}).get("ltc_flags", 0))
                    ),
                    efi_category=values.get("efi_category", ""),
                    **{c: values[c] for c in _FIGURE_COLUMNS if c in values},
                )
                for number, values in snapshot_for
            ],
            batch_size=1000,
        )
    return len(new_patients), len(changed)


def _batch_report(batch: ImportBatch, parsed: ParsedFile, counts: dict[str, int]) -> None:
    """Counts, the first errors, notes and the full error CSV onto the batch (not saved here)."""
    batch.counts = counts
    notes = list(parsed.notes)
    earlier = (
        ImportBatch.objects.filter(
            file_sha256=batch.file_sha256,
            profile=batch.profile,
            status=ImportBatch.Status.DONE,
            dry_run=False,
        )
        .exclude(pk=batch.pk)
        .order_by("-finished_at")
        .first()
    )
    if earlier is not None and earlier.finished_at is not None:
        when = timezone.localtime(earlier.finished_at)
        notes.append(
            f"This file was imported before, on {when.day} {when:%B %Y at %H:%M}: importing it again changes only "
            "what has changed since."
        )
    batch.report = {
        "errors": [list(error) for error in parsed.errors[:IMPORT_REPORT_ERRORS_SHOWN]],
        "error_count": len(parsed.errors),
        "warnings": [list(warning) for warning in parsed.warnings[:IMPORT_REPORT_ERRORS_SHOWN]],
        "warning_count": len(parsed.warnings),
        "notes": notes,
    }
    batch.unmapped_columns = parsed.unmapped_columns
    if parsed.errors or parsed.warnings:
        _batch_store_report(batch, report_csv(parsed.errors, warnings=parsed.warnings))


def _batch_store_report(batch: ImportBatch, text: str) -> None:
    if batch.report_file:
        batch.report_file.delete(save=False)
    batch.report_file = default_storage.save(
        f"imports/reports/batch-{batch.pk}-{uuid.uuid4().hex[:8]}.csv",
        ContentFile(("\ufeff" + text).encode()),
    )


def _batch_still(batch: ImportBatch, *statuses: str) -> bool:
    """Lock the batch's row and say whether it is still in one of `statuses` (someone may have cancelled it)."""
    current = ImportBatch.objects.select_for_update().values_list("status", flat=True).get(pk=batch.pk)
    return current in statuses


@transaction.atomic
def _batch_fail(batch: ImportBatch, message: str) -> ImportBatch:
    """A problem with the whole file: nothing was written; say why."""
    if not _batch_still(
        batch, ImportBatch.Status.CHECKING, ImportBatch.Status.PENDING, ImportBatch.Status.RUNNING
    ):
        batch.refresh_from_db()
        return batch
    batch.status = ImportBatch.Status.FAILED
    batch.error_message = message
    batch.finished_at = timezone.now()
    batch.counts = {"rows": 0, "new": 0, "updated": 0, "unchanged": 0, "invalid": 0}
    batch.report = {"errors": [], "error_count": 0, "notes": []}
    _batch_store_report(batch, report_csv([], message=message))
    batch.save()
    audit(
        None, "population.import", user=batch.created_by, batch_id=batch.pk, profile=batch.source,
        status=batch.status, error=message, patient_list="not listed: nothing was written",
    )  # fmt: skip
    _batch_delete_upload(batch)
    return batch


def _crash_log(what: str, error: Exception) -> str:
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


def _batch_crashed(batch: ImportBatch, error: Exception) -> ImportBatch:
    """A worker raised something unexpected: the batch ends FAILED with the reason, never stays
    CHECKING or RUNNING. The write is one transaction, already rolled back, so nothing was imported."""
    kind = _crash_log(f"Import batch {batch.pk}", error)
    batch.refresh_from_db()  # what was set on it before the error was rolled back
    message = (
        f"The import stopped because of an unexpected error ({kind}), so nothing was imported. "
        f"The details are in the server's log under import batch {batch.pk}."
    )
    if batch.source == CARE_EVENT_FEED_SOURCE:
        return _care_event_feed_fail(batch, message)
    return _batch_fail(batch, message)


def _batch_report_text(batch: ImportBatch) -> str:
    """The report the drop folder writes beside a file: the outcome, the notes, then every error."""
    counts = batch.counts
    if batch.status == ImportBatch.Status.DONE:
        outcome = (
            f"Imported {counts.get('rows', 0):,} rows: {counts.get('new', 0):,} new patients, "
            f"{counts.get('updated', 0):,} updated, {counts.get('unchanged', 0):,} unchanged; "
            f"{counts.get('invalid', 0):,} invalid rows skipped."
        )
    else:
        outcome = batch.error_message
    lines = [outcome, *batch.report.get("notes", [])]
    if batch.unmapped_columns:
        lines.append("Columns ignored (not in the profile): " + ", ".join(batch.unmapped_columns) + ".")
    errors: list[list[str]] = []
    if batch.report_file and (batch.error_count or batch.warning_count):
        with batch.report_file.open("rb") as handle:
            rows = list(csv.reader(io.StringIO(handle.read().decode("utf-8-sig"))))
        errors = rows[1:]  # already escaped when the report was written
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REPORT_HEADER)
    for line in lines:
        writer.writerow(csv_safe(["", "", "", line]))
    writer.writerows(errors)
    return buffer.getvalue()


def _batch_delete_upload(batch: ImportBatch) -> None:
    """The uploaded copy holds patient data: it goes once the import has ended."""
    if batch.file:
        batch.file.delete(save=False)
        ImportBatch.objects.filter(pk=batch.pk).update(file="")


# --- Coding export (Caseload II) ----------------------------------------------------------------------


def coding_entry_record(
    *, patient: Patient, coded_on: date, code: Code, recorded_by: User, source: str
) -> CodingEntry:
    """One row for the coding export: what the GP record should learn (idempotent per source and term).

    `code.snomed_id` is None where no id is known (caseload.codes): the row keeps the term and an
    empty id, never an invented one.
    """
    entry, _ = CodingEntry.objects.get_or_create(
        source=source,
        term=code.term,
        defaults={
            "patient": patient,
            "coded_on": coded_on,
            "snomed_id": code.snomed_id or "",
            "recorded_by": recorded_by,
        },
    )
    return entry


# --- Contacts, tasks and activation (Caseload II) ---------------------------------------------------
#
# Contacts keep the patient's open caseload episode up to date and feed the coding export with the
# interventions that have a SNOMED CT id (caseload.codes.CODED_INTERVENTION_KEYS). An intervention
# without a known id is kept on the contact but makes no coding row: the export is for what a
# practice can enter in EMIS/SystmOne, and an id is never invented (DOMAIN.md).


def _months_later(day: date, months: int) -> date:
    from dateutil.relativedelta import relativedelta

    return day + relativedelta(months=months)  # 31 August + 6 months → 28/29 February


@transaction.atomic
def contact_record(
    *,
    patient: Patient,
    contact_at: Any,
    method: str,
    with_whom: str,
    duration_minutes: int,
    interventions: Sequence[str] = (),
    notes: str = "",
    outcome: str = "",
    next_contact_due: date | None = None,
    care_event: Any = None,
    by: User,
) -> Any:
    """Record a contact with (or about) a patient.

    The open caseload episode's `last_contact_at` becomes the latest contact's time; when this
    contact is the latest one, its `next_contact_due` (blank included: the contact that was due has
    happened) becomes the episode's. A contact entered late, older than the latest, changes neither.
    """
    from caseload.codes import INTERVENTIONS_BY_KEY
    from caseload.models import Contact

    unknown = [key for key in interventions if key not in INTERVENTIONS_BY_KEY]
    if unknown:
        raise ValidationError(f"Unknown intervention: {', '.join(unknown)}", code="unknown_intervention")
    contact = Contact.objects.create(
        patient=patient,
        contact_at=contact_at,
        method=method,
        with_whom=with_whom,
        duration_minutes=duration_minutes,
        interventions=list(dict.fromkeys(interventions)),
        notes=notes,
        outcome=outcome,
        next_contact_due=next_contact_due,
        care_event=care_event,
        recorded_by=by,
    )
    episode = CaseloadEpisode.objects.open().filter(patient=patient).select_for_update().first()
    if episode is not None and (episode.last_contact_at is None or contact_at >= episode.last_contact_at):
        episode.last_contact_at = contact_at
        episode.next_contact_due = next_contact_due
        episode.save(update_fields=["last_contact_at", "next_contact_due", "updated_at"])
    coded_on = timezone.localdate(contact_at)
    for key in contact.interventions:
        code = INTERVENTIONS_BY_KEY[key]
        if code.snomed_id:
            coding_entry_record(
                patient=patient, coded_on=coded_on, code=code, recorded_by=by, source=f"contact:{contact.pk}"
            )
    audit(None, "contact.record", [patient], user=by, contact_id=contact.pk, method=method)
    return contact


@transaction.atomic
def task_create(
    *,
    patient: Patient,
    title: str,
    owner: User,
    due_on: date,
    kind: str = "general",
    notes: str = "",
    care_event: Any = None,
    by: User | None,
) -> Any:
    from caseload.models import Task

    task = Task.objects.create(
        patient=patient, title=title, owner=owner, due_on=due_on, kind=kind, notes=notes,
        care_event=care_event, created_by=by,
    )  # fmt: skip
    audit(None, "task.create", [patient], user=by, task_id=task.pk, kind=kind, owner_id=owner.pk)
    return task


@transaction.atomic
def task_complete(*, task: Any, by: User) -> Any:
    """Mark a task done. Idempotent: a task already done keeps who did it and when."""
    from caseload.models import Task

    locked = Task.objects.select_for_update().get(pk=task.pk)
    if locked.done_at is None:
        locked.done_at, locked.done_by = timezone.now(), by
        locked.save(update_fields=["done_at", "done_by"])
        audit(None, "task.complete", [locked.patient_id], user=by, task_id=locked.pk)
    task.done_at, task.done_by_id = locked.done_at, locked.done_by_id
    return task


@transaction.atomic
def activation_record(*, patient: Patient, score: Any, measured_on: date, by: User) -> Any:
    """Record a Patient Activation Measure score (0-100, one decimal; the level is computed).

    Also: a coding-export row with the PAM concept id 962851000000103 and the level in the term
    ("Patient Activation Measure Level 3": CodingEntry is unique per source and term, and the level
    is what the GP record needs); a re-measure task due settings.PAM_REMEASURE_MONTHS later (default
    6, *unverified*: no NHSE-mandated interval was found, DOMAIN.md) for the coordinator of the
    patient's open episode, else the person who measured; and any earlier open re-measure task for
    the patient is completed, because this measure is the re-measure. PAM is licensed: only the
    score, level, date and who measured it are stored, never the questions or answers.
    """
    from decimal import Decimal

    from caseload.codes import PAM_LEVEL
    from caseload.models import ActivationMeasure, Task

    if measured_on > timezone.localdate():
        raise ValidationError("The date measured cannot be in the future.", code="future")
    score = Decimal(str(score))
    if not Decimal("0") <= score <= Decimal("100") or score != score.quantize(Decimal("0.1")):
        raise ValidationError("The score must be from 0 to 100, to one decimal place.", code="score")
    measure = ActivationMeasure.objects.create(
        patient=patient, score=score, measured_on=measured_on, measured_by=by
    )
    coding_entry_record(
        patient=patient,
        coded_on=measured_on,
        code=Code(PAM_LEVEL.key, f"{PAM_LEVEL.term} {measure.level}", PAM_LEVEL.snomed_id),
        recorded_by=by,
        source=f"pam:{measure.pk}",
    )
    now = timezone.now()
    earlier = list(
        Task.objects.open()
        .filter(patient=patient, kind=Task.Kind.PAM_REMEASURE)
        .select_for_update()
        .values_list("pk", flat=True)
    )
    if earlier:
        Task.objects.filter(pk__in=earlier).update(done_at=now, done_by=by)
    episode = CaseloadEpisode.objects.open().filter(patient=patient).select_related("coordinator").first()
    remeasure = Task.objects.create(
        patient=patient,
        title="Re-measure activation (PAM)",
        kind=Task.Kind.PAM_REMEASURE,
        owner=episode.coordinator if episode else by,
        due_on=_months_later(measured_on, settings.PAM_REMEASURE_MONTHS),
        created_by=by,
    )
    audit(
        None, "pam.record", [patient], user=by, measure_id=measure.pk, level=measure.level,
        remeasure_task_id=remeasure.pk, completed_task_ids=earlier,
    )  # fmt: skip
    return measure


# --- Signposting, support and the coding export (Caseload II) ------------------------------------------

# Support given that the GP record should learn about, as the contact interventions name it (terms
# without a SNOMED CT id yet: the export leaves the id empty and says so). A personal health budget
# has no entry in caseload.codes, so none is made for it.
SUPPORT_CODE_KEYS = {"benefits": "benefits_advice", "employment": "employment_support"}


@transaction.atomic
def signposting_record(
    *, patient: Patient, service: Any, signposted_on: date, by: User, notes: str = ""
) -> Any:
    """Signpost a patient to a directory service. A social prescribing service is a referral to
    social prescribing, which the GP record learns about through the coding export."""
    from caseload import codes
    from caseload.models import Service, Signposting

    if not service.is_active:
        raise ValidationError("This service is no longer offered: choose another.")
    signposting = Signposting.objects.create(
        patient=patient, service=service, signposted_on=signposted_on, signposted_by=by, notes=notes
    )
    if service.category == Service.Category.SOCIAL_PRESCRIBING:
        coding_entry_record(
            patient=patient, coded_on=signposted_on, code=codes.SOCIAL_PRESCRIBING_REFERRAL,
            recorded_by=by, source=f"signposting:{signposting.pk}",
        )  # fmt: skip
    audit(
        None, "signposting.add", [patient.pk], user=by, signposting_id=signposting.pk, service_id=service.pk
    )
    return signposting


@transaction.atomic
def signposting_outcome_record(*, signposting: Any, outcome: str, outcome_on: date, by: User) -> Any:
    """Record later what came of a signposting (it starts as "not known yet")."""
    signposting.outcome, signposting.outcome_on = outcome, outcome_on
    signposting.save(update_fields=["outcome", "outcome_on"])
    audit(
        None, "signposting.outcome", [signposting.patient_id], user=by, signposting_id=signposting.pk,
        outcome=outcome,
    )  # fmt: skip
    return signposting


@transaction.atomic
def support_record(*, patient: Patient, kind: str, given_on: date, by: User, notes: str = "") -> Any:
    """Personal health budget, help to access benefits, help to take up training or employment."""
    from caseload.codes import INTERVENTIONS_BY_KEY
    from caseload.models import SupportGiven

    support = SupportGiven.objects.create(
        patient=patient, kind=kind, given_on=given_on, notes=notes, given_by=by
    )
    if code_key := SUPPORT_CODE_KEYS.get(kind):
        coding_entry_record(
            patient=patient, coded_on=given_on, code=INTERVENTIONS_BY_KEY[code_key], recorded_by=by,
            source=f"support:{support.pk}",
        )  # fmt: skip
    audit(None, "support.add", [patient.pk], user=by, support_id=support.pk, kind=kind)
    return support


@transaction.atomic
def coding_entries_mark_entered(*, entries: Any, by: User) -> int:
    """Mark coding export rows as entered in the GP record; returns how many were newly marked.

    Idempotent: a row already marked keeps its first entered_at and entered_by. `entries` is a
    queryset or list of CodingEntry already scoped to what `by` may see.
    """
    ids = (
        [entry.pk for entry in entries]
        if isinstance(entries, list)
        else list(entries.values_list("pk", flat=True))
    )
    to_mark = CodingEntry.objects.filter(pk__in=ids, entered_at__isnull=True)
    patient_ids = set(to_mark.values_list("patient_id", flat=True))
    marked = to_mark.update(entered_at=timezone.now(), entered_by=by)
    if marked:
        audit(None, "coding.mark_entered", patient_ids, user=by, rows=marked)
    return marked


# --- Referrals and transfers of care (Caseload II) ------------------------------------------------
#
# Referrals: recorded with the type's criteria checklist as answered (a copy), then decided once —
# accepted onto a caseload, declined with a reason (optionally told to the referrer by email), or
# directed to an MDT, which needs every required criterion met. Each decision records who and when.
#
# Transfers of care (CareEvent): entered by hand or imported from a hospital/111/out-of-hours feed
# (care_event_feed_*), then triaged once with an outcome. A discharge makes one follow-up task due
# DISCHARGE_FOLLOW_UP_WORKING_DAYS working days after it (pcn.working_days: weekends and England and
# Wales bank holidays skipped) for the coordinator of the patient's open episode; without one, the
# person who records or triages the event gets it. Feed rows whose NHS number matches no patient are
# kept as unmatched events (patient empty) to be matched or dismissed, never dropped.


def referral_criteria_answers(*, referral_type: Any, met_ids: Any) -> list[dict[str, Any]]:
    """The type's checklist as answered: a copy, so that later edits to the criteria leave it alone."""
    met = {int(pk) for pk in met_ids}
    return [
        {"criterion_id": c.pk, "text": c.text, "required": c.is_required, "met": c.pk in met}
        for c in referral_type.criteria.all()
    ]


@transaction.atomic
def referral_create(
    *,
    patient: Patient,
    referral_type: Any,
    source: str,
    referrer_name: str,
    referrer_email: str = "",
    reason: str,
    urgency: str,
    received_on: date,
    criteria_met_ids: Any = (),
    care_event: Any = None,
    by: User,
) -> Any:
    """Record a referral (status NEW). From a transfer of care, `care_event` is triaged as "Referred"."""
    from caseload.models import CareEvent, Referral

    if received_on > timezone.localdate():
        raise ValidationError("The date received cannot be in the future.", code="future")
    referral = Referral.objects.create(
        patient=patient, referral_type=referral_type, source=source, referrer_name=referrer_name,
        referrer_email=referrer_email, reason=reason, urgency=urgency, received_on=received_on,
        criteria=referral_criteria_answers(referral_type=referral_type, met_ids=criteria_met_ids),
        created_by=by,
    )  # fmt: skip
    audit(None, "referral.create", [patient], user=by, referral_id=referral.pk, type=referral_type.name)
    if care_event is not None:
        care_event_triage(
            event=care_event, outcome=CareEvent.Outcome.REFERRED, note=f"Referral {referral.pk}", by=by
        )
    return referral


def _referral_lock_new(referral: Any) -> Any:
    """Lock the referral's row; a referral is decided once."""
    from caseload.models import Referral

    locked = Referral.objects.select_for_update().get(pk=referral.pk)
    if locked.status != Referral.Status.NEW:
        raise ValidationError(
            f"This referral has already been decided ({locked.get_status_display().lower()}).",
            code="decided",
        )
    return locked


def _referral_decided(referral: Any, locked: Any, *, status: str, by: User, fields: list[str]) -> None:
    locked.status, locked.decided_by, locked.decided_at = status, by, timezone.now()
    locked.save(update_fields=["status", "decided_by", "decided_at", *fields])
    for name in ["status", "decided_by", "decided_at", *fields]:
        setattr(referral, name, getattr(locked, name))


@transaction.atomic
def referral_accept(*, referral: Any, coordinator: User, by: User) -> Any:
    """Accept onto `coordinator`'s caseload (episodes_open). A patient already on a caseload keeps
    that episode, and the referral is linked to it."""
    from caseload.models import Referral

    locked = _referral_lock_new(referral)
    patient = locked.patient
    opened, _skipped = episodes_open(
        patients=[patient],
        coordinator=coordinator,
        reason=CaseloadEpisode.Reason.REFERRAL,
        reason_detail=f"{locked.referral_type.name} referral"[:300],
        by=by,
    )
    locked.episode = opened[0] if opened else CaseloadEpisode.objects.open().get(patient=patient)
    _referral_decided(referral, locked, status=Referral.Status.ACCEPTED, by=by, fields=["episode"])
    audit(
        None, "referral.accept", [patient], user=by, referral_id=locked.pk, episode_id=locked.episode_id,
        coordinator_id=coordinator.pk,
    )  # fmt: skip
    return referral


def _initials(patient: Patient) -> str:
    letters = [part[:1].upper() for part in (patient.given_name, patient.family_name) if part]
    return ".".join(letters) + "." if letters else "the patient"


@transaction.atomic
def referral_decline(*, referral: Any, reason: str, tell_referrer: bool = False, by: User) -> Any:
    """Decline with a reason. With `tell_referrer` (and an email address) the referrer gets a plain
    message: the patient's initials, the date the referral was received, and the reason — nothing
    more about the patient than they sent. `referrer_told_at` records that it went."""
    from django.core.mail import send_mail

    from caseload.models import Referral

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("Give the reason for declining.", code="reason_required")
    locked = _referral_lock_new(referral)
    locked.decline_reason = reason
    _referral_decided(referral, locked, status=Referral.Status.DECLINED, by=by, fields=["decline_reason"])
    told = False
    if tell_referrer and locked.referrer_email:
        received = f"{locked.received_on.day} {locked.received_on:%B %Y}"
        body = (
            f"Dear {locked.referrer_name},\n\n"
            f"Thank you for your referral for {_initials(locked.patient)}, received on {received}, "
            f"to the care coordination team.\n\n"
            f"We are not able to accept it. The reason: {reason}\n\n"
            "If you would like to discuss this, please contact the care coordination team at the "
            "patient's practice.\n"
        )
        try:
            send_mail(
                "Your referral to care coordination",
                body,
                settings.DEFAULT_FROM_EMAIL,
                [locked.referrer_email],
            )
        except OSError:  # SMTP down: the decline stands; the page says the referrer was not told
            told = False
        else:
            told = True
            locked.referrer_told_at = referral.referrer_told_at = timezone.now()
            locked.save(update_fields=["referrer_told_at"])
    audit(None, "referral.decline", [locked.patient_id], user=by, referral_id=locked.pk, referrer_told=told)
    return referral


def mdt_series_for(*, patient: Patient, user: User) -> Any:
    """The MDT series a referral for `patient` may go to: active, covering the patient's practice,
    and one of the user's practices'."""
    from mdt.models import MeetingSeries

    return MeetingSeries.objects.visible_to(user).filter(is_active=True, practices=patient.practice_id)


@transaction.atomic
def referral_direct_to_mdt(*, referral: Any, series: Any, by: User) -> Any:
    """Direct a referral to an MDT: only when every required criterion is met. The patient goes on the
    series' next open agenda now (scheduling its meetings if it has none yet), not at the next hourly
    sweep; with no open agenda (every meeting ahead circulated), the sweep adds them to the next one."""
    from caseload.models import Referral

    locked = _referral_lock_new(referral)
    if not locked.criteria_met:
        raise ValidationError(
            "The referral does not meet the criteria for an MDT: every required criterion must be met.",
            code="criteria_not_met",
        )
    if not mdt_series_for(patient=locked.patient, user=by).filter(pk=series.pk).exists():
        raise ValidationError("Choose an MDT that covers the patient's practice.", code="series")
    locked.mdt_series = series
    _referral_decided(referral, locked, status=Referral.Status.DIRECTED_TO_MDT, by=by, fields=["mdt_series"])
    audit(
        None,
        "referral.direct_to_mdt",
        [locked.patient_id],
        user=by,
        referral_id=locked.pk,
        series_id=series.pk,
    )
    mdt_services.series_agenda_refresh(series=series, now=timezone.now())
    return referral


# Transfers of care ---------------------------------------------------------------------------------


def discharge_follow_up_due(occurred_at: Any) -> date:
    from pcn.working_days import add_working_days

    return add_working_days(timezone.localdate(occurred_at), settings.DISCHARGE_FOLLOW_UP_WORKING_DAYS)


def discharge_follow_up_ensure(*, event: Any, owner: User | None, by: User | None) -> Any:
    """The one follow-up task of a discharge (idempotent). Owner: the coordinator of the patient's
    open episode, else `owner` (the person recording or triaging); with neither, none yet (a feed
    import: the task is made when the event is triaged). Runs inside the caller's transaction."""
    from caseload.models import CareEvent, Task

    if event.kind != CareEvent.Kind.DISCHARGE or event.patient_id is None:
        return None
    CareEvent.objects.select_for_update().filter(pk=event.pk).exists()  # one follow-up per event
    existing = Task.objects.filter(care_event=event, kind=Task.Kind.DISCHARGE_FOLLOW_UP).first()
    if existing is not None:
        return existing
    episode = (
        CaseloadEpisode.objects.open()
        .filter(patient_id=event.patient_id)
        .select_related("coordinator")
        .first()
    )
    owner = episode.coordinator if episode is not None else owner
    if owner is None:
        return None
    when = timezone.localtime(event.occurred_at)
    return task_create(
        patient=event.patient,
        title=f"Follow up the discharge of {when.day} {when:%B %Y}"
        + (f" from {event.provider}" if event.provider else "")[:120],
        owner=owner,
        due_on=discharge_follow_up_due(event.occurred_at),
        kind=Task.Kind.DISCHARGE_FOLLOW_UP,
        care_event=event,
        by=by,
    )


@transaction.atomic
def care_event_record(
    *, patient: Patient, kind: str, occurred_at: Any, provider: str = "", summary: str = "", by: User
) -> Any:
    """A transfer of care entered by hand (a discharge also gets its follow-up task)."""
    from caseload.models import CareEvent

    if occurred_at > timezone.now():
        raise ValidationError("The date and time cannot be in the future.", code="future")
    key = {"nhs_number": patient.nhs_number, "kind": kind, "occurred_at": occurred_at, "provider": provider}
    if CareEvent.objects.filter(**key).exists():
        raise ValidationError("This event is already recorded.", code="duplicate")
    event = CareEvent.objects.create(
        patient=patient, **key, summary=summary, source=CareEvent.Source.MANUAL, created_by=by
    )
    audit(None, "care_event.record", [patient], user=by, care_event_id=event.pk, kind=kind)
    discharge_follow_up_ensure(event=event, owner=by, by=by)
    return event


@transaction.atomic
def care_event_triage(
    *,
    event: Any,
    outcome: str,
    note: str = "",
    by: User,
    contact: dict[str, Any] | None = None,
    task: dict[str, Any] | None = None,
    mdt_series: Any = None,
) -> Any:
    """Triage a transfer of care once, with its outcome:
    - ACKNOWLEDGED: nothing more to do;
    - CONTACT: `contact` = {method, with_whom, duration_minutes, notes, contact_at?} → contact_record;
    - TASK: `task` = {title, owner, due_on, notes?} → a Task (kind TRIAGE);
    - MDT: `mdt_series` recorded in the outcome note (the MDT issue adds the agenda item);
    - REFERRED: made by referral_create(care_event=…), whose note names the referral.
    A discharge gets its follow-up task now if the import could not give it an owner."""
    from caseload.models import CareEvent, Task

    locked = CareEvent.objects.select_for_update(of=("self",)).select_related("patient").get(pk=event.pk)
    if locked.patient_id is None:
        raise ValidationError("Match this event to a patient before triaging it.", code="unmatched")
    if locked.triaged_at is not None:
        raise ValidationError(
            f"This event has already been triaged ({locked.get_outcome_display().lower()}).", code="triaged"
        )
    if outcome not in CareEvent.Outcome.values:
        raise ValidationError("Choose what to do with this event.", code="outcome")
    detail: dict[str, Any] = {}
    note = (note or "").strip()
    if outcome == CareEvent.Outcome.CONTACT:
        if not contact:
            raise ValidationError("Give the contact's details.", code="contact")
        made = contact_record(
            patient=locked.patient,
            contact_at=contact.get("contact_at") or timezone.now(),
            method=contact["method"],
            with_whom=contact.get("with_whom") or "patient",
            duration_minutes=contact["duration_minutes"],
            notes=contact.get("notes", ""),
            care_event=locked,
            by=by,
        )
        detail["contact_id"] = made.pk
    elif outcome == CareEvent.Outcome.TASK:
        if not task:
            raise ValidationError("Give the task's details.", code="task")
        made = task_create(
            patient=locked.patient, title=task["title"], owner=task["owner"], due_on=task["due_on"],
            kind=Task.Kind.TRIAGE, notes=task.get("notes", ""), care_event=locked, by=by,
        )  # fmt: skip
        detail["task_id"] = made.pk
    elif outcome == CareEvent.Outcome.MDT:
        if mdt_series is None:
            raise ValidationError("Choose the MDT.", code="series")
        if not mdt_series_for(patient=locked.patient, user=by).filter(pk=mdt_series.pk).exists():
            raise ValidationError("Choose an MDT that covers the patient's practice.", code="series")
        note = f"For the {mdt_series.name}" + (f": {note}" if note else "")
        detail["series_id"] = mdt_series.pk
    locked.outcome, locked.outcome_note = outcome, note[:5000]
    locked.triaged_at, locked.triaged_by = timezone.now(), by
    locked.save(update_fields=["outcome", "outcome_note", "triaged_at", "triaged_by"])
    follow_up = discharge_follow_up_ensure(event=locked, owner=by, by=by)
    for name in ("outcome", "outcome_note", "triaged_at", "triaged_by"):
        setattr(event, name, getattr(locked, name))
    audit(
        None, "care_event.triage", [locked.patient_id], user=by, care_event_id=locked.pk, outcome=outcome,
        follow_up_task_id=getattr(follow_up, "pk", None), **detail,
    )  # fmt: skip
    return event


@transaction.atomic
def care_event_resolve(*, event: Any, patient: Patient | None, note: str = "", by: User) -> Any:
    """Resolve an unmatched event: match it to `patient` (it then waits for triage; the NHS number
    stays as received) or, with no patient, dismiss it with a note."""
    from caseload.models import CareEvent

    locked = CareEvent.objects.select_for_update().get(pk=event.pk)
    if locked.patient_id is not None or locked.resolved_at is not None:
        raise ValidationError("This event has already been resolved.", code="resolved")
    note = (note or "").strip()
    if patient is None and not note:
        raise ValidationError("Say why the event is being dismissed.", code="note_required")
    locked.patient = patient
    locked.resolved_at, locked.resolved_by, locked.resolution_note = timezone.now(), by, note[:300]
    locked.save(update_fields=["patient", "resolved_at", "resolved_by", "resolution_note"])
    for name in ("patient", "resolved_at", "resolved_by", "resolution_note"):
        setattr(event, name, getattr(locked, name))
    audit(
        None, "care_event.resolve", [patient] if patient else [], user=by, care_event_id=locked.pk,
        matched=patient is not None,
    )  # fmt: skip
    if patient is not None:
        discharge_follow_up_ensure(event=locked, owner=None, by=by)
    return event


# The care events feed -----------------------------------------------------------------------------
#
# The same machinery as the population import (caseload.importing's CSV/XLSX readers, NHS number
# check, row error report; an ImportBatch with counts and report): one fixed profile
# (CARE_EVENT_FEED_PROFILE), all-or-nothing unless invalid rows are skipped, idempotent through the
# careevent_unique_event constraint (INSERT … ON CONFLICT DO NOTHING; a row already there counts as
# unchanged). Rows for patients at practices outside the uploader's are invalid; rows whose NHS number
# matches no patient are imported as unmatched events and counted.


class CareEventFeedProfile:
    """The feed's columns (ProfileLike for caseload.importing's readers)."""

    name = CARE_EVENT_FEED_SOURCE
    column_map = {
        "NHS Number": "nhs_number",
        "Event": "kind",
        "Event Date": "occurred_at",
        "Provider": "provider",
        "Summary": "summary",
    }
    date_formats = ["%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
    encoding = ImportProfile.Encoding.AUTO  # a feed opened and saved in Excel is Windows-1252
    delimiter = ","
    fill_down: list[str] = []
    one_row_per_patient = False


CARE_EVENT_FEED_PROFILE = CareEventFeedProfile()


def _care_event_kind_names() -> dict[str, str]:
    from caseload.models import CareEvent

    names = {}
    for value, label in CareEvent.Kind.choices:
        names[value.casefold()] = value
        names[str(label).casefold()] = value
    names.update(
        {
            "admission": CareEvent.Kind.ADMISSION,
            "discharge": CareEvent.Kind.DISCHARGE,
            "a&e": CareEvent.Kind.AE_ATTENDANCE,
            "out of hours contact": CareEvent.Kind.OUT_OF_HOURS,
            "out of hours": CareEvent.Kind.OUT_OF_HOURS,
            "111": CareEvent.Kind.NHS_111,
            "nhs 111": CareEvent.Kind.NHS_111,
            "death": CareEvent.Kind.DEATH,
        }
    )
    return names


class CareEventFeed:
    """A checked feed file: the rows that passed (matched or not), every error, the counts."""

    def __init__(self) -> None:
        self.rows = 0
        self.records: list[dict[str, Any]] = []
        self.errors: list[RowError] = []
        self.invalid_rows = 0
        self.unmapped_columns: list[str] = []


def care_event_feed_parse(*, path: Path, user: User | None, now: Any = None) -> CareEventFeed:
    """Read and check every row. Raises FileRejected for a problem with the whole file."""
    profile = CARE_EVENT_FEED_PROFILE
    size = path.stat().st_size
    if size == 0:
        raise FileRejected("The file is empty.")
    max_bytes = settings.IMPORT_MAX_UPLOAD_MB * 1_048_576
    if size > max_bytes:
        raise FileRejected(
            f"The file is {size / 1_048_576:.1f} MB: the largest file that can be imported is {max_bytes / 1_048_576:.0f} MB."
        )
    with path.open("rb") as handle:
        magic = handle.read(4)
    rows = (
        _xlsx_rows(path, max_uncompressed=10 * max_bytes) if magic == XLSX_MAGIC else _csv_rows(path, profile)
    )
    header = next(rows, None)
    if header is None or _is_blank(header):
        raise FileRejected("The first row must hold the column headings.")
    headings_check(header)
    headings = [heading_key(_cell_text(cell)) for cell in header]
    wanted = {heading_key(h): field for h, field in profile.column_map.items()}
    missing = [h for h in profile.column_map if heading_key(h) not in headings]
    if missing:
        raise FileRejected("The file has no column " + ", ".join(f"“{h}”" for h in missing) + ".")
    index = {wanted[h]: i for i, h in enumerate(headings) if h in wanted}
    mapped = set(index.values())
    feed = CareEventFeed()
    feed.unmapped_columns = [
        _cell_text(c).strip() for c, h in zip(header, headings, strict=True) if h and h not in wanted
    ]
    kinds = _care_event_kind_names()
    tz = timezone.get_current_timezone()
    now = now or timezone.now()
    parsed: list[tuple[int, dict[str, Any]]] = []
    for number, cells in enumerate(rows, start=2):
        if _is_blank(cells):
            continue
        feed.rows += 1
        if feed.rows > settings.IMPORT_MAX_ROWS:
            raise FileRejected(f"The file has more than {settings.IMPORT_MAX_ROWS:,} rows. Split it.")
        control = control_cells(cells)
        if control:
            # The row's error is each cell with a control character (shown escaped; an ignored
            # column's value is not echoed), as in the population import.
            feed.errors.extend(
                RowError(
                    number,
                    _cell_text(header[i]).strip() if i < len(header) else "",
                    escape_control(cells[i].strip())[:100] if i in mapped else "",
                    CONTROL_CHARACTER,
                )
                for i in control
            )
            feed.invalid_rows += 1
            continue
        cell = {field: _cell_text(cells[i]).strip() if i < len(cells) else "" for field, i in index.items()}
        errors: list[RowError] = []
        record: dict[str, Any] = {}
        try:
            record["nhs_number"] = _nhs_number(cell["nhs_number"])
        except _Invalid as problem:
            errors.append(RowError(number, "NHS Number", cell["nhs_number"], str(problem)))
        kind = kinds.get(" ".join(cell["kind"].split()).casefold())
        if kind is None:
            errors.append(
                RowError(
                    number,
                    "Event",
                    cell["kind"],
                    "not a known event: use "
                    + ", ".join(sorted({str(label) for label in _care_event_labels()})),
                )
            )
        record["kind"] = kind
        occurred = None
        for fmt in profile.date_formats:
            try:
                occurred = datetime.strptime(cell["occurred_at"], fmt).replace(tzinfo=tz)
                break
            except ValueError:
                continue
        if occurred is None:
            errors.append(
                RowError(
                    number,
                    "Event Date",
                    cell["occurred_at"],
                    "not a date and time in the form dd/mm/yyyy HH:MM"
                    if cell["occurred_at"]
                    else "the event date is missing",
                )
            )
        elif occurred > now:
            errors.append(
                RowError(number, "Event Date", cell["occurred_at"], "the event date is in the future")
            )
        elif occurred.year < 1900:
            errors.append(
                RowError(number, "Event Date", cell["occurred_at"], "the event date is before 1900")
            )
        record["occurred_at"] = occurred
        for field, limit in (("provider", 200), ("summary", 5000)):
            if len(cell[field]) > limit:
                errors.append(
                    RowError(
                        number,
                        "Provider" if field == "provider" else "Summary",
                        cell[field][:40],
                        f"longer than {limit} characters",
                    )
                )
            record[field] = cell[field]
        if errors:
            feed.errors.extend(errors)
            feed.invalid_rows += 1
        else:
            parsed.append((number, record))
    # Which patients: matched by NHS number; out of the uploader's practices → invalid row.
    numbers = {record["nhs_number"] for _, record in parsed}
    patients = dict(Patient.objects.filter(nhs_number__in=numbers).values_list("nhs_number", "pk"))
    practice_of = dict(
        Patient.objects.filter(nhs_number__in=numbers).values_list("nhs_number", "practice_id")
    )
    allowed = user.practice_ids() if user is not None else None
    for number, record in parsed:
        patient_id = patients.get(record["nhs_number"])
        if (
            patient_id is not None
            and allowed is not None
            and practice_of[record["nhs_number"]] not in allowed
        ):
            feed.errors.append(
                RowError(
                    number,
                    "NHS Number",
                    format_nhs_number(record["nhs_number"]),
                    "this patient is at a practice that is not one of yours",
                )
            )
            feed.invalid_rows += 1
            continue
        record["patient_id"] = patient_id
        record["row"] = number
        feed.records.append(record)
    feed.errors.sort(key=lambda error: error.row)
    return feed


def _care_event_labels() -> list[str]:
    from caseload.models import CareEvent

    return [str(label) for label in CareEvent.Kind.labels]


def _care_event_feed_counts(
    feed: CareEventFeed, *, batch: ImportBatch | None, write: bool, by: User | None
) -> dict[str, int]:
    """Count (and with `write`, insert) the feed's events. Inside the caller's transaction."""
    from caseload.models import CareEvent

    keys = {(r["nhs_number"], r["kind"], r["occurred_at"], r["provider"]) for r in feed.records}
    numbers = {key[0] for key in keys}
    existing = set(
        CareEvent.objects.filter(nhs_number__in=numbers).values_list(
            "nhs_number", "kind", "occurred_at", "provider"
        )
    )
    new_keys = keys - existing
    matched = {
        (r["nhs_number"], r["kind"], r["occurred_at"], r["provider"]): r["patient_id"] for r in feed.records
    }
    unmatched = {key for key in new_keys if matched[key] is None}
    if write:
        seen: set[tuple[Any, ...]] = set()
        rows = []
        for r in feed.records:
            key = (r["nhs_number"], r["kind"], r["occurred_at"], r["provider"])
            if key in seen or key not in new_keys:
                continue
            seen.add(key)
            rows.append(
                CareEvent(
                    patient_id=r["patient_id"],
                    nhs_number=r["nhs_number"],
                    kind=r["kind"],
                    occurred_at=r["occurred_at"],
                    provider=r["provider"],
                    summary=r["summary"],
                    source=CareEvent.Source.FEED,
                    batch=batch,
                    created_by=by,
                )
            )
        # ON CONFLICT DO NOTHING: an event another import wrote meanwhile is left as it is.
        CareEvent.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    return {
        "rows": feed.rows,
        "new": len(new_keys),
        "updated": 0,
        "unchanged": len(feed.records) - len(new_keys),
        "unmatched": len(unmatched),
        "invalid": feed.invalid_rows,
    }


def _care_event_feed_report(batch: ImportBatch, feed: CareEventFeed, counts: dict[str, int]) -> None:
    batch.counts = counts
    batch.rows_total = batch.rows_done = feed.rows
    batch.report = {
        "errors": [list(error) for error in feed.errors[:IMPORT_REPORT_ERRORS_SHOWN]],
        "error_count": len(feed.errors),
        "notes": [],
    }
    batch.unmapped_columns = feed.unmapped_columns
    if feed.errors:
        _batch_store_report(batch, report_csv(feed.errors))


def care_event_feed_upload(*, upload: UploadedFile, by: User) -> ImportBatch:
    """Keep the uploaded feed and check it (synchronously: feeds are a day's events). Writes no events."""
    suffix = Path(upload.name or "").suffix.lower()
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    stored = default_storage.save(
        f"imports/{uuid.uuid4().hex}{suffix if suffix in ('.csv', '.xlsx') else ''}", upload
    )
    batch = ImportBatch.objects.create(
        source=CARE_EVENT_FEED_SOURCE, filename=Path(upload.name or "upload").name[:255], file=stored,
        file_sha256=digest.hexdigest(), created_by=by, status=ImportBatch.Status.CHECKING, attempts=1,
    )  # fmt: skip
    try:
        with transaction.atomic():
            feed = care_event_feed_parse(path=Path(batch.file.path), user=by)
            counts = _care_event_feed_counts(feed, batch=batch, write=False, by=by)
            _care_event_feed_report(batch, feed, counts)
            batch.status = ImportBatch.Status.CHECKED
            batch.save()
            audit(
                None,
                "care_event_feed.preview",
                user=by,
                batch_id=batch.pk,
                counts=counts,
                patient_list="not listed: nothing was written",
            )
    except FileRejected as problem:
        return _care_event_feed_fail(batch, str(problem))
    except Exception as error:  # anything else: the batch must not stay CHECKING (see _batch_crashed)
        return _batch_crashed(batch, error)
    return batch


def care_event_feed_import(*, batch: ImportBatch, skip_invalid: bool, by: User | None) -> ImportBatch:
    """Import a checked feed: all or nothing unless `skip_invalid`. Idempotent (see above)."""
    try:
        with transaction.atomic():
            status = ImportBatch.objects.select_for_update().values_list("status", flat=True).get(pk=batch.pk)
            if status != ImportBatch.Status.CHECKED:
                raise ValidationError("This import has already started or ended.", code="not_checked")
            try:
                feed = care_event_feed_parse(path=Path(batch.file.path), user=by)
            except (FileRejected, FileNotFoundError, ValueError) as problem:
                return _care_event_feed_fail(batch, str(problem))
            if feed.invalid_rows and not skip_invalid:
                raise ValidationError(
                    "The file has invalid rows: import only the valid ones, or correct the file and upload it again.",
                    code="invalid_rows",
                )
            return _care_event_feed_write(batch, feed, skip_invalid=skip_invalid, by=by)
    except ValidationError:
        raise
    except Exception as error:  # anything else: the batch must not stay CHECKED (see _batch_crashed)
        return _batch_crashed(batch, error)


def care_event_feed_import_file(
    *, path: Path, by: User | None, skip_invalid: bool = False, filename: str = ""
) -> ImportBatch:
    """Import a feed file in one go (tests, a command or a drop folder): FAILED with its report when
    it has invalid rows and `skip_invalid` is off."""
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    batch = ImportBatch.objects.create(
        source=CARE_EVENT_FEED_SOURCE, filename=(filename or path.name)[:255], file_sha256=digest,
        created_by=by, status=ImportBatch.Status.RUNNING, skip_invalid=skip_invalid, attempts=1,
    )  # fmt: skip
    try:
        feed = care_event_feed_parse(path=path, user=by)
        with transaction.atomic():
            if feed.invalid_rows and not skip_invalid:
                counts = {
                    "rows": feed.rows,
                    "new": 0,
                    "updated": 0,
                    "unchanged": 0,
                    "unmatched": 0,
                    "invalid": feed.invalid_rows,
                }
                _care_event_feed_report(batch, feed, counts)
                batch.status, batch.finished_at = ImportBatch.Status.FAILED, timezone.now()
                batch.error_message = f"{feed.invalid_rows:,} row{'s have' if feed.invalid_rows != 1 else ' has'} a problem, so nothing was imported."
                batch.save()
                return batch
            return _care_event_feed_write(batch, feed, skip_invalid=skip_invalid, by=by)
    except FileRejected as problem:
        return _care_event_feed_fail(batch, str(problem))
    except Exception as error:  # anything else: the batch must not stay RUNNING (see _batch_crashed)
        return _batch_crashed(batch, error)


def _care_event_feed_fail(batch: ImportBatch, message: str) -> ImportBatch:
    """The feed cannot be imported: nothing was written; say why. The uploaded copy goes."""
    batch.status, batch.error_message, batch.finished_at = ImportBatch.Status.FAILED, message, timezone.now()
    if not batch.counts:
        batch.counts = {"rows": 0, "new": 0, "unchanged": 0, "unmatched": 0, "invalid": 0}
    batch.save()
    _batch_delete_upload(batch)
    return batch


def _care_event_feed_write(
    batch: ImportBatch, feed: CareEventFeed, *, skip_invalid: bool, by: User | None
) -> ImportBatch:
    from caseload.models import CareEvent

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_IMPORT_LOCK_KEY])
    counts = _care_event_feed_counts(feed, batch=batch, write=True, by=by)
    _care_event_feed_report(batch, feed, counts)
    batch.status, batch.skip_invalid, batch.finished_at = (
        ImportBatch.Status.DONE,
        skip_invalid,
        timezone.now(),
    )
    batch.save()
    created = list(CareEvent.objects.filter(batch=batch).select_related("patient"))
    for event in created:
        discharge_follow_up_ensure(event=event, owner=None, by=by)
    audit(
        None, "care_event_feed.import", [e.patient_id for e in created if e.patient_id], user=by,
        batch_id=batch.pk, counts=counts,
    )  # fmt: skip
    _batch_delete_upload(batch)
    return batch


# --- Care home residence (Care plans) ------------------------------------------------------------------
#
# The resident flag with a move-in date: setting it records a care home admission on that day (the
# event that starts the EHCH 7-working-day PCSP clock and suggests the patient to the care home MDT),
# already acknowledged since the coordinator entered it. A day that already has one (from a feed) gets
# no second event. Clearing the flag records nothing: a move out is not a transfer of care we track.


@transaction.atomic
def patient_care_home_set(*, patient: Patient, care_home: Any, moved_in_on: date | None, by: User) -> Any:
    """Set (or, with care_home None, clear) the patient's care home and move-in date. Returns the
    care home admission event recorded, or None."""
    from datetime import datetime, time

    from caseload.models import CareEvent

    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if care_home is None:
        locked.care_home, locked.care_home_since = None, None
        locked.save(update_fields=["care_home", "care_home_since", "updated_at"])
        patient.care_home, patient.care_home_since = None, None
        audit(None, "patient.care_home", [patient], user=by, care_home_id=None)
        return None
    if care_home.practice_id != locked.practice_id:
        raise ValidationError("Choose a care home aligned to the patient's practice.", code="practice")
    if moved_in_on is None:
        raise ValidationError("Enter the date the person moved in.", code="required")
    if moved_in_on > timezone.localdate():
        raise ValidationError("The move-in date must be today or in the past.", code="future")
    changed = (locked.care_home_id, locked.care_home_since) != (care_home.pk, moved_in_on)
    locked.care_home, locked.care_home_since = care_home, moved_in_on
    locked.save(update_fields=["care_home", "care_home_since", "updated_at"])
    patient.care_home, patient.care_home_since = care_home, moved_in_on
    event = None
    same_day = CareEvent.objects.filter(
        patient=locked, kind=CareEvent.Kind.CARE_HOME_ADMISSION, occurred_at__date=moved_in_on
    )
    if changed and not same_day.exists():
        now = timezone.now()
        event = CareEvent.objects.create(
            patient=locked, nhs_number=locked.nhs_number, kind=CareEvent.Kind.CARE_HOME_ADMISSION,
            occurred_at=timezone.make_aware(datetime.combine(moved_in_on, time(12))),
            provider=care_home.name[:200], summary="Moved in (recorded on the patient's page).",
            source=CareEvent.Source.MANUAL, created_by=by, triaged_at=now, triaged_by=by,
            outcome=CareEvent.Outcome.ACKNOWLEDGED,
        )  # fmt: skip
    audit(
        None, "patient.care_home", [patient], user=by, care_home_id=care_home.pk,
        moved_in_on=moved_in_on.isoformat(), care_event_id=event.pk if event else None,
    )  # fmt: skip
    return event


# --- Patient Activation Measure: the change and the chart the patient page shows ----------------------

MEANINGFUL_PAM_CHANGE = Decimal("3")  # points within 12 months (DOMAIN.md, "Patient Activation Measure")


@dataclass(frozen=True)
class PamChange:
    points: Decimal
    since: date

    @property
    def size(self) -> Decimal:
        return abs(self.points)

    @property
    def meaningful(self) -> bool:
        return self.size >= MEANINGFUL_PAM_CHANGE

    @property
    def improved(self) -> bool:
        return self.points >= MEANINGFUL_PAM_CHANGE


def pam_change(measures: list[ActivationMeasure]) -> PamChange | None:
    """The latest score against the earliest one in the 12 months before it (measures oldest first).
    A gain of 3 points or more within 12 months is a meaningful change (DOMAIN.md)."""
    if len(measures) < 2:
        return None
    latest = measures[-1]
    window_start = latest.measured_on - timedelta(days=365)
    earlier = [m for m in measures[:-1] if m.measured_on >= window_start]
    if not earlier:
        return None
    return PamChange(points=latest.score - earlier[0].score, since=earlier[0].measured_on)


# The chart: a server-drawn SVG (no JavaScript library; presentation attributes, which the CSP allows).
CHART_WIDTH, CHART_HEIGHT = 640, 260


CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 48, 76, 12, 36


# Level bands drawn between the published boundaries (1 ≤ 47.0; 2 47.1-55.1; 3 55.2-67.0; 4 ≥ 67.1).
PAM_BANDS = ((1, 0.0, 47.05, "#fde0dc"), (2, 47.05, 55.15, "#fff1c6"), (3, 55.15, 67.05, "#dde9f5"),
             (4, 67.05, 100.0, "#dcefe0"))  # fmt: skip


def pam_chart(measures: list[ActivationMeasure]) -> dict[str, Any] | None:
    """Coordinates for templates/caseload/pam_chart.html (measures oldest first)."""
    if not measures:
        return None
    plot_w = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM

    def y(score: float) -> float:
        return round(CHART_TOP + plot_h * (1 - score / 100), 1)

    first, last = measures[0].measured_on, measures[-1].measured_on
    span = (last - first).days

    def x(day: date) -> float:
        if span == 0:
            return round(CHART_LEFT + plot_w / 2, 1)
        return round(CHART_LEFT + plot_w * (day - first).days / span, 1)

    points = [
        {
            "x": x(m.measured_on),
            "y": y(float(m.score)),
            "score": m.score,
            "level": m.level,
            "on": m.measured_on,
        }
        for m in measures
    ]
    label_every = max(1, len(points) // 6)
    for index, point in enumerate(points):
        point["label"] = index % label_every == 0 or index == len(points) - 1
    bands = [
        {"level": level, "y": y(high), "height": round(y(low) - y(high), 1), "fill": fill,
         "label_y": round((y(low) + y(high)) / 2 + 4, 1)}
        for level, low, high, fill in PAM_BANDS
    ]  # fmt: skip
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - CHART_RIGHT,
        "top": CHART_TOP,
        "bottom": CHART_HEIGHT - CHART_BOTTOM,
        "plot_width": plot_w,
        "band_label_x": CHART_WIDTH - CHART_RIGHT + 6,
        "date_label_y": CHART_HEIGHT - CHART_BOTTOM + 18,
        "bands": bands,
        "ticks": [{"value": v, "y": y(v), "label_y": y(v) + 4} for v in (0, 47, 55, 67, 100)],
        "points": points,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
    }
