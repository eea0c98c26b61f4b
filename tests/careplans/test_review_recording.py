"""Recording a review of the current care plan: no changes (next review date, the sweep starts again)
or changes needed (a new draft); the review task is done, the coding export gets "reviewed", and the
patient's timeline shows the plan's versions and reviews."""

import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from careplans.models import CarePlanReview, CarePlanVersion
from careplans.services.plans import care_plan_agree, care_plan_draft, care_plan_save
from careplans.services.reviews import PCSP_REVIEWED, care_plan_review, care_plan_reviews_sweep
from caseload.models import ActivationMeasure, CodingEntry, Task
from overview.timeline import patient_timeline
from pcn.models import AuditEvent
from tests.factories import CaseloadEpisodeFactory

pytestmark = pytest.mark.django_db


def agreed(patient, user, *, on: date, review_date: date | None = None) -> CarePlanVersion:
    draft = care_plan_draft(patient=patient, by=user)
    if review_date is not None:
        care_plan_save(
            version=draft, data={"review_date": review_date}, lock_version=draft.lock_version, by=user
        )
    return care_plan_agree(
        version=draft, agreed_on=on, agreed_how="in_person", agreed_with="patient", by=user
    )


@time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), tick=False)
def test_no_change_review_moves_the_review_date_completes_the_task_and_codes_it(patient, coordinator):
    user = coordinator.user
    CaseloadEpisodeFactory(patient=patient, coordinator=user)
    version = agreed(patient, user, on=date(2025, 12, 1), review_date=date(2026, 5, 29))
    assert care_plan_reviews_sweep(today=date(2026, 6, 1)) == 1
    task = Task.objects.get(patient=patient, kind=Task.Kind.CARE_PLAN_REVIEW)

    review, draft = care_plan_review(
        version=version, reviewed_on=date(2026, 6, 1), reviewed_how="phone", reviewed_with="carer",
        outcome="no_change", next_review_date=date(2026, 12, 1), notes="All going well", by=user,
    )  # fmt: skip

    assert draft is None
    version.refresh_from_db()
    # The content agreed with the person is untouched: same status, same lock version.
    assert (version.status, version.review_date, version.review_task_created_at) == (
        "agreed",
        date(2026, 12, 1),
        None,
    )
    task.refresh_from_db()
    assert task.done_at is not None and task.done_by == user
    entry = CodingEntry.objects.get(source=f"careplanreview:{review.pk}")
    assert (entry.term, entry.snomed_id, entry.coded_on) == (PCSP_REVIEWED.term, "", date(2026, 6, 1))
    # The sweep starts again from the new date: nothing now, one new task when it comes.
    assert care_plan_reviews_sweep(today=date(2026, 6, 2)) == 0
    assert care_plan_reviews_sweep(today=date(2026, 12, 1)) == 1


@time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), tick=False)
def test_changes_needed_review_starts_a_draft_from_the_agreed_version(patient, coordinator):
    user = coordinator.user
    version = agreed(patient, user, on=date(2026, 1, 5))
    CarePlanVersion.objects.filter(pk=version.pk).update(about_me="I like the allotment")
    review, draft = care_plan_review(
        version=version, reviewed_on=date(2026, 6, 1), reviewed_how="in_person", reviewed_with="patient",
        outcome="changes", by=user,
    )  # fmt: skip
    assert review.outcome == CarePlanReview.Outcome.CHANGES
    assert (draft.number, draft.status, draft.about_me) == (2, "draft", "I like the allotment")
    assert CodingEntry.objects.filter(source=f"careplanreview:{review.pk}", term=PCSP_REVIEWED.term).exists()


@time_machine.travel(datetime(2026, 6, 1, 9, 0, tzinfo=UTC), tick=False)
@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"reviewed_on": date(2026, 6, 2)}, "future"),
        ({"reviewed_on": date(2026, 1, 1)}, "before_agreed"),
        ({"next_review_date": None}, "next_review_required"),
        ({"next_review_date": date(2026, 6, 1)}, "next_review_past"),
        ({"outcome": "maybe"}, "outcome"),
    ],
)
def test_review_is_refused_with_a_reason(patient, coordinator, changes, code):
    version = agreed(patient, coordinator.user, on=date(2026, 1, 5))
    values = {
        "reviewed_on": date(2026, 6, 1), "reviewed_how": "phone", "reviewed_with": "patient",
        "outcome": "no_change", "next_review_date": date(2026, 12, 1),
    } | changes  # fmt: skip
    with pytest.raises(ValidationError) as error:
        care_plan_review(version=version, by=coordinator.user, **values)
    assert error.value.code == code
    assert (
        not CarePlanReview.objects.exists()
        and not CodingEntry.objects.filter(term=PCSP_REVIEWED.term).exists()
    )


