"""EHCH badges on lists: "PCSP due in N working days" / "PCSP overdue" on My caseload and in the MDT
agenda suggestions, worked out for a page of patients at once."""

from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from careplans.models import CarePlan, CarePlanVersion
from careplans.services.ehch import EhchDue, ehch_badges_for, ehch_pcsp_due, ehch_pcsp_due_for
from caseload.models import CareEvent
from mdt.models import Meeting, MeetingSeries
from mdt.services.suggestions import agenda_suggestions
from pcn.working_days import add_working_days
from tests.factories import CaseloadEpisodeFactory, PatientFactory

pytestmark = pytest.mark.django_db

# Tuesday 29 December 2026. Christmas Day is Friday 25 December; Boxing Day falls on Saturday 26, so
# Monday 28 December is the substitute bank holiday.
TODAY = date(2026, 12, 29)
NOW = datetime(2026, 12, 29, 9, 0, tzinfo=UTC)


def admit(patient, day: date) -> CareEvent:
    return CareEvent.objects.create(
        patient=patient, nhs_number=patient.nhs_number, kind=CareEvent.Kind.CARE_HOME_ADMISSION,
        occurred_at=datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC),
    )  # fmt: skip


def plan_version(patient, by, *, agreed_on, status=CarePlanVersion.Status.AGREED, number=1):
    plan, _ = CarePlan.objects.get_or_create(patient=patient)
    return CarePlanVersion.objects.create(
        plan=plan, number=number, status=status, agreed_on=agreed_on, agreed_by=by, created_by=by
    )


@pytest.fixture
def mix(practice_a, coordinator):
    """One patient in each state on 29 December 2026, and one never admitted to a care home."""
    people = {
        name: PatientFactory(practice=practice_a, family_name=name)
        for name in ("Dunn", "Oakley", "Tate", "Agard", "Lamb", "Noel", "Redd", "Drafts", "Onward")
    }
    by = coordinator.user
    # Friday 18 December + 7 working days: 21, 22, 23, 24, (25, 26, 27, 28 not working days), 29, 30, 31.
    admit(people["Dunn"], date(2026, 12, 18))
    # Thursday 17 December: due Wednesday 30 December, one working day away.
    admit(people["Onward"], date(2026, 12, 17))
    # Wednesday 16 December: due Tuesday 29 December, today.
    admit(people["Tate"], date(2026, 12, 16))
    # Monday 7 December: due Wednesday 16 December.
    for name in ("Oakley", "Agard", "Lamb", "Drafts"):
        admit(people[name], date(2026, 12, 7))
    plan_version(people["Agard"], by, agreed_on=date(2026, 12, 16))  # on the last day: done
    plan_version(people["Lamb"], by, agreed_on=date(2026, 12, 17))  # a day late
    plan_version(people["Drafts"], by, agreed_on=None, status=CarePlanVersion.Status.DRAFT)
    # Re-admitted: the latest admission counts, and the plan agreed after the first does not.
    admit(people["Redd"], date(2026, 9, 1))
    plan_version(people["Redd"], by, agreed_on=date(2026, 9, 3), status=CarePlanVersion.Status.SUPERSEDED)
    admit(people["Redd"], date(2026, 12, 18))
    return people


def test_seven_working_days_over_christmas_2026():
    assert add_working_days(date(2026, 12, 18), 7) == date(2026, 12, 31)


