"""Coding discrepancies: each kind listed when, and only when, the GP record (as the last recall dates
file showed it) disagrees after the lag; scoped to a practice of the user's; paginated, audited, CSV."""

import csv
import io
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from caseload.models import LongTermCondition
from pcn.models import AuditEvent
from recall.models import Appointment, RecallEntry
from recall.services.discrepancies import discrepancies, entry_problems
from tests.factories import PatientFactory
from tests.recall.conftest import YEAR, register

pytestmark = pytest.mark.django_db

State = RecallEntry.State
CHECKED = date(2026, 11, 1)  # the last recall dates file


@pytest.fixture(autouse=True)
def lag(settings):
    settings.RECALL_CODING_LAG_DAYS = 14


def entry(practice, name: str, state: str = State.DUE, key: str = "diabetes", **fields) -> RecallEntry:
    patient = PatientFactory(practice=practice, family_name=name, ltc_flags=LongTermCondition.DIABETES)
    return RecallEntry.objects.create(
        patient=patient, register=register(key), year=YEAR, state=state, due_month=date(2026, 6, 1), **fields
    )


def listed(user, practice, kind: str = "") -> list[tuple[str, list[str]]]:
    rows = discrepancies(user=user, practice=practice, year=YEAR, kind=kind)
    return [(e.patient.family_name, [p.kind for p in entry_problems(e)]) for e in rows]


def test_a_review_done_here_and_not_coded_after_the_lag(coordinator, practice_a):
    seen = {"state": State.SEEN, "seen_on": date(2026, 10, 1), "seen_source": "here"}
    entry(practice_a, "Absent", **seen, gp_checked_on=CHECKED, gp_last_review_on=date(2025, 9, 1))
    entry(practice_a, "Blank", **seen, gp_checked_on=CHECKED)
    entry(practice_a, "Coded", **seen, gp_checked_on=CHECKED, gp_last_review_on=date(2026, 10, 1))
    entry(practice_a, "Early", **seen, gp_checked_on=date(2026, 10, 15))  # only 14 days: within the lag
    entry(practice_a, "Unchecked", **seen)
    entry(
        practice_a,
        "Theirs",
        State.SEEN,
        seen_on=date(2026, 10, 1),
        seen_source="gp_record",
        gp_checked_on=CHECKED,
    )

    assert listed(coordinator.user, practice_a) == [("Absent", ["review"]), ("Blank", ["review"])]
    problem = entry_problems(discrepancies(user=coordinator.user, practice=practice_a, year=YEAR)[0])[0]
    assert problem.here == "Review done 01/10/2026"
    assert problem.gp_record == "Last review 01/09/2025 (checked 01/11/2026)"
    assert problem.fix == (
        "Code “Chronic disease management annual review completed” (SNOMED CT 888461000000107) dated "
        "01/10/2026 in the GP record."
    )


def test_an_invitation_logged_here_and_not_in_the_gp_record(coordinator, practice_a):
    invited = {"state": State.INVITED, "invitations": 1, "last_invited_on": date(2026, 9, 1)}
    entry(practice_a, "Missing", **invited, gp_checked_on=CHECKED)
    entry(practice_a, "Older", **invited, gp_checked_on=CHECKED, gp_last_invited_on=date(2026, 5, 1))
    entry(practice_a, "Coded", **invited, gp_checked_on=CHECKED, gp_last_invited_on=date(2026, 9, 1))
    entry(
        practice_a,
        "Recent",
        State.INVITED,
        invitations=1,
        last_invited_on=date(2026, 10, 20),
        gp_checked_on=CHECKED,
    )

    assert listed(coordinator.user, practice_a) == [("Missing", ["invitation"]), ("Older", ["invitation"])]
    problem = entry_problems(discrepancies(user=coordinator.user, practice=practice_a, year=YEAR)[0])[0]
    assert (
        problem.fix
        == "Code “Diabetes annual review invitation” dated 01/09/2026 with the practice's invitation code."
    )


def test_a_pca_here_with_no_pca_in_the_gp_record(coordinator, practice_a):
    pca = {"state": State.PCA, "pca_reason": "informed_dissent", "pca_on": date(2026, 9, 1)}
    entry(practice_a, "Uncoded", **pca, gp_checked_on=CHECKED)
    entry(practice_a, "Coded", **pca, gp_checked_on=CHECKED, gp_pca_on=date(2026, 9, 3))
    entry(practice_a, "Early", **pca, gp_checked_on=date(2026, 9, 10))

    assert listed(coordinator.user, practice_a) == [("Uncoded", ["pca"])]
    assert listed(coordinator.user, practice_a, kind="review") == []