def test_a_draft_or_superseded_version_cannot_be_reviewed(patient, coordinator):
    user = coordinator.user
    first = agreed(patient, user, on=timezone.localdate())
    second = agreed(patient, user, on=timezone.localdate())
    first.refresh_from_db()
    draft = care_plan_draft(patient=patient, by=user)
    for version in (first, draft):
        with pytest.raises(ValidationError) as error:
            care_plan_review(
                version=version, reviewed_on=timezone.localdate(), reviewed_how="phone", reviewed_with="patient",
                outcome="changes", by=user,
            )  # fmt: skip
        assert error.value.code == "not_current"
    assert second.status == "agreed"


def test_review_page_records_a_review_and_says_when_the_next_is(sign_in_as, patient, coordinator):
    user = coordinator.user
    version = agreed(patient, user, on=timezone.localdate() - timedelta(days=180))
    client = sign_in_as(coordinator)
    url = reverse("careplans:review", args=[version.pk])
    page = client.get(url)
    assert page.status_code == 200 and "Record the review" in page.content.decode()

    # Missing the next review date with "no changes": the form says so and nothing is recorded.
    base = {
        "reviewed_on": timezone.localdate().isoformat(),
        "reviewed_how": "phone",
        "reviewed_with": "patient",
    }
    refused = client.post(url, base | {"outcome": "no_change"})
    assert refused.status_code == 200
    assert "Enter the date of the next review" in refused.content.decode()
    assert not CarePlanReview.objects.exists()

    next_review = timezone.localdate() + timedelta(days=182)
    response = client.post(
        url, base | {"outcome": "no_change", "next_review_date": next_review.isoformat()}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("careplans:plan", args=[patient.pk])
    body = response.content.decode()
    assert "Review recorded" in body and 'data-testid="reviews"' in body
    assert AuditEvent.objects.filter(action="careplan.review", patients=patient).count() == 1


def test_review_page_with_changes_goes_to_the_new_draft(sign_in_as, patient, coordinator):
    version = agreed(patient, coordinator.user, on=timezone.localdate())
    client = sign_in_as(coordinator)
    response = client.post(
        reverse("careplans:review", args=[version.pk]),
        {"reviewed_on": timezone.localdate().isoformat(), "reviewed_how": "video", "reviewed_with": "advocate",
         "outcome": "changes"},
    )  # fmt: skip
    draft = CarePlanVersion.objects.get(plan__patient=patient, status="draft")
    assert response.status_code == 302 and response["Location"] == reverse("careplans:edit", args=[draft.pk])


def test_review_page_of_a_draft_sends_back_to_the_plan(sign_in_as, patient, coordinator):
    draft = care_plan_draft(patient=patient, by=coordinator.user)
    response = sign_in_as(coordinator).get(reverse("careplans:review", args=[draft.pk]))
    assert response.status_code == 302 and response["Location"] == reverse(
        "careplans:plan", args=[patient.pk]
    )


def test_timeline_shows_versions_and_reviews(patient, coordinator, django_assert_max_num_queries):
    user = coordinator.user
    version = agreed(patient, user, on=timezone.localdate() - timedelta(days=30))
    care_plan_review(
        version=version, reviewed_on=timezone.localdate(), reviewed_how="phone", reviewed_with="patient",
        outcome="changes", notes="New goal about walking", by=user,
    )  # fmt: skip
    with django_assert_max_num_queries(2):
        entries = patient_timeline(patient=patient, kinds=["care_plan"])
    titles = [e.title for e in entries]
    assert titles == [
        "Care plan version 2 started",
        "Care plan version 1 reviewed",
        "Care plan version 1 agreed",
    ]
    assert "New goal about walking" in entries[1].detail
    assert entries[2].tags == ("Agreed",)
    assert all(e.url == reverse("careplans:plan", args=[patient.pk]) for e in entries)


def test_staff_pdf_shows_the_pam_level_and_the_reviews(sign_in_as, patient, coordinator):
    user = coordinator.user
    ActivationMeasure.objects.create(
        patient=patient, score=56.2, measured_on=timezone.localdate(), measured_by=user
    )
    version = agreed(patient, user, on=timezone.localdate() - timedelta(days=30))
    care_plan_review(
        version=version, reviewed_on=timezone.localdate(), reviewed_how="phone", reviewed_with="carer",
        outcome="no_change", next_review_date=timezone.localdate() + timedelta(days=90), notes="Settled well",
        by=user,
    )  # fmt: skip
    response = sign_in_as(coordinator).get(reverse("careplans:staff_pdf", args=[version.pk]))
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    text = " ".join(text.split())
    assert "Level 3 (score 56.2)" in text
    assert "no changes, next review" in text and "Settled well" in text
