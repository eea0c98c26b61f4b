"""A meeting whose series covers several practices (as every demo series does): a coordinator at one of
them opens and works it, seeing only their own practices' patients — on the agenda, in the
suggestions, the minutes, the pack and the counts — and gets 404 for anything about another
practice's patient. A clinical lead at every practice sees and signs off the whole meeting."""

from datetime import time, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from caseload.models import CareEvent
from mdt.models import Action, AgendaItem, Discussion, ExternalMember, Meeting, MeetingDocument, MeetingSeries
from mdt.services.circulation import agenda_circulate
from mdt.services.packs import meeting_document_render
from pcn.models import AuditEvent, Role
from pcn.nhs_number import format_nhs_number
from tests.conftest import make_person, pdf_text
from tests.factories import PatientFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]
pytest_plugins = ["tests.caseload.import_fixtures"]

PACK = MeetingDocument.Kind.AGENDA_PACK


@pytest.fixture
def pcn_lead(practice_a, practice_b):
    """A clinical lead at every practice of the PCN: the series' chair."""
    return make_person(
        practice_a,
        Role.CLINICAL_LEAD,
        also_at=[practice_b],
        full_name="Pat PCN Lead",
        email="pat@example.test",
    )


@pytest.fixture
def meeting(practice_a, practice_b, pcn_lead, coordinator, outsider):
    series = MeetingSeries.objects.create(
        name="Frailty MDT", kind="frailty", weekday=1, start_time=time(13), chair=pcn_lead.user
    )
    series.practices.add(practice_a, practice_b)
    series.members.add(coordinator.user, outsider.user)
    starts_at = timezone.now() + timedelta(days=8)
    return Meeting.objects.create(
        series=series, starts_at=starts_at, scheduled_for=starts_at, circulate_at=starts_at
    )


@pytest.fixture
def ours(meeting, patient):
    """Grace Hopper, at the coordinator's practice A: first on the agenda."""
    return AgendaItem.objects.create(
        meeting=meeting, patient=patient, source="added", reason="Falls", position=1
    )


@pytest.fixture
def theirs(meeting, practice_b):
    """A patient at practice B: second on the agenda."""
    patient = PatientFactory(practice=practice_b, given_name="Ivy", family_name="Elsewhere")
    return AgendaItem.objects.create(
        meeting=meeting, patient=patient, source="added", reason="Confused at night", position=2
    )


def positions(meeting) -> list[tuple[int, int]]:
    return list(meeting.items.order_by("position").values_list("pk", "position"))


def test_coordinator_opens_the_meeting_and_sees_only_their_patients(
    sign_in_as, coordinator, meeting, ours, theirs
):
    client = sign_in_as(coordinator)
    listed = client.get(reverse("mdt:series_list"))
    assert [m.pk for m in listed.context["series_list"][0].next_meetings] == [meeting.pk]

    response = client.get(reverse("mdt:meeting_detail", args=[meeting.pk]))

    assert response.status_code == 200
    assert [item.pk for item in response.context["items"]] == [ours.pk]
    page = response.content.decode()
    assert "HOPPER, Grace" in page
    assert "ELSEWHERE" not in page.upper()
    assert "1 patient, 10 minutes." in page  # the count is of what they can see
    event = AuditEvent.objects.get(action="mdt.meeting.view")
    assert list(event.patient_links.values_list("patient_id", flat=True)) == [ours.patient_id]


def test_the_pcn_lead_sees_the_whole_agenda_approves_and_signs_off(
    sign_in_as, pcn_lead, meeting, ours, theirs
):
    client = sign_in_as(pcn_lead)
    response = client.get(reverse("mdt:meeting_detail", args=[meeting.pk]))
    assert [item.pk for item in response.context["items"]] == [ours.pk, theirs.pk]
    assert "2 patients, 20 minutes." in response.content.decode()

    assert (
        client.post(reverse("mdt:agenda_approve", args=[meeting.pk]), {"comments": "Fine"}).status_code == 302
    )
    page = client.get(reverse("mdt:minutes_sign_off", args=[meeting.pk]))
    assert [item.pk for item in page.context["items"]] == [ours.pk, theirs.pk]
    assert client.post(reverse("mdt:minutes_sign_off", args=[meeting.pk])).status_code == 302
    meeting.refresh_from_db()
    assert (meeting.agenda_approved_by, meeting.minutes_signed_off_by) == (pcn_lead.user, pcn_lead.user)


