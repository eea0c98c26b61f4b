"""The agenda of a meeting: its automatic sources (referrals directed to the series, open actions carried
forward), editing it by hand, and the chair's approval. Suggestions are in `suggestions`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Exists, Max, OuterRef
from django.utils import timezone

from caseload.models import Referral
from mdt.models import Action, AgendaItem, Meeting, MeetingSeries
from pcn.audit import audit_by
from pcn.models import User


def _agenda_editable(meeting: Any) -> None:
    if meeting.circulated_at is not None:
        raise ValidationError("The agenda has been circulated: it can no longer change.", code="circulated")
    if meeting.status != Meeting.Status.SCHEDULED:
        raise ValidationError("The meeting is not scheduled.", code="not_scheduled")


def _next_position(meeting: Any) -> int:
    return (meeting.items.aggregate(top=Max("position"))["top"] or 0) + 1


def agenda_refresh(*, meeting: Any) -> list[Any]:
    """Add the automatic items: referrals directed to the series and not yet on one of its agendas, and
    every patient with an open action from an earlier meeting of the series (carried forward).

    Idempotent; does nothing once the agenda has been circulated (or the meeting is not scheduled).
    Returns the items added.
    """
    if meeting.circulated_at is not None or meeting.status != Meeting.Status.SCHEDULED:
        return []
    series = meeting.series
    with transaction.atomic():
        Meeting.objects.select_for_update().filter(pk=meeting.pk).first()  # one refresh at a time
        on_agenda = dict(meeting.items.values_list("patient_id", "referral_id"))
        position = _next_position(meeting)
        added: list[AgendaItem] = []
        # A referral on an agenda of the series is done with, unless that meeting was cancelled.
        placed = AgendaItem.objects.filter(referral=OuterRef("pk"), meeting__series=series).exclude(
            meeting__status=Meeting.Status.CANCELLED
        )
        referrals = (
            Referral.objects.filter(
                status=Referral.Status.DIRECTED_TO_MDT,
                mdt_series=series,
                patient__practice__in=series.practices.all(),
            )
            .exclude(Exists(placed))
            .order_by("received_on", "id")
        )
        for referral in referrals:
            if referral.patient_id in on_agenda:
                if on_agenda[referral.patient_id] is None:
                    meeting.items.filter(patient_id=referral.patient_id).update(referral=referral)
                    on_agenda[referral.patient_id] = referral.pk
                continue
            added.append(
                AgendaItem(
                    meeting=meeting,
                    patient_id=referral.patient_id,
                    source=AgendaItem.Source.REFERRAL,
                    referral=referral,
                    reason=referral.reason,
                    position=position,
                )
            )
            on_agenda[referral.patient_id] = referral.pk
            position += 1
        open_actions = (
            Action.objects.open()
            .filter(item__meeting__series=series, item__meeting__starts_at__lt=meeting.starts_at)
            .exclude(item__meeting=meeting)
            .order_by("due_on", "id")
            .values_list("item__patient_id", "what")
        )
        carried: dict[int, list[str]] = {}
        for patient_id, what in open_actions:
            carried.setdefault(patient_id, []).append(what)
        for patient_id, whats in carried.items():
            if patient_id in on_agenda:
                continue
            added.append(
                AgendaItem(
                    meeting=meeting,
                    patient_id=patient_id,
                    source=AgendaItem.Source.CARRIED_FORWARD,
                    reason="Open actions: " + "; ".join(whats),
                    position=position,
                )
            )
            on_agenda[patient_id] = None
            position += 1
        AgendaItem.objects.bulk_create(added)
    return added


def agenda_next_open(*, series: MeetingSeries, now: datetime) -> Meeting | None:
    """The series' next meeting whose agenda can still change: scheduled, after `now`, not circulated."""
    return (
        Meeting.objects.filter(
            series=series, status=Meeting.Status.SCHEDULED, starts_at__gt=now, circulated_at__isnull=True
        )
        .select_related("series")
        .order_by("starts_at", "id")
        .first()
    )


def previous_meeting(*, meeting: Any) -> Any:
    return (
        Meeting.objects.filter(series_id=meeting.series_id, starts_at__lt=meeting.starts_at)
        .exclude(status=Meeting.Status.CANCELLED)
        .order_by("-starts_at")
        .first()
    )


