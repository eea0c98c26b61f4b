"""The drop folder: files in IMPORT_DROP_DIR/<profile slug>/ are imported by a Celery beat sweep and
moved to done/ or failed/ with their report. The last test runs the sweep in a real Celery worker
on Redis against the test database."""

import csv
import io
import os
import shutil
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from caseload.models import ImportBatch, Patient, RiskSnapshot
from caseload.services.import_runs import population_import_drop_folder_sweep
from caseload.tasks import population_import_sweep_task
from pcn.nhs_number import synthetic_sequence
from tests.caseload.import_helpers import CANONICAL_HEADER, ICB_SAMPLE, canonical_row, write_csv
from tests.celery_worker import celery_worker

pytest_plugins = ["tests.caseload.import_fixtures"]
pytestmark = pytest.mark.usefixtures("media_root")


@pytest.fixture
def drop(settings, tmp_path) -> Path:
    settings.IMPORT_DROP_DIR = tmp_path / "drop"
    settings.IMPORT_DROP_MIN_AGE_SECONDS = 60
    (settings.IMPORT_DROP_DIR / "icb-risk").mkdir(parents=True)
    return settings.IMPORT_DROP_DIR


def age(path: Path, seconds: float = 120) -> Path:
    then = time.time() - seconds
    os.utime(path, (then, then))
    return path


def report(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


@pytest.mark.django_db
def test_sweep_imports_a_file_and_moves_it_to_done(drop, profiles, sample_practices):
    age(shutil.copy(ICB_SAMPLE, drop / "icb-risk" / "march.csv"))

    (batch,) = population_import_drop_folder_sweep()

    assert batch.status == ImportBatch.Status.DONE
    assert (batch.created_by, batch.filename, batch.source) == (
        None,
        "march.csv",
        "ICB risk-stratification extract",
    )
    assert batch.counts == {"rows": 60, "new": 60, "updated": 0, "unchanged": 0, "invalid": 0}
    assert list((drop / "icb-risk").iterdir()) == []
    (done,) = sorted(
        p for p in (drop / "done").iterdir() if p.suffix == ".csv" and not p.name.endswith(".report.csv")
    )
    assert done.name.endswith("-icb-risk-march.csv")
    assert done.read_bytes() == ICB_SAMPLE.read_bytes()
    assert report(Path(f"{done}.report.csv")) == [
        ["Row", "Column", "Value", "Reason"],
        ["", "", "", "Imported 60 rows: 60 new patients, 0 updated, 0 unchanged; 0 invalid rows skipped."],
        ["", "", "", batch.report["notes"][0]],
        ["", "", "", "Columns ignored (not in the profile): ltc_count."],
    ]
    assert list((drop / "processing").iterdir()) == []


@pytest.mark.django_db
def test_a_file_with_invalid_rows_goes_to_failed_with_its_report(drop, profiles, practice_a):
    (drop / "canonical").mkdir()
    number = next(synthetic_sequence(start=6000))
    path = write_csv(drop / "canonical" / "bad.csv", CANONICAL_HEADER, canonical_row(number, born="1/1/1800"))
    age(path)

    (batch,) = population_import_drop_folder_sweep()

    assert batch.status == ImportBatch.Status.FAILED
    assert (Patient.objects.count(), RiskSnapshot.objects.count()) == (0, 0)
    (failed,) = [p for p in (drop / "failed").iterdir() if not p.name.endswith(".report.csv")]
    assert report(Path(f"{failed}.report.csv"))[1:] == [
        ["", "", "", batch.error_message],
        ["2", "date_of_birth", "1/1/1800", "the date of birth is before 1900"],
    ]


@pytest.mark.django_db
def test_files_still_arriving_and_unknown_folders(drop, profiles):
    young = shutil.copy(ICB_SAMPLE, drop / "icb-risk" / "copying.csv")
    partial = age(shutil.copy(ICB_SAMPLE, drop / "icb-risk" / "big.csv.part"))
    (drop / "nobody").mkdir()
    stray = age(shutil.copy(ICB_SAMPLE, drop / "nobody" / "x.csv"))

    assert population_import_drop_folder_sweep() == []

    assert Path(young).exists() and Path(partial).exists() and not Path(stray).exists()
    (moved,) = [p for p in (drop / "failed").iterdir() if not p.name.endswith(".report.csv")]
    assert report(Path(f"{moved}.report.csv"))[1] == [
        "", "", "", "There is no import profile “nobody”: put files in a folder named after a profile's slug.",
    ]  # fmt: skip
    assert ImportBatch.objects.count() == 0


def test_the_sweep_is_on_the_beat_schedule():
    entry = django_settings.CELERY_BEAT_SCHEDULE["population-import-drop-folder"]
    assert entry["task"] == "caseload.tasks.population_import_sweep_task"
    assert entry["schedule"].total_seconds() == 300
    assert population_import_sweep_task.name == entry["task"]


def imported() -> bool:
    batch = ImportBatch.objects.first()
    return batch is not None and batch.status in (ImportBatch.Status.DONE, ImportBatch.Status.FAILED)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_drop_folder_through_a_real_celery_worker(drop, profiles, sample_practices, tmp_path):
    age(shutil.copy(ICB_SAMPLE, drop / "icb-risk" / "extract.csv"))
    env = {"IMPORT_DROP_DIR": str(drop), "IMPORT_DROP_MIN_AGE_SECONDS": "0"}
    with celery_worker(tmp_path, name="import-test", **env) as worker:
        population_import_sweep_task.delay()
        worker.wait_until(imported, what="import the file")

    batch = ImportBatch.objects.get()
    assert batch.status == ImportBatch.Status.DONE, batch.error_message
    assert batch.counts == {"rows": 60, "new": 60, "updated": 0, "unchanged": 0, "invalid": 0}
    assert Patient.objects.count() == 60
    assert RiskSnapshot.objects.filter(batch=batch).count() == 60
    (done,) = [p for p in (drop / "done").iterdir() if not p.name.endswith(".report.csv")]
    assert done.name.endswith("-icb-risk-extract.csv")
    assert Path(f"{done}.report.csv").exists()
    assert list((drop / "icb-risk").iterdir()) == []
