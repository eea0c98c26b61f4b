"""Transfers of care: recording, the discharge follow-up, triage outcomes, the feed import,
unmatched events, and the triage inbox."""

from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from caseload.models import CareEvent, Contact, ImportBatch, Referral, ReferralType, Task
from caseload.services.care_events import (
    care_event_feed_import_file,
    care_event_record,
    care_event_resolve,
    care_event_triage,
)
from caseload.services.referrals import referral_create
from mdt.models import MeetingSeries
from pcn.models import AuditEvent
from pcn.nhs_number import synthetic_sequence
from pcn.working_days import add_working_days
from tests.conftest import assert_error_summary
from tests.factories import CaseloadEpisodeFactory, PatientFactory

pytestmark = pytest.mark.django_db

_unknown_numbers = synthetic_sequence(start=880_000)
HEADER = "NHS Number,Event,Event Date,Provider,Summary\n"


def local(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.get_current_timezone())


def recent(days: int = 3, hour: int = 10) -> datetime:
    return timezone.localtime().replace(hour=hour, minute=0, second=0, microsecond=0) - timedelta(days=days)


def row(
    nhs: str, event: str, when: datetime, provider: str = "Royal County Hospital", summary: str = "Fall"
) -> str:
    return f"{nhs},{event},{when:%d/%m/%Y %H:%M},{provider},{summary}\n"


def feed(tmp_path: Path, *rows: str, name: str = "feed.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(rows), encoding="utf-8")
    return path


# --- Working days -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [
        (date(2025, 12, 19), 2, date(2025, 12, 23)),  # Friday: the weekend is skipped
        (date(2025, 12, 23), 2, date(2025, 12, 29)),  # 24th, then 25 and 26 (bank holidays) and the weekend
        (date(2025, 12, 24), 2, date(2025, 12, 30)),  # Wednesday 24th: 29th and 30th
        (date(2026, 4, 2), 1, date(2026, 4, 7)),  # Good Friday 3 April and Easter Monday 6 April 2026
        (date(2026, 11, 23), 0, date(2026, 11, 23)),
    ],
)
def test_add_working_days_skips_weekends_and_england_bank_holidays(start, days, expected):
    assert add_working_days(start, days) == expected


# --- Recording and the discharge follow-up ------------------------------------------------------------


def test_a_discharge_makes_a_follow_up_for_the_patients_coordinator(patient, coordinator, clinical_lead):
    CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    event = care_event_record(
        patient=patient, kind=CareEvent.Kind.DISCHARGE, occurred_at=local(2025, 12, 19, 15, 0),
        provider="Royal County Hospital", by=clinical_lead.user,
    )  # fmt: skip
    task = Task.objects.get()
    assert (task.kind, task.owner, task.due_on, task.care_event, task.patient) == (
        Task.Kind.DISCHARGE_FOLLOW_UP, coordinator.user, date(2025, 12, 23), event, patient,
    )  # fmt: skip
    assert task.title == "Follow up the discharge of 19 December 2025 from Royal County Hospital"


def test_a_discharge_on_christmas_eve_is_followed_up_after_the_bank_holidays(patient, coordinator):
    care_event_record(
        patient=patient,
        kind=CareEvent.Kind.DISCHARGE,
        occurred_at=local(2025, 12, 24, 11, 0),
        by=coordinator.user,
    )
    assert Task.objects.get().due_on == date(2025, 12, 30)


def test_without_a_coordinator_the_person_recording_gets_the_follow_up(patient, clinical_lead, settings):
    settings.DISCHARGE_FOLLOW_UP_WORKING_DAYS = 3
    care_event_record(
        patient=patient,
        kind=CareEvent.Kind.DISCHARGE,
        occurred_at=local(2025, 12, 19, 9, 0),
        by=clinical_lead.user,
    )
    task = Task.objects.get()
    assert (task.owner, task.due_on) == (clinical_lead.user, date(2025, 12, 24))


def test_other_events_make_no_follow_up(patient, coordinator):
    care_event_record(
        patient=patient, kind=CareEvent.Kind.ADMISSION, occurred_at=recent(), by=coordinator.user
    )
    assert Task.objects.count() == 0


