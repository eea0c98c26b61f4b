"""The population import's work: checking a file (the preview), importing it, the command line and
the drop-folder sweep, and failing the batches left stuck.

One service for the web upload, `manage.py import_population` and the drop-folder sweep. A file is
read and checked row by row in Python (caseload.services.import_files, no ORM per row); the rows that
pass are written in one transaction. On PostgreSQL they are staged with COPY into a temporary table
and upserted by NHS number in one statement that also writes the risk snapshots; elsewhere (the
SQLite try-it-out default) bulk_create/bulk_update do the same, more slowly.

All or nothing by default: with any invalid row nothing is written and the batch is FAILED with
its report; `skip_invalid` imports the rest and keeps the report. Idempotent: a patient row is
only updated when a mapped column's value differs (so updated_at moves only then), and a risk
snapshot is only added for a new patient or one whose figures changed, so re-importing a file
writes nothing but its ImportBatch.
"""

import csv
import io
import logging
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.utils import timezone

from caseload.models import (
    CARE_EVENT_FEED_SOURCE,
    CareHome,
    ImportBatch,
    ImportProfile,
    LongTermCondition,
    Patient,
    RiskSnapshot,
)
from caseload.services.import_batches import (
    IMPORT_LOCK_KEY,
    IMPORT_REPORT_ERRORS_SHOWN,
    batch_crashed,
    batch_fail,
    batch_still,
    care_event_feed_fail,
    crash_log,
)
from caseload.services.import_files import (
    REPORT_HEADER,
    FileRejected,
    ParsedFile,
    PracticeInfo,
    RowError,
    parse_population_file,
    report_csv,
)
from caseload.services.uploads import path_sha256, report_store, upload_delete
from caseload.signals import population_imported
from pcn.audit import audit
from pcn.exports import csv_safe
from pcn.models import Practice, User
from pcn.nhs_number import format_nhs_number

IMPORT_MAX_ATTEMPTS = 3  # a task redelivered after a crash gives up after this many tries (JOB-04)


DROP_FOLDER_DONE, DROP_FOLDER_FAILED, DROP_FOLDER_PROCESSING = "done", "failed", "processing"


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
    "ethnicity": "",
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
        return batch_fail(batch, f"Checking the file stopped after {IMPORT_MAX_ATTEMPTS} attempts.")
    try:
        parsed = _population_parse(batch, path=Path(batch.file.path), user=batch.created_by)
        with transaction.atomic():
            counts = _population_write(batch, parsed, write=False)
            if not batch_still(batch, ImportBatch.Status.CHECKING):
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
        return batch_fail(batch, str(problem))
    except Exception as error:  # anything else: the batch must not stay CHECKING (see batch_crashed)
        return batch_crashed(batch, error)
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
        batch_fail(batch, f"The import stopped after {IMPORT_MAX_ATTEMPTS} attempts. Nothing was imported.")
    elif not batch.file:
        batch_fail(batch, "The uploaded file is no longer there. Upload it again.")
    else:
        _population_import(batch, path=Path(batch.file.path))
    upload_delete(batch)
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
    batch = ImportBatch.objects.create(
        source=profile.name[:100],
        profile=profile,
        filename=(filename or path.name)[:255],
        file_sha256=path_sha256(path),
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
    for name in (DROP_FOLDER_DONE, DROP_FOLDER_FAILED, DROP_FOLDER_PROCESSING):
        (root / name).mkdir(exist_ok=True)
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
            outcome = DROP_FOLDER_DONE if batch.status == ImportBatch.Status.DONE else DROP_FOLDER_FAILED
            target = root / outcome / claimed.name
            claimed.rename(target)
            Path(f"{target}.report.csv").write_text(_batch_report_text(batch), encoding="utf-8-sig")
        except Exception as error:  # the file must not sit in processing/, nor stop the other files
            kind = crash_log(f"Drop-folder file {slug}/{path.name}", error)
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
                care_event_feed_fail(batch, message)
            else:
                batch_fail(batch, message)
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
            if not batch_still(batch, ImportBatch.Status.RUNNING):
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
                if not batch.dry_run:
                    transaction.on_commit(
                        lambda: population_imported.send(sender=ImportBatch, batch=batch), robust=True
                    )
            batch.save()
            audit(
                None, "population.preview" if batch.dry_run else "population.import", user=batch.created_by,
                batch_id=batch.pk, profile=batch.source, status=batch.status, dry_run=batch.dry_run,
                skip_invalid=batch.skip_invalid, counts=batch.counts,
                patient_list="not listed: the batch's risk snapshots and first_batch name the patients it added or changed",
            )  # fmt: skip
    except (FileRejected, _Refused) as problem:
        return batch_fail(batch, str(problem))
    except _AlreadyDone:
        batch.refresh_from_db()
    except Exception as error:  # anything else: the batch must not stay RUNNING (see batch_crashed)
        return batch_crashed(batch, error)
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
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])
    # Writing: lock the batch's row until the transaction ends. The stuck sweep leaves a locked batch
    # alone (its import is alive), and a batch no longer RUNNING is not written again.
    if write and not batch_still(batch, ImportBatch.Status.RUNNING):
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
            raw.copy(f"COPY {_STAGING_TABLE} ({column_list}) FROM STDIN") as copy,
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
        report_store(batch, report_csv(parsed.errors, warnings=parsed.warnings))


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