def agenda_since(*, meeting: Any) -> Any:
    """Since the series' last meeting; for its first meeting, the 4 weeks before it."""
    previous = previous_meeting(meeting=meeting)
    return previous.starts_at if previous else meeting.starts_at - timedelta(weeks=4)


def agenda_item_add(
    *, meeting: Any, patient: Any, by: Any, reason: str = "", source: str = "added", referral: Any = None
) -> Any:
    """Add a patient (a confirmed suggestion, or by hand). Only patients at the series' practices."""
    _agenda_editable(meeting)
    if not meeting.series.practices.filter(pk=patient.practice_id).exists():
        raise ValidationError("The patient is not at one of this MDT's practices.", code="scope")
    if meeting.items.filter(patient=patient).exists():
        raise ValidationError("The patient is already on the agenda.", code="duplicate")
    with transaction.atomic():
        item = AgendaItem.objects.create(
            meeting=meeting, patient=patient, source=source, referral=referral, reason=reason,
            position=_next_position(meeting), added_by=by,
        )  # fmt: skip
        audit_by(by, "mdt.agenda.add", [patient], meeting_id=meeting.pk, source=source)
    return item


def agenda_item_remove(*, item: Any, by: Any) -> None:
    _agenda_editable(item.meeting)
    if item.actions.exists():
        raise ValidationError("The item has actions: it cannot be removed.", code="has_actions")
    audit_by(by, "mdt.agenda.remove", [item.patient_id], meeting_id=item.meeting_id)
    item.delete()


def agenda_item_update(
    *, item: Any, by: Any, minutes_allotted: int, presenter: Any = None, reason: str | None = None
) -> Any:
    _agenda_editable(item.meeting)
    item.minutes_allotted, item.presenter = minutes_allotted, presenter
    fields = ["minutes_allotted", "presenter"]
    if reason is not None:
        item.reason = reason
        fields.append("reason")
    item.save(update_fields=fields)
    audit_by(by, "mdt.agenda.update", [item.patient_id], meeting_id=item.meeting_id)
    return item


def agenda_reorder(*, meeting: Meeting, item_ids: list[int], by: User) -> None:
    """Put the items `by` can see in the order given (ids of those items; any left out keep their
    order, after those given). They take the places those items held: items of patients `by` cannot
    see keep theirs, so a coordinator at one practice orders their own patients without moving (or
    learning of) another practice's."""
    _agenda_editable(meeting)
    with transaction.atomic():
        items = list(meeting.items.select_for_update().order_by("position", "id"))
        visible = set(meeting.items.visible_to(by).values_list("pk", flat=True))
        mine = [item for item in items if item.pk in visible]
        by_id = {item.pk: item for item in mine}
        if len(set(item_ids)) != len(item_ids) or not set(item_ids) <= by_id.keys():
            raise ValidationError("The order names items that are not on this agenda.", code="order")
        reordered = iter(
            [by_id[pk] for pk in item_ids] + [item for item in mine if item.pk not in set(item_ids)]
        )
        ordered = [next(reordered) if item.pk in visible else item for item in items]
        for position, item in enumerate(ordered, start=1):
            item.position = position
        AgendaItem.objects.bulk_update(ordered, ["position"])


def agenda_item_move(*, item: AgendaItem, direction: str, by: User) -> None:
    """One place up or down among the items `by` can see (the htmx buttons)."""
    ids = list(item.meeting.items.visible_to(by).order_by("position", "id").values_list("pk", flat=True))
    index = ids.index(item.pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(ids):
        ids[index], ids[other] = ids[other], ids[index]
    agenda_reorder(meeting=item.meeting, item_ids=ids, by=by)


def agenda_approve(*, meeting: Any, by: Any, comments: str = "") -> Any:
    """The chair's review: comments, and the agenda marked approved. Only the series' chair."""
    if meeting.series.chair_id != by.pk:
        raise PermissionDenied("Only the chair approves the agenda.")
    meeting.chair_comments = comments
    meeting.agenda_approved_at, meeting.agenda_approved_by = timezone.now(), by
    meeting.save(update_fields=["chair_comments", "agenda_approved_at", "agenda_approved_by", "updated_at"])
    audit_by(by, "mdt.agenda.approve", meeting_id=meeting.pk)
    return meeting
