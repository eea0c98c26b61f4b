"""The agenda: automatic sources, suggestions confirmed by hand, editing, chair approval, freezing."""

from datetime import date, time, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from caseload.models import CareEvent, ImportBatch, Referral, ReferralType, RiskSnapshot
from mdt.models import Action, AgendaItem, Meeting, MeetingSeries
from mdt.services.agenda import agenda_approve, agenda_item_add, agenda_refresh, agenda_reorder
from mdt.services.backgrounds import patient_background
from mdt.services.suggestions import agenda_suggestions
from pcn.models import AuditEvent
from tests.factories import PatientFactory


@pytest.fixture
def series(db, practice_a, coordinator, clinical_lead):
    series = MeetingSeries.objects.create(
        name="Frailty MDT", kind="frailty", weekday=1, start_time=time(13), chair=clinical_lead.user
    )
    series.practices.add(practice_a)
    series.members.add(coordinator.user)
    return series


def make_meeting(series, starts_at):
    return Meeting.objects.create(
        series=series, starts_at=starts_at, scheduled_for=starts_at, circulate_at=starts_at
    )


@pytest.fixture
def earlier(series):
    return make_meeting(series, timezone.now() + timedelta(days=1))


@pytest.fixture
def meeting(series, earlier):
    return make_meeting(series, timezone.now() + timedelta(days=8))


def directed_referral(patient, series, by):
    return Referral.objects.create(
        patient=patient, referral_type=ReferralType.objects.first(), source="gp", referrer_name="Dr Who",
        reason="Falls at home", received_on=date(2025, 10, 1), created_by=by, status="mdt", mdt_series=series,
    )  # fmt: skip


def action(item, status, what, by):
    return Action.objects.create(
        item=item, what=what, owner_user=by, due_on=date(2025, 11, 1), status=status, created_by=by
    )


def agenda(meeting):
    return list(meeting.items.order_by("position", "id").values_list("patient__family_name", "source"))


def test_referral_directed_to_the_series_is_added_once(meeting, earlier, patient, coordinator):
    referral = directed_referral(patient, meeting.series, coordinator.user)
    other = PatientFactory(practice=patient.practice, family_name="Elsewhere")
    Referral.objects.create(
        patient=other, referral_type=ReferralType.objects.first(), source="gp", referrer_name="Dr Who",
        reason="x", received_on=date(2025, 10, 1), created_by=coordinator.user, status="accepted",
    )  # fmt: skip
    added = agenda_refresh(meeting=meeting)
    assert [(i.patient_id, i.source, i.referral_id, i.reason) for i in added] == [
        (patient.pk, "referral", referral.pk, "Falls at home")
    ]
    assert agenda_refresh(meeting=meeting) == []
    # Once on one of the series' agendas, it is not added to another.
    assert agenda_refresh(meeting=earlier) == []
    assert AgendaItem.objects.count() == 1


def test_only_open_actions_carry_forward(meeting, earlier, coordinator):
    practice = coordinator.practice
    open_one, done_one, cancelled_one = (
        PatientFactory(practice=practice, family_name=n) for n in ("Open", "Done", "Gone")
    )
    for person, status in ((open_one, "open"), (done_one, "done"), (cancelled_one, "cancelled")):
        item = AgendaItem.objects.create(meeting=earlier, patient=person, source="added")
        action(item, status, f"Review {person.family_name}", coordinator.user)
    added = agenda_refresh(meeting=meeting)
    assert [(i.patient_id, i.source, i.reason) for i in added] == [
        (open_one.pk, "carried_forward", "Open actions: Review Open")
    ]
    # The history travels with the patient: the open action, from the earlier meeting, in the background.
    background = patient_background(patient=open_one, since=earlier.starts_at)
    assert [(a.what, a.item.meeting_id) for a in background["open_actions"]] == [("Review Open", earlier.pk)]
    # A later meeting's open actions do not carry back to an earlier one.
    assert agenda_refresh(meeting=earlier) == []


