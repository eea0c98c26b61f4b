"""The call/recall report: exact figures on a small fixture with an entry in every state, scoping,
the by-month table, CSV and XLSX (escaped, with a cover sheet), audit and a fixed query count."""

import csv
import io
from datetime import date

import pytest
import time_machine
from django.urls import reverse
from openpyxl import load_workbook

from caseload.models import LongTermCondition
from pcn.models import AuditEvent, Role
from recall.models import RecallEntry
from recall.services.report import recall_report
from tests.factories import MembershipFactory, PatientFactory
from tests.recall.conftest import TODAY, YEAR, register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("frozen")]

State, Closed = RecallEntry.State, RecallEntry.ClosedReason


@pytest.fixture
def frozen():
    with time_machine.travel(date(2026, 12, 3), tick=False):
        yield


def entry(practice, due: date, state: str = State.DUE, key: str = "diabetes", year: int = YEAR, **fields):
    patient = PatientFactory(practice=practice, ltc_flags=LongTermCondition.DIABETES | LongTermCondition.COPD)
    return RecallEntry.objects.create(
        patient=patient, register=register(key), year=year, state=state, due_month=due, **fields
    )


@pytest.fixture
def every_state(practice_a, practice_b):
    """Diabetes at practice A in every state; one COPD review; one diabetic at practice B; one last year."""
    a = practice_a
    entry(a, date(2026, 6, 1))  # due so far, not invited
    entry(a, date(2027, 2, 1))  # not invited, not due yet
    entry(a, date(2026, 5, 1), State.INVITED, invitations=1, last_invited_on=date(2026, 5, 2))
    entry(a, date(2026, 4, 1), State.EXCEPTED, invitations=2, last_invited_on=date(2026, 4, 20))
    entry(a, date(2026, 7, 1), State.EXCEPTED, invitations=3, last_invited_on=date(2026, 8, 1))
    entry(a, date(2026, 8, 1), State.BOOKED, invitations=1)
    entry(a, date(2026, 9, 1), State.SEEN, seen_on=date(2026, 9, 9), seen_source="here")
    for reason in RecallEntry.PcaReason:
        entry(a, date(2026, 10, 1), State.PCA, pca_reason=reason, pca_on=date(2026, 10, 2))
    entry(a, date(2026, 11, 1), State.CLOSED, closed_reason=Closed.DECEASED, closed_on=date(2026, 11, 5))
    entry(a, date(2027, 1, 1), State.CLOSED, closed_reason=Closed.LEFT, closed_on=date(2026, 11, 6))
    entry(a, date(2026, 6, 1), State.CLOSED, closed_reason=Closed.OFF_REGISTER, invitations=1)
    entry(a, date(2026, 9, 1), State.SEEN, key="copd", seen_on=date(2026, 9, 1), seen_source="gp_record")
    entry(a, date(2025, 6, 1), year=YEAR - 1)  # last year's: in no figure of this year
    entry(practice_b, date(2026, 6, 1))


DIABETES_A = {
    "on_register": 14, "due_so_far": 12, "not_invited": 2, "invited_1": 1, "invited_2": 1, "invited_3": 1,
    "excepted": 2, "booked": 1, "seen": 1, "pca_unsuitable": 1, "pca_informed_dissent": 1,
    "pca_no_response": 1, "pca_service_unavailable": 1, "pca_newly_diagnosed": 1, "closed_deceased": 1,
    "closed_left": 1, "off_register": 1,
}  # fmt: skip
ZERO = dict.fromkeys(DIABETES_A, 0)
MONTH_ZERO = {key: 0 for key in DIABETES_A if key != "due_so_far"}
COPD_A = {**ZERO, "on_register": 1, "due_so_far": 1, "seen": 1}
DIABETES_B = {**ZERO, "on_register": 1, "due_so_far": 1, "not_invited": 1}