def test_an_event_cannot_be_in_the_future_or_recorded_twice(patient, coordinator):
    with pytest.raises(ValidationError):
        care_event_record(
            patient=patient, kind="ae", occurred_at=timezone.now() + timedelta(hours=1), by=coordinator.user
        )
    when = recent()
    care_event_record(patient=patient, kind="ae", occurred_at=when, by=coordinator.user)
    with pytest.raises(ValidationError, match="already recorded"):
        care_event_record(patient=patient, kind="ae", occurred_at=when, by=coordinator.user)
    assert CareEvent.objects.count() == 1


def test_record_form_refuses_a_future_date_with_the_error_summary(sign_in_as, coordinator, patient):
    tomorrow = timezone.localdate() + timedelta(days=1)
    response = sign_in_as(coordinator).post(
        reverse("caseload:care_event_add", args=[patient.pk]),
        {"kind": "", "occurred_on": tomorrow.isoformat()},
    )
    assert_error_summary(response, "Select what happened", "The date and time must be now or in the past")
    assert CareEvent.objects.count() == 0


def test_record_form_records_the_event(sign_in_as, coordinator, patient):
    day = timezone.localdate() - timedelta(days=2)
    response = sign_in_as(coordinator).post(
        reverse("caseload:care_event_add", args=[patient.pk]),
        {"kind": "discharge", "occurred_on": day.isoformat(), "occurred_time": "14:30", "provider": "RCH"},
    )
    event = CareEvent.objects.get()
    assert response["Location"] == reverse("caseload:care_event_triage", args=[event.pk])
    assert (event.patient, event.nhs_number, event.source, event.created_by) == (
        patient, patient.nhs_number, CareEvent.Source.MANUAL, coordinator.user,
    )  # fmt: skip
    assert timezone.localtime(event.occurred_at).time() == time(14, 30)
    assert Task.objects.get().owner == coordinator.user


# --- Triage ----------------------------------------------------------------------------------------


@pytest.fixture
def event(patient, coordinator) -> CareEvent:
    return care_event_record(
        patient=patient,
        kind=CareEvent.Kind.AE_ATTENDANCE,
        occurred_at=recent(),
        provider="RCH",
        by=coordinator.user,
    )


def test_acknowledge_records_outcome_who_and_when(event, coordinator):
    care_event_triage(
        event=event, outcome=CareEvent.Outcome.ACKNOWLEDGED, note="Known to the team", by=coordinator.user
    )
    event.refresh_from_db()
    assert (event.outcome, event.outcome_note, event.triaged_by) == (
        "acknowledged",
        "Known to the team",
        coordinator.user,
    )
    assert event.triaged_at is not None


def test_record_a_contact_makes_a_contact_linked_to_the_event(event, coordinator):
    care_event_triage(
        event=event, outcome=CareEvent.Outcome.CONTACT, note="Rang", by=coordinator.user,
        contact={"method": "phone", "with_whom": "patient", "duration_minutes": 15, "notes": "Rang"},
    )  # fmt: skip
    contact = Contact.objects.get()
    assert (contact.patient, contact.care_event, contact.method, contact.duration_minutes, contact.recorded_by) == (
        event.patient, event, "phone", 15, coordinator.user,
    )  # fmt: skip
    assert CareEvent.objects.get().outcome == CareEvent.Outcome.CONTACT


def test_create_a_task_makes_a_triage_task(event, coordinator):
    due = timezone.localdate() + timedelta(days=3)
    care_event_triage(
        event=event, outcome=CareEvent.Outcome.TASK, note="Book review", by=coordinator.user,
        task={"title": "Book review", "owner": coordinator.user, "due_on": due},
    )  # fmt: skip
    task = Task.objects.get()
    assert (task.kind, task.title, task.owner, task.due_on, task.care_event) == (
        Task.Kind.TRIAGE, "Book review", coordinator.user, due, event,
    )  # fmt: skip


