"""Imports that go wrong: whatever a worker raises, its batch ends FAILED with the reason (no patient
data in the reason or the log), and nothing is written; a batch whose worker died is failed by the
sweep after IMPORT_STUCK_AFTER_MINUTES."""

import csv
import io
import os
import shutil
import threading
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection, connections, transaction
from django.utils import timezone
from openpyxl import Workbook

from caseload.models import CareEvent, ImportBatch, Patient
from caseload.services import care_events, import_runs
from caseload.services.care_events import (
    care_event_feed_import,
    care_event_feed_import_file,
    care_event_feed_upload,
)
from caseload.services.import_runs import (
    population_import_drop_folder_sweep,
    population_import_file,
    population_import_stuck_fail,
)
from caseload.services.imports import population_import_start, population_import_upload
from caseload.tasks import (
    population_import_preview_task,
    population_import_run_task,
    population_import_sweep_task,
)
from pcn.models import AuditEvent
from pcn.nhs_number import synthetic_sequence
from tests.caseload.import_helpers import CANONICAL_HEADER, ICB_HEADER, ICB_SAMPLE, canonical_row, state

pytest_plugins = ["tests.caseload.import_fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

N1, N2 = list(synthetic_sequence(start=7000))[:2]
FEED_HEADER = "NHS Number,Event,Event Date,Provider,Summary\n"


def crash_message(batch: ImportBatch, error: str) -> str:
    return (
        f"The import stopped because of an unexpected error ({error}), so nothing was imported. "
        f"The details are in the server's log under import batch {batch.pk}."
    )


@pytest.fixture
def database_error(monkeypatch) -> None:
    """The write fails in the database (as a NUL in COPY did), inside the import's transaction."""

    def write(batch, parsed, *, write):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    monkeypatch.setattr(import_runs, "_pg_write", write)


@pytest.fixture
def error_with_patient_data(monkeypatch) -> None:
    """An exception whose message holds an NHS number: it must reach neither the batch nor the log."""

    def write(batch, parsed, *, write):
        raise ValueError(f"unexpected value for {N1}")

    monkeypatch.setattr(import_runs, "_pg_write", write)


def upload(person, profile) -> ImportBatch:
    content = f"{CANONICAL_HEADER}\r\n{canonical_row(N1)}\r\n".encode()
    return population_import_upload(
        profile=profile, upload=SimpleUploadedFile("patients.csv", content, "text/csv"), by=person.user
    )


def test_a_preview_that_raises_ends_failed_and_logs_without_patient_data(
    manager, profiles, error_with_patient_data, caplog
):
    batch = upload(manager, profiles["canonical"])

    population_import_preview_task(batch.pk)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.error_message == crash_message(batch, "ValueError")
    assert batch.finished_at is not None
    assert not batch.file  # the uploaded copy goes once the import has ended
    assert Patient.objects.count() == 0
    (record,) = [r for r in caplog.records if r.name == "caseload.services.import_batches"]
    assert record.levelname == "ERROR"
    assert record.getMessage().startswith(f"Import batch {batch.pk} failed: ValueError\nTraceback")
    assert "in _population_write" in record.getMessage()
    assert N1 not in caplog.text
    assert N1 not in batch.error_message


def test_an_import_run_that_raises_in_the_database_ends_failed_and_writes_nothing(
    manager, profiles, monkeypatch, caplog
):
    batch = upload(manager, profiles["canonical"])
    population_import_preview_task(batch.pk)
    batch.refresh_from_db()
    population_import_start(batch=batch, skip_invalid=False, by=manager.user)
    before = state()

    def write(batch, parsed, *, write):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    monkeypatch.setattr(import_runs, "_pg_write", write)
    population_import_run_task(batch.pk)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.error_message == crash_message(batch, "DataError")
    assert state() == before
    assert not batch.file
    assert f"Import batch {batch.pk} failed: DataError (SQLSTATE 22012)" in caplog.text


def test_a_run_whose_upload_has_gone_ends_failed(manager, profiles):
    batch = upload(manager, profiles["canonical"])
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.PENDING, file="")

    population_import_run_task(batch.pk)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.error_message == "The uploaded file is no longer there. Upload it again."