def test_suggestions_are_not_added_until_confirmed(
    meeting, earlier, patient, coordinator, settings, sign_in_as
):
    settings.FREQUENT_ATTENDER_THRESHOLD = 5
    practice = patient.practice
    since = earlier.starts_at
    discharged = PatientFactory(practice=practice, family_name="Discharged")
    care_home = PatientFactory(practice=practice, family_name="Carehome")
    frequent = PatientFactory(practice=practice, family_name="Frequent", ae_attendances_12m=6)
    already = PatientFactory(practice=practice, family_name="Already", ae_attendances_12m=7)
    old_event = PatientFactory(practice=practice, family_name="Oldevent")
    CareEvent.objects.create(
        patient=discharged,
        nhs_number=discharged.nhs_number,
        kind="discharge",
        occurred_at=since + timedelta(hours=2),
        provider="St Elsewhere",
    )
    CareEvent.objects.create(
        patient=care_home,
        nhs_number=care_home.nhs_number,
        kind="care_home_admission",
        occurred_at=since + timedelta(hours=3),
    )
    CareEvent.objects.create(
        patient=old_event,
        nhs_number=old_event.nhs_number,
        kind="admission",
        occurred_at=since - timedelta(days=3),
    )
    batch_old = ImportBatch.objects.create(source="ICB", status="done")
    batch_new = ImportBatch.objects.create(source="ICB", status="done")
    today = timezone.localdate() + timedelta(days=2)
    for person, before, now in ((frequent, 2, 6), (already, 6, 7)):
        RiskSnapshot.objects.create(
            patient=person, batch=batch_old, taken_on=today - timedelta(days=60), ae_attendances_12m=before
        )
        RiskSnapshot.objects.create(patient=person, batch=batch_new, taken_on=today, ae_attendances_12m=now)

    suggestions = agenda_suggestions(meeting=meeting, user=coordinator.user)
    assert {s["patient"].family_name: len(s["reasons"]) for s in suggestions} == {
        "Carehome": 1, "Discharged": 1, "Frequent": 1,
    }  # fmt: skip
    reasons = {s["patient"].family_name: s["reasons"][0] for s in suggestions}
    assert reasons["Discharged"].startswith("Hospital discharge on ")
    assert reasons["Discharged"].endswith("(St Elsewhere)")
    assert "MDT assessment due by" in reasons["Carehome"]
    assert reasons["Frequent"] == "New frequent attender: 6 A&E attendances in 12 months"
    assert agenda_refresh(meeting=meeting) == []
    assert not meeting.items.exists()

    client = sign_in_as(coordinator)
    response = client.post(
        reverse("mdt:agenda_item_add", args=[meeting.pk]),
        {"patient": discharged.pk, "reason": reasons["Discharged"]},
    )
    assert response.status_code == 302
    assert [(i.patient_id, i.source, i.reason, i.added_by_id) for i in meeting.items.all()] == [
        (discharged.pk, "suggested", reasons["Discharged"], coordinator.user.pk)
    ]
    assert "Discharged" not in {
        s["patient"].family_name for s in agenda_suggestions(meeting=meeting, user=coordinator.user)
    }


def test_patient_at_another_practice_cannot_be_added(meeting, coordinator, practice_b):
    stranger = PatientFactory(practice=practice_b)
    with pytest.raises(ValidationError):
        agenda_item_add(meeting=meeting, patient=stranger, by=coordinator.user)
    assert not meeting.items.exists()


def three_items(meeting, coordinator):
    return [
        agenda_item_add(
            meeting=meeting,
            patient=PatientFactory(practice=coordinator.practice, family_name=name),
            by=coordinator.user,
        )
        for name in ("Ash", "Birch", "Cedar")
    ]


