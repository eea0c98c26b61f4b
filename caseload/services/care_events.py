"""Transfers of care (CareEvent): entered by hand or imported from a hospital/111/out-of-hours feed
(care_event_feed_*), then triaged once with an outcome. A discharge makes one follow-up task due
DISCHARGE_FOLLOW_UP_WORKING_DAYS working days after it (pcn.working_days: weekends and England and
Wales bank holidays skipped) for the coordinator of the patient's open episode; without one, the
person who records or triages the event gets it. Feed rows whose NHS number matches no patient are
kept as unmatched events (patient empty) to be matched or dismissed, never dropped.

The care events feed uses the same machinery as the population import (caseload.services.import_files'
CSV/XLSX readers, NHS number check, row error report; an ImportBatch with counts and report): one
fixed profile (CARE_EVENT_FEED_PROFILE), all-or-nothing unless invalid rows are skipped, idempotent
through the careevent_unique_event constraint (INSERT … ON CONFLICT DO NOTHING; a row already there
counts as unchanged). Rows for patients at practices outside the uploader's are invalid; rows whose
NHS number matches no patient are imported as unmatched events and counted.
"""

from datetime import date, datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.utils import timezone

from caseload.models import (
    CARE_EVENT_FEED_SOURCE,
    CareEvent,
    CaseloadEpisode,
    ImportBatch,
    ImportProfile,
    Patient,
    Task,
)
from caseload.services.contacts import contact_record
from caseload.services.import_batches import (
    IMPORT_LOCK_KEY,
    IMPORT_REPORT_ERRORS_SHOWN,
    batch_crashed,
    care_event_feed_fail,
)
from caseload.services.import_files import (
    CONTROL_CHARACTER,
    XLSX_MAGIC,
    FileRejected,
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
    report_csv,
)
from caseload.services.patients import mdt_series_for
from caseload.services.tasks import task_create
from caseload.services.uploads import path_sha256, report_store, upload_delete, upload_store
from pcn.audit import audit_by
from pcn.models import User
from pcn.nhs_number import format_nhs_number
from pcn.working_days import add_working_days


def discharge_follow_up_due(occurred_at: Any) -> date:
    return add_working_days(timezone.localdate(occurred_at), settings.DISCHARGE_FOLLOW_UP_WORKING_DAYS)


def discharge_follow_up_ensure(*, event: Any, owner: User | None, by: User | None) -> Any:
    """The one follow-up task of a discharge (idempotent). Owner: the coordinator of the patient's
    open episode, else `owner` (the person recording or triaging); with neither, none yet (a feed
    import: the task is made when the event is triaged). Runs inside the caller's transaction."""
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
    if occurred_at > timezone.now():
        raise ValidationError("The date and time cannot be in the future.", code="future")
    key = {"nhs_number": patient.nhs_number, "kind": kind, "occurred_at": occurred_at, "provider": provider}
    if CareEvent.objects.filter(**key).exists():
        raise ValidationError("This event is already recorded.", code="duplicate")
    event = CareEvent.objects.create(
        patient=patient, **key, summary=summary, source=CareEvent.Source.MANUAL, created_by=by
    )
    audit_by(by, "care_event.record", [patient], care_event_id=event.pk, kind=kind)
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
    locked = CareEvent.objects.select_for_update(of=("self",)).select_related("patient").get(pk=event.pk)
    if locked.patient is None:  # loaded with the event: no query
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
    audit_by(
        by, "care_event.triage", [locked.patient_id], care_event_id=locked.pk, outcome=outcome,
        follow_up_task_id=getattr(follow_up, "pk", None), **detail,
    )  # fmt: skip
    return event


@transaction.atomic
def care_event_resolve(*, event: Any, patient: Patient | None, note: str = "", by: User) -> Any:
    """Resolve an unmatched event: match it to `patient` (it then waits for triage; the NHS number
    stays as received) or, with no patient, dismiss it with a note."""
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
    audit_by(
        by, "care_event.resolve", [patient] if patient else [], care_event_id=locked.pk,
        matched=patient is not None,
    )  # fmt: skip
    if patient is not None:
        discharge_follow_up_ensure(event=locked, owner=None, by=by)
    return event