def test_the_command_reports_a_crash_as_a_failed_batch(profiles, practice_a, tmp_path, database_error):
    path = tmp_path / "f.csv"
    path.write_text(f"{CANONICAL_HEADER}\n{canonical_row(N1)}\n", encoding="utf-8")
    before = state()

    with pytest.raises(CommandError) as refusal:
        call_command("import_population", str(path), "--profile", "canonical")

    batch = ImportBatch.objects.get()
    assert (batch.status, batch.error_message) == (
        ImportBatch.Status.FAILED,
        crash_message(batch, "DataError"),
    )
    assert str(refusal.value) == batch.error_message
    assert state() == before


def age(path: Path, seconds: float = 120) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


@pytest.fixture
def drop(settings, tmp_path) -> Path:
    settings.IMPORT_DROP_DIR = tmp_path / "drop"
    (settings.IMPORT_DROP_DIR / "icb-risk").mkdir(parents=True)
    return settings.IMPORT_DROP_DIR


def test_a_drop_folder_import_that_raises_goes_to_failed_with_its_report(
    drop, profiles, sample_practices, database_error
):
    age(shutil.copy(ICB_SAMPLE, drop / "icb-risk" / "march.csv"))

    (batch,) = population_import_drop_folder_sweep()

    assert batch.status == ImportBatch.Status.FAILED
    assert Patient.objects.count() == 0
    (failed,) = [p for p in (drop / "failed").iterdir() if not p.name.endswith(".report.csv")]
    assert failed.name.endswith("-icb-risk-march.csv")
    assert Path(f"{failed}.report.csv").read_text(encoding="utf-8-sig").splitlines()[1] == (
        f',,,"{crash_message(batch, "DataError")}"'
    )
    assert list((drop / "processing").iterdir()) == []


def test_a_drop_folder_file_that_cannot_be_started_goes_to_failed_and_the_sweep_goes_on(
    drop, profiles, sample_practices, monkeypatch, caplog
):
    age(shutil.copy(ICB_SAMPLE, drop / "icb-risk" / "a.csv"), seconds=200)
    age(shutil.copy(ICB_SAMPLE, drop / "icb-risk" / "b.csv"), seconds=100)  # newer: swept second
    real_import = import_runs.population_import_file

    def first_one_raises(*, path, **kwargs):
        if path.name.endswith("-a.csv"):
            raise OSError("the disk is unwell")
        return real_import(path=path, **kwargs)

    monkeypatch.setattr(import_runs, "population_import_file", first_one_raises)

    (batch,) = population_import_drop_folder_sweep()

    assert (batch.filename, batch.status) == ("b.csv", ImportBatch.Status.DONE)
    (failed,) = [p for p in (drop / "failed").iterdir() if not p.name.endswith(".report.csv")]
    assert failed.name.endswith("-icb-risk-a.csv")
    assert Path(f"{failed}.report.csv").read_text(encoding="utf-8-sig").splitlines()[1] == (
        ",,,The file could not be imported because of an unexpected error (OSError). "
        "The details are in the server's log. Move the file back into its profile's folder to try again."
    )
    assert "Drop-folder file icb-risk/a.csv failed: OSError\nTraceback" in caplog.text
    assert list((drop / "processing").iterdir()) == []


def test_an_xlsx_file_damaged_part_way_is_refused_with_a_message(profiles, sample_practices, tmp_path):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(ICB_HEADER.split(","))
    sheet.append(["9990010005", "P99002", "1959-01-20", "M", 58.3, 0.24, 4, 0, 0, "XXDAMAGEXX"])
    whole = tmp_path / "whole.xlsx"
    workbook.save(whole)
    path = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            target.writestr(item, source.read(item.filename).replace(b"XXDAMAGEXX", b"N&#0;"))
    before = state()

    batch = population_import_file(path=path, profile=profiles["icb-risk"])

    assert batch.status == ImportBatch.Status.FAILED
    assert batch.error_message == (
        "The XLSX file could not be read to the end: it is damaged. Save it again from Excel, or as CSV."
    )
    assert state() == before