def test_suggestions_are_of_their_practices_patients_only(
    sign_in_as, coordinator, meeting, patient, practice_b
):
    stranger = PatientFactory(practice=practice_b, family_name="Discharged")
    for person in (patient, stranger):
        CareEvent.objects.create(
            patient=person, nhs_number=person.nhs_number, kind="discharge",
            occurred_at=timezone.now() - timedelta(days=1), provider="Royal County",
        )  # fmt: skip
    response = sign_in_as(coordinator).get(reverse("mdt:meeting_detail", args=[meeting.pk]))
    assert [s["patient"].pk for s in response.context["suggestions"]] == [patient.pk]
    assert "DISCHARGED" not in response.content.decode().upper()


def test_minutes_and_circulation_pages_show_their_patients_only(
    sign_in_as, coordinator, meeting, ours, theirs
):
    client = sign_in_as(coordinator)
    minutes = client.get(reverse("mdt:minutes", args=[meeting.pk]))
    assert [row["item"].pk for row in minutes.context["rows"]] == [ours.pk]
    assert "ELSEWHERE" not in minutes.content.decode().upper()
    assert client.get(reverse("mdt:circulation_list", args=[meeting.pk])).status_code == 200


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("mdt:agenda_item_remove", {}),
        ("mdt:agenda_item_move", {"direction": "up"}),
        ("mdt:agenda_item_update", {"minutes_allotted": "30", "reason": "Mine now"}),
        ("mdt:discussion_save", {"notes": "Seen", "outcome": "continue", "version": "0"}),
        ("mdt:action_add", {"what": "Call", "owner": "user:COORDINATOR", "due_on": "2030-01-01"}),
    ],
)
def test_writes_on_another_practices_item_are_404_and_change_nothing(
    sign_in_as, coordinator, meeting, ours, theirs, name, data
):
    prefix = f"item-{theirs.pk}-" if name == "mdt:discussion_save" else ""
    data = {
        prefix + key: value.replace("COORDINATOR", str(coordinator.user.pk)) for key, value in data.items()
    }
    response = sign_in_as(coordinator).post(reverse(name, args=[theirs.pk]), data)
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert (theirs.position, theirs.minutes_allotted, theirs.reason) == (2, 10, "Confused at night")
    assert positions(meeting) == [(ours.pk, 1), (theirs.pk, 2)]
    assert (Discussion.objects.count(), Action.objects.count()) == (0, 0)


def test_adding_another_practices_patient_is_404(sign_in_as, coordinator, meeting, practice_b):
    stranger = PatientFactory(practice=practice_b)
    response = sign_in_as(coordinator).post(
        reverse("mdt:agenda_item_add", args=[meeting.pk]), {"patient": stranger.pk, "reason": "x"}
    )
    assert response.status_code == 404
    assert not meeting.items.exists()


def test_ordering_moves_their_own_items_around_the_others(
    sign_in_as, coordinator, meeting, ours, theirs, practice_a
):
    later = AgendaItem.objects.create(
        meeting=meeting, patient=PatientFactory(practice=practice_a), source="added", position=3
    )
    client = sign_in_as(coordinator)
    # Up, among the items they can see: past Grace, not past the other practice's patient.
    client.post(reverse("mdt:agenda_item_move", args=[later.pk]), {"direction": "up"})
    assert positions(meeting) == [(later.pk, 1), (theirs.pk, 2), (ours.pk, 3)]
    client.post(reverse("mdt:agenda_reorder", args=[meeting.pk]), {"order": f"{ours.pk},{later.pk}"})
    assert positions(meeting) == [(ours.pk, 1), (theirs.pk, 2), (later.pk, 3)]
    # Naming the other practice's item is refused like an item of another meeting.
    response = client.post(
        reverse("mdt:agenda_reorder", args=[meeting.pk]), {"order": f"{theirs.pk},{ours.pk},{later.pk}"}
    )
    assert response.status_code == 302
    assert positions(meeting) == [(ours.pk, 1), (theirs.pk, 2), (later.pk, 3)]


