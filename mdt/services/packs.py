"""Agenda packs (the agenda, or the signed-off minutes, as PDF): what each pack shows, whether a stored
one is stale, which one a user gets, and rendering it.

A pack is rendered by weasyprint in a Celery task — about 0.17 s a page, 3.5 s for 20 patients
(research/performance_anchors.md §5), too long for a request — and stored as a MeetingDocument. Its
source_hash is the SHA-256 of the data the template shows, so any change to what the pack would say
makes it stale, and a fresh pack is never rendered twice. Asking for one (`meeting_document_request`)
queues its task, so it lives beside the tasks, in mdt/tasks.py.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.core.files.base import ContentFile
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.utils import timezone
from weasyprint import HTML

from mdt.models import Action, AgendaItem, Attendance, Meeting, MeetingDocument
from mdt.services.agenda import agenda_since
from mdt.services.backgrounds import patient_backgrounds
from pcn.models import Practice, User
from pcn.nhs_number import format_nhs_number


def _scope_practice_ids(scope: str) -> list[int]:
    return [int(pk) for pk in scope.split(",") if pk]


def _pack_context(*, meeting: Any, kind: str, scope: str = "") -> dict[str, Any]:
    """Everything the PDF shows, as plain data (hashable as JSON). A fixed number of queries.

    Each patient's background (risk, eFI, transfers of care, PAM, open actions, the people around
    them) is the agenda page's `patient_backgrounds`, so the pack and the page say the same. With a
    `scope` (practice ids), only those practices' patients are in it, and the cover says so.
    """
    series = meeting.series
    in_scope = AgendaItem.objects.filter(meeting=meeting)
    if scope:
        in_scope = in_scope.filter(patient__practice_id__in=_scope_practice_ids(scope))
    items = list(
        in_scope.select_related("patient__practice", "patient__care_home", "presenter", "discussion")
        .prefetch_related(
            Prefetch("actions", queryset=Action.objects.select_related("owner_user", "owner_external"))
        )
        .order_by("position", "id")
    )
    patients = [item.patient for item in items]
    backgrounds = patient_backgrounds(patients=patients, since=agenda_since(meeting=meeting))

    def transfers(background: dict[str, Any]) -> list[dict[str, str]]:
        return [
            {
                "when": f"{timezone.localtime(event.occurred_at):%-d %b %Y}",
                "kind": event.get_kind_display(),
                "provider": event.provider,
                "summary": event.summary,
            }
            for event in background["recent_events"]
        ]

    def open_actions(background: dict[str, Any]) -> list[dict[str, str]]:
        return [
            {
                "what": action.what,
                "owner": str(action.owner_user or action.owner_external),
                "due": f"{action.due_on:%-d %b %Y}",
                "from": f"{timezone.localtime(action.item.meeting.starts_at):%-d %b %Y}",
            }
            for action in background["open_actions"]
            if action.item.meeting_id != meeting.pk
        ]

    def pam(background: dict[str, Any]) -> str:
        measure = background["latest_pam"]
        if measure is None:
            return ""
        return f"Level {measure.level} (score {measure.score}, {measure.measured_on:%-d %b %Y})"

    def people_around(background: dict[str, Any]) -> list[dict[str, str]]:
        return [
            {
                "name": person.name,
                "relationship": person.relationship_label,
                "main_carer": "Yes" if person.is_main_carer else "",
                "reach": ", ".join(part for part in (person.phone, person.email) if part),
                "may_receive_information": f"Yes, agreed {person.consent_recorded_on:%-d %b %Y}"
                if person.may_receive_information
                else "No consent to share",
            }
            for person in background["people_around"]
        ]

    def owner(action: Any) -> str:
        return str(action.owner_user or action.owner_external)

    starts = timezone.localtime(meeting.starts_at)
    context: dict[str, Any] = {
        "kind": kind,
        "series": {"name": series.name, "kind": series.get_kind_display()},
        "meeting": {
            "id": meeting.pk,
            "date": f"{starts:%A %-d %B %Y}",
            "time": f"{starts:%H:%M}",
            "duration": meeting.duration_minutes,
            "place": meeting.place or series.place,
            "video_link": meeting.video_link or series.video_link,
            "chair": str(series.chair),
            "status": meeting.get_status_display(),
            "chair_comments": meeting.chair_comments,
        },
        "items": [],
        "practice_ids": sorted({item.patient.practice_id for item in items}),
        "scope_note": "",
    }
    if scope:
        names = Practice.objects.filter(pk__in=_scope_practice_ids(scope)).values_list("name", flat=True)
        context["scope_note"] = "Only the patients of " + ", ".join(sorted(names)) + "."
    for number, item in enumerate(items, start=1):
        patient = item.patient
        discussion = getattr(item, "discussion", None)
        context["items"].append(
            {
                "number": number,
                "reason": item.reason,
                "source": item.get_source_display(),
                "minutes": item.minutes_allotted,
                "presenter": str(item.presenter) if item.presenter else "",
                "patient": {
                    "id": patient.pk,
                    "name": patient.full_name,
                    "nhs_number": format_nhs_number(patient.nhs_number),
                    "date_of_birth": f"{patient.date_of_birth:%-d %b %Y}",
                    "age": patient.age(starts.date()),
                    "practice": patient.practice.name,
                    "care_home": patient.care_home.name if patient.care_home else "",
                    "risk_score": str(patient.risk_score) if patient.risk_score is not None else "",
                    "efi_score": str(patient.efi_score) if patient.efi_score is not None else "",
                    "efi_category": patient.get_efi_category_display() if patient.efi_category else "",
                    "conditions": patient.conditions,
                },
                "transfers": transfers(backgrounds[patient.pk]),
                "more_transfers": backgrounds[patient.pk]["more_events"],
                "open_actions": open_actions(backgrounds[patient.pk]),
                "pam": pam(backgrounds[patient.pk]),
                "people_around": people_around(backgrounds[patient.pk]),
                "discussion": {
                    "notes": discussion.notes if discussion else "",
                    "outcome": discussion.get_outcome_display() if discussion and discussion.outcome else "",
                },
                "actions": [
                    {"what": a.what, "owner": owner(a), "due": f"{a.due_on:%-d %b %Y}"}
                    for a in item.actions.all()
                ],
            }
        )
    if kind == MeetingDocument.Kind.MINUTES:
        attendance = Attendance.objects.filter(meeting=meeting).select_related("user", "external_member")
        context["attendance"] = sorted(str(a.user or a.external_member) for a in attendance if a.present)
        context["addenda"] = [
            {"text": a.text, "by": str(a.added_by), "at": f"{timezone.localtime(a.added_at):%-d %b %Y %H:%M}"}
            for a in meeting.addenda.select_related("added_by")
        ]
        signed = meeting.minutes_signed_off_at
        context["signed_off"] = (
            f"{timezone.localtime(signed):%-d %B %Y %H:%M} by {meeting.minutes_signed_off_by}"
            if signed
            else ""
        )
    return context


def _pack_hash(context: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(context, sort_keys=True, default=str).encode()).hexdigest()


def meeting_document_source_hash(*, meeting: Meeting, kind: str, scope: str = "") -> str:
    """The hash a fresh pack would carry: differs from the stored one when the pack is stale."""
    return _pack_hash(_pack_context(meeting=meeting, kind=kind, scope=scope))


def meeting_documents_for(
    *, meeting: Meeting, user: User
) -> dict[MeetingDocument.Kind, tuple[str, MeetingDocument | None]]:
    """For each kind of pack, the scope of the one `user` gets, and that pack if it has been asked for
    (two queries).

    The whole agenda's pack (scope "", the one circulated) goes to a member of every practice the
    series covers, as long as its stored file shows no other practice's patients (a patient carried
    forward from a practice that has since left the series). Anyone else gets a pack of only their
    own practices' patients, made on request: a stored file is never handed to a user who cannot see
    every patient in it, whoever else it was made for.
    """
    mine = user.practice_ids()
    own = ",".join(str(pk) for pk in sorted(mine))
    at_every_practice = {practice.pk for practice in meeting.series.practices.all()} <= mine
    documents = {
        (document.kind, document.scope): document
        for document in MeetingDocument.objects.filter(meeting=meeting, scope__in=["", own])
    }
    chosen = {}
    for kind in MeetingDocument.Kind:
        whole = documents.get((kind, ""))
        if at_every_practice and (whole is None or set(whole.practice_ids) <= mine):
            chosen[kind] = ("", whole)
        else:
            chosen[kind] = (own, documents.get((kind, own)))
    return chosen


PACK_TEMPLATES = {"agenda_pack": "pdf/agenda_pack.html", "minutes": "pdf/minutes.html"}


def meeting_document_render(*, meeting: Meeting, kind: str, scope: str = "") -> MeetingDocument:
    """Render the pack with weasyprint and store it, unless the stored one is already current.

    Runs in a task (or inside the circulation task): never in a request.
    """
    context = _pack_context(meeting=meeting, kind=kind, scope=scope)
    source_hash = _pack_hash(context)
    document, _ = MeetingDocument.objects.get_or_create(meeting=meeting, kind=kind, scope=scope)
    if document.file and document.source_hash == source_hash:
        if document.state != MeetingDocument.State.READY:
            document.state = MeetingDocument.State.READY
            document.save(update_fields=["state", "requested_at"])
        return document
    try:
        html = render_to_string(PACK_TEMPLATES[kind], context)
        pdf = HTML(string=html).write_pdf()
    except Exception:
        MeetingDocument.objects.filter(pk=document.pk).update(state=MeetingDocument.State.FAILED)
        raise
    old_name = document.file.name if document.file else ""
    document.file.save(f"meeting-{meeting.pk}-{kind}-{source_hash[:12]}.pdf", ContentFile(pdf), save=False)
    document.state, document.source_hash, document.rendered_at, document.practice_ids = (
        MeetingDocument.State.READY,
        source_hash,
        timezone.now(),
        context["practice_ids"],
    )
    document.save(
        update_fields=["file", "state", "source_hash", "rendered_at", "practice_ids", "requested_at"]
    )
    if old_name and old_name != document.file.name:
        document.file.storage.delete(old_name)
    return document