def test_off_the_register_after_invitations_or_a_booking(coordinator, practice_a):
    closed = {"state": State.CLOSED, "closed_reason": "off_register", "closed_on": date(2026, 10, 1)}
    entry(practice_a, "Invited", **closed, invitations=2, last_invited_on=date(2026, 9, 1))
    booked = entry(practice_a, "Booked", **closed)
    entry(practice_a, "Untouched", **closed)
    entry(practice_a, "Deceased", State.CLOSED, closed_reason="deceased", invitations=1)
    appointment = Appointment.objects.create(
        patient=booked.patient,
        starts_at=datetime(2026, 9, 20, 10, tzinfo=UTC),
        role="nurse",
        booked_by=coordinator.user,
    )
    appointment.entries.add(booked)

    assert listed(coordinator.user, practice_a, kind="off_register") == [
        ("Booked", ["off_register"]),
        ("Invited", ["off_register"]),
    ]
    # Without the file, the invitation is not a discrepancy of its own (gp_checked_on is empty).
    assert listed(coordinator.user, practice_a) == [
        ("Booked", ["off_register"]),
        ("Invited", ["off_register"]),
    ]


def test_one_entry_can_have_several_problems(coordinator, practice_a):
    entry(
        practice_a, "Both", State.SEEN, seen_on=date(2026, 10, 1), seen_source="here", invitations=1,
        last_invited_on=date(2026, 9, 1), gp_checked_on=CHECKED,
    )  # fmt: skip
    assert listed(coordinator.user, practice_a) == [("Both", ["review", "invitation"])]
    assert listed(coordinator.user, practice_a, kind="invitation") == [("Both", ["review", "invitation"])]


@pytest.fixture
def mixed(practice_a, practice_b):
    seen = {
        "state": State.SEEN,
        "seen_on": date(2026, 10, 1),
        "seen_source": "here",
        "gp_checked_on": CHECKED,
    }
    ours = [entry(practice_a, f"Ours{n}", **seen) for n in range(3)]
    entry(practice_b, "Theirs", **seen)
    return ours


def test_the_page_lists_a_practice_of_the_users_and_audits_its_patients(
    mixed, sign_in_as, coordinator, practice_b
):
    client = sign_in_as(coordinator)

    response = client.get(reverse("recall:discrepancies"), {"year": YEAR})

    assert response.status_code == 200
    content = response.content.decode()
    assert content.count('data-testid="discrepancy-row"') == 3
    assert "Theirs" not in content
    event = AuditEvent.objects.get(action="recall.discrepancies.list")
    assert sorted(event.patients.values_list("pk", flat=True)) == sorted(e.patient_id for e in mixed)
    refused = client.get(reverse("recall:discrepancies"), {"practice": practice_b.pk})
    assert refused.context["page"] is None
    assert "Select one of your practices" in refused.content.decode()
    assert AuditEvent.objects.filter(action="recall.discrepancies.list").count() == 1


def test_the_csv_has_a_row_per_problem_escaped_and_audited(mixed, sign_in_as, coordinator):
    mixed[0].patient.given_name = "=cmd|' /C calc'!A0"
    mixed[0].patient.save()
    client = sign_in_as(coordinator)

    response = client.get(reverse("recall:discrepancies_csv"), {"year": YEAR})

    assert response["Content-Disposition"] == 'attachment; filename="coding-discrepancies-P99001.csv"'
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == [
        "NHS number",
        "Family name",
        "Given name",
        "Register",
        "Problem",
        "Here",
        "GP record",
        "Fix",
    ]
    assert [row[1] for row in rows[1:]] == ["Ours0", "Ours1", "Ours2"]
    assert rows[1][2] == "'=cmd|' /C calc'!A0"
    assert rows[1][4] == "Review done here, not in the GP record"
    event = AuditEvent.objects.get(action="recall.discrepancies.export")
    assert event.patients.count() == 3
    assert event.detail == {"rows": 3, "practice": "P99001", "year": YEAR, "kind": "all"}


def test_the_query_count_does_not_grow_with_rows(
    sign_in_as, coordinator, practice_a, django_assert_num_queries
):
    seen = {
        "state": State.SEEN,
        "seen_on": date(2026, 10, 1),
        "seen_source": "here",
        "gp_checked_on": CHECKED,
    }
    entry(practice_a, "First", **seen)
    client = sign_in_as(coordinator)
    client.get(reverse("recall:discrepancies"), {"year": YEAR})
    # session, user, device, memberships, practices (form: the first, the choices, the one chosen),
    # the count, the page, the audit ×2, memberships (header), the session saved (3)
    with django_assert_num_queries(15):
        assert client.get(reverse("recall:discrepancies"), {"year": YEAR}).status_code == 200
    for n in range(20):
        entry(practice_a, f"More{n}", **seen)
    with django_assert_num_queries(15):
        assert client.get(reverse("recall:discrepancies"), {"year": YEAR}).status_code == 200