def test_reorder_by_buttons_swaps_the_list_partial(meeting, coordinator, sign_in_as):
    ash, birch, cedar = three_items(meeting, coordinator)
    client = sign_in_as(coordinator)
    response = client.post(
        reverse("mdt:agenda_item_move", args=[cedar.pk]), {"direction": "up"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<div id="agenda"')
    assert [p for p, _ in agenda(meeting)] == ["Ash", "Cedar", "Birch"]
    client.post(reverse("mdt:agenda_item_move", args=[ash.pk]), {"direction": "up"})
    assert [p for p, _ in agenda(meeting)] == ["Ash", "Cedar", "Birch"]
    response = client.post(
        reverse("mdt:agenda_reorder", args=[meeting.pk]), {"order": f"{birch.pk},{ash.pk},{cedar.pk}"}
    )
    assert response.status_code == 302
    assert [p for p, _ in agenda(meeting)] == ["Birch", "Ash", "Cedar"]


def test_time_presenter_and_remove(meeting, coordinator, sign_in_as):
    ash, birch, _ = three_items(meeting, coordinator)
    client = sign_in_as(coordinator)
    client.post(
        reverse("mdt:agenda_item_update", args=[ash.pk]),
        {"minutes_allotted": 15, "presenter": coordinator.user.pk, "reason": "Falls"},
    )
    ash.refresh_from_db()
    assert (ash.minutes_allotted, ash.presenter_id, ash.reason) == (15, coordinator.user.pk, "Falls")
    client.post(reverse("mdt:agenda_item_remove", args=[birch.pk]))
    assert [p for p, _ in agenda(meeting)] == ["Ash", "Cedar"]


def events_of(response_of):
    """The audit events (action, patient ids) one request writes."""
    before = AuditEvent.objects.aggregate(last=Max("id"))["last"] or 0
    response_of()
    return [
        (event.action, sorted(event.patient_links.values_list("patient_id", flat=True)))
        for event in AuditEvent.objects.filter(id__gt=before).order_by("id")
    ]


HTMX = {"HX-Request": "true"}


def test_an_htmx_update_of_an_item_writes_one_audit_event(meeting, coordinator, sign_in_as):
    """The change's own event: the agenda partial sent back is not audited a second time."""
    ash, _, _ = three_items(meeting, coordinator)
    client = sign_in_as(coordinator)
    url = reverse("mdt:agenda_item_update", args=[ash.pk])
    events = events_of(lambda: client.post(url, {"minutes_allotted": 15, "presenter": ""}, headers=HTMX))
    assert events == [("mdt.agenda.update", [ash.patient_id])]


def test_an_htmx_removal_of_an_item_writes_one_audit_event(meeting, coordinator, sign_in_as):
    _, birch, _ = three_items(meeting, coordinator)
    client = sign_in_as(coordinator)
    url = reverse("mdt:agenda_item_remove", args=[birch.pk])
    assert events_of(lambda: client.post(url, headers=HTMX)) == [("mdt.agenda.remove", [birch.patient_id])]


def test_an_htmx_move_or_refusal_is_audited_as_the_agenda_it_shows(meeting, coordinator, sign_in_as):
    """Nothing audited the request otherwise: its one event names the patients the partial shows."""
    items = three_items(meeting, coordinator)
    ash, birch, cedar = items
    shown = sorted(item.patient_id for item in items)
    client = sign_in_as(coordinator)
    move = reverse("mdt:agenda_item_move", args=[cedar.pk])
    assert events_of(lambda: client.post(move, {"direction": "up"}, headers=HTMX)) == [
        ("mdt.agenda.view", shown)
    ]
    update = reverse("mdt:agenda_item_update", args=[ash.pk])
    assert events_of(lambda: client.post(update, {"minutes_allotted": 500}, headers=HTMX)) == [
        ("mdt.agenda.view", shown)
    ]
    action(birch, "open", "Call", coordinator.user)
    remove = reverse("mdt:agenda_item_remove", args=[birch.pk])
    assert events_of(lambda: client.post(remove, headers=HTMX)) == [("mdt.agenda.view", shown)]


def test_only_the_chair_approves(meeting, coordinator, clinical_lead, sign_in_as):
    url = reverse("mdt:agenda_approve", args=[meeting.pk])
    assert sign_in_as(coordinator).post(url, {"comments": "Fine"}).status_code == 403
    meeting.refresh_from_db()
    assert (meeting.agenda_approved_at, meeting.chair_comments) == (None, "")
    with pytest.raises(PermissionDenied):
        agenda_approve(meeting=meeting, by=coordinator.user)
    assert sign_in_as(clinical_lead).post(url, {"comments": "Add Mrs B next week"}).status_code == 302
    meeting.refresh_from_db()
    assert (meeting.agenda_approved_by, meeting.chair_comments) == (clinical_lead.user, "Add Mrs B next week")
    assert meeting.agenda_approved_at is not None


def test_agenda_frozen_after_circulation(meeting, patient, coordinator, sign_in_as):
    item = agenda_item_add(
        meeting=meeting, patient=PatientFactory(practice=patient.practice), by=coordinator.user
    )
    directed_referral(patient, meeting.series, coordinator.user)
    meeting.circulated_at = timezone.now()
    meeting.save()
    assert agenda_refresh(meeting=meeting) == []
    with pytest.raises(ValidationError):
        agenda_item_add(meeting=meeting, patient=patient, by=coordinator.user)
    with pytest.raises(ValidationError):
        agenda_reorder(meeting=meeting, item_ids=[item.pk], by=coordinator.user)
    sign_in_as(coordinator).post(reverse("mdt:agenda_item_remove", args=[item.pk]))
    assert list(meeting.items.values_list("pk", flat=True)) == [item.pk]


def fill(meeting, coordinator, count):
    for _ in range(count):
        person = PatientFactory(practice=coordinator.practice)
        item = agenda_item_add(meeting=meeting, patient=person, by=coordinator.user, reason="Review")
        action(item, "open", "Call", coordinator.user)
        CareEvent.objects.create(
            patient=person,
            nhs_number=person.nhs_number,
            kind="admission",
            occurred_at=timezone.now() - timedelta(days=1),
        )


@pytest.mark.parametrize("count", [1, 10])
def test_meeting_page_query_count_does_not_grow(
    meeting, coordinator, sign_in_as, django_assert_num_queries, count
):
    fill(meeting, coordinator, count)
    client = sign_in_as(coordinator)
    # 22: the meeting's scope is Meeting.objects.visible_to alone (no second read of the series'
    # practices), and the items' scope is a filter on the one items query; the backgrounds' people
    # around the person are one query for every item; the good-news suggestions one.
    with django_assert_num_queries(22):
        response = client.get(reverse("mdt:meeting_detail", args=[meeting.pk]))
    assert response.status_code == 200
    assert len(response.context["items"]) == count
    assert response.content.decode().count("No care plan yet") == count


def test_meeting_page_is_audited_with_the_patients_shown(meeting, patient, coordinator, sign_in_as):
    agenda_item_add(meeting=meeting, patient=patient, by=coordinator.user)
    sign_in_as(coordinator).get(reverse("mdt:meeting_detail", args=[meeting.pk]))
    event = AuditEvent.objects.filter(action="mdt.meeting.view").get()
    assert list(event.patient_links.values_list("patient_id", flat=True)) == [patient.pk]


def test_meeting_of_a_series_covering_none_of_the_users_practices_is_404(meeting, outsider, sign_in_as):
    assert sign_in_as(outsider).get(reverse("mdt:meeting_detail", args=[meeting.pk])).status_code == 404


def test_meeting_covering_a_practice_the_user_is_not_at_too_is_theirs(
    meeting, coordinator, practice_b, sign_in_as
):
    """A series shared with another practice is still the coordinator's (tests/mdt/test_shared_meeting.py:
    they see only their own patients on it)."""
    meeting.series.practices.add(practice_b)
    assert sign_in_as(coordinator).get(reverse("mdt:meeting_detail", args=[meeting.pk])).status_code == 200
