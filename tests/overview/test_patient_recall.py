"""The patient page's "Call and recall" section (this year's reviews, open appointments, the history
across years) and the timeline's appointments and invitations."""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from caseload.models import LongTermCondition
from overview.timeline import patient_timeline
from recall.models import Channel, RecallEntry
from recall.services.appointments import appointment_book, appointment_outcome_record
from recall.services.entries import entry_pca_record
from recall.services.invitations import invitation_batch_create, invitation_batch_undo
from recall.services.years import recall_year_build
from tests.conftest import page_queries
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 12, 3, 12, tzinfo=LONDON)
YEAR = 2026


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def dora(practice_a):
    return PatientFactory(
        practice=practice_a, given_name="Dora", date_of_birth=date(1950, 6, 15), mobile="07700900123",
        ltc_flags=LongTermCondition.DIABETES | LongTermCondition.COPD,
    )  # fmt: skip


def entry(patient, key: str, year: int = YEAR) -> RecallEntry:
    return RecallEntry.objects.get(patient=patient, register__key=key, year=year)


def invite(entries: list[RecallEntry], by, on: date):
    return invitation_batch_create(
        entries=RecallEntry.objects.filter(pk__in=[e.pk for e in entries]), channel=Channel.SMS, on=on, by=by
    )


def recall_history(patient, by) -> None:
    """Last year: diabetes seen, COPD left excepted. This year: diabetes invited twice (excepted),
    an undone batch, COPD PCA; an open appointment and a DNA."""
    recall_year_build(year=YEAR - 1, patient_ids=[patient.pk])
    RecallEntry.objects.filter(patient=patient, year=YEAR - 1, register__key="diabetes").update(
        state="seen", seen_on=date(2026, 1, 20)
    )
    recall_year_build(year=YEAR, patient_ids=[patient.pk])
    diabetes, copd = entry(patient, "diabetes"), entry(patient, "copd")
    invite([diabetes, copd], by, date(2026, 6, 1))
    with time_machine.travel(datetime(2026, 7, 1, 9, tzinfo=LONDON), tick=False):
        invitation_batch_undo(batch=invite([diabetes], by, date(2026, 7, 1)), by=by, today=date(2026, 7, 1))
    invite([diabetes], by, date(2026, 7, 2))
    entry_pca_record(entry=entry(patient, "copd"), reason="unsuitable", on=date(2026, 8, 1), by=by)
    missed = appointment_book(
        patient=patient, starts_at=datetime(2026, 11, 20, 10, tzinfo=LONDON), role="nurse", by=by,
        entries=[entry(patient, "diabetes")], with_whom="Nurse Jo",
    )  # fmt: skip
    appointment_outcome_record(appointment=missed, outcome="dna", by=by)
    appointment_book(
        patient=patient, starts_at=datetime(2026, 12, 10, 9, 30, tzinfo=LONDON), role="nurse", by=by,
        entries=[entry(patient, "diabetes")], location="Riverside Surgery",
    )  # fmt: skip


def test_the_section_shows_this_year_appointments_and_history(sign_in_as, coordinator, dora):
    recall_history(dora, coordinator.user)
    response = sign_in_as(coordinator).get(dora.get_absolute_url())
    context = response.context
    assert [(e.register.key, e.state_text()) for e in context["recall_entries"]] == [
        ("diabetes", "Booked"), ("copd", "PCA: Unsuitable"),
    ]  # fmt: skip
    assert [(e.year, e.register.key, e.state) for e in context["recall_earlier"]] == [
        (YEAR - 1, "diabetes", "seen"), (YEAR - 1, "copd", "due"),
    ]  # fmt: skip
    assert [(i.sent_on, i.register.key, i.sequence, i.cancelled_at is not None) for i in context["recall_invitations"]] == [
        (date(2026, 7, 2), "diabetes", 2, False),
        (date(2026, 7, 1), "diabetes", 2, True),
        (date(2026, 6, 1), "copd", 1, False),
        (date(2026, 6, 1), "diabetes", 1, False),
    ]  # fmt: skip
    assert [a.starts_at for a in context["recall_appointments"]] == [
        datetime(2026, 12, 10, 9, 30, tzinfo=LONDON)
    ]
    text = response.text
    assert "Reviews and screening this QOF year (2026/27)" in text
    assert "Undone 1 Jul 2026" in text
    diabetes, copd = entry(dora, "diabetes"), entry(dora, "copd")
    appointment = context["recall_appointments"][0]
    for url in (
        f"{reverse('recall:appointment_add', args=[dora.pk])}?entry={diabetes.pk}",
        reverse("recall:entry_pca", args=[diabetes.pk]),
        reverse("recall:entry_pca_withdraw", args=[copd.pk]),
        reverse("recall:appointment_outcome", args=[appointment.pk]),
        reverse("recall:appointment_reschedule", args=[appointment.pk]),
    ):
        assert f'href="{url}"'.replace("&", "&amp;") in text or f'href="{url}"' in text
    assert reverse("recall:entry_pca", args=[copd.pk]) + '"' not in text  # a PCA is withdrawn, not added


