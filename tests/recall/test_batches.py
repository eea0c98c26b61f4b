"""Invitation batches from the worklist: the preview (who is invited, who is left out and why), the
confirm (from the filter or from ticked entries, once however often it is submitted), the batch pages,
the three downloads, the letters made in the background, and the same-day undo."""

import csv
import io
import uuid
from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from pypdf import PdfReader

from caseload.models import LongTermCondition, Patient
from pcn.models import AuditEvent
from recall.models import Invitation, InvitationBatch, RecallEntry
from recall.services.invitations import MESSAGING_HEADER, invitation_batch_create
from recall.services.years import recall_year_build
from recall.tasks import batch_letters_task
from tests.factories import PatientFactory
from tests.recall.conftest import TODAY, YEAR, entry_of, register

pytestmark = pytest.mark.django_db

NEW = reverse("recall:batch_new")
ADDRESS = {"address": "2 Mill Lane, Riverside", "postcode": "RV1 2BB"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def enqueued(monkeypatch):
    """The letters tasks the views enqueue (the tests run them by calling the task function)."""
    calls: list[int] = []
    monkeypatch.setattr("recall.views.batches.batch_letters_enqueue", lambda batch: calls.append(batch.pk))
    return calls


def diabetic_at(practice, family_name: str, **fields):
    """A diabetic man of 36 (no screening registers), with this year's entry built. One who died or left
    did so after it was built (the import came in; the nightly sweep has not closed the entry yet)."""
    after = {key: fields.pop(key) for key in ("is_deceased", "has_left") if key in fields}
    fields = {"mobile": "07700900001", "given_name": "Pat", "ltc_flags": LongTermCondition.DIABETES, **ADDRESS,
              **fields}  # fmt: skip
    patient = PatientFactory(
        practice=practice, family_name=family_name, sex="M", date_of_birth=date(1990, 12, 9), **fields
    )
    recall_year_build(year=YEAR, patient_ids=[patient.pk])
    if after:
        Patient.objects.filter(pk=patient.pk).update(**after)
    return patient


def diabetes_filters() -> str:
    return f"register={register('diabetes').pk}"


def preview(client, *, channel="sms", **query):
    query.setdefault("all", "1")
    query.setdefault("filters", diabetes_filters())
    return client.get(NEW, {"channel": channel, **query})


def confirm(client, *, channel="sms", key=None, **data):
    data.setdefault("filters", diabetes_filters())
    if "entry" not in data:
        data.setdefault("all", "True")
    return client.post(NEW, {"channel": channel, "key": str(key or uuid.uuid4()), **data})


@pytest.fixture
def mixed(coordinator):
    """At practice A: two who can be invited, and one for each reason a batch leaves a patient out."""
    practice = coordinator.practice
    people = {
        "able": diabetic_at(practice, "Able"),
        "baker": diabetic_at(practice, "Baker"),
        "dead": diabetic_at(practice, "Dead", is_deceased=True),
        "left": diabetic_at(practice, "Left", has_left=True),
        "nomobile": diabetic_at(practice, "Nomobile", mobile=""),
        "recent": diabetic_at(practice, "Recent"),
    }
    # Invited 3 days ago: the register's 7 days between invitations are not up.
    RecallEntry.objects.filter(patient=people["recent"]).update(
        state="invited", invitations=1, last_invited_on=TODAY - timedelta(days=3)
    )
    return people


def test_the_preview_lists_who_is_invited_and_everyone_left_out_with_the_reason(
    sign_in_as, coordinator, mixed
):
    response = preview(sign_in_as(coordinator))

    assert response.status_code == 200
    plan = response.context["plan"]
    assert plan.patient_ids == sorted([mixed["able"].pk, mixed["baker"].pk])
    assert [(e.name, e.register, e.reason) for e in plan.exclusions] == [
        ("DEAD, Pat", "Diabetes", "Deceased"),
        ("LEFT, Pat", "Diabetes", "Left the practice"),
        ("NOMOBILE, Pat", "Diabetes", "No mobile number for a text message"),
        ("RECENT, Pat", "Diabetes", "Invited on 30 Nov 2026: the next invitation can go from 07 Dec 2026"),
    ]
    html = response.content.decode()
    assert "Invite 2 patients" in html
    assert "No mobile number for a text message" in html
    assert Invitation.objects.count() == 0 and InvitationBatch.objects.count() == 0
    event = AuditEvent.objects.get(action="recall.batch.preview")
    assert event.patients.count() == 6
    assert event.detail == {"channel": "sms", "invitations": 2, "excluded": 4}


def test_a_letter_needs_an_address_with_a_postcode(sign_in_as, coordinator):
    diabetic_at(coordinator.practice, "Housed")
    diabetic_at(coordinator.practice, "Nopostcode", postcode="")
    response = preview(sign_in_as(coordinator), channel="letter")
    assert [(e.name, e.reason) for e in response.context["plan"].exclusions] == [
        ("NOPOSTCODE, Pat", "No address (with postcode) for a letter")
    ]


def test_ticked_entries_already_booked_seen_or_pca_are_left_out_with_the_reason(sign_in_as, coordinator):
    people = [diabetic_at(coordinator.practice, name) for name in ("Booked", "Pca", "Seen")]
    entries = [entry_of(patient) for patient in people]
    RecallEntry.objects.filter(pk=entries[0].pk).update(state="booked")
    RecallEntry.objects.filter(pk=entries[1].pk).update(state="pca", pca_reason="informed_dissent")
    RecallEntry.objects.filter(pk=entries[2].pk).update(state="seen", seen_on=TODAY)

    response = sign_in_as(coordinator).get(NEW, {"channel": "sms", "entry": [e.pk for e in entries]})

    assert [e.reason for e in response.context["plan"].exclusions] == [
        "Already booked", "Personalised care adjustment: Informed dissent", "Already seen: review done",
    ]  # fmt: skip
    assert 'data-testid="nobody"' in response.content.decode()


def test_confirming_the_filter_makes_the_batch(sign_in_as, coordinator, mixed, enqueued):
    response = confirm(sign_in_as(coordinator))

    batch = InvitationBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("recall:batch_detail", args=[batch.pk])
    assert (batch.channel, batch.patient_count, batch.invitation_count, len(batch.excluded)) == (
        "sms",
        2,
        2,
        4,
    )
    assert batch.description == "Worklist: Diabetes, 2026/27"
    assert batch.created_by == coordinator.user
    invited = RecallEntry.objects.filter(patient__in=[mixed["able"], mixed["baker"]])
    assert (
        sorted(invited.values_list("state", "invitations", "last_invited_on")) == [("invited", 1, TODAY)] * 2
    )
    assert entry_of(mixed["recent"]).invitations == 1  # left out: unchanged
    assert enqueued == []  # no letters for a text message batch


def test_confirming_ticked_entries_invites_only_those_of_the_users_practices(
    sign_in_as, coordinator, practice_b, enqueued
):
    mine, not_ticked = diabetic_at(coordinator.practice, "Mine"), diabetic_at(coordinator.practice, "Other")
    theirs = diabetic_at(practice_b, "Theirs")

    response = confirm(sign_in_as(coordinator), entry=[entry_of(mine).pk, entry_of(theirs).pk], filters="")

    assert response.status_code == 302
    assert list(Invitation.objects.values_list("patient_id", flat=True)) == [mine.pk]
    assert InvitationBatch.objects.get().description == "2 reviews chosen from the worklist"
    assert entry_of(theirs).invitations == 0 and entry_of(not_ticked).invitations == 0


def test_a_double_submitted_confirm_makes_one_batch(sign_in_as, coordinator, mixed, enqueued):
    client, key = sign_in_as(coordinator), uuid.uuid4()

    first = confirm(client, key=key)
    second = confirm(client, key=key)

    batch = InvitationBatch.objects.get()
    assert first["Location"] == second["Location"] == batch.get_absolute_url()
    assert batch.request_key == key
    assert Invitation.objects.count() == 2
    assert entry_of(mixed["able"]).invitations == 1


def test_the_service_returns_the_batch_a_key_made_already(coordinator, mixed):
    key, entries = uuid.uuid4(), RecallEntry.objects.filter(patient=mixed["able"])
    made = invitation_batch_create(
        entries=entries, channel="sms", on=TODAY, by=coordinator.user, request_key=key
    )
    again = invitation_batch_create(
        entries=entries, channel="sms", on=TODAY, by=coordinator.user, request_key=key
    )
    assert again == made
    assert Invitation.objects.count() == 1


def test_nobody_to_invite_is_refused_and_nothing_is_made(sign_in_as, coordinator):
    diabetic_at(coordinator.practice, "Nomobile", mobile="")
    response = confirm(sign_in_as(coordinator))
    assert response.status_code == 200
    assert "None of these patients can be invited: see the reasons listed." in response.content.decode()
    assert response.context["plan"].exclusions[0].reason == "No mobile number for a text message"
    assert InvitationBatch.objects.count() == 0 and Invitation.objects.count() == 0


def test_more_patients_than_a_batch_may_invite_is_refused(sign_in_as, coordinator, mixed, monkeypatch):
    monkeypatch.setattr("recall.forms.batches.BATCH_LIMIT", 5)
    response = preview(sign_in_as(coordinator))
    assert response.context["plan"] is None
    assert (
        "These are 6 patients; a batch can invite up to 5. Narrow the filters." in response.content.decode()
    )
    assert InvitationBatch.objects.count() == 0


def test_the_preview_without_patients_goes_back_to_the_worklist(sign_in_as, coordinator):
    response = sign_in_as(coordinator).get(NEW, {"channel": "sms"})
    assert response.status_code == 302 and response["Location"] == reverse("recall:worklist")


def test_an_outsiders_filter_finds_none_of_practice_as_patients(sign_in_as, outsider, mixed, enqueued):
    response = confirm(sign_in_as(outsider))
    assert response.status_code == 200
    assert InvitationBatch.objects.count() == 0 and Invitation.objects.count() == 0


# --- The batch's pages and downloads ------------------------------------------------------------------


@pytest.fixture
def two_reviews(coordinator):
    """A patient with diabetes and hypertension due, and one with diabetes, invited by text message."""
    both = diabetic_at(
        coordinator.practice, "Both", given_name="Bea", nhs_number="9997000005", mobile="07700900111",
        ltc_flags=LongTermCondition.DIABETES | LongTermCondition.HYPERTENSION,
    )  # fmt: skip
    one = diabetic_at(
        coordinator.practice, "One", given_name="Ola", nhs_number="9997000013", mobile="07700900222"
    )
    return both, one


def sms_batch(coordinator, channel="sms") -> InvitationBatch:
    entries = RecallEntry.objects.visible_to(coordinator.user)
    return invitation_batch_create(entries=entries, channel=channel, on=TODAY, by=coordinator.user)


def rows_of(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_messaging_export_has_one_row_per_patient_with_every_review_due(
    sign_in_as, coordinator, two_reviews
):
    both, one = two_reviews
    batch = sms_batch(coordinator)

    response = sign_in_as(coordinator).get(reverse("recall:batch_messaging_csv", args=[batch.pk]))

    assert response["Content-Disposition"] == f'attachment; filename="recall-batch-{batch.pk}-messaging.csv"'
    assert rows_of(response) == [
        MESSAGING_HEADER,
        [
            "9997000005",
            "Bea",
            "Both",
            "09/12/1990",
            "07700900111",
            "Diabetes annual review; Blood pressure review",
        ],
        ["9997000013", "Ola", "One", "09/12/1990", "07700900222", "Diabetes annual review"],
    ]
    event = AuditEvent.objects.get(action="recall.batch.messaging_csv")
    assert sorted(event.patients.values_list("pk", flat=True)) == sorted([both.pk, one.pk])


def test_the_coding_export_has_a_row_per_invitation(sign_in_as, coordinator, two_reviews):
    batch = sms_batch(coordinator)
    response = sign_in_as(coordinator).get(reverse("recall:batch_coding_csv", args=[batch.pk]))
    diabetes, hypertension = register("diabetes").invitation_term, register("hypertension").invitation_term
    assert rows_of(response) == [
        ["Date", "NHS number", "Name", "SNOMED CT id", "Term", "Invitation"],
        ["03/12/2026", "9997000005", "BOTH, Bea", "", diabetes, "1st"],
        ["03/12/2026", "9997000005", "BOTH, Bea", "", hypertension, "1st"],
        ["03/12/2026", "9997000013", "ONE, Ola", "", diabetes, "1st"],
    ]
    assert AuditEvent.objects.filter(action="recall.batch.coding_csv").count() == 1


def test_a_name_that_is_a_formula_is_escaped_in_the_exports(sign_in_as, coordinator):
    diabetic_at(coordinator.practice, "Smith", given_name='=HYPERLINK("http://evil.test","x")')
    batch = sms_batch(coordinator)
    client = sign_in_as(coordinator)
    messaging = rows_of(client.get(reverse("recall:batch_messaging_csv", args=[batch.pk])))
    coding = rows_of(client.get(reverse("recall:batch_coding_csv", args=[batch.pk])))
    assert messaging[1][1] == '\'=HYPERLINK("http://evil.test","x")'
    assert coding[1][2] == 'SMITH, =HYPERLINK("http://evil.test","x")'  # not at the start: no formula


def test_the_batch_page_shows_counts_and_exclusions_and_is_audited(sign_in_as, coordinator, mixed):
    batch = sms_batch(coordinator)
    response = sign_in_as(coordinator).get(batch.get_absolute_url())
    html = response.content.decode()
    assert response.status_code == 200
    assert "Left out (4)" in html and "Left the practice" in html
    assert reverse("recall:batch_messaging_csv", args=[batch.pk]) in html
    assert reverse("recall:batch_undo", args=[batch.pk]) in html
    event = AuditEvent.objects.get(action="recall.batch.view")
    assert sorted(event.patients.values_list("pk", flat=True)) == sorted(
        mixed[name].pk for name in ("dead", "left", "nomobile", "recent")
    )


# Sign-in (session, user, two-factor device, memberships), the count, the header's practices, the page's
# batches with their makers, and the session saved (savepoint, update, release).
BATCH_LIST_QUERIES = 10


def test_the_batch_list_shows_the_users_batches_in_a_fixed_number_of_queries(
    sign_in_as, coordinator, outsider, practice_b, django_assert_num_queries
):
    for name in ("A", "B", "C"):
        diabetic_at(coordinator.practice, name)
        sms_batch(coordinator)
    diabetic_at(practice_b, "Theirs")
    theirs = sms_batch(outsider)
    client = sign_in_as(coordinator)
    with django_assert_num_queries(BATCH_LIST_QUERIES):
        few = client.get(reverse("recall:batch_list"))
    for name in ("D", "E", "F", "G"):
        diabetic_at(coordinator.practice, name)
        sms_batch(coordinator)
    with django_assert_num_queries(BATCH_LIST_QUERIES):
        many = client.get(reverse("recall:batch_list"))
    assert len(few.context["page"].object_list) == 3
    assert len(many.context["page"].object_list) == 7
    assert theirs not in many.context["page"].object_list
    assert client.get(theirs.get_absolute_url()).status_code == 404
    assert (
        sign_in_as(outsider).get(theirs.get_absolute_url()).status_code == 200
    )  # (the same client, now theirs)


# --- Letters ---------------------------------------------------------------------------------------------


def test_a_letter_batch_makes_its_letters_in_the_background(sign_in_as, coordinator, two_reviews, enqueued):
    client = sign_in_as(coordinator)
    response = confirm(client, channel="letter", filters="")
    batch = InvitationBatch.objects.get()
    assert response["Location"] == batch.get_absolute_url()
    assert enqueued == [batch.pk]
    assert (batch.letters_state, batch.letters_total) == ("pending", 2)
    waiting = client.get(batch.get_absolute_url()).content.decode()
    assert f'hx-get="{batch.get_absolute_url()}" hx-trigger="every 2s"' in waiting

    batch_letters_task(batch.pk)  # what the worker runs

    batch.refresh_from_db()
    assert (batch.letters_state, batch.letters_done) == ("ready", 2)
    assert len(PdfReader(batch.letters_file.path).pages) == 2  # one letter per patient, not per review
    download = client.get(reverse("recall:batch_letters", args=[batch.pk]))
    assert download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.get(action="recall.batch.letters").patients.count() == 2


def test_the_progress_partial_refreshes_while_the_letters_are_made(sign_in_as, coordinator, two_reviews):
    batch = sms_batch(coordinator, channel="letter")
    InvitationBatch.objects.filter(pk=batch.pk).update(letters_state="rendering", letters_done=1)
    client = sign_in_as(coordinator)
    audited = AuditEvent.objects.count()

    partial = client.get(batch.get_absolute_url(), headers={"HX-Request": "true"}).content.decode()

    assert partial.startswith('\n<div id="batch-letters" hx-get=')
    assert '<progress id="letters-progress" class="nhsuk-u-width-full" max="2" value="1">' in partial
    assert "1 of 2 letters made" in partial
    assert "<html" not in partial
    assert AuditEvent.objects.count() == audited  # the poll shows no patient
    InvitationBatch.objects.filter(pk=batch.pk).update(letters_state="ready", letters_done=2)
    done = client.get(batch.get_absolute_url(), headers={"HX-Request": "true"}).content.decode()
    assert "hx-get" not in done and "Download the letters (PDF)" in done


def test_failed_letters_show_the_error_and_can_be_tried_again(sign_in_as, coordinator, two_reviews, enqueued):
    batch = sms_batch(coordinator, channel="letter")
    InvitationBatch.objects.filter(pk=batch.pk).update(letters_state="failed", letters_error="Out of memory")
    client = sign_in_as(coordinator)
    html = client.get(batch.get_absolute_url()).content.decode()
    assert '<p data-testid="letters-error">Out of memory</p>' in html
    assert reverse("recall:batch_letters_retry", args=[batch.pk]) in html

    response = client.post(reverse("recall:batch_letters_retry", args=[batch.pk]))

    batch.refresh_from_db()
    assert response["Location"] == batch.get_absolute_url()
    assert (batch.letters_state, batch.letters_error, enqueued) == ("pending", "", [batch.pk])


def test_letters_that_did_not_fail_are_not_made_again(sign_in_as, coordinator, two_reviews, enqueued):
    batch = sms_batch(coordinator, channel="letter")
    batch_letters_task(batch.pk)
    client = sign_in_as(coordinator)
    response = client.post(reverse("recall:batch_letters_retry", args=[batch.pk]), follow=True)
    batch.refresh_from_db()
    assert batch.letters_state == "ready" and enqueued == []
    assert "Only letters that failed can be made again." in response.content.decode()


def test_letters_not_ready_are_not_downloaded(sign_in_as, coordinator, two_reviews):
    batch = sms_batch(coordinator, channel="letter")
    response = sign_in_as(coordinator).get(reverse("recall:batch_letters", args=[batch.pk]))
    assert response["Location"] == batch.get_absolute_url()
    assert not AuditEvent.objects.filter(action="recall.batch.letters").exists()


# --- Undo ------------------------------------------------------------------------------------------------


def test_undo_on_the_day_cancels_the_ledger_rows_and_puts_the_counts_back(
    sign_in_as, coordinator, two_reviews
):
    both, _ = two_reviews
    batch = sms_batch(coordinator)
    client = sign_in_as(coordinator)
    page = client.get(reverse("recall:batch_undo", args=[batch.pk])).content.decode()
    assert "Undoing cancels the batch’s 3 invitations to 2 patients." in page

    response = client.post(reverse("recall:batch_undo", args=[batch.pk]))

    batch.refresh_from_db()
    assert response["Location"] == batch.get_absolute_url()
    assert batch.cancelled_at is not None and batch.cancelled_by == coordinator.user
    rows = Invitation.objects.filter(batch=batch)
    assert rows.count() == 3  # kept, not deleted
    assert set(rows.values_list("cancelled_by", flat=True)) == {coordinator.user.pk}
    assert all(row.cancelled_at == batch.cancelled_at for row in rows)
    assert list(RecallEntry.objects.filter(patient=both).values_list("state", "invitations", "last_invited_on")) == [
        ("due", 0, None), ("due", 0, None),
    ]  # fmt: skip
    assert AuditEvent.objects.filter(action="recall.batch.undo").count() == 1
    detail = client.get(batch.get_absolute_url()).content.decode()
    assert 'data-testid="undone"' in detail
    assert reverse("recall:batch_messaging_csv", args=[batch.pk]) not in detail


def test_undo_is_refused_the_next_day_and_nothing_changes(sign_in_as, coordinator, two_reviews):
    both, _ = two_reviews
    batch = sms_batch(coordinator)
    with time_machine.travel(TODAY + timedelta(days=1), tick=False):
        client = sign_in_as(coordinator)
        page = client.get(reverse("recall:batch_undo", args=[batch.pk])).content.decode()
        response = client.post(reverse("recall:batch_undo", args=[batch.pk]), follow=True)

    assert "A batch can be undone only on the day it was sent" in page
    assert 'type="submit"' not in page.split("<main")[1].split("</main>")[0].replace("Sign out", "")
    assert "A batch can be undone only on the day it was sent." in response.content.decode()
    batch.refresh_from_db()
    assert batch.cancelled_at is None
    assert Invitation.objects.filter(batch=batch, cancelled_at__isnull=True).count() == 3
    assert entry_of(both).invitations == 1


def test_an_undone_batch_has_nothing_to_download(sign_in_as, coordinator, two_reviews):
    batch = sms_batch(coordinator)
    client = sign_in_as(coordinator)
    client.post(reverse("recall:batch_undo", args=[batch.pk]))
    for name in ("recall:batch_messaging_csv", "recall:batch_coding_csv", "recall:batch_letters"):
        response = client.get(reverse(name, args=[batch.pk]))
        assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    assert not AuditEvent.objects.filter(
        action__in=["recall.batch.messaging_csv", "recall.batch.coding_csv"]
    ).exists()


def test_batches_are_scoped_the_same_without_postgresqls_json_containment(
    coordinator, outsider, practice_b, monkeypatch
):
    diabetic_at(coordinator.practice, "Mine")
    mine = sms_batch(coordinator)
    diabetic_at(practice_b, "Theirs")
    theirs = sms_batch(outsider)
    both = InvitationBatch.objects.create(
        channel="sms", sent_on=TODAY, practice_ids=sorted([coordinator.practice.pk, practice_b.pk]),
        created_by=coordinator.user,
    )  # fmt: skip
    postgresql = list(InvitationBatch.objects.visible_to(coordinator.user))
    monkeypatch.setattr(connection, "vendor", "sqlite")  # the Python comparison SQLite uses
    python = list(InvitationBatch.objects.visible_to(coordinator.user))
    assert postgresql == python == [mine]
    assert theirs not in python and both not in python