def test_add_to_an_mdt_records_the_series(event, coordinator, patient):
    series = MeetingSeries.objects.create(
        name="Frailty MDT", kind="frailty", weekday=1, start_time=time(13), chair=coordinator.user
    )
    series.practices.add(patient.practice)
    care_event_triage(
        event=event, outcome=CareEvent.Outcome.MDT, note="Third A&E", mdt_series=series, by=coordinator.user
    )
    event.refresh_from_db()
    assert (event.outcome, event.outcome_note) == ("mdt", "For the Frailty MDT: Third A&E")


def test_refer_creates_a_referral_and_triages_the_event(event, coordinator, patient):
    referral = referral_create(
        patient=patient, referral_type=ReferralType.objects.get(name="Care coordination"), source="hospital",
        referrer_name="RCH", reason="A&E", urgency="soon", received_on=timezone.localdate(), care_event=event,
        by=coordinator.user,
    )  # fmt: skip
    event.refresh_from_db()
    assert (event.outcome, event.outcome_note, event.triaged_by) == (
        "referred",
        f"Referral {referral.pk}",
        coordinator.user,
    )
    assert Referral.objects.count() == 1


def test_an_event_is_triaged_once(event, coordinator, clinical_lead):
    care_event_triage(event=event, outcome="acknowledged", by=coordinator.user)
    with pytest.raises(ValidationError, match="already been triaged"):
        care_event_triage(event=CareEvent.objects.get(), outcome="acknowledged", by=clinical_lead.user)
    assert CareEvent.objects.get().triaged_by == coordinator.user


def test_triage_page_outcomes(sign_in_as, event, coordinator):
    client = sign_in_as(coordinator)
    url = reverse("caseload:care_event_triage", args=[event.pk])
    response = client.post(url, {"outcome": "contact", "contact-method": "", "contact-duration_minutes": ""})
    assert "Choose how the contact was made" in response.text
    assert "nhsuk-error-summary" in response.text
    assert CareEvent.objects.get().triaged_at is None
    response = client.post(url, {"outcome": "contact", "contact-method": "phone", "contact-with_whom": "patient",
                                 "contact-duration_minutes": "10", "contact-notes": "Spoke to daughter"})  # fmt: skip
    assert response.status_code == 302
    page = client.get(url)
    assert "Contact recorded on" in page.text and "by Cara Coordinator" in page.text


def test_triage_list_acknowledge_button_returns_to_the_list(sign_in_as, event, coordinator):
    response = sign_in_as(coordinator).post(
        reverse("caseload:care_event_triage", args=[event.pk]), {"outcome": "acknowledged", "next": "list"}
    )
    assert response["Location"] == reverse("caseload:triage_list")
    assert CareEvent.objects.get().outcome == "acknowledged"


# --- The feed ----------------------------------------------------------------------------------------


def test_feed_imports_matched_and_unmatched_events(tmp_path, manager, practice_a):
    on_caseload, other = PatientFactory(practice=practice_a), PatientFactory(practice=practice_a)
    coordinator_episode = CaseloadEpisodeFactory(patient=on_caseload)
    unknown = next(_unknown_numbers)
    discharged = local(2025, 12, 19, 16, 0)
    path = feed(
        tmp_path,
        row(on_caseload.nhs_number, "Discharge", discharged),
        row(other.nhs_number, "Discharge", discharged),
        row(other.nhs_number, "A&E attendance", recent(5)),
        row(unknown, "NHS 111 report", recent(4), provider="NHS 111"),
    )
    batch = care_event_feed_import_file(path=path, by=manager.user)
    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts == {"rows": 4, "new": 4, "updated": 0, "unchanged": 0, "unmatched": 1, "invalid": 0}
    assert CareEvent.objects.filter(patient__isnull=True).get().nhs_number == unknown
    assert set(CareEvent.objects.values_list("source", flat=True)) == {CareEvent.Source.FEED}
    # The discharge of a patient on a caseload has its follow-up; the other waits for triage.
    task = Task.objects.get()
    assert (task.patient, task.owner, task.due_on) == (
        on_caseload,
        coordinator_episode.coordinator,
        date(2025, 12, 23),
    )