def test_a_patient_on_no_register(sign_in_as, coordinator, patient):
    response = sign_in_as(coordinator).get(patient.get_absolute_url())
    assert "On no register this QOF year (2026/27)." in response.text
    assert "No appointments booked." in response.text
    assert 'data-testid="recall-history"' not in response.text


def test_the_section_costs_a_fixed_number_of_queries_whatever_the_rows(
    sign_in_as, coordinator, dora, patient
):
    client = sign_in_as(coordinator)
    # The recall section: entries, invitations, open appointments (3), and their reviews (1, only
    # when there are open appointments: a prefetch of nothing is no query); the timeline's
    # appointments and invitations (2). The rest of the page is as before (test_timeline.py).
    empty = page_queries(client, patient.get_absolute_url()) + 1
    recall_history(dora, coordinator.user)
    busy = page_queries(client, dora.get_absolute_url())
    for n in range(5):
        appointment_book(
            patient=dora, starts_at=NOW + timedelta(days=n + 1), role="gp", by=coordinator.user,
            entries=[entry(dora, "diabetes")],
        )  # fmt: skip
    assert busy == empty == page_queries(client, dora.get_absolute_url())


def test_the_timeline_has_appointments_and_invitations(coordinator, dora, django_assert_num_queries):
    recall_history(dora, coordinator.user)
    with django_assert_num_queries(2):
        events = patient_timeline(patient=dora, kinds=["appointment", "invitation"])
    assert [(e.kind, e.title, e.tags) for e in events] == [
        ("appointment", "Appointment booked for 10 Dec 2026, 09:30", ("Booked",)),
        ("appointment", "Appointment booked for 20 Nov 2026, 10:00", ()),
        ("appointment", "Did not attend the appointment", ()),
        ("invitation", "2nd invitation: Diabetes annual review", ()),
        ("invitation", "2nd invitation: Diabetes annual review", ("Undone",)),
        ("invitation", "1st invitation: COPD annual review", ()),
        ("invitation", "1st invitation: Diabetes annual review", ()),
    ]
    assert events[0].url == reverse("recall:appointment_outcome", args=[events[0].url.split("/")[-3]])
    assert events[0].detail == "With Practice nurse; Riverside Surgery"
    assert events[3].detail == "Text message (SMS), QOF year 2026/27"
    assert events[3].who == "Cara Coordinator"


def test_the_timeline_shows_an_attended_review(coordinator, dora):
    recall_year_build(year=YEAR, patient_ids=[dora.pk])
    appointment = appointment_book(
        patient=dora, starts_at=datetime(2026, 12, 1, 10, tzinfo=LONDON), role="nurse", by=coordinator.user,
        entries=[entry(dora, "diabetes")],
    )  # fmt: skip
    appointment_outcome_record(
        appointment=appointment, outcome="attended", review_done=True, by=coordinator.user
    )
    events = patient_timeline(patient=dora, kinds=["appointment"])
    assert [(e.title, e.tags, e.when) for e in events] == [
        ("Appointment booked for 1 Dec 2026, 10:00", (), NOW),
        ("Attended the appointment", ("Review done",), datetime(2026, 12, 1, 10, tzinfo=LONDON)),
    ]
