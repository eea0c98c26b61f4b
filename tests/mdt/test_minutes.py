"""Taking the minutes: discussions saved item by item with an optimistic lock, the chair's sign-off
locking them, addenda, coding rows, the timeline, and the htmx views."""

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from caseload.models import CodingEntry
from mdt.models import Action, Addendum, Discussion, Meeting, MeetingDocument
from mdt.services.actions import action_create
from mdt.services.minutes import addendum_add, attendance_set, discussion_save, minutes_sign_off
from overview.timeline import patient_timeline
from pcn.models import AuditEvent
from tests.factories import PatientFactory
from tests.mdt.minutes_fixtures import add_external, add_item

pytestmark = pytest.mark.django_db


def test_first_save_creates_the_discussion_at_version_1(item, coordinator):
    discussion = discussion_save(
        item=item, notes="Two falls.", outcome="continue", version=0, by=coordinator.user
    )
    assert (discussion.notes, discussion.outcome, discussion.version) == ("Two falls.", "continue", 1)
    assert discussion.updated_by == coordinator.user
    assert (
        AuditEvent.objects.filter(action="mdt.discussion.save", patient_links__patient=item.patient).count()
        == 1
    )


def test_stale_version_is_refused_and_the_first_save_is_kept(item, coordinator, clinical_lead):
    discussion_save(item=item, notes="Cara's notes", outcome="", version=0, by=coordinator.user)
    # Both opened the item at version 0; Liam saves second.
    with pytest.raises(ValidationError) as refusal:
        discussion_save(item=item, notes="Liam's notes", outcome="other", version=0, by=clinical_lead.user)
    assert refusal.value.code == "stale"
    stored = Discussion.objects.get(item=item)
    assert (stored.notes, stored.outcome, stored.version, stored.updated_by) == (
        "Cara's notes", "", 1, coordinator.user,
    )  # fmt: skip
    # With the version he now reads, his merged text saves.
    merged = discussion_save(item=item, notes="Merged", outcome="other", version=1, by=clinical_lead.user)
    assert merged.version == 2


def test_two_items_save_independently(meeting, item, coordinator, clinical_lead, practice_a):
    other = add_item(meeting, PatientFactory(practice=practice_a), position=1)
    discussion_save(item=item, notes="First", outcome="continue", version=0, by=coordinator.user)
    discussion_save(item=other, notes="Second", outcome="refer_on", version=0, by=clinical_lead.user)
    discussion_save(item=item, notes="First, more", outcome="continue", version=1, by=coordinator.user)
    assert sorted(Discussion.objects.values_list("item_id", "notes", "version")) == sorted(
        [(item.pk, "First, more", 2), (other.pk, "Second", 1)]
    )


def test_only_the_chair_signs_off(meeting, item, coordinator):
    with pytest.raises(ValidationError) as refusal:
        minutes_sign_off(meeting=meeting, by=coordinator.user)
    assert refusal.value.code == "not_chair"
    meeting.refresh_from_db()
    assert meeting.minutes_signed_off_at is None
    assert CodingEntry.objects.count() == 0


def test_sign_off_locks_the_minutes_and_addenda_are_allowed(meeting, item, coordinator, clinical_lead):
    discussion_save(
        item=item, notes="Agreed plan", outcome="update_care_plan", version=0, by=coordinator.user
    )
    minutes_sign_off(meeting=meeting, by=clinical_lead.user)
    meeting.refresh_from_db()
    assert meeting.minutes_locked is True
    assert meeting.minutes_signed_off_by == clinical_lead.user
    assert meeting.status == Meeting.Status.HELD

    with pytest.raises(ValidationError) as refusal:
        discussion_save(item=item, notes="Changed", outcome="other", version=1, by=coordinator.user)
    assert refusal.value.code == "locked"
    assert Discussion.objects.get(item=item).notes == "Agreed plan"
    with pytest.raises(ValidationError):
        action_create(
            item=item, what="Late", due_on=date(2025, 3, 11), owner_user=coordinator.user, by=coordinator.user
        )
    with pytest.raises(ValidationError):
        attendance_set(
            meeting=meeting, user_ids=[coordinator.user.pk], external_member_ids=[], by=coordinator.user
        )
    with pytest.raises(ValidationError) as again:
        minutes_sign_off(meeting=meeting, by=clinical_lead.user)
    assert again.value.code == "locked"
    assert Action.objects.count() == 0

    addendum = addendum_add(meeting=meeting, text="Dose was 5 mg, not 50 mg.", by=coordinator.user)
    assert list(Addendum.objects.values_list("pk", "text")) == [(addendum.pk, "Dose was 5 mg, not 50 mg.")]


def test_addendum_before_sign_off_is_refused(meeting, coordinator):
    with pytest.raises(ValidationError) as refusal:
        addendum_add(meeting=meeting, text="Too early", by=coordinator.user)
    assert refusal.value.code == "not_locked"
    assert Addendum.objects.count() == 0


