"""A population import that changes conditions keeps the recall year in step (through the sweep task,
queued once the import has committed)."""

import pytest
import time_machine

from caseload.models import LongTermCondition, Patient
from caseload.services.import_runs import population_import_file
from recall.models import RecallEntry
from tests.caseload.import_helpers import EMIS_SAMPLE

pytest_plugins = ["tests.caseload.import_fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root", "eager_celery")]


@time_machine.travel("2026-12-03 10:00 +0000", tick=False)
def test_an_import_fills_the_registers_it_names(
    profiles, sample_practices, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        population_import_file(path=EMIS_SAMPLE, profile=profiles["emis-search"])

    assert len(callbacks) >= 1
    # 999 001 0498 has atrial fibrillation in the export: now on the AF register for 2026/27.
    green = Patient.objects.get(nhs_number="9990010498")
    assert sorted(
        RecallEntry.objects.filter(patient=green).values_list("register__key", "year", "state")
    ) == [
        ("af", 2026, "due"),
        ("cervical_screening", 2026, "due"),  # a woman of 34
    ]
    copd = [p.pk for p in Patient.objects.all() if p.ltc_flags & LongTermCondition.COPD]
    assert len(copd) > 1
    on_register = RecallEntry.objects.filter(register__key="copd").values_list("patient_id", flat=True)
    assert sorted(on_register) == sorted(copd)


@time_machine.travel("2026-12-03 10:00 +0000", tick=False)
def test_a_dry_run_changes_no_register(profiles, sample_practices, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        population_import_file(path=EMIS_SAMPLE, profile=profiles["emis-search"], dry_run=True)

    assert not RecallEntry.objects.exists()
