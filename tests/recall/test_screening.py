"""Screening non-responders: this QOF year's bowel, breast and cervical screening entries invited at
least once and not seen, booked, PCA or closed, by practice, with each one's last call; a call recorded
as a phone contact on the patient's timeline."""

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from caseload.models import Contact
from overview.timeline import patient_timeline
from pcn.models import AuditEvent
from recall.models import Channel, RecallEntry
from recall.services.invitations import invitation_batch_create
from recall.services.screening import screening_call_record
from recall.services.years import recall_year_build
from tests.factories import PatientFactory
from tests.recall.conftest import YEAR, entry_of

pytestmark = pytest.mark.django_db

LONDON = ZoneInfo("Europe/London")


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(datetime(2026, 12, 3, 12, tzinfo=LONDON), tick=False):
        yield


def screened(practice, *, by, invited_on: date | None = date(2026, 10, 1), year: int = YEAR, **fields):
    """A woman of 66: on the bowel and breast screening registers; her bowel entry invited once."""
    patient = PatientFactory(
        practice=practice, date_of_birth=date(1960, 5, 10), mobile="07700900001", **fields
    )
    recall_year_build(year=year, patient_ids=[patient.pk])
    entry = entry_of(patient, "bowel_screening", year=year)
    if invited_on:
        invitation_batch_create(
            entries=RecallEntry.objects.filter(pk=entry.pk), channel=Channel.LETTER, on=invited_on,
            by=by,
        )  # fmt: skip
        entry.refresh_from_db()
    return entry


@pytest.fixture
def bowel(coordinator, practice_a) -> RecallEntry:
    return screened(
        practice_a,
        by=coordinator.user,
        address="1 Lane",
        postcode="RV1 1AA",
        given_name="Bea",
        family_name="Bowel",
    )


def listed(client, **params) -> list[RecallEntry]:
    response = client.get(reverse("recall:screening_list"), params)
    assert response.status_code == 200
    return response.context["entries"]


def test_the_list_is_the_invited_who_have_not_responded(
    sign_in_as, coordinator, practice_a, practice_b, bowel
):
    kw = {"address": "2 Lane", "postcode": "RV1 1AB", "by": coordinator.user}
    later = screened(practice_a, invited_on=date(2026, 11, 1), **kw)
    twice = screened(practice_a, invited_on=date(2026, 9, 1), **kw)
    invitation_batch_create(
        entries=RecallEntry.objects.filter(pk=twice.pk), channel=Channel.SMS, on=date(2026, 11, 20), by=coordinator.user
    )  # fmt: skip
    screened(practice_a, invited_on=None, **kw)  # due, never invited
    for state in ("booked", "seen", "pca", "closed"):
        entry = screened(practice_a, **kw)
        RecallEntry.objects.filter(pk=entry.pk).update(
            state=state, pca_reason="unsuitable" if state == "pca" else "",
            closed_reason="left" if state == "closed" else "",
        )  # fmt: skip
    screened(practice_a, year=YEAR - 1, **kw)  # last year's
    screened(practice_b, **kw)  # another practice's
    rows = listed(sign_in_as(coordinator))
    assert [e.pk for e in rows] == [bowel.pk, later.pk, twice.pk]  # the longest since an invitation first
    assert {e.register.key for e in rows} == {"bowel_screening"}  # breast entries were never invited
    audit = AuditEvent.objects.get(action="recall.screening.list")
    assert sorted(audit.patient_links.values_list("patient_id", flat=True)) == sorted(
        e.patient_id for e in rows
    )


def test_the_list_filters_by_practice_and_programme(sign_in_as, coordinator, practice_a, bowel):
    client = sign_in_as(coordinator)
    assert [e.pk for e in listed(client, practice=practice_a.pk)] == [bowel.pk]
    breast = entry_of(bowel.patient, "breast_screening")
    assert listed(client, register=breast.register_id) == []
    invitation_batch_create(
        entries=RecallEntry.objects.filter(pk=breast.pk), channel=Channel.SMS, on=date(2026, 11, 2), by=coordinator.user
    )  # fmt: skip
    assert [e.pk for e in listed(client, register=breast.register_id)] == [breast.pk]


def test_the_outsider_sees_nobody(sign_in_as, outsider, bowel):
    assert listed(sign_in_as(outsider)) == []