def test_the_whole_agendas_pack_is_never_handed_to_the_coordinator(
    sign_in_as, coordinator, pcn_lead, meeting, ours, theirs, eager_celery, django_capture_on_commit_callbacks
):
    whole = meeting_document_render(meeting=meeting, kind=PACK)
    assert whole.practice_ids == sorted([ours.patient.practice_id, theirs.patient.practice_id])
    client = sign_in_as(coordinator)
    url = reverse("mdt:document_download", args=[meeting.pk, PACK])

    response = client.get(url)
    assert response.status_code == 404
    assert "Make the agenda pack of your practices' patients" in response.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("mdt:document_request", args=[meeting.pk, PACK])).status_code == 302
    own = MeetingDocument.objects.get(meeting=meeting, kind=PACK, scope=str(coordinator.practice.pk))
    assert (own.state, own.practice_ids) == (MeetingDocument.State.READY, [coordinator.practice.pk])

    response = client.get(url)
    assert response.status_code == 200
    text = pdf_text(b"".join(response.streaming_content))
    assert ours.patient.full_name in text
    assert format_nhs_number(ours.patient.nhs_number) in text
    assert theirs.patient.full_name not in text
    assert format_nhs_number(theirs.patient.nhs_number) not in text
    assert "Only the patients of Riverside Surgery." in text
    event = AuditEvent.objects.get(action="mdt.document.download")
    assert list(event.patients.values_list("pk", flat=True)) == [ours.patient_id]

    client.logout()
    lead = sign_in_as(pcn_lead).get(url)
    assert b"".join(lead.streaming_content) == whole.file.open("rb").read()


def test_a_pack_showing_a_practice_the_user_is_not_at_is_not_theirs(
    sign_in_as, coordinator, practice_a, practice_b
):
    """A series covering only the coordinator's practice, with a patient carried forward from a practice
    that has left it: the whole agenda's pack shows that patient, so the coordinator does not get it."""
    series = MeetingSeries.objects.create(
        name="Care home MDT", kind="care_home", weekday=1, start_time=time(13), chair=coordinator.user
    )
    series.practices.add(practice_a)
    starts_at = timezone.now() + timedelta(days=8)
    meeting = Meeting.objects.create(
        series=series, starts_at=starts_at, scheduled_for=starts_at, circulate_at=starts_at
    )
    AgendaItem.objects.create(
        meeting=meeting, patient=PatientFactory(practice=practice_b), source="carried_forward"
    )
    meeting_document_render(meeting=meeting, kind=PACK)

    response = sign_in_as(coordinator).get(reverse("mdt:document_download", args=[meeting.pk, PACK]))

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="mdt.document.download").exists()


def test_each_member_is_told_how_many_of_their_patients_are_on_the_agenda(meeting, ours, theirs):
    ExternalMember.objects.create(series=meeting.series, name="Dee Nurse", email="dn@community.example.test")
    agenda_circulate(meeting=meeting)
    told = {
        message.to[0]: next(line for line in message.body.splitlines() if line.startswith("Patients"))
        for message in mail.outbox
    }
    assert told == {
        "cara@example.test": "Patients on the agenda: 1",
        "olu@example.test": "Patients on the agenda: 1",
        "pat@example.test": "Patients on the agenda: 2",
        "dn@community.example.test": "Patients on the agenda: 2",
    }
