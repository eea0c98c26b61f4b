"""Appointments and attendance: booking makes the reviews booked; attended with the review done makes
them seen (with the coding-export row); a DNA or a cancellation puts them back to invited / excepted
keeping the count; moving keeps them booked; My appointments; scoping and audit."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from caseload.models import CodingEntry, LongTermCondition
from pcn.models import AuditEvent
from recall.models import Appointment, Channel, Invitation, RecallEntry
from recall.services.appointments import appointment_book, appointment_outcome_record
from recall.services.invitations import invitation_batch_create
from recall.services.years import recall_year_build
from tests.factories import PatientFactory
from tests.recall.conftest import TODAY, YEAR, entry_of

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 12, 3, 12, 0, tzinfo=LONDON)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def invite(entry: RecallEntry, by, *, times: int = 1) -> RecallEntry:
    for n in range(times):
        invitation_batch_create(
            entries=RecallEntry.objects.filter(pk=entry.pk), channel=Channel.SMS,
            on=TODAY - timedelta(days=30 * (times - n)), by=by,
        )  # fmt: skip
    entry.refresh_from_db()
    return entry


def book(entry: RecallEntry, by, *, at: datetime = NOW - timedelta(days=1)) -> Appointment:
    return appointment_book(patient=entry.patient, starts_at=at, role="nurse", by=by, entries=[entry])


def form_data(**overrides):
    return {"starts_on": "2026-12-10", "starts_time": "09:30", "with_whom": "Nurse Jo", "role": "nurse",
            "location": "Riverside Surgery", "reason": "", **overrides}  # fmt: skip


def actions(action: str) -> list[tuple[str, list[int]]]:
    return [
        (e.action, sorted(e.patient_links.values_list("patient_id", flat=True)))
        for e in AuditEvent.objects.filter(action=action).order_by("id")
    ]


# --- Booking ------------------------------------------------------------------------------------------


def test_booking_makes_the_reviews_booked(sign_in_as, coordinator, diabetes_entry):
    invite(diabetes_entry, coordinator.user)
    response = sign_in_as(coordinator).post(
        reverse("recall:appointment_add", args=[diabetes_entry.patient_id]),
        form_data(entries=[diabetes_entry.pk]),
    )
    patient = diabetes_entry.patient
    assert response.status_code == 302
    assert response["Location"] == f"{patient.get_absolute_url()}"
    appointment = Appointment.objects.get()
    assert (appointment.starts_at, appointment.with_whom, appointment.role, appointment.location) == (
        datetime(2026, 12, 10, 9, 30, tzinfo=LONDON), "Nurse Jo", "nurse", "Riverside Surgery",
    )  # fmt: skip
    assert (appointment.outcome, appointment.booked_by) == ("booked", coordinator.user)
    assert list(appointment.entries.all()) == [diabetes_entry]
    diabetes_entry.refresh_from_db()
    assert (diabetes_entry.state, diabetes_entry.invitations) == ("booked", 1)
    assert actions("recall.appointment.book") == [("recall.appointment.book", [patient.pk])]


def test_booking_for_a_reason_only(sign_in_as, coordinator, patient):
    response = sign_in_as(coordinator).post(
        reverse("recall:appointment_add", args=[patient.pk]), form_data(reason="Blood test")
    )
    assert response.status_code == 302
    assert Appointment.objects.get().reason == "Blood test"


def test_booking_needs_a_review_or_a_reason(sign_in_as, coordinator, diabetes_entry):
    response = sign_in_as(coordinator).post(
        reverse("recall:appointment_add", args=[diabetes_entry.patient_id]), form_data()
    )
    assert response.status_code == 200
    assert response.context["form"].errors == {"reason": ["Tick a review it is for, or enter a reason"]}
    assert Appointment.objects.count() == 0
    diabetes_entry.refresh_from_db()
    assert diabetes_entry.state == "due"


def test_the_form_offers_this_years_open_reviews_only(sign_in_as, coordinator, diabetic, practice_a):
    diabetic.ltc_flags |= LongTermCondition.HYPERTENSION
    diabetic.save()
    recall_year_build(year=YEAR, patient_ids=[diabetic.pk])
    recall_year_build(year=YEAR - 1, patient_ids=[diabetic.pk])
    entries = RecallEntry.objects.filter(patient=diabetic, year=YEAR)
    seen = entries.get(register__key="hypertension")
    RecallEntry.objects.filter(pk=seen.pk).update(state="seen")
    other = PatientFactory(practice=practice_a, ltc_flags=diabetic.ltc_flags)
    recall_year_build(year=YEAR, patient_ids=[other.pk])
    diabetes = entry_of(diabetic)
    response = sign_in_as(coordinator).get(
        reverse("recall:appointment_add", args=[diabetic.pk]), {"entry": diabetes.pk}
    )
    offered = list(response.context["form"].fields["entries"].queryset)
    assert offered == list(entries.exclude(pk=seen.pk).order_by("register__display_order"))
    assert {e.year for e in offered} == {YEAR} and {e.patient_id for e in offered} == {diabetic.pk}
    assert response.context["form"]["entries"].value() == [str(diabetes.pk)]  # ticked from the page
    assert "Diabetes annual review: Due, not invited, due June 2026" in response.text


def test_a_review_excepted_but_still_due_can_be_booked(coordinator, diabetes_entry):
    entry = invite(diabetes_entry, coordinator.user, times=2)
    assert entry.state_text() == "Excepted but still due (invited ×2)"
    book(entry, coordinator.user)
    entry.refresh_from_db()
    assert (entry.state, entry.invitations) == ("booked", 2)


# --- Outcomes -----------------------------------------------------------------------------------------


def test_attended_with_the_review_done_is_seen_with_a_coding_row(sign_in_as, coordinator, diabetes_entry):
    appointment = book(diabetes_entry, coordinator.user)
    response = sign_in_as(coordinator).post(
        reverse("recall:appointment_outcome", args=[appointment.pk]),
        {"outcome": "attended", "review_done": "on", "notes": "All checks done"},
        follow=True,
    )
    assert (
        "Attended, review done: Diabetes annual review recorded as seen, for the coding export."
        in response.text
    )
    diabetes_entry.refresh_from_db()
    assert (diabetes_entry.state, diabetes_entry.seen_on, diabetes_entry.seen_source) == (
        "seen", TODAY - timedelta(days=1), "here",
    )  # fmt: skip
    appointment.refresh_from_db()
    assert (appointment.outcome, appointment.review_done, appointment.outcome_notes) == (
        "attended", True, "All checks done",
    )  # fmt: skip
    coding = CodingEntry.objects.get()
    assert (coding.patient_id, coding.coded_on, coding.snomed_id, coding.term) == (
        diabetes_entry.patient_id, TODAY - timedelta(days=1), "888461000000107",
        "Chronic disease management annual review completed",
    )  # fmt: skip
    assert actions("recall.appointment.outcome") == [
        ("recall.appointment.outcome", [diabetes_entry.patient_id])
    ]


def test_attended_without_the_review_leaves_it_due(coordinator, diabetes_entry):
    entry = invite(diabetes_entry, coordinator.user)
    appointment_outcome_record(
        appointment=book(entry, coordinator.user), outcome="attended", by=coordinator.user
    )
    entry.refresh_from_db()
    assert (entry.state, entry.invitations) == ("invited", 1)
    assert CodingEntry.objects.count() == 0


@pytest.mark.parametrize(("times", "state"), [(1, "invited"), (2, "excepted")])
def test_a_dna_puts_the_review_back_keeping_the_count(sign_in_as, coordinator, diabetes_entry, times, state):
    entry = invite(diabetes_entry, coordinator.user, times=times)
    appointment = book(entry, coordinator.user)
    response = sign_in_as(coordinator).post(
        reverse("recall:appointment_outcome", args=[appointment.pk]), {"outcome": "dna", "notes": ""}
    )
    assert response["Location"] == f"{entry.patient.get_absolute_url()}"
    entry.refresh_from_db()
    assert (entry.state, entry.invitations) == (state, times)
    assert Invitation.objects.filter(entry=entry).count() == times
    page = sign_in_as(coordinator).get(response["Location"])
    assert (
        f"Did not attend recorded for 2 December 2026 at 12:00. Still due: Diabetes annual review, "
        f"{entry.state_text().lower()}. Send the next invitation: see "
        f'<a href="{entry.patient.get_absolute_url()}#recall">Call and recall</a>.'
    ) in page.text
    assert CodingEntry.objects.count() == 0


def test_a_cancelled_appointment_puts_the_review_back_to_due(sign_in_as, coordinator, diabetes_entry):
    appointment = book(diabetes_entry, coordinator.user, at=NOW + timedelta(days=7))
    response = sign_in_as(coordinator).post(
        reverse("recall:appointment_outcome", args=[appointment.pk]), {"outcome": "cancelled"}
    )
    assert response.status_code == 302
    diabetes_entry.refresh_from_db()
    appointment.refresh_from_db()
    assert (diabetes_entry.state, appointment.outcome, appointment.outcome_by) == (
        "due", "cancelled", coordinator.user,
    )  # fmt: skip


def test_no_attendance_before_the_appointment(sign_in_as, coordinator, diabetes_entry):
    appointment = book(diabetes_entry, coordinator.user, at=NOW + timedelta(days=7))
    response = sign_in_as(coordinator).post(
        reverse("recall:appointment_outcome", args=[appointment.pk]),
        {"outcome": "attended", "review_done": "on"},
    )
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == ["This appointment has not happened yet."]
    appointment.refresh_from_db()
    diabetes_entry.refresh_from_db()
    assert (appointment.outcome, diabetes_entry.state) == ("booked", "booked")


def test_a_review_is_done_only_when_attended(sign_in_as, coordinator, diabetes_entry):
    appointment = book(diabetes_entry, coordinator.user)
    response = sign_in_as(coordinator).post(
        reverse("recall:appointment_outcome", args=[appointment.pk]), {"outcome": "dna", "review_done": "on"}
    )
    assert response.context["form"].errors == {
        "review_done": ["A review can be done only at an appointment the patient attended"]
    }
    appointment.refresh_from_db()
    assert appointment.outcome == "booked"


def test_an_outcome_is_recorded_once(sign_in_as, coordinator, diabetes_entry):
    appointment = book(diabetes_entry, coordinator.user)
    appointment_outcome_record(appointment=appointment, outcome="dna", by=coordinator.user)
    client = sign_in_as(coordinator)
    for name in ("recall:appointment_outcome", "recall:appointment_reschedule"):
        response = client.post(reverse(name, args=[appointment.pk]), {"outcome": "attended"})
        assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.outcome == "dna"
    assert Appointment.objects.count() == 1


# --- Moving -------------------------------------------------------------------------------------------


def test_moving_keeps_the_review_booked(sign_in_as, coordinator, diabetes_entry):
    old = book(diabetes_entry, coordinator.user, at=NOW + timedelta(days=1))
    response = sign_in_as(coordinator).post(
        reverse("recall:appointment_reschedule", args=[old.pk]),
        {
            "starts_on": "2026-12-17",
            "starts_time": "14:00",
            "with_whom": "Dr Ng",
            "role": "gp",
            "location": "",
        },
    )
    assert response.status_code == 302
    old.refresh_from_db()
    new = old.rescheduled_to
    assert (old.outcome, new.outcome, new.starts_at, new.with_whom, new.role) == (
        "rescheduled", "booked", datetime(2026, 12, 17, 14, 0, tzinfo=LONDON), "Dr Ng", "gp",
    )  # fmt: skip
    assert list(new.entries.all()) == [diabetes_entry]
    diabetes_entry.refresh_from_db()
    assert diabetes_entry.state == "booked"
    assert actions("recall.appointment.reschedule") == [
        ("recall.appointment.reschedule", [diabetes_entry.patient_id])
    ]


def test_the_reschedule_form_starts_from_the_appointment(sign_in_as, coordinator, diabetes_entry):
    appointment = book(diabetes_entry, coordinator.user, at=NOW + timedelta(days=1))
    response = sign_in_as(coordinator).get(reverse("recall:appointment_reschedule", args=[appointment.pk]))
    form = response.context["form"]
    assert (form["role"].value(), form["with_whom"].value()) == ("nurse", "")
    assert "Diabetes annual review (booked)" in response.text


# --- My appointments ----------------------------------------------------------------------------------


def test_my_appointments_needing_an_outcome_first_then_upcoming(
    sign_in_as, coordinator, second_coordinator, outsider, diabetic, practice_b
):
    recall_year_build(year=YEAR, patient_ids=[diabetic.pk])
    me = coordinator.user

    def at(days: int, **kwargs) -> Appointment:
        return appointment_book(
            patient=diabetic,
            starts_at=NOW + timedelta(days=days),
            role="nurse",
            reason=f"day {days}",
            **kwargs,
        )

    upcoming_late, upcoming_soon, past_old, past_recent = (
        at(9, by=me),
        at(2, by=me),
        at(-20, by=me),
        at(-3, by=me),
    )
    done = at(-10, by=me)
    appointment_outcome_record(appointment=done, outcome="attended", by=me)
    at(1, by=second_coordinator.user)  # someone else's
    appointment_book(patient=PatientFactory(practice=practice_b), starts_at=NOW, role="gp", reason="x", by=me)
    client = sign_in_as(coordinator)
    response = client.get(reverse("recall:my_appointments"))
    assert response.context["appointments"] == [past_old, past_recent, upcoming_soon, upcoming_late]
    assert response.text.count("Outcome needed") == 2
    response = client.get(reverse("recall:my_appointments"), {"include_recorded": "on"})
    assert response.context["appointments"] == [past_old, past_recent, upcoming_soon, upcoming_late, done]
    assert actions("recall.appointment.list")[-1] == ("recall.appointment.list", [diabetic.pk])


def test_my_appointments_query_count_does_not_grow(
    sign_in_as, coordinator, practice_a, django_assert_num_queries
):
    client = sign_in_as(coordinator)

    def add(count: int) -> None:
        for n in range(count):
            patient = PatientFactory(practice=practice_a, ltc_flags=1)
            recall_year_build(year=YEAR, patient_ids=[patient.pk])
            book(entry_of(patient), coordinator.user, at=NOW + timedelta(days=n - 2))

    add(1)
    # Signing in and the page's frame (session, user, two-factor device, memberships twice, session
    # save: 6), then the count, the page, the reviews of the page's appointments, the audit event and
    # its patients (5), and two savepoints: 13.
    with django_assert_num_queries(13):
        client.get(reverse("recall:my_appointments"))
    add(12)
    with django_assert_num_queries(13):
        response = client.get(reverse("recall:my_appointments"))
    assert len(response.context["appointments"]) == 13


# --- Scoping ------------------------------------------------------------------------------------------


def test_an_outsider_gets_404_and_changes_nothing(sign_in_as, coordinator, outsider, diabetes_entry):
    appointment = book(diabetes_entry, coordinator.user)
    client = sign_in_as(outsider)
    urls = [
        reverse("recall:appointment_add", args=[diabetes_entry.patient_id]),
        reverse("recall:appointment_outcome", args=[appointment.pk]),
        reverse("recall:appointment_reschedule", args=[appointment.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 404
        data = form_data(
            entries=[diabetes_entry.pk], outcome="attended", review_done="on", starts_on="2027-01-05"
        )
        assert client.post(url, data).status_code == 404
    appointment.refresh_from_db()
    diabetes_entry.refresh_from_db()
    assert (Appointment.objects.count(), appointment.outcome, diabetes_entry.state) == (1, "booked", "booked")
    assert client.get(reverse("recall:my_appointments")).context["appointments"] == []


def test_a_review_of_another_patient_cannot_be_booked(sign_in_as, coordinator, diabetes_entry, patient):
    response = sign_in_as(coordinator).post(
        reverse("recall:appointment_add", args=[patient.pk]), form_data(entries=[diabetes_entry.pk])
    )
    assert response.status_code == 200
    assert "entries" in response.context["form"].errors
    assert Appointment.objects.count() == 0