def test_every_figure_for_a_coordinators_practice(every_state, coordinator):
    report = recall_report(user=coordinator.user, year=YEAR, today=TODAY)

    assert [(row.register.key, row.practice.ods_code, row.counts.values) for row in report.rows] == [
        ("diabetes", "P99001", DIABETES_A),
        ("copd", "P99001", COPD_A),
    ]
    diabetes = report.rows[0].counts
    states = [
        "not_invited",
        "invited_1",
        "invited_2",
        "invited_3",
        "booked",
        "seen",
        "closed_deceased",
        "closed_left",
    ]
    assert sum(diabetes[key] for key in states) + diabetes.pca == diabetes["on_register"]
    assert (diabetes.pca, diabetes.closed) == (5, 2)


def test_the_by_month_table_counts_each_due_month(every_state, coordinator):
    report = recall_report(user=coordinator.user, year=YEAR, today=TODAY)

    months = {month: counts for month, counts in report.by_month}
    assert list(months) == [date(2026, m, 1) for m in range(4, 12)] + [date(2027, 1, 1), date(2027, 2, 1)]
    assert months[date(2026, 4, 1)].values == {**MONTH_ZERO, "on_register": 1, "invited_2": 1, "excepted": 1}
    assert months[date(2026, 6, 1)].values == {
        **MONTH_ZERO,
        "on_register": 1,
        "not_invited": 1,
        "off_register": 1,
    }
    assert months[date(2026, 9, 1)].values == {**MONTH_ZERO, "on_register": 2, "seen": 2}
    assert months[date(2026, 10, 1)].pca == 5
    assert "due_so_far" not in months[date(2026, 4, 1)].values

    only_copd = recall_report(user=coordinator.user, year=YEAR, today=TODAY, register=register("copd"))
    assert [(month, counts["seen"]) for month, counts in only_copd.by_month] == [(date(2026, 9, 1), 1)]


def test_a_manager_at_every_practice_sees_each_and_a_total(every_state, manager, practice_b):
    MembershipFactory(user=manager.user, practice=practice_b, role=Role.MANAGER)
    manager.user.refresh_from_db()

    report = recall_report(user=manager.user, year=YEAR, today=TODAY)

    rows = [(row.register.key, row.practice.ods_code if row.practice else None) for row in report.rows]
    # Practices by name: Castle Street (B) before Riverside (A).
    assert rows == [("diabetes", "P99002"), ("diabetes", "P99001"), ("diabetes", None), ("copd", "P99001")]
    assert report.rows[0].counts.values == DIABETES_B
    assert report.rows[1].counts.values == DIABETES_A
    assert report.rows[2].counts["on_register"] == 15
    assert report.rows[2].counts["not_invited"] == 3
    one = recall_report(user=manager.user, year=YEAR, today=TODAY, practice=practice_b)
    assert [(row.register.key, row.counts.values) for row in one.rows] == [("diabetes", DIABETES_B)]


def test_last_year_is_chosen_by_its_year(every_state, coordinator):
    report = recall_report(user=coordinator.user, year=YEAR - 1, today=TODAY)
    assert [
        (row.register.key, row.counts["on_register"], row.counts["due_so_far"]) for row in report.rows
    ] == [("diabetes", 1, 1)]


def test_the_page_shows_the_figures_and_is_audited_without_patients(every_state, sign_in_as, coordinator):
    client = sign_in_as(coordinator)

    response = client.get(reverse("recall:report"))

    assert response.status_code == 200
    content = response.content.decode()
    assert content.count('data-testid="report-row"') == 2
    assert content.count('data-testid="month-row"') == 10
    assert "Excepted but still due" in content
    event = AuditEvent.objects.get(action="recall.report.view")
    assert event.user == coordinator.user
    assert event.detail == {"year": "2026/27", "practice": "all", "register": "all"}
    assert event.patients.count() == 0