def test_batched_states_match_one_patient_at_a_time(mix):
    ids = [p.pk for p in mix.values()]

    batched = ehch_pcsp_due_for(patient_ids=ids, today=TODAY)

    assert batched == {
        mix["Dunn"].pk: EhchDue(date(2026, 12, 18), date(2026, 12, 31), "due", days_left=2),
        mix["Onward"].pk: EhchDue(date(2026, 12, 17), date(2026, 12, 30), "due", days_left=1),
        mix["Tate"].pk: EhchDue(date(2026, 12, 16), date(2026, 12, 29), "due", days_left=0),
        mix["Oakley"].pk: EhchDue(date(2026, 12, 7), date(2026, 12, 16), "overdue"),
        mix["Agard"].pk: EhchDue(date(2026, 12, 7), date(2026, 12, 16), "done", agreed_on=date(2026, 12, 16)),
        mix["Lamb"].pk: EhchDue(date(2026, 12, 7), date(2026, 12, 16), "late", agreed_on=date(2026, 12, 17)),
        mix["Drafts"].pk: EhchDue(date(2026, 12, 7), date(2026, 12, 16), "overdue"),
        mix["Redd"].pk: EhchDue(date(2026, 12, 18), date(2026, 12, 31), "due", days_left=2),
    }
    for patient in mix.values():
        assert batched.get(patient.pk) == ehch_pcsp_due(patient=patient, today=TODAY)
    assert ehch_pcsp_due(patient=mix["Noel"], today=TODAY) is None
    assert set(ehch_badges_for(patient_ids=ids, today=TODAY)) == {
        mix[name].pk for name in ("Dunn", "Onward", "Tate", "Oakley", "Drafts", "Redd")
    }


def test_the_deadline_counts_from_the_admission_day_in_london(patient):
    # 23:30 UTC on Thursday 2 July 2026 is 00:30 on Friday 3 July in London (BST): due Tuesday 14
    # July, where counting from the Thursday would give Monday 13 July.
    CareEvent.objects.create(
        patient=patient, nhs_number=patient.nhs_number, kind=CareEvent.Kind.CARE_HOME_ADMISSION,
        occurred_at=datetime(2026, 7, 2, 23, 30, tzinfo=UTC),
    )  # fmt: skip
    due = ehch_pcsp_due_for(patient_ids=[patient.pk], today=date(2026, 7, 6))[patient.pk]
    assert (due.admitted_on, due.due_on, due.days_left) == (date(2026, 7, 3), date(2026, 7, 14), 6)


def test_nothing_to_ask_without_patients(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert ehch_pcsp_due_for(patient_ids=[], today=TODAY) == {}


@pytest.mark.parametrize("count", [1, 10])
def test_batched_call_is_two_queries_however_many_patients(
    practice_a, coordinator, django_assert_num_queries, count
):
    patients = PatientFactory.create_batch(count, practice=practice_a)
    for patient in patients:
        admit(patient, date(2026, 12, 7))
        plan_version(patient, coordinator.user, agreed_on=date(2026, 12, 10))
    with django_assert_num_queries(2):
        states = ehch_pcsp_due_for(patient_ids=[p.pk for p in patients], today=TODAY)
    assert [states[p.pk].state for p in patients] == ["done"] * count


# --- My caseload ------------------------------------------------------------------------------------


def row_for(html: str, patient) -> str:
    rows = [r.split("</tr>")[0] for r in html.split('<tr class="nhsuk-table__row"')[1:]]
    [row] = [r for r in rows if patient.display_name in r]
    return row


@time_machine.travel(NOW, tick=False)
def test_my_caseload_shows_the_pcsp_tag_on_the_right_rows(sign_in_as, coordinator, mix):
    for patient in mix.values():
        CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)

    response = sign_in_as(coordinator).get(reverse("overview:my_caseload"))

    assert response.status_code == 200
    html = response.text
    expected = {
        "Dunn": "PCSP due in 2 working days",
        "Redd": "PCSP due in 2 working days",
        "Onward": "PCSP due in 1 working day<",
        "Tate": "PCSP due today",
        "Oakley": "PCSP overdue",
        "Drafts": "PCSP overdue",
    }
    for name, patient in mix.items():
        row = row_for(html, patient)
        if name in expected:
            assert expected[name] in row
            assert row.count("PCSP") == 1
        else:  # agreed on time or late, or never in a care home
            assert "PCSP" not in row
    assert 'nhsuk-tag--red">PCSP overdue' in row_for(html, mix["Oakley"])
    assert 'nhsuk-tag--orange">PCSP due today' in row_for(html, mix["Tate"])


@time_machine.travel(NOW, tick=False)
def test_my_caseload_query_count_does_not_grow_with_care_home_rows(
    sign_in_as, coordinator, practice_a, django_assert_num_queries
):
    # The page's 16 (tests/caseload/test_episodes.py), plus the agreed versions of the admitted: 17.
    def add_resident() -> None:
        patient = PatientFactory(practice=practice_a)
        admit(patient, date(2026, 12, 18))
        CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)

    client = sign_in_as(coordinator)
    add_resident()
    with django_assert_num_queries(17):
        client.get(reverse("overview:my_caseload"))
    for _ in range(20):
        add_resident()
    with django_assert_num_queries(17):
        response = client.get(reverse("overview:my_caseload"))
    assert response.text.count("PCSP due in 2 working days") == 21


