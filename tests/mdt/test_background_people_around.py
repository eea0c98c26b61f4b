"""The MDT patient background lists the people around the person: all of them, each with whether the
person agreed they may receive information (the MDT is professionals discussing care), on the agenda
page and in the agenda pack."""

from datetime import date

import pytest
from django.urls import reverse

from caseload.models import PersonAround
from mdt.models import MeetingDocument
from mdt.services.backgrounds import patient_background
from mdt.services.packs import meeting_document_render
from tests.conftest import pdf_text
from tests.mdt.minutes_fixtures import add_item

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


@pytest.fixture
def people(patient, coordinator):
    main = PersonAround.objects.create(
        patient=patient, name="Mary Hopper", relationship="child", phone="07700 900123", is_main_carer=True,
        may_receive_information=True, consent_recorded_on=date(2025, 3, 1), created_by=coordinator.user,
    )  # fmt: skip
    other = PersonAround.objects.create(
        patient=patient, name="Dee Nurse", relationship="professional", relationship_detail="district nurse",
        created_by=coordinator.user,
    )  # fmt: skip
    return [main, other]


def test_the_background_lists_everyone_main_carer_first(patient, people, meeting, django_assert_num_queries):
    with django_assert_num_queries(4):
        background = patient_background(patient=patient, since=meeting.starts_at)
    assert [p.name for p in background["people_around"]] == ["Mary Hopper", "Dee Nurse"]


def test_the_agenda_page_shows_them_with_the_consent_flag(sign_in_as, coordinator, meeting, patient, people):
    add_item(meeting, patient)
    content = sign_in_as(coordinator).get(reverse("mdt:meeting_detail", args=[meeting.pk])).content.decode()
    row = content.split('data-testid="background-people"')[1].split("</dd>")[0]
    assert "Mary Hopper (son or daughter), main carer, 07700 900123: may receive information" in row
    assert "Dee Nurse (professional: district nurse): <strong>no consent to share</strong>" in row


def test_the_agenda_pack_lists_them(meeting, patient, people):
    add_item(meeting, patient)
    document = meeting_document_render(meeting=meeting, kind=MeetingDocument.Kind.AGENDA_PACK)
    with document.file.open("rb") as pdf:
        text = " ".join(pdf_text(pdf.read()).split())
    assert "People around them" in text
    assert "Mary Hopper" in text
    assert "Yes, agreed 1 Mar 2025" in text
    assert "Professional: district nurse" in text
    assert "No consent to share" in text