# --- The care-event feed ---------------------------------------------------------------------------


def test_a_feed_upload_that_raises_ends_failed_not_in_a_server_error(manager, practice_a, monkeypatch):
    def counts(feed, *, batch, write, by):
        raise ValueError(f"unexpected value for {N1}")

    monkeypatch.setattr(care_events, "_care_event_feed_counts", counts)
    content = f"{FEED_HEADER}{N1},Admission,01/12/2025 10:00,RCH,Fall\n".encode()

    batch = care_event_feed_upload(
        upload=SimpleUploadedFile("feed.csv", content, "text/csv"), by=manager.user
    )

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.error_message == crash_message(batch, "ValueError")
    assert not batch.file
    assert CareEvent.objects.count() == 0


def test_a_feed_import_that_raises_ends_failed_and_writes_nothing(manager, practice_a, monkeypatch, tmp_path):
    content = f"{FEED_HEADER}{N1},Admission,01/12/2025 10:00,RCH,Fall\n".encode()
    batch = care_event_feed_upload(
        upload=SimpleUploadedFile("feed.csv", content, "text/csv"), by=manager.user
    )

    def write(batch, feed, *, skip_invalid, by):
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")

    monkeypatch.setattr(care_events, "_care_event_feed_write", write)
    care_event_feed_import(batch=batch, skip_invalid=False, by=manager.user)

    batch.refresh_from_db()
    assert (batch.status, batch.error_message) == (
        ImportBatch.Status.FAILED,
        crash_message(batch, "DataError"),
    )
    assert not batch.file
    assert CareEvent.objects.count() == 0

    path = tmp_path / "feed.csv"
    path.write_bytes(content)
    again = care_event_feed_import_file(path=path, by=manager.user)
    assert (again.status, again.error_message) == (
        ImportBatch.Status.FAILED,
        crash_message(again, "DataError"),
    )


# --- Stuck batches: the sweep fails them ------------------------------------------------------------


def stuck_message(what: str, again: str = "Import the file again.") -> str:
    return (
        f"{what}: nothing was heard from it for 30 minutes (the server may have been restarted, or run out "
        f"of memory). Nothing was imported. {again}"
    )


def silent_for(batch: ImportBatch, minutes: float) -> ImportBatch:
    ImportBatch.objects.filter(pk=batch.pk).update(updated_at=timezone.now() - timedelta(minutes=minutes))
    return batch


def test_the_sweep_fails_batches_silent_for_longer_than_the_timeout(manager, profiles, settings, tmp_path):
    settings.IMPORT_DROP_DIR = tmp_path / "no-drop-folder"  # the sweep looks for stuck batches anyway
    checking = silent_for(upload(manager, profiles["canonical"]), 31)
    pending = silent_for(upload(manager, profiles["canonical"]), 31)
    ImportBatch.objects.filter(pk=pending.pk).update(status=ImportBatch.Status.PENDING)
    running = silent_for(
        ImportBatch.objects.create(
            source="x", profile=profiles["canonical"], status=ImportBatch.Status.RUNNING
        ),
        45,
    )
    alive = silent_for(
        ImportBatch.objects.create(
            source="x", profile=profiles["canonical"], status=ImportBatch.Status.RUNNING
        ),
        29,
    )
    checked = silent_for(
        ImportBatch.objects.create(
            source="x", profile=profiles["canonical"], status=ImportBatch.Status.CHECKED
        ),
        600,
    )
    before = state()

    population_import_sweep_task()

    for batch in (checking, pending, running, alive, checked):
        batch.refresh_from_db()
    assert (checking.status, checking.error_message) == (
        ImportBatch.Status.FAILED,
        stuck_message("Checking the file stopped without finishing"),
    )
    assert (pending.status, pending.error_message) == (
        ImportBatch.Status.FAILED,
        stuck_message("The import did not start"),
    )
    assert (running.status, running.error_message) == (
        ImportBatch.Status.FAILED,
        stuck_message("The import stopped without finishing"),
    )
    assert (alive.status, checked.status) == (ImportBatch.Status.RUNNING, ImportBatch.Status.CHECKED)
    assert not checking.file and not pending.file  # the uploaded copies are deleted
    assert checking.finished_at is not None
    assert state() == before
    assert AuditEvent.objects.filter(action="population.import", detail__status="failed").count() == 3

    # A redelivered task for a failed batch does nothing.
    population_import_run_task(running.pk)
    running.refresh_from_db()
    assert running.status == ImportBatch.Status.FAILED


