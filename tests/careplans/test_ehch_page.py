"""The care home residents' care plans page (EHCH): admissions at the user's practices with each
PCSP's state, the compliance figure, filters, CSV; scoped and audited."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from careplans.models import CarePlan, CarePlanVersion
from caseload.models import CareEvent
from pcn.models import AuditEvent
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 1, 21, 9, 0, tzinfo=UTC)


def admit(patient, day: date, home: str = "Beech House") -> CareEvent:
    return CareEvent.objects.create(
        patient=patient, nhs_number=patient.nhs_number, kind=CareEvent.Kind.CARE_HOME_ADMISSION,
        occurred_at=datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC), provider=home,
    )  # fmt: skip


def agree(patient, user, on: date) -> None:
    plan, _ = CarePlan.objects.get_or_create(patient=patient)
    CarePlanVersion.objects.create(
        plan=plan, number=1, status="agreed", agreed_on=on, agreed_by=user, created_by=user
    )


@pytest.fixture
def admissions(practice_a, practice_b, coordinator):
    on_time, late, overdue, due = (
        PatientFactory(practice=practice_a, family_name=name)
        for name in ("Ontime", "Late", "Overdue", "Stilldue")
    )
    for p in (on_time, late, overdue):
        admit(p, date(2026, 1, 5))  # due Wednesday 14 January
    admit(due, date(2026, 1, 20), home="=HYPERLINK(1)")
    admit(PatientFactory(practice=practice_b, family_name="Elsewhere"), date(2026, 1, 5))
    agree(on_time, coordinator.user, date(2026, 1, 14))
    agree(late, coordinator.user, date(2026, 1, 15))
    return {"on_time": on_time, "late": late, "overdue": overdue, "due": due}


@time_machine.travel(NOW, tick=False)
def test_page_shows_the_figure_and_each_admission_at_the_users_practices(sign_in_as, manager, admissions):
    response = sign_in_as(manager).get(reverse("careplans:ehch"))
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('data-testid="ehch-row"') == 4 and "ELSEWHERE" not in body
    # 1 on time of the 3 whose deadline has passed.
    assert "33% of those whose deadline has passed" in body
    assert "PCSP overdue" in body and "PCSP due in 6 working days" in body and "Agreed late" in body
    event = AuditEvent.objects.get(action="careplan.ehch")
    assert set(event.patients.values_list("pk", flat=True)) == {p.pk for p in admissions.values()}


@time_machine.travel(NOW, tick=False)
def test_filters_by_state_and_dates_and_refuses_reversed_dates(sign_in_as, coordinator, admissions):
    client = sign_in_as(coordinator)
    url = reverse("careplans:ehch")
    overdue = client.get(
        url, {"start": "2026-01-01", "end": "2026-01-21", "state": "overdue"}
    ).content.decode()
    assert overdue.count('data-testid="ehch-row"') == 1 and "OVERDUE" in overdue
    recent = client.get(url, {"start": "2026-01-15", "end": "2026-01-21"}).content.decode()
    assert recent.count('data-testid="ehch-row"') == 1 and "STILLDUE" in recent
    reversed_dates = client.get(url, {"start": "2026-01-21", "end": "2026-01-01"}).content.decode()
    assert "The end date must be on or after the start date" in reversed_dates
    assert 'data-testid="ehch-row"' not in reversed_dates


@time_machine.travel(NOW, tick=False)
def test_csv_is_escaped_and_audited(sign_in_as, manager, admissions):
    response = sign_in_as(manager).get(
        reverse("careplans:ehch_export"), {"start": "2026-01-01", "end": "2026-01-21"}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][-1] == "State" and len(rows) == 5
    by_name = {row[1]: row for row in rows[1:]}
    assert by_name["Overdue"][-3:] == ["14/01/2026", "", "Overdue"]
    assert by_name["Ontime"][-2:] == ["14/01/2026", "Agreed on time"]
    assert by_name["Stilldue"][4] == "'=HYPERLINK(1)"  # formula injection escaped
    assert AuditEvent.objects.filter(action="careplan.ehch_export").count() == 1


def test_page_with_no_admissions_says_so(sign_in_as, coordinator):
    body = sign_in_as(coordinator).get(reverse("careplans:ehch")).content.decode()
    assert 'data-testid="empty"' in body


@time_machine.travel(NOW, tick=False)
def test_query_count_does_not_grow_with_admissions(
    sign_in_as, manager, practice_a, django_assert_max_num_queries
):
    client = sign_in_as(manager)
    client.get(reverse("careplans:ehch"))  # warm the session and membership caches
    admit(PatientFactory(practice=practice_a), date(2026, 1, 12))

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("careplans:ehch"))
    for day in range(5, 16):
        admit(PatientFactory(practice=practice_a), date(2026, 1, day))
    with django_assert_max_num_queries(len(one)):
        client.get(reverse("careplans:ehch"))