# --- MDT agenda suggestions -------------------------------------------------------------------------


@pytest.fixture
def meeting(practice_a, coordinator, clinical_lead):
    """The series' first meeting, a week on Wednesday: suggestions look back 4 weeks from it."""
    series = MeetingSeries.objects.create(
        name="Frailty MDT", kind="frailty", weekday=2, start_time=time(13), chair=clinical_lead.user
    )
    series.practices.add(practice_a)
    series.members.add(coordinator.user)
    starts_at = datetime(2027, 1, 6, 13, 0, tzinfo=UTC)
    return Meeting.objects.create(
        series=series, starts_at=starts_at, scheduled_for=starts_at, circulate_at=starts_at
    )


def discharge(patient, day: date) -> CareEvent:
    return CareEvent.objects.create(
        patient=patient, nhs_number=patient.nhs_number, kind=CareEvent.Kind.DISCHARGE,
        occurred_at=datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC),
    )  # fmt: skip


@time_machine.travel(NOW, tick=False)
def test_suggestions_carry_the_pcsp_state(meeting, mix, coordinator, django_assert_num_queries):
    # Admitted 7 December, before the 4 weeks from 9 December: Oakley is suggested for a discharge.
    discharge(mix["Oakley"], date(2026, 12, 20))
    discharge(mix["Noel"], date(2026, 12, 21))
    coordinator.user.practice_ids()  # read once per request, before any view gets this far

    with django_assert_num_queries(7):  # six, and one for good news (tests/mdt/test_good_news.py)
        suggestions = agenda_suggestions(meeting=meeting, user=coordinator.user)

    states = {s["patient"].family_name: s["ehch"] and s["ehch"].state for s in suggestions}
    assert states == {
        "Dunn": "due",
        "Noel": None,
        "Oakley": "overdue",
        "Onward": "due",
        "Redd": "due",
        "Tate": "due",
    }
    dunn = next(s for s in suggestions if s["patient"] == mix["Dunn"])
    assert dunn["ehch"] == EhchDue(date(2026, 12, 18), date(2026, 12, 31), "due", days_left=2)


@time_machine.travel(NOW, tick=False)
def test_suggestions_query_count_does_not_grow(meeting, practice_a, coordinator, django_assert_num_queries):
    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            agenda_suggestions(meeting=meeting, user=coordinator.user)
        return len(queries)

    admit(PatientFactory(practice=practice_a), date(2026, 12, 18))
    coordinator.user.practice_ids()  # read once per request, before any view gets this far
    assert count() == 7
    for _ in range(9):
        admit(PatientFactory(practice=practice_a), date(2026, 12, 18))
    coordinator.user.practice_ids()  # read once per request, before any view gets this far
    assert count() == 7
    assert len(agenda_suggestions(meeting=meeting, user=coordinator.user)) == 10


@time_machine.travel(NOW, tick=False)
def test_meeting_page_shows_the_tag_on_suggestions(sign_in_as, coordinator, meeting, mix):
    discharge(mix["Oakley"], date(2026, 12, 20))
    discharge(mix["Noel"], date(2026, 12, 21))
    discharge(mix["Agard"], date(2026, 12, 22))

    response = sign_in_as(coordinator).get(reverse("mdt:meeting_detail", args=[meeting.pk]))

    assert response.status_code == 200
    table = response.text.split('data-testid="suggestions"')[1].split("</table>")[0]
    assert row_for(table, mix["Dunn"]).count("PCSP due in 2 working days") == 1
    assert "PCSP due today" in row_for(table, mix["Tate"])
    assert 'nhsuk-tag--red">PCSP overdue' in row_for(table, mix["Oakley"])
    assert "PCSP" not in row_for(table, mix["Noel"])
    assert "PCSP" not in row_for(table, mix["Agard"])  # agreed on time
