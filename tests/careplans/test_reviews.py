"""Care plan reviews and EHCH timeliness: working days, the review sweep, the reviews-due list."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from careplans.models import CarePlan, CarePlanVersion
from careplans.services.ehch import ehch_compliance, ehch_pcsp_due
from careplans.services.reviews import care_plan_reviews_sweep
from careplans.tasks import care_plan_reviews_sweep_task
from caseload.models import CareEvent, Task
from pcn.models import AuditEvent
from pcn.working_days import add_working_days, working_days_between
from tests.factories import CaseloadEpisodeFactory, PatientFactory

pytestmark = pytest.mark.django_db


def agreed_plan(patient, by, *, review_date=None, agreed_on=date(2026, 1, 5), number=1):
    plan, _ = CarePlan.objects.get_or_create(patient=patient)
    return CarePlanVersion.objects.create(
        plan=plan, number=number, status=CarePlanVersion.Status.AGREED, review_date=review_date,
        agreed_on=agreed_on, agreed_by=by, created_by=by,
    )  # fmt: skip


def admit(patient, day: date) -> CareEvent:
    return CareEvent.objects.create(
        patient=patient, nhs_number=patient.nhs_number, kind=CareEvent.Kind.CARE_HOME_ADMISSION,
        occurred_at=datetime(day.year, day.month, day.day, 11, 0, tzinfo=UTC),
    )  # fmt: skip


# --- Working days ------------------------------------------------------------------------------------


def test_seven_working_days_over_christmas_and_new_year():
    # Wednesday 24 December 2025: 25, 26 December and 1 January are bank holidays, plus two weekends.
    assert add_working_days(date(2025, 12, 24), 7) == date(2026, 1, 7)
    assert working_days_between(date(2025, 12, 24), date(2026, 1, 7)) == 7


def test_working_days_over_a_weekend_and_easter():
    assert add_working_days(date(2026, 1, 9), 1) == date(2026, 1, 12)  # Friday → Monday
    # Easter 2026: Good Friday 3 April and Easter Monday 6 April.
    assert add_working_days(date(2026, 4, 2), 1) == date(2026, 4, 7)
    assert working_days_between(date(2026, 4, 2), date(2026, 4, 7)) == 1
    assert working_days_between(date(2026, 4, 7), date(2026, 4, 2)) == -1
    assert working_days_between(date(2026, 4, 7), date(2026, 4, 7)) == 0


# --- The review sweep --------------------------------------------------------------------------------


@time_machine.travel(datetime(2026, 3, 2, 7, 0, tzinfo=UTC), tick=False)
def test_sweep_makes_one_task_per_plan_even_when_run_twice(patient, coordinator, clinical_lead):
    CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    due = agreed_plan(patient, clinical_lead.user, review_date=date(2026, 3, 2))
    no_episode = PatientFactory(practice=patient.practice)
    late = agreed_plan(no_episode, clinical_lead.user, review_date=date(2026, 2, 1))
    agreed_plan(PatientFactory(practice=patient.practice), clinical_lead.user, review_date=date(2026, 3, 3))

    assert care_plan_reviews_sweep(today=date(2026, 3, 2)) == 2
    assert care_plan_reviews_sweep(today=date(2026, 3, 2)) == 0

    tasks = Task.objects.filter(kind=Task.Kind.CARE_PLAN_REVIEW)
    assert tasks.count() == 2
    # The open episode's coordinator owns it; without an episode, whoever agreed the plan.
    assert tasks.get(patient=patient).owner == coordinator.user
    assert tasks.get(patient=patient).due_on == date(2026, 3, 2)
    assert tasks.get(patient=no_episode).owner == clinical_lead.user
    due.refresh_from_db()
    late.refresh_from_db()
    assert due.review_task_created_at == datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    assert late.review_task_created_at is not None


def test_sweep_skips_drafts(patient, coordinator):
    version = agreed_plan(patient, coordinator.user, review_date=date(2026, 1, 1))
    CarePlanVersion.objects.filter(pk=version.pk).update(status=CarePlanVersion.Status.DRAFT)
    assert care_plan_reviews_sweep(today=date(2026, 3, 2)) == 0


def test_beat_schedule_runs_the_sweep(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["careplans-reviews-sweep"]
    assert entry["task"] == care_plan_reviews_sweep_task.name
    assert care_plan_reviews_sweep_task.acks_late


# --- EHCH: a PCSP within 7 working days of a care home admission ----------------------------------------


def test_ehch_none_without_an_admission(patient):
    assert ehch_pcsp_due(patient=patient) is None


def test_ehch_due_overdue_and_done(patient, coordinator):
    admit(patient, date(2025, 12, 24))
    due_on, state = ehch_pcsp_due(patient=patient, today=date(2025, 12, 29))
    assert (due_on, state) == (date(2026, 1, 7), "due")
    assert ehch_pcsp_due(patient=patient, today=date(2025, 12, 29)).days_left == 6
    assert tuple(ehch_pcsp_due(patient=patient, today=date(2026, 1, 8))) == (date(2026, 1, 7), "overdue")
    agreed_plan(patient, coordinator.user, agreed_on=date(2026, 1, 7))
    assert tuple(ehch_pcsp_due(patient=patient, today=date(2026, 1, 8))) == (date(2026, 1, 7), "done")


def test_ehch_plan_agreed_before_the_admission_does_not_count(patient, coordinator):
    agreed_plan(patient, coordinator.user, agreed_on=date(2025, 11, 1))
    admit(patient, date(2025, 12, 24))
    assert ehch_pcsp_due(patient=patient, today=date(2026, 1, 8)).state == "overdue"


def test_ehch_compliance_counts(practice_a, practice_b, coordinator):
    on_time, late, overdue, due = (PatientFactory(practice=practice_a) for _ in range(4))
    for p in (on_time, late, overdue):
        admit(p, date(2026, 1, 5))  # due Wednesday 14 January
    admit(due, date(2026, 1, 20))
    admit(PatientFactory(practice=practice_b), date(2026, 1, 5))  # another practice
    agreed_plan(on_time, coordinator.user, agreed_on=date(2026, 1, 14))
    agreed_plan(late, coordinator.user, agreed_on=date(2026, 1, 15))
    counts = ehch_compliance(
        practice_ids=[practice_a.pk], start=date(2026, 1, 1), end=date(2026, 1, 31), today=date(2026, 1, 21)
    )
    assert counts == {
        "admissions": 4,
        "on_time": 1,
        "late": 2,
        "overdue": 1,
        "still_due": 1,
        "percent_on_time": 33,
    }


@time_machine.travel(datetime(2026, 1, 6, 9, 0, tzinfo=UTC), tick=False)
def test_patient_page_shows_the_pcsp_badge(sign_in_as, coordinator, patient):
    admit(patient, date(2026, 1, 5))  # due 14 January: 6 working days from Tuesday 6 January
    response = sign_in_as(coordinator).get(reverse("overview:patient_detail", args=[patient.pk]))
    assert "PCSP due in 6 working days" in response.text
    with time_machine.travel(datetime(2026, 1, 15, 9, 0, tzinfo=UTC), tick=False):
        response = sign_in_as(coordinator).get(reverse("overview:patient_detail", args=[patient.pk]))
    assert "PCSP overdue" in response.text


# --- The reviews-due list ----------------------------------------------------------------------------


@pytest.fixture
def reviews(patient, coordinator, clinical_lead, outsider, practice_a, practice_b):
    """Plans at practice A: mine overdue, mine in 10 days, mine in 20 days (not listed), a lead's
    (no episode); and one at practice B."""
    mine = [patient, PatientFactory(practice=practice_a), PatientFactory(practice=practice_a)]
    for p in mine:
        CaseloadEpisodeFactory(patient=p, coordinator=coordinator.user)
    agreed_plan(mine[0], clinical_lead.user, review_date=date(2026, 2, 20))
    agreed_plan(mine[1], clinical_lead.user, review_date=date(2026, 3, 12))
    agreed_plan(mine[2], clinical_lead.user, review_date=date(2026, 3, 22))
    leads = PatientFactory(practice=practice_a)
    agreed_plan(leads, clinical_lead.user, review_date=date(2026, 3, 1))
    elsewhere = PatientFactory(practice=practice_b)
    agreed_plan(elsewhere, outsider.user, review_date=date(2026, 3, 1))
    return {"mine": mine, "leads": leads, "elsewhere": elsewhere}


def listed(response) -> list[int]:
    return [v.plan.patient_id for v in response.context["versions"]]


@time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False)
def test_coordinator_sees_their_own_reviews_due(sign_in_as, coordinator, reviews):
    response = sign_in_as(coordinator).get(reverse("careplans:reviews_due"))
    assert response.status_code == 200
    assert listed(response) == [reviews["mine"][0].pk, reviews["mine"][1].pk]
    assert "Overdue" in response.text
    event = AuditEvent.objects.get(action="careplan.reviews_due")
    assert set(event.patient_links.values_list("patient_id", flat=True)) == set(listed(response))


@time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False)
def test_lead_sees_everyone_at_their_practices_and_filters(sign_in_as, clinical_lead, coordinator, reviews):
    client = sign_in_as(clinical_lead)
    response = client.get(reverse("careplans:reviews_due"))
    assert listed(response) == [reviews["mine"][0].pk, reviews["leads"].pk, reviews["mine"][1].pk]
    response = client.get(reverse("careplans:reviews_due"), {"coordinator": coordinator.user.pk})
    assert listed(response) == [reviews["mine"][0].pk, reviews["mine"][1].pk]


@time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False)
def test_outsider_does_not_see_practice_a(sign_in_as, outsider, reviews):
    response = sign_in_as(outsider).get(reverse("careplans:reviews_due"))
    assert listed(response) == [reviews["elsewhere"].pk]


@time_machine.travel(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), tick=False)
def test_reviews_due_query_count_is_fixed(sign_in_as, manager, clinical_lead, practice_a):
    client = sign_in_as(manager)
    url = reverse("careplans:reviews_due")
    client.get(url)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    for _ in range(2):
        agreed_plan(PatientFactory(practice=practice_a), clinical_lead.user, review_date=date(2026, 3, 1))
    few = count()
    for _ in range(5):
        agreed_plan(PatientFactory(practice=practice_a), clinical_lead.user, review_date=date(2026, 3, 1))
    assert count() == few
