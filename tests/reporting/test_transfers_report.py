"""The transfers of care report's figures on a small hand-built data set."""

import pytest

from caseload.models import CareEvent
from reporting.periods import month
from reporting.reports import REPORTS
from reporting.reports.base import report_run
from tests.factories import PatientFactory
from tests.reporting.report_data import at, care_event, figure, figures, stamp

pytestmark = pytest.mark.django_db

REPORT = REPORTS["transfers"]


def event(patient, kind, received, triaged=None, outcome=""):
    made = care_event(patient, kind, received, triaged_at=triaged, outcome=outcome)
    return stamp(made, created_at=received)


@pytest.fixture
def transfers(practice_a, practice_b):
    pa, pb = PatientFactory(practice=practice_a), PatientFactory(practice=practice_b)
    Kind = CareEvent.Kind
    event(pa, Kind.ADMISSION, at("2026-11-01"), at("2026-11-01", 14), "acknowledged")  # 4 hours
    event(pa, Kind.DISCHARGE, at("2026-11-05"), at("2026-11-06"), "contact")  # 24 hours
    event(pb, Kind.AE_ATTENDANCE, at("2026-11-28"))  # waiting at the end of November
    event(pb, Kind.NHS_111, at("2026-10-30"), at("2026-11-02", 16), "task")  # 78 hours
    unmatched = CareEvent.objects.create(
        nhs_number="9990000018",
        kind=Kind.ADMISSION,
        occurred_at=at("2026-11-03"),
        provider="General Hospital",
    )
    stamp(unmatched, created_at=at("2026-11-03"))  # no patient yet: at no practice


def test_transfer_figures_for_november_with_october_beside_them(transfers, practice_a, practice_b):
    a, b = practice_a.pk, practice_b.pk
    result = report_run(report=REPORT, period=month(2026, 11), practice_ids=[a, b])
    assert figures(result) == {
        "received": (3, 1, {a: 2, b: 1}),
        "triaged": (3, 0, {a: 2, b: 1}),
        "waiting": (1, 1, {b: 1}),
        "median_hours_to_triage": (24, None, {a: 14, b: 78}),
    }
    assert figure(result, "median_hours_to_triage").change is None


def test_transfers_by_kind_and_outcome(transfers, practice_a, practice_b):
    ids, nov = [practice_a.pk, practice_b.pk], month(2026, 11)
    assert REPORT.measure("received").breakdown("kind", nov, ids) == [
        ("Hospital admission", 1), ("A&E attendance", 1), ("Hospital discharge", 1),
    ]  # fmt: skip
    assert REPORT.measure("triaged").breakdown("outcome", nov, ids) == [
        ("Acknowledged", 1), ("Contact recorded", 1), ("Task created", 1),
    ]  # fmt: skip