def test_reimporting_the_same_feed_changes_nothing(tmp_path, manager, practice_a):
    patient = PatientFactory(practice=practice_a)
    CaseloadEpisodeFactory(patient=patient)
    path = feed(
        tmp_path,
        row(patient.nhs_number, "Discharge", recent(3)),
        row(next(_unknown_numbers), "Admission", recent(2)),
    )
    care_event_feed_import_file(path=path, by=manager.user)
    again = care_event_feed_import_file(path=path, by=manager.user)
    assert again.counts == {"rows": 2, "new": 0, "updated": 0, "unchanged": 2, "unmatched": 0, "invalid": 0}
    assert (CareEvent.objects.count(), Task.objects.count()) == (2, 1)


def test_invalid_rows_refuse_the_whole_feed_unless_skipped(tmp_path, manager, practice_a):
    patient = PatientFactory(practice=practice_a)
    future = timezone.localtime() + timedelta(days=2)
    path = feed(
        tmp_path,
        row(patient.nhs_number, "Admission", recent()),
        row("9990000019", "Admission", recent()),  # wrong check digit
        row(patient.nhs_number, "Lunch", recent()),
        f"{patient.nhs_number},Discharge,2025-13-45,RCH,x\n",
        row(patient.nhs_number, "Discharge", future),
    )
    batch = care_event_feed_import_file(path=path, by=manager.user)
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.counts["invalid"] == 4
    assert [(e[0], e[1]) for e in batch.report["errors"]] == [
        (3, "NHS Number"), (4, "Event"), (5, "Event Date"), (6, "Event Date"),
    ]  # fmt: skip
    assert batch.report["errors"][3][3] == "the event date is in the future"
    assert CareEvent.objects.count() == 0
    skipped = care_event_feed_import_file(path=path, by=manager.user, skip_invalid=True)
    assert skipped.status == ImportBatch.Status.DONE
    assert (skipped.counts["new"], skipped.counts["invalid"], CareEvent.objects.count()) == (1, 4, 1)


def test_rows_for_patients_outside_the_uploaders_practices_are_invalid(tmp_path, manager, practice_b):
    theirs = PatientFactory(practice=practice_b)
    batch = care_event_feed_import_file(
        path=feed(tmp_path, row(theirs.nhs_number, "Admission", recent())), by=manager.user, skip_invalid=True
    )
    assert batch.counts["invalid"] == 1
    assert batch.report["errors"][0][3] == "this patient is at a practice that is not one of yours"
    assert CareEvent.objects.count() == 0


def test_the_shared_sample_feed_imports(manager, practice_a):
    sample = Path(__file__).resolve().parents[2] / "docs" / "samples" / "care_events_feed.csv"
    batch = care_event_feed_import_file(path=sample, by=manager.user)
    assert batch.status == ImportBatch.Status.DONE
    assert (batch.counts["rows"], batch.counts["new"], batch.counts["unmatched"]) == (25, 25, 25)


def test_feed_upload_preview_and_import_pages(sign_in_as, manager, practice_a):
    patient = PatientFactory(practice=practice_a)
    content = (
        HEADER + row(patient.nhs_number, "Admission", recent()) + row("999000001", "Admission", recent())
    ).encode()
    client = sign_in_as(manager)
    response = client.post(
        reverse("caseload:care_event_import"), {"file": SimpleUploadedFile("feed.csv", content, "text/csv")}
    )
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("caseload:care_event_import_detail", args=[batch.pk])
    assert (batch.status, batch.counts["new"], batch.counts["invalid"]) == ("checked", 1, 1)
    assert CareEvent.objects.count() == 0
    client.post(reverse("caseload:care_event_import_start", args=[batch.pk]))
    assert CareEvent.objects.count() == 0  # invalid rows and not skipped: refused
    client.post(reverse("caseload:care_event_import_start", args=[batch.pk]), {"skip_invalid": "on"})
    batch.refresh_from_db()
    assert (batch.status, CareEvent.objects.count()) == ("done", 1)
    # Feed batches have their own pages: the population imports neither list nor open them.
    assert batch not in client.get(reverse("caseload:import_batch_list")).context["page"].object_list
    assert client.get(reverse("caseload:import_batch_detail", args=[batch.pk])).status_code == 404