def test_another_practice_cannot_be_chosen(every_state, sign_in_as, coordinator, practice_b):
    client = sign_in_as(coordinator)

    response = client.get(reverse("recall:report"), {"practice": practice_b.pk})

    assert response.status_code == 200
    assert response.context["report"] is None
    assert "Select one of your practices" in response.content.decode()
    assert not AuditEvent.objects.filter(action__startswith="recall.report").exists()
    assert client.get(reverse("recall:report_csv"), {"practice": practice_b.pk}).status_code == 302
    assert not AuditEvent.objects.filter(action__startswith="recall.report").exists()


def test_the_query_count_does_not_grow_with_entries(
    sign_in_as, coordinator, practice_a, django_assert_num_queries
):
    client = sign_in_as(coordinator)
    entry(practice_a, date(2026, 6, 1))
    client.get(reverse("recall:report"))  # warm up (the session, the content types)
    # session, user, device, memberships, practices (form), practices (report), two aggregates,
    # registers, the audit event, memberships (header), registers (form), the session saved (3)
    with django_assert_num_queries(15):
        assert client.get(reverse("recall:report")).status_code == 200
    for month in (4, 5, 7, 8):
        entry(practice_a, date(2026, month, 1), key="copd")
        entry(practice_a, date(2026, month, 1), State.INVITED, invitations=1)
    with django_assert_num_queries(15):
        assert client.get(reverse("recall:report")).status_code == 200


def test_csv_is_the_register_table_and_escapes_formulas(every_state, sign_in_as, coordinator):
    diabetes = register("diabetes")
    diabetes.name = "=HYPERLINK(evil)"
    diabetes.save()
    client = sign_in_as(coordinator)

    response = client.get(reverse("recall:report_csv"), {"year": YEAR})

    assert response["Content-Disposition"] == 'attachment; filename="recall-report-2026-27.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:5] == ["Register", "Practice", "ODS code", "On register", "Due so far"]
    assert rows[1] == ["'=HYPERLINK(evil)", "Riverside Surgery", "P99001", "14", "12", "2", "1", "1", "1", "2",
                       "1", "1", "1", "1", "1", "1", "1", "1", "1", "1"]  # fmt: skip
    assert rows[2][:5] == ["COPD", "Riverside Surgery", "P99001", "1", "1"]
    assert len(rows) == 3
    event = AuditEvent.objects.get(action="recall.report.export")
    assert event.detail == {"format": "csv", "table": "register", "year": "2026/27", "practice": "all",
                            "register": "all"}  # fmt: skip

    by_month = client.get(reverse("recall:report_csv"), {"table": "month"})
    month_rows = list(csv.reader(io.StringIO(b"".join(by_month.streaming_content).decode())))
    assert month_rows[0][:3] == ["Due month", "On register", "Not yet invited"]
    assert month_rows[1][:3] == ["April 2026", "1", "0"]
    assert len(month_rows) == 11


def test_xlsx_has_a_cover_and_a_sheet_per_table(every_state, sign_in_as, coordinator, tmp_path):
    diabetes = register("diabetes")
    diabetes.name = "@SUM(1)"
    diabetes.save()
    client = sign_in_as(coordinator)

    response = client.get(reverse("recall:report_xlsx"))

    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["About", "By register and practice", "By due month"]
    cover = [list(row) for row in workbook["About"].iter_rows(values_only=True)]
    assert cover[0][0] == "Call/recall report"
    assert cover[1] == ["QOF year", "2026/27"]
    assert cover[2] == ["Practices", "Riverside Surgery"]
    assert cover[5] == ["Made by", "Cara Coordinator"]
    assert cover[6] == ["Made at", "03/12/2026 00:00"]
    table = [list(row) for row in workbook["By register and practice"].iter_rows(values_only=True)]
    assert table[1][:6] == ["'@SUM(1)", "Riverside Surgery", "P99001", 14, 12, 2]
    months = [list(row) for row in workbook["By due month"].iter_rows(values_only=True)]
    assert months[1][:3] == ["April 2026", 1, 0]
    assert AuditEvent.objects.get(action="recall.report.export").detail["format"] == "xlsx"
