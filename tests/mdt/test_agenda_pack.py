"""The agenda pack (and minutes) PDF: rendered in the background, stored, re-rendered only when what it
shows changes; downloads stream the stored file and never render."""

import io
from datetime import UTC, datetime
from unittest import mock

import pytest
from django.urls import reverse
from pypdf import PdfReader

from caseload.models import CareEvent
from mdt.models import MeetingDocument
from mdt.services.packs import meeting_document_render, meeting_document_source_hash
from mdt.tasks import meeting_document_request
from pcn.models import AuditEvent
from pcn.nhs_number import format_nhs_number
from tests.conftest import pdf_text
from tests.factories import PatientFactory
from tests.mdt.minutes_fixtures import add_item

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

PACK = MeetingDocument.Kind.AGENDA_PACK


def document_text(document: MeetingDocument) -> str:
    with document.file.open("rb") as pdf:
        return pdf_text(pdf.read())


def test_the_pack_names_each_patient_with_their_nhs_number(meeting, practice_a):
    patients = [
        PatientFactory(practice=practice_a, given_name=given, family_name=family)
        for given, family in [("Grace", "Hopper"), ("Alan", "Turing"), ("Ada", "Lovelace")]
    ]
    for position, patient in enumerate(patients):
        add_item(meeting, patient, position=position)
    CareEvent.objects.create(
        patient=patients[0], nhs_number=patients[0].nhs_number, kind=CareEvent.Kind.ADMISSION,
        occurred_at=datetime(2025, 2, 20, 9, 0, tzinfo=UTC), provider="Riverside General",
    )  # fmt: skip

    document = meeting_document_render(meeting=meeting, kind=PACK)

    assert document.state == MeetingDocument.State.READY
    assert document.rendered_at is not None
    text = document_text(document)
    for patient in patients:
        assert patient.full_name in text
        assert format_nhs_number(patient.nhs_number) in text
    assert "Care home MDT" in text
    assert "Riverside General" in text
    assert "Page 1 of 5" in text  # cover + agenda, then one page per patient
    assert len(PdfReader(io.BytesIO(document.file.open("rb").read())).pages) == 5


def test_an_unchanged_agenda_is_not_rendered_again_and_a_changed_one_is(meeting, patient):
    item = add_item(meeting, patient)
    first = meeting_document_render(meeting=meeting, kind=PACK)
    first_file, first_hash, first_at = first.file.name, first.source_hash, first.rendered_at

    again = meeting_document_render(meeting=meeting, kind=PACK)
    assert (again.file.name, again.source_hash, again.rendered_at) == (first_file, first_hash, first_at)

    item.reason = "New falls since the last meeting"
    item.save()
    assert meeting_document_source_hash(meeting=meeting, kind=PACK) != first_hash
    changed = meeting_document_render(meeting=meeting, kind=PACK)
    assert changed.source_hash == meeting_document_source_hash(meeting=meeting, kind=PACK)
    assert changed.file.name != first_file
    assert not changed.file.storage.exists(first_file)
    assert "New falls since the last meeting" in document_text(changed)
    assert MeetingDocument.objects.filter(meeting=meeting).count() == 1


def test_request_marks_rendering_and_enqueues_after_commit(
    meeting, patient, django_capture_on_commit_callbacks
):
    add_item(meeting, patient)
    with mock.patch("mdt.tasks.render_meeting_document_task.apply_async") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            document = meeting_document_request(meeting=meeting, kind=PACK)
        assert document.state == MeetingDocument.State.RENDERING
        delay.assert_not_called()
        for callback in callbacks:
            callback()
    delay.assert_called_once_with(args=[meeting.pk, PACK, ""])  # through the outbox


def test_minutes_pdf_has_each_item(meeting, patient):
    add_item(meeting, patient)
    document = meeting_document_render(meeting=meeting, kind=MeetingDocument.Kind.MINUTES)
    text = document_text(document)
    assert patient.full_name in text
    assert "Draft: not signed off by the chair." in text


def test_download_while_rendering_is_not_ready_and_never_renders(sign_in_as, coordinator, meeting, patient):
    add_item(meeting, patient)
    MeetingDocument.objects.create(meeting=meeting, kind=PACK, state=MeetingDocument.State.RENDERING)

    response = sign_in_as(coordinator).get(reverse("mdt:document_download", args=[meeting.pk, PACK]))

    assert response.status_code == 404
    assert "is not ready yet" in response.content.decode()
    document = MeetingDocument.objects.get(meeting=meeting, kind=PACK)
    assert (document.state, document.file.name, document.rendered_at) == (
        MeetingDocument.State.RENDERING,
        "",
        None,
    )
    assert not AuditEvent.objects.filter(action="mdt.document.download").exists()


def test_download_streams_the_stored_pack_and_is_audited(sign_in_as, coordinator, meeting, patient):
    add_item(meeting, patient)
    document = meeting_document_render(meeting=meeting, kind=PACK)

    response = sign_in_as(coordinator).get(reverse("mdt:document_download", args=[meeting.pk, PACK]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == document.file.open("rb").read()
    event = AuditEvent.objects.get(action="mdt.document.download")
    assert (event.user, list(event.patients.values_list("pk", flat=True))) == (coordinator.user, [patient.pk])


def test_circulation_page_shows_the_pack_state_as_of_when(sign_in_as, coordinator, meeting, patient):
    item = add_item(meeting, patient)
    meeting_document_render(meeting=meeting, kind=PACK)
    client = sign_in_as(coordinator)
    url = reverse("mdt:circulation_list", args=[meeting.pk])

    page = client.get(url).content.decode()
    assert "Ready</strong> as of" in page
    assert "Out of date" not in page

    item.reason = "Changed"
    item.save()
    assert "Out of date" in client.get(url).content.decode()

    MeetingDocument.objects.filter(meeting=meeting).update(state=MeetingDocument.State.RENDERING)
    assert "Rendering</strong> since" in client.get(url).content.decode()


def test_outsider_cannot_download(sign_in_as, outsider, meeting, patient):
    add_item(meeting, patient)
    meeting_document_render(meeting=meeting, kind=PACK)
    response = sign_in_as(outsider).get(reverse("mdt:document_download", args=[meeting.pk, PACK]))
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="mdt.document.download").exists()