def test_the_timeout_is_a_setting(manager, profiles, settings):
    settings.IMPORT_STUCK_AFTER_MINUTES = 5
    batch = silent_for(
        ImportBatch.objects.create(
            source="x", profile=profiles["canonical"], status=ImportBatch.Status.RUNNING
        ),
        6,
    )

    assert population_import_stuck_fail() == [batch]

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert "nothing was heard from it for 5 minutes" in batch.error_message


def test_a_stuck_drop_folder_import_moves_its_file_to_failed_with_its_report(
    drop, profiles, sample_practices
):
    claimed = drop / "processing" / "20261201-0900-icb-risk-march.csv"
    claimed.parent.mkdir()
    shutil.copy(ICB_SAMPLE, claimed)
    batch = silent_for(
        ImportBatch.objects.create(
            source="ICB risk-stratification extract", profile=profiles["icb-risk"], filename="march.csv",
            status=ImportBatch.Status.RUNNING, drop_file=claimed.name,
        ),
        31,
    )  # fmt: skip

    assert population_import_drop_folder_sweep() == []  # and the file is not imported again

    batch.refresh_from_db()
    message = stuck_message(
        "The import stopped without finishing",
        "Move the file from the drop folder's failed/ back into its profile's folder to try again.",
    )
    assert (batch.status, batch.error_message) == (ImportBatch.Status.FAILED, message)
    assert list((drop / "processing").iterdir()) == []
    failed = drop / "failed" / claimed.name
    assert failed.read_bytes() == ICB_SAMPLE.read_bytes()
    assert list(csv.reader(io.StringIO(Path(f"{failed}.report.csv").read_text(encoding="utf-8-sig")))) == [
        ["Row", "Column", "Value", "Reason"],
        ["", "", "", message],
    ]
    assert Patient.objects.count() == 0


def test_a_worker_that_comes_back_after_the_sweep_failed_its_batch_writes_nothing(
    profiles, practice_a, tmp_path, monkeypatch
):
    path = tmp_path / "f.csv"
    path.write_text(f"{CANONICAL_HEADER}\n{canonical_row(N1)}\n", encoding="utf-8")
    real_parse = import_runs._population_parse

    def parse_slowly(batch, **kwargs):
        parsed = real_parse(batch, **kwargs)
        population_import_stuck_fail(now=timezone.now() + timedelta(minutes=31))  # meanwhile…
        return parsed

    monkeypatch.setattr(import_runs, "_population_parse", parse_slowly)

    batch = population_import_file(path=path, profile=profiles["canonical"])

    assert batch.status == ImportBatch.Status.FAILED
    assert batch.error_message == stuck_message("The import stopped without finishing")
    assert Patient.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_import_holding_its_row_lock_is_not_taken_for_stuck(profiles):
    """While an import writes, it holds its batch's row lock: the sweep (another connection) skips it."""
    batch = silent_for(
        ImportBatch.objects.create(
            source="x", profile=profiles["canonical"], status=ImportBatch.Status.RUNNING
        ),
        31,
    )
    locked, release = threading.Event(), threading.Event()

    def writing_import() -> None:
        try:
            with transaction.atomic():
                ImportBatch.objects.select_for_update().get(pk=batch.pk)
                locked.set()
                release.wait(10)
        finally:
            connections.close_all()

    worker = threading.Thread(target=writing_import)
    worker.start()
    try:
        assert locked.wait(10)
        assert population_import_stuck_fail() == []
    finally:
        release.set()
        worker.join()
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.RUNNING
    assert population_import_stuck_fail() == [batch]  # once the lock has gone, it is stuck