def test_a_feed_cell_with_a_control_character_is_a_row_error(tmp_path, settings, manager, practice_a):
    settings.MEDIA_ROOT = tmp_path / "media"
    patient = PatientFactory(practice=practice_a)
    path = feed(
        tmp_path,
        row(patient.nhs_number, "Admission", recent(3), summary="Fall\x00 at home"),
        row(patient.nhs_number, "Discharge", recent(1)),
    )

    batch = care_event_feed_import_file(path=path, by=manager.user)

    assert batch.status == ImportBatch.Status.FAILED
    assert batch.report["errors"] == [[2, "Summary", "Fall\\x00 at home", "contains a control character"]]
    assert CareEvent.objects.count() == 0
    skipped = care_event_feed_import_file(path=path, by=manager.user, skip_invalid=True)
    assert (skipped.status, skipped.counts["new"], skipped.counts["invalid"]) == ("done", 1, 1)
    assert list(CareEvent.objects.values_list("kind", flat=True)) == [CareEvent.Kind.DISCHARGE]


def test_a_feed_with_a_column_twice_is_refused(tmp_path, settings, manager):
    # The second "NHS Number" column was read and the first silently ignored.
    settings.MEDIA_ROOT = tmp_path / "media"
    path = tmp_path / "feed.csv"
    path.write_text(
        HEADER.strip() + ",NHS Number\n" + row(next(_unknown_numbers), "Admission", recent()).strip() + ",x\n"
    )

    batch = care_event_feed_import_file(path=path, by=manager.user)

    assert (batch.status, batch.error_message) == (
        ImportBatch.Status.FAILED,
        "The column “NHS Number” appears twice. Remove or rename one of them.",
    )
    assert CareEvent.objects.count() == 0


def test_feed_upload_with_a_control_character_is_checked_not_crashed(sign_in_as, settings, tmp_path, manager):
    settings.MEDIA_ROOT = tmp_path / "media"
    content = (HEADER + row(next(_unknown_numbers), "Admission\x00", recent())).encode()
    client = sign_in_as(manager)

    client.post(
        reverse("caseload:care_event_import"), {"file": SimpleUploadedFile("feed.csv", content, "text/csv")}
    )

    batch = ImportBatch.objects.get()
    assert (batch.status, batch.counts["invalid"]) == ("checked", 1)
    assert batch.report["errors"] == [[2, "Event", "Admission\\x00", "contains a control character"]]
    assert CareEvent.objects.count() == 0


# --- Unmatched events ---------------------------------------------------------------------------------


@pytest.fixture
def unmatched(tmp_path, manager) -> CareEvent:
    care_event_feed_import_file(
        path=feed(tmp_path, row(next(_unknown_numbers), "Discharge", local(2025, 12, 19, 10, 0))),
        by=manager.user,
    )
    return CareEvent.objects.get()


def test_unmatched_events_are_listed_and_audited(sign_in_as, manager, unmatched):
    response = sign_in_as(manager).get(reverse("caseload:care_event_unmatched"))
    assert [e.pk for e in response.context["events"]] == [unmatched.pk]
    assert AuditEvent.objects.filter(action="care_event.unmatched_list").count() == 1


def test_match_an_unmatched_event_to_a_patient(manager, unmatched, patient, coordinator):
    CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    care_event_resolve(event=unmatched, patient=patient, by=manager.user)
    unmatched.refresh_from_db()
    assert (unmatched.patient, unmatched.resolved_by) == (patient, manager.user)
    assert list(CareEvent.objects.visible_to(coordinator.user).to_triage()) == [unmatched]
    assert list(CareEvent.objects.unmatched()) == []
    assert Task.objects.get().owner == coordinator.user  # the discharge's follow-up, now it has a patient


def test_dismissing_needs_a_note(manager, unmatched):
    with pytest.raises(ValidationError):
        care_event_resolve(event=unmatched, patient=None, note="", by=manager.user)
    care_event_resolve(event=unmatched, patient=None, note="Not our patient", by=manager.user)
    assert list(CareEvent.objects.unmatched()) == []
    assert CareEvent.objects.get().resolution_note == "Not our patient"


