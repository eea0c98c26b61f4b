"""The minutes: attendance, one Discussion per agenda item, the chair's sign-off, and addenda.

The minutes are one Discussion per agenda item, saved item by item while the meeting runs: a save
carries the version it read, so two people typing into the same item cannot overwrite each other
silently, and different items never conflict. The chair's sign-off locks them; corrections after
that are addenda.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from caseload.codes import Code
from caseload.services.coding import coding_entry_record
from mdt.models import Addendum, AgendaItem, Attendance, Discussion, Meeting, MeetingDocument
from mdt.tasks import circulate_minutes_task, meeting_document_request
from pcn.audit import audit_by

MDT_CONFERENCE_TERM = "Multidisciplinary care conference"


def meeting_row_locked(meeting_id: int) -> Meeting:
    """The meeting, row-locked, so that a sign-off and a save of its minutes never interleave."""
    return Meeting.objects.select_related("series").select_for_update(of=("self",)).get(pk=meeting_id)


def refuse_if_minutes_locked(meeting: Meeting) -> None:
    if meeting.minutes_locked:
        raise ValidationError(
            "The minutes are signed off and locked: add an addendum to correct them.", code="locked"
        )


def attendance_set(*, meeting: Any, user_ids: Any, external_member_ids: Any, by: Any) -> Any:
    """Who was present: exactly the users and external members given (of the series), nobody else."""
    with transaction.atomic():
        meeting = meeting_row_locked(meeting.pk)
        refuse_if_minutes_locked(meeting)
        users = set(user_ids)
        externals = set(
            meeting.series.external_members.filter(pk__in=external_member_ids).values_list("pk", flat=True)
        )
        meeting.attendance.all().delete()
        Attendance.objects.bulk_create(
            [Attendance(meeting=meeting, user_id=pk) for pk in sorted(users)]
            + [Attendance(meeting=meeting, external_member_id=pk) for pk in sorted(externals)]
        )
        audit_by(by, "mdt.attendance", meeting_id=meeting.pk, present=len(users) + len(externals))
    return meeting


def discussion_save(*, item: Any, notes: str, outcome: str, version: int, by: Any) -> Any:
    """Save one item's discussion if nobody has saved it since `version` was read (optimistic lock).

    Refused (ValidationError, code "stale") when the stored version has moved on: the other person's
    text stays as it is, and the refused text is returned to the user to merge. Refused ("locked")
    once the minutes are signed off.
    """
    if outcome and outcome not in Discussion.Outcome.values:
        raise ValidationError("Choose an outcome from the list.", code="outcome")
    with transaction.atomic():
        refuse_if_minutes_locked(meeting_row_locked(item.meeting_id))
        saved = Discussion.objects.filter(item=item, version=version).update(
            notes=notes, outcome=outcome, version=F("version") + 1, updated_by=by, updated_at=timezone.now()
        )
        if not saved:
            if version != 0 or Discussion.objects.filter(item=item).exists():
                raise ValidationError(
                    "Someone else saved this item while you were typing. Your text has not been saved: "
                    "it is shown below theirs so that you can merge the two and save again.",
                    code="stale",
                )
            Discussion.objects.create(item=item, notes=notes, outcome=outcome, version=1, updated_by=by)
        audit_by(by, "mdt.discussion.save", [item.patient_id], item_id=item.pk)
    return Discussion.objects.get(item=item)


def minutes_sign_off(*, meeting: Any, by: Any) -> Any:
    """The series chair signs off the minutes: they lock, and each discussed patient gets a coding row.

    The coding row carries the term only: DOMAIN.md gives no SNOMED CT id for it (never invent one).
    """
    code = Code("mdt_conference", MDT_CONFERENCE_TERM, None)
    with transaction.atomic():
        meeting = meeting_row_locked(meeting.pk)
        if meeting.series.chair_id != by.pk:
            raise ValidationError("Only the chair of the series can sign off the minutes.", code="not_chair")
        refuse_if_minutes_locked(meeting)
        meeting.minutes_signed_off_at, meeting.minutes_signed_off_by = timezone.now(), by
        fields = ["minutes_signed_off_at", "minutes_signed_off_by", "updated_at"]
        if meeting.status == Meeting.Status.SCHEDULED:
            meeting.status = Meeting.Status.HELD
            fields.append("status")
        meeting.save(update_fields=fields)
        discussed = AgendaItem.objects.filter(meeting=meeting, discussion__isnull=False).select_related(
            "patient"
        )
        coded_on = timezone.localdate(meeting.starts_at)
        patients = [item.patient for item in discussed]
        for patient in patients:
            coding_entry_record(
                patient=patient, coded_on=coded_on, code=code, recorded_by=by,
                source=f"mdt:{meeting.pk}:{patient.pk}",
            )  # fmt: skip
        audit_by(by, "mdt.minutes.sign_off", patients, meeting_id=meeting.pk)
        _minutes_circulate_on_commit(meeting)
    return meeting


def _minutes_circulate_on_commit(meeting: Any) -> None:
    """Render the signed-off minutes as PDF and circulate them like the agenda, once this commits
    (each member at most once)."""
    meeting_document_request(meeting=meeting, kind=MeetingDocument.Kind.MINUTES)
    transaction.on_commit(lambda: circulate_minutes_task.delay(meeting.pk))


def addendum_add(*, meeting: Any, text: str, by: Any) -> Any:
    """A correction to signed-off minutes (before sign-off, the discussion itself is edited)."""
    if not text.strip():
        raise ValidationError("Write the correction.", code="text")
    with transaction.atomic():
        meeting = meeting_row_locked(meeting.pk)
        if not meeting.minutes_locked:
            raise ValidationError(
                "The minutes are not signed off yet: correct the discussion itself.", code="not_locked"
            )
        addendum = Addendum.objects.create(meeting=meeting, text=text.strip(), added_by=by)
        patient_ids = list(meeting.items.values_list("patient_id", flat=True))
        audit_by(by, "mdt.addendum.add", patient_ids, meeting_id=meeting.pk, addendum_id=addendum.pk)
    return addendum
