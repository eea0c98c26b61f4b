"""bench/pcn_year.py, the year of a PCN's activity the report benchmarks run on: it adds every kind of
record, the reports count what it adds, and it is the same for the same seed."""

import importlib
import sys
from datetime import date
from pathlib import Path

import pytest
import time_machine
from django.db import transaction

from caseload.models import CaseloadEpisode, Contact, Patient
from demo.services import demo_pcn_seed
from pcn.models import Practice
from reporting.periods import qof_year
from reporting.reports import REPORTS
from reporting.reports.base import report_run

pytestmark = pytest.mark.django_db

TODAY = date(2026, 11, 18)


@pytest.fixture
def pcn_year_seed(settings):
    settings.DEMO_MODE = True
    sys.path.insert(0, str(Path(settings.BASE_DIR) / "bench"))
    try:
        yield importlib.import_module("pcn_year").pcn_year_seed
    finally:
        sys.path.remove(str(Path(settings.BASE_DIR) / "bench"))


def test_a_year_of_every_kind_counted_by_the_reports(pcn_year_seed):
    with time_machine.travel(TODAY, tick=False):
        demo_pcn_seed(patients=1500, on=TODAY)
        contacts_before = Contact.objects.count()
        free = Patient.objects.filter(is_deceased=False).exclude(
            pk__in=CaseloadEpisode.objects.values("patient_id")
        )
        expected_episodes = free.count() // 50  # 2 in 100 of those not on a caseload yet
        added = pcn_year_seed(seed=3, today=TODAY)
        practice_ids = list(Practice.objects.values_list("pk", flat=True))
        result = report_run(report=REPORTS["contacts"], period=qof_year(2026), practice_ids=practice_ids)
    assert set(added) == {
        "episodes", "contacts", "PAM scores", "signposting", "support given", "referrals", "care plans",
        "care plan reviews", "transfers of care", "MDT meetings", "agenda items", "MDT actions", "feedback",
    }  # fmt: skip
    assert all(n > 0 for n in added.values()), added
    assert added["episodes"] == expected_episodes
    assert Contact.objects.count() == contacts_before + added["contacts"]
    in_year = Contact.objects.filter(contact_at__date__gte=date(2026, 4, 1)).count()
    assert result.figures[0].measure.key == "contacts" and result.figures[0].total == in_year


def _contacts() -> list[tuple]:
    return sorted(
        Contact.objects.values_list("patient__nhs_number", "contact_at", "method", "duration_minutes")
    )


def test_the_same_seed_gives_the_same_year(pcn_year_seed):
    with time_machine.travel(TODAY, tick=False):
        demo_pcn_seed(patients=600, on=TODAY)
        before = transaction.savepoint_create()
        first = pcn_year_seed(seed=3, today=TODAY), _contacts()
        transaction.savepoint_rollback(before)
        second = pcn_year_seed(seed=3, today=TODAY), _contacts()
        transaction.savepoint_rollback(before)
        other = pcn_year_seed(seed=4, today=TODAY), _contacts()
    assert first == second
    assert first[1] != other[1]