def test_resolve_page_matches_by_nhs_number_in_the_users_practices(
    sign_in_as, manager, unmatched, patient, outsider
):
    theirs = PatientFactory(practice=outsider.practice)
    client = sign_in_as(manager)
    url = reverse("caseload:care_event_resolve", args=[unmatched.pk])
    response = client.post(url, {"action": "match", "nhs_number": theirs.nhs_number})
    assert "No patient at your practices has this NHS number" in response.text
    client.post(url, {"action": "match", "nhs_number": patient.nhs_number})
    assert CareEvent.objects.get().patient == patient


def test_a_feed_discharge_without_coordinator_gets_its_follow_up_at_triage(
    tmp_path, manager, coordinator, patient
):
    care_event_feed_import_file(
        path=feed(tmp_path, row(patient.nhs_number, "Discharge", local(2025, 12, 24, 10, 0))), by=manager.user
    )
    assert Task.objects.count() == 0
    event = CareEvent.objects.get()
    care_event_triage(event=event, outcome="acknowledged", by=coordinator.user)
    with pytest.raises(ValidationError):
        care_event_triage(event=event, outcome="acknowledged", by=coordinator.user)
    task = Task.objects.get()
    assert (task.kind, task.owner, task.due_on) == (
        Task.Kind.DISCHARGE_FOLLOW_UP,
        coordinator.user,
        date(2025, 12, 30),
    )


# --- The triage inbox -------------------------------------------------------------------------------


def test_triage_inbox_is_oldest_first_for_the_users_patients(sign_in_as, coordinator, outsider, practice_a):
    newer = care_event_record(
        patient=PatientFactory(practice=practice_a), kind="ae", occurred_at=recent(1), by=coordinator.user
    )
    older = care_event_record(
        patient=PatientFactory(practice=practice_a), kind="ooh", occurred_at=recent(4), by=coordinator.user
    )
    care_event_record(
        patient=PatientFactory(practice=outsider.practice), kind="ae", occurred_at=recent(2), by=outsider.user
    )
    done = care_event_record(
        patient=PatientFactory(practice=practice_a), kind="nhs111", occurred_at=recent(6), by=coordinator.user
    )
    care_event_triage(event=done, outcome="acknowledged", by=coordinator.user)
    client = sign_in_as(coordinator)
    assert [e.pk for e in client.get(reverse("caseload:triage_list")).context["events"]] == [
        older.pk,
        newer.pk,
    ]
    assert [e.pk for e in client.get(reverse("caseload:triage_list"), {"kind": "ae"}).context["events"]] == [
        newer.pk
    ]
    triaged = client.get(reverse("caseload:triage_list"), {"show": "triaged"})
    assert [e.pk for e in triaged.context["events"]] == [done.pk]
    event = AuditEvent.objects.filter(action="care_event.list").order_by("id").first()
    assert set(event.patients.values_list("pk", flat=True)) == {older.patient_id, newer.patient_id}


@pytest.mark.parametrize("count", [1, 30])
def test_triage_inbox_query_count_does_not_grow(
    sign_in_as, coordinator, practice_a, count, django_assert_num_queries
):
    for i in range(count):
        care_event_record(
            patient=PatientFactory(practice=practice_a),
            kind="ae",
            occurred_at=recent(i + 1),
            by=coordinator.user,
        )
    client = sign_in_as(coordinator)
    client.get(reverse("caseload:triage_list"))
    with django_assert_num_queries(13):
        response = client.get(reverse("caseload:triage_list"))
    assert len(response.context["events"]) == count


@pytest.mark.parametrize("count", [1, 30])
def test_unmatched_list_query_count_does_not_grow(
    tmp_path, sign_in_as, manager, count, django_assert_num_queries
):
    rows = [row(next(_unknown_numbers), "Admission", recent(2)) for _ in range(count)]
    care_event_feed_import_file(path=feed(tmp_path, *rows), by=manager.user)
    client = sign_in_as(manager)
    client.get(reverse("caseload:care_event_unmatched"))
    with django_assert_num_queries(11):
        response = client.get(reverse("caseload:care_event_unmatched"))
    assert len(response.context["events"]) == count