class CareEventFeedProfile:
    """The feed's columns (ProfileLike for caseload.services.import_files' readers)."""

    name = CARE_EVENT_FEED_SOURCE
    column_map = {
        "NHS Number": "nhs_number",
        "Event": "kind",
        "Event Date": "occurred_at",
        "Provider": "provider",
        "Summary": "summary",
    }
    date_formats = ["%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"]
    encoding: str = ImportProfile.Encoding.AUTO  # a feed opened and saved in Excel is Windows-1252
    delimiter = ","
    fill_down: list[str] = []
    one_row_per_patient = False


CARE_EVENT_FEED_PROFILE = CareEventFeedProfile()


def _care_event_kind_names() -> dict[str, str]:
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
    twice = next((h for h in profile.column_map if headings.count(heading_key(h)) > 1), None)
    if twice:
        raise FileRejected(f"The column “{twice}” appears twice. Remove or rename one of them.")
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
    return [str(label) for label in CareEvent.Kind.labels]


def _care_event_feed_counts(
    feed: CareEventFeed, *, batch: ImportBatch | None, write: bool, by: User | None
) -> dict[str, int]:
    """Count (and with `write`, insert) the feed's events. Inside the caller's transaction."""
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
        report_store(batch, report_csv(feed.errors))


def care_event_feed_upload(*, upload: UploadedFile, by: User) -> ImportBatch:
    """Keep the uploaded feed and check it (synchronously: feeds are a day's events). Writes no events."""
    stored, sha256 = upload_store(upload=upload, suffixes=(".csv", ".xlsx"))
    batch = ImportBatch.objects.create(
        source=CARE_EVENT_FEED_SOURCE, filename=Path(upload.name or "upload").name[:255], file=stored,
        file_sha256=sha256, created_by=by, status=ImportBatch.Status.CHECKING, attempts=1,
    )  # fmt: skip
    try:
        with transaction.atomic():
            feed = care_event_feed_parse(path=Path(batch.file.path), user=by)
            counts = _care_event_feed_counts(feed, batch=batch, write=False, by=by)
            _care_event_feed_report(batch, feed, counts)
            batch.status = ImportBatch.Status.CHECKED
            batch.save()
            audit_by(
                by,
                "care_event_feed.preview",
                batch_id=batch.pk,
                counts=counts,
                patient_list="not listed: nothing was written",
            )
    except FileRejected as problem:
        return care_event_feed_fail(batch, str(problem))
    except Exception as error:  # anything else: the batch must not stay CHECKING (see batch_crashed)
        return batch_crashed(batch, error)
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
                return care_event_feed_fail(batch, str(problem))
            if feed.invalid_rows and not skip_invalid:
                raise ValidationError(
                    "The file has invalid rows: import only the valid ones, or correct the file and upload it again.",
                    code="invalid_rows",
                )
            return _care_event_feed_write(batch, feed, skip_invalid=skip_invalid, by=by)
    except ValidationError:
        raise
    except Exception as error:  # anything else: the batch must not stay CHECKED (see batch_crashed)
        return batch_crashed(batch, error)


def care_event_feed_import_file(
    *, path: Path, by: User | None, skip_invalid: bool = False, filename: str = ""
) -> ImportBatch:
    """Import a feed file in one go (tests, a command or a drop folder): FAILED with its report when
    it has invalid rows and `skip_invalid` is off."""
    batch = ImportBatch.objects.create(
        source=CARE_EVENT_FEED_SOURCE, filename=(filename or path.name)[:255], file_sha256=path_sha256(path),
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
        return care_event_feed_fail(batch, str(problem))
    except Exception as error:  # anything else: the batch must not stay RUNNING (see batch_crashed)
        return batch_crashed(batch, error)


def _care_event_feed_write(
    batch: ImportBatch, feed: CareEventFeed, *, skip_invalid: bool, by: User | None
) -> ImportBatch:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK_KEY])
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
    audit_by(
        by, "care_event_feed.import", [e.patient_id for e in created if e.patient_id],
        batch_id=batch.pk, counts=counts,
    )  # fmt: skip
    upload_delete(batch)
    return batch
