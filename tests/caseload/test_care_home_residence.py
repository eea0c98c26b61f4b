"""The care home resident flag with a move-in date: recorded from the patient's page, it records a
care home admission (acknowledged) that starts the EHCH 7-working-day PCSP clock."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from careplans.services.ehch import ehch_pcsp_due
from caseload.models import CareEvent
from caseload.services.patients import patient_care_home_set
from pcn.models import AuditEvent
from tests.factories import CareHomeFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 21, 10, 0, tzinfo=UTC)  # Monday 21 December 2026


def assert_no_second_admission(patient, home, moved_in_on: date, *, by) -> None:
    """Setting the home records no admission: the patient still has the one care event."""
    assert patient_care_home_set(patient=patient, care_home=home, moved_in_on=moved_in_on, by=by) is None
    assert CareEvent.objects.filter(patient=patient).count() == 1


@time_machine.travel(NOW, tick=False)
def test_move_in_records_an_acknowledged_admission_and_starts_the_pcsp_clock(patient, coordinator):
    home = CareHomeFactory(practice=patient.practice, name="Beech House")
    event = patient_care_home_set(
        patient=patient, care_home=home, moved_in_on=date(2026, 12, 18), by=coordinator.user
    )

    patient.refresh_from_db()
    assert (patient.care_home, patient.care_home_since) == (home, date(2026, 12, 18))
    assert (event.kind, event.provider, event.outcome) == (
        CareEvent.Kind.CARE_HOME_ADMISSION,
        "Beech House",
        "acknowledged",
    )
    assert event.triaged_at is not None and event.triaged_by == coordinator.user
    # Friday 18 December 2026 + 7 working days: 25 Dec (Fri) and 28 Dec (Mon, Boxing Day substitute) are
    # bank holidays in England, so 21, 22, 23, 24, 29, 30, 31 December.
    due = ehch_pcsp_due(patient=patient)
    assert (due.admitted_on, due.due_on, due.state, due.days_left) == (
        date(2026, 12, 18),
        date(2026, 12, 31),
        "due",
        6,
    )
    assert AuditEvent.objects.filter(action="patient.care_home", patients=patient).count() == 1

    # Saving the same home and date again records no second admission.
    assert_no_second_admission(patient, home, date(2026, 12, 18), by=coordinator.user)


@time_machine.travel(NOW, tick=False)
def test_a_feed_admission_on_the_same_day_is_not_doubled(patient, coordinator):
    home = CareHomeFactory(practice=patient.practice)
    CareEvent.objects.create(
        patient=patient, nhs_number=patient.nhs_number, kind=CareEvent.Kind.CARE_HOME_ADMISSION,
        occurred_at=datetime(2026, 12, 17, 15, 0, tzinfo=UTC), provider="From the feed",
    )  # fmt: skip
    assert_no_second_admission(patient, home, date(2026, 12, 17), by=coordinator.user)


@time_machine.travel(NOW, tick=False)
def test_refusals_and_clearing(patient, coordinator):
    elsewhere = CareHomeFactory()  # aligned to another practice
    home = CareHomeFactory(practice=patient.practice)
    for kwargs, code in (
        ({"care_home": elsewhere, "moved_in_on": date(2026, 12, 1)}, "practice"),
        ({"care_home": home, "moved_in_on": None}, "required"),
        ({"care_home": home, "moved_in_on": date(2026, 12, 22)}, "future"),
    ):
        with pytest.raises(ValidationError) as error:
            patient_care_home_set(patient=patient, by=coordinator.user, **kwargs)
        assert error.value.code == code
    assert not CareEvent.objects.exists()

    patient_care_home_set(patient=patient, care_home=home, moved_in_on=date(2026, 12, 1), by=coordinator.user)
    patient_care_home_set(patient=patient, care_home=None, moved_in_on=None, by=coordinator.user)
    patient.refresh_from_db()
    assert (patient.care_home, patient.care_home_since) == (None, None)
    assert CareEvent.objects.filter(patient=patient).count() == 1  # the admission stays on the record


@time_machine.travel(NOW, tick=False)
def test_care_home_page_records_a_move_in_and_the_patient_page_shows_the_badge(
    sign_in_as, patient, coordinator
):
    home = CareHomeFactory(practice=patient.practice, name="Beech House")
    CareHomeFactory(name="Not ours")
    client = sign_in_as(coordinator)
    url = reverse("caseload:patient_care_home", args=[patient.pk])
    page = client.get(url).content.decode()
    assert "Beech House" in page and "Not ours" not in page

    refused = client.post(url, {"care_home": home.pk, "moved_in_on": ""})
    assert refused.status_code == 200 and "Enter the date they moved in" in refused.content.decode()
    assert not CareEvent.objects.exists()

    response = client.post(url, {"care_home": home.pk, "moved_in_on": "2026-12-18"}, follow=True)
    body = response.content.decode()
    assert response.redirect_chain[-1][0] == patient.get_absolute_url()
    assert "Beech House, since 18 December 2026" in body
    assert "PCSP due in 6 working days" in body
    assert "Care home admission" in body  # on the timeline


def test_care_home_page_without_aligned_homes_says_so(sign_in_as, patient, coordinator):
    response = sign_in_as(coordinator).get(reverse("caseload:patient_care_home", args=[patient.pk]))
    assert 'data-testid="no-homes"' in response.content.decode()