def test_sign_off_codes_each_discussed_patient_once(meeting, item, coordinator, clinical_lead, practice_a):
    not_discussed = add_item(meeting, PatientFactory(practice=practice_a), position=1)
    discussion_save(item=item, notes="Seen", outcome="continue", version=0, by=coordinator.user)
    minutes_sign_off(meeting=meeting, by=clinical_lead.user)
    assert list(CodingEntry.objects.values_list("patient_id", "coded_on", "snomed_id", "term", "source")) == [
        (
            item.patient_id,
            date(2025, 3, 4),
            "",
            "Multidisciplinary care conference",
            f"mdt:{meeting.pk}:{item.patient_id}",
        )
    ]
    assert not CodingEntry.objects.filter(patient=not_discussed.patient).exists()


def test_attendance_is_exactly_who_was_ticked(meeting, coordinator, clinical_lead):
    external = add_external(meeting)
    attendance_set(
        meeting=meeting,
        user_ids=[coordinator.user.pk, clinical_lead.user.pk],
        external_member_ids=[external.pk],
        by=coordinator.user,
    )
    attendance_set(
        meeting=meeting,
        user_ids=[clinical_lead.user.pk],
        external_member_ids=[external.pk],
        by=coordinator.user,
    )
    assert set(meeting.attendance.values_list("user_id", "external_member_id")) == {
        (clinical_lead.user.pk, None),
        (None, external.pk),
    }


def test_discussion_is_on_the_patients_timeline(item, coordinator):
    discussion_save(
        item=item, notes="Two falls this month.", outcome="refer_on", version=0, by=coordinator.user
    )
    [entry] = patient_timeline(patient=item.patient, kinds=["mdt"])
    assert (entry.kind, entry.title, entry.detail, entry.tags) == (
        "mdt", "Discussed at Care home MDT", "Two falls this month.", ("Refer on", "Draft minutes"),
    )  # fmt: skip
    assert entry.url == reverse("mdt:minutes", args=[item.meeting_id])


# --- Views ------------------------------------------------------------------------------------------


def htmx_save(client, item, *, notes: str, outcome: str):
    """The item's discussion form as htmx sends it, from a page that read version 0."""
    prefix = f"item-{item.pk}"
    return client.post(
        reverse("mdt:discussion_save", args=[item.pk]),
        {f"{prefix}-notes": notes, f"{prefix}-outcome": outcome, f"{prefix}-version": "0"},
        headers={"HX-Request": "true"},
    )


def test_htmx_save_returns_the_items_partial(sign_in_as, coordinator, item):
    response = htmx_save(sign_in_as(coordinator), item, notes="Noted", outcome="continue")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<section class="app-minutes-item" id="item-{item.pk}"')
    assert "<html" not in body
    assert f'name="item-{item.pk}-version" value="1"' in body


def test_htmx_stale_save_shows_both_texts(sign_in_as, coordinator, clinical_lead, item):
    discussion_save(item=item, notes="Stored text", outcome="", version=0, by=clinical_lead.user)
    response = htmx_save(sign_in_as(coordinator), item, notes="My draft", outcome="")
    body = response.content.decode()
    assert "Someone else saved this item" in body
    assert "Stored text" in body and "My draft" in body
    assert Discussion.objects.get(item=item).notes == "Stored text"


def test_minutes_page_shows_only_visible_patients(sign_in_as, coordinator, meeting, item, practice_b):
    add_item(meeting, PatientFactory(practice=practice_b, family_name="Elsewhere"), position=1)
    response = sign_in_as(coordinator).get(reverse("mdt:minutes", args=[meeting.pk]))
    assert response.status_code == 200
    assert len(response.context["rows"]) == 1
    assert "ELSEWHERE" not in response.content.decode().upper()


def test_sign_off_page_is_the_chairs(sign_in_as, coordinator, clinical_lead, meeting, item, client):
    assert sign_in_as(coordinator).get(reverse("mdt:minutes_sign_off", args=[meeting.pk])).status_code == 403
    client.logout()
    lead = sign_in_as(clinical_lead)
    assert lead.get(reverse("mdt:minutes_sign_off", args=[meeting.pk])).status_code == 200
    assert lead.post(reverse("mdt:minutes_sign_off", args=[meeting.pk])).status_code == 302
    meeting.refresh_from_db()
    assert meeting.minutes_locked is True


def test_sign_off_requests_the_minutes_pdf_and_circulation(
    meeting, item, coordinator, clinical_lead, django_capture_on_commit_callbacks
):
    discussion_save(item=item, notes="Seen", outcome="continue", version=0, by=coordinator.user)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        minutes_sign_off(meeting=meeting, by=clinical_lead.user)
    assert list(MeetingDocument.objects.values_list("meeting_id", "kind", "state")) == [
        (meeting.pk, "minutes", "rendering")
    ]
    assert len(callbacks) == 2  # render the PDF, then circulate it (each member once)