def test_the_list_query_count_does_not_grow(
    sign_in_as, coordinator, practice_a, bowel, django_assert_num_queries
):
    client = sign_in_as(coordinator)
    screening_call_record(entry=bowel, outcome="no_answer", duration_minutes=2, by=coordinator.user)
    # Signing in and the page's frame (6, as every list), the count, the page (its last calls are
    # subqueries of the same SELECT), the audit event and its patients, the filter's practices and
    # programmes, and two savepoints.
    with django_assert_num_queries(14):
        client.get(reverse("recall:screening_list"))
    for _ in range(8):
        entry = screened(practice_a, by=coordinator.user, address="3 Lane", postcode="RV1 1AC")
        screening_call_record(entry=entry, outcome="left_message", duration_minutes=2, by=coordinator.user)
    with django_assert_num_queries(14):
        assert len(listed(client)) == 9


def test_a_call_is_a_phone_contact_on_the_timeline_and_the_list_shows_it(sign_in_as, coordinator, bowel):
    client = sign_in_as(coordinator)
    url = reverse("recall:screening_contact", args=[bowel.pk])
    assert "Call about bowel cancer screening" in client.get(url).text
    response = client.post(url, {"outcome": "no_answer", "duration_minutes": "2", "notes": "Rang twice"})
    assert response["Location"] == reverse("recall:screening_list")
    contact = Contact.objects.get()
    assert (contact.patient_id, contact.method, contact.with_whom, contact.duration_minutes) == (
        bowel.patient_id, "phone", "patient", 2,
    )  # fmt: skip
    assert (contact.outcome, contact.notes, contact.recorded_by) == (
        "Bowel cancer screening call: no answer", "Rang twice", coordinator.user,
    )  # fmt: skip
    timeline = patient_timeline(patient=bowel.patient, kinds=["contact"])
    assert [(e.title, e.detail) for e in timeline] == [
        ("Phone contact with patient, 2 min", "Bowel cancer screening call: no answer")
    ]
    page = client.get(reverse("recall:screening_list"))
    assert page.context["entries"][0].last_call_text() == "No answer"
    assert "No answer" in page.text
    bowel.refresh_from_db()
    assert bowel.state == "invited"  # a call moves nothing
    audit = AuditEvent.objects.get(action="recall.screening.call")
    assert audit.detail == {"entry_id": bowel.pk, "outcome": "no_answer", "contact_id": contact.pk}


def test_the_last_call_is_the_newest_of_this_register(coordinator, bowel):
    def call(entry: RecallEntry, outcome: str, at: datetime | None = None) -> None:
        screening_call_record(entry=entry, outcome=outcome, duration_minutes=1, by=coordinator.user, at=at)

    call(bowel, "no_answer", datetime(2026, 11, 2, 10, tzinfo=LONDON))
    call(bowel, "wrong_number", datetime(2026, 11, 9, 10, tzinfo=LONDON))
    call(entry_of(bowel.patient, "breast_screening"), "will_book")  # another register
    # Last year's call is about last year's invitation.
    call(bowel, "will_book", datetime(2026, 3, 30, 10, tzinfo=LONDON))
    row = RecallEntry.objects.with_last_call(since=date(2026, 4, 1)).get(pk=bowel.pk)
    assert (row.last_call_text(), row.last_call_at) == (
        "Wrong number",
        datetime(2026, 11, 9, 10, tzinfo=LONDON),
    )


def test_declined_offers_a_pca_for_informed_dissent(sign_in_as, coordinator, bowel):
    client = sign_in_as(coordinator)
    response = client.post(
        reverse("recall:screening_contact", args=[bowel.pk]), {"outcome": "declined", "duration_minutes": "4"}
    )
    pca = reverse("recall:entry_pca", args=[bowel.pk])
    assert response["Location"] == f"{pca}?reason=informed_dissent"
    page = client.get(response["Location"])
    assert page.context["form"]["reason"].value() == "informed_dissent"
    assert "Call recorded for BOWEL, Bea: they declined. If they do not want to be invited again" in page.text
    assert Contact.objects.get().outcome == "Bowel cancer screening call: spoke – declined"


def test_a_bad_call_records_nothing(sign_in_as, coordinator, bowel):
    response = sign_in_as(coordinator).post(
        reverse("recall:screening_contact", args=[bowel.pk]), {"outcome": "maybe", "duration_minutes": "0"}
    )
    assert set(response.context["form"].errors) == {"outcome", "duration_minutes"}
    assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("who", "entry"),
    [
        ("coordinator", "diabetes_entry"),  # only screening entries take calls
        ("outsider", "bowel"),  # a screening entry at another practice
    ],
)
def test_a_non_screening_entry_or_an_outsider_gets_404_and_records_nothing(request, sign_in_as, who, entry):
    client = sign_in_as(request.getfixturevalue(who))
    url = reverse("recall:screening_contact", args=[request.getfixturevalue(entry).pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"outcome": "no_answer", "duration_minutes": "2"}).status_code == 404
    assert Contact.objects.count() == 0
