"""The patient's timeline: everything recorded about them, newest first, filterable by kind.

One query per kind (two for care plans: versions, then reviews), whatever the number of rows (each source is read with the joins it needs and
capped at PER_KIND_LIMIT rows), merged in Python. It reads caseload, MDT and care plan records, so it
lives on the top floor with the patient page. A kind is added by registering a source here:

    @timeline_source("mdt", "MDT discussions")
    def _mdt(patient: Patient) -> Iterable[TimelineEntry]:
        for discussion in Discussion.objects.filter(...).select_related(...)[:PER_KIND_LIMIT]:
            yield TimelineEntry(when=..., kind="mdt", title=..., ...)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import Any

from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from careplans.models import CarePlanReview, CarePlanVersion, DecisionAidOffer
from caseload.codes import INTERVENTIONS_BY_KEY
from caseload.models import (
    ActivationMeasure,
    CareEvent,
    Contact,
    Feedback,
    Patient,
    Referral,
    Signposting,
    SupportGiven,
    Task,
)
from mdt.models import Discussion
from recall.models import Appointment, Invitation, year_label
from recall.services.invitations import ordinal

PER_KIND_LIMIT = 200  # a patient's page shows at most this many of each kind (the newest)


@dataclass(frozen=True)
class TimelineEntry:
    when: datetime | date  # a date when the record has no time of day (a PAM, a referral)
    kind: str
    title: str
    detail: str = ""
    url: str | None = None
    who: str = ""
    # Same-day ties: a dated record sorts by when it was entered.
    entered_at: datetime | None = None
    tags: tuple[str, ...] = field(default=())

    @property
    def has_time(self) -> bool:
        return isinstance(self.when, datetime)

    @property
    def kind_label(self) -> str:
        return SOURCES[self.kind].label if self.kind in SOURCES else self.kind

    def sort_key(self) -> tuple[date, datetime]:
        if isinstance(self.when, datetime):
            local = timezone.localtime(self.when)
            return local.date(), local
        tie = self.entered_at or timezone.make_aware(datetime.combine(self.when, time.min))
        return self.when, timezone.localtime(tie)


@dataclass(frozen=True)
class Source:
    kind: str
    label: str
    entries: Callable[[Patient], Iterable[TimelineEntry]]


SOURCES: dict[str, Source] = {}


def timeline_source(
    kind: str, label: str
) -> Callable[[Callable[[Patient], Iterable[TimelineEntry]]], Callable[[Patient], Iterable[TimelineEntry]]]:
    def register(
        function: Callable[[Patient], Iterable[TimelineEntry]],
    ) -> Callable[[Patient], Iterable[TimelineEntry]]:
        SOURCES[kind] = Source(kind=kind, label=label, entries=function)
        return function

    return register


def kind_choices() -> list[tuple[str, str]]:
    return [(source.kind, source.label) for source in SOURCES.values()]


def safe_reverse(name: str, *args: Any) -> str | None:
    """The URL, or None while the page does not exist (another issue adds it)."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return None


def patient_timeline(*, patient: Patient, kinds: Sequence[str] = ()) -> list[TimelineEntry]:
    """Everything recorded about the patient, newest first; only `kinds` when given (unknown ones
    are ignored). One query per kind read."""
    wanted = [kind for kind in kinds if kind in SOURCES] or list(SOURCES)
    entries: list[TimelineEntry] = []
    for kind in wanted:
        entries.extend(SOURCES[kind].entries(patient))
    entries.sort(key=TimelineEntry.sort_key, reverse=True)
    return entries


def _name(user: Any) -> str:
    return str(user) if user is not None else ""


# --- The built-in sources ---------------------------------------------------------------------------


@timeline_source("care_event", "Transfers of care")
def _care_events(patient: Patient) -> Iterable[TimelineEntry]:
    for event in CareEvent.objects.filter(patient=patient).order_by("-occurred_at", "-id")[:PER_KIND_LIMIT]:
        detail = " – ".join(part for part in (event.provider, event.summary) if part)
        yield TimelineEntry(
            when=event.occurred_at,
            kind="care_event",
            title=event.get_kind_display(),
            detail=detail,
            url=safe_reverse("caseload:care_event_detail", event.pk),
            tags=(event.get_outcome_display(),) if event.outcome else ("Not triaged",),
        )


@timeline_source("referral", "Referrals")
def _referrals(patient: Patient) -> Iterable[TimelineEntry]:
    referrals = (
        Referral.objects.filter(patient=patient)
        .select_related("referral_type")
        .order_by("-received_on", "-id")[:PER_KIND_LIMIT]
    )
    for referral in referrals:
        yield TimelineEntry(
            when=referral.received_on,
            entered_at=referral.created_at,
            kind="referral",
            title=f"{referral.referral_type.name} referral",
            detail=f"From {referral.referrer_name} ({referral.get_source_display()}): {referral.reason}",
            url=safe_reverse("caseload:referral_detail", referral.pk),
            tags=(referral.get_status_display(),),
        )


@timeline_source("contact", "Contacts")
def _contacts(patient: Patient) -> Iterable[TimelineEntry]:
    contacts = (
        Contact.objects.filter(patient=patient)
        .select_related("recorded_by")
        .order_by("-contact_at", "-id")[:PER_KIND_LIMIT]
    )
    for contact in contacts:
        terms = [INTERVENTIONS_BY_KEY[k].term for k in contact.interventions if k in INTERVENTIONS_BY_KEY]
        detail = "; ".join(part for part in (", ".join(terms), contact.outcome) if part)
        yield TimelineEntry(
            when=contact.contact_at,
            kind="contact",
            title=f"{contact.get_method_display()} contact with {contact.get_with_whom_display().lower()}, "
            f"{contact.duration_minutes} min",
            detail=detail,
            url=safe_reverse("caseload:contact_detail", contact.pk),
            who=_name(contact.recorded_by),
        )


@timeline_source("pam", "Activation (PAM)")
def _activation(patient: Patient) -> Iterable[TimelineEntry]:
    measures = (
        ActivationMeasure.objects.filter(patient=patient)
        .select_related("measured_by")
        .order_by("-measured_on", "-id")[:PER_KIND_LIMIT]
    )
    for measure in measures:
        yield TimelineEntry(
            when=measure.measured_on,
            entered_at=measure.created_at,
            kind="pam",
            title=f"PAM score {measure.score}, level {measure.level}",
            who=_name(measure.measured_by),
        )


@timeline_source("signposting", "Signposting")
def _signposting(patient: Patient) -> Iterable[TimelineEntry]:
    rows = (
        Signposting.objects.filter(patient=patient)
        .select_related("service", "signposted_by")
        .order_by("-signposted_on", "-id")[:PER_KIND_LIMIT]
    )
    for row in rows:
        yield TimelineEntry(
            when=row.signposted_on,
            entered_at=row.created_at,
            kind="signposting",
            title=f"Signposted to {row.service.name}",
            detail=row.notes,
            who=_name(row.signposted_by),
            tags=(row.get_outcome_display(),),
        )


@timeline_source("support", "Support given")
def _support(patient: Patient) -> Iterable[TimelineEntry]:
    rows = (
        SupportGiven.objects.filter(patient=patient)
        .select_related("given_by")
        .order_by("-given_on", "-id")[:PER_KIND_LIMIT]
    )
    for row in rows:
        yield TimelineEntry(
            when=row.given_on,
            entered_at=row.created_at,
            kind="support",
            title=row.get_kind_display(),
            detail=row.notes,
            who=_name(row.given_by),
        )


@timeline_source("task", "Tasks")
def _tasks(patient: Patient) -> Iterable[TimelineEntry]:
    """A task appears when it was set; its state (open, overdue, done) is a tag."""
    today = timezone.localdate()
    tasks = (
        Task.objects.filter(patient=patient)
        .select_related("owner")
        .order_by("-created_at", "-id")[:PER_KIND_LIMIT]
    )
    for task in tasks:
        if task.done_at:
            tag = f"Done {timezone.localtime(task.done_at):%-d %b %Y}"
        elif task.due_on < today:
            tag = "Overdue"
        else:
            tag = "Open"
        yield TimelineEntry(
            when=task.created_at,
            kind="task",
            title=f"Task: {task.title}",
            detail=f"{task.get_kind_display()}, due {task.due_on:%-d %b %Y}",
            who=f"Owner: {task.owner}",
            tags=(tag,),
        )


@timeline_source("mdt", "MDT discussions")
def _mdt_discussions(patient: Patient) -> Iterable[TimelineEntry]:
    """Each discussion of the patient at an MDT: the meeting's date and series, the outcome, the notes."""
    discussions = (
        Discussion.objects.filter(item__patient=patient)
        .select_related("item__meeting__series", "updated_by")
        .order_by("-item__meeting__starts_at", "-id")[:PER_KIND_LIMIT]
    )
    for discussion in discussions:
        meeting = discussion.item.meeting
        yield TimelineEntry(
            when=meeting.starts_at,
            kind="mdt",
            title=f"Discussed at {meeting.series.name}",
            detail=discussion.notes,
            url=safe_reverse("mdt:minutes", meeting.pk),
            who=_name(discussion.updated_by),
            tags=tuple(
                tag
                for tag in (
                    discussion.get_outcome_display() if discussion.outcome else "",
                    "Minutes signed off" if meeting.minutes_locked else "Draft minutes",
                )
                if tag
            ),
        )


@timeline_source("care_plan", "Care plans")
def _care_plans(patient: Patient) -> Iterable[TimelineEntry]:
    """Each version of the care plan (agreed on its date, or started as a draft) and each review."""
    url = safe_reverse("careplans:plan", patient.pk)
    versions = (
        CarePlanVersion.objects.filter(plan__patient=patient)
        .select_related("agreed_by", "created_by")
        .order_by("-number")[:PER_KIND_LIMIT]
    )
    for version in versions:
        if version.agreed_on is not None:
            yield TimelineEntry(
                when=version.agreed_on,
                entered_at=version.updated_at,
                kind="care_plan",
                title=f"Care plan version {version.number} agreed",
                detail=f"{version.get_agreed_how_display()}, with {version.get_agreed_with_display().lower()}"
                + (f"; review by {version.review_date:%-d %b %Y}" if version.review_date else ""),
                url=url,
                who=_name(version.agreed_by),
                tags=(version.get_status_display(),),
            )
        else:
            yield TimelineEntry(
                when=version.created_at,
                kind="care_plan",
                title=f"Care plan version {version.number} started",
                url=url,
                who=_name(version.created_by),
                tags=("Draft",),
            )
    reviews = (
        CarePlanReview.objects.filter(version__plan__patient=patient)
        .select_related("version", "recorded_by")
        .order_by("-reviewed_on", "-id")[:PER_KIND_LIMIT]
    )
    for review in reviews:
        yield TimelineEntry(
            when=review.reviewed_on,
            entered_at=review.created_at,
            kind="care_plan",
            title=f"Care plan version {review.version.number} reviewed",
            detail="; ".join(
                part
                for part in (
                    f"{review.get_reviewed_how_display()}, with {review.get_reviewed_with_display().lower()}",
                    "no changes" if review.outcome == CarePlanReview.Outcome.NO_CHANGE else "changes needed",
                    review.notes,
                )
                if part
            ),
            url=url,
            who=_name(review.recorded_by),
        )


@timeline_source("decision_aid", "Decision aids")
def _decision_aids(patient: Patient) -> Iterable[TimelineEntry]:
    """Each decision aid offered (shared decision making), on the day it was offered; the outcome of
    the conversation once recorded."""
    offers = (
        DecisionAidOffer.objects.filter(patient=patient)
        .select_related("aid", "offered_by")
        .order_by("-offered_on", "-id")[:PER_KIND_LIMIT]
    )
    for offer in offers:
        yield TimelineEntry(
            when=offer.offered_on,
            entered_at=offer.created_at,
            kind="decision_aid",
            title=f"Decision aid offered: {offer.aid.title}",
            detail="; ".join(part for part in (f"Decision: {offer.decision}", offer.outcome) if part),
            url=safe_reverse("careplans:decision_aid_offer_edit", offer.pk),
            who=_name(offer.offered_by),
            tags=("Outcome recorded",) if offer.outcome else ("Awaiting the conversation",),
        )


@timeline_source("feedback", "Feedback and stories")
def _feedback(patient: Patient) -> Iterable[TimelineEntry]:
    """Each piece of feedback or story, on the day it was given; good news says so."""
    for item in (
        Feedback.objects.filter(patient=patient)
        .select_related("recorded_by")
        .order_by("-given_on", "-id")[:PER_KIND_LIMIT]
    ):
        tags = ("Good news",) if item.is_good_news else ()
        if item.consent_to_share:
            tags += ("May be shared anonymised",)
        yield TimelineEntry(
            when=item.given_on,
            entered_at=item.created_at,
            kind="feedback",
            title=f"Feedback from {item.from_whom}",
            detail=item.story,
            url=safe_reverse("caseload:feedback_edit", item.pk),
            who=_name(item.recorded_by),
            tags=tags,
        )


@timeline_source("appointment", "Appointments")
def _appointments(patient: Patient) -> Iterable[TimelineEntry]:
    """Each appointment when it was booked, and its outcome: attended (on its day), did not attend,
    cancelled or moved."""
    appointments = (
        Appointment.objects.filter(patient=patient)
        .select_related("booked_by", "outcome_by")
        .order_by("-starts_at", "-id")[:PER_KIND_LIMIT]
    )
    for appointment in appointments:
        starts = timezone.localtime(appointment.starts_at)
        with_whom = ", ".join(
            part for part in (appointment.with_whom, appointment.get_role_display()) if part
        )
        detail = "; ".join(
            part for part in (f"With {with_whom}", appointment.location, appointment.reason) if part
        )
        url = reverse("recall:appointment_outcome", args=[appointment.pk]) if appointment.is_open else None
        yield TimelineEntry(
            when=appointment.created_at,
            kind="appointment",
            title=f"Appointment booked for {starts:%-d %b %Y, %H:%M}",
            detail=detail,
            url=url,
            who=_name(appointment.booked_by),
            tags=("Booked",) if appointment.is_open else (),
        )
        if appointment.is_open:
            continue
        outcome = appointment.outcome
        attended_or_not = outcome in (Appointment.Outcome.ATTENDED, Appointment.Outcome.DNA)
        yield TimelineEntry(
            when=appointment.starts_at
            if attended_or_not
            else (appointment.outcome_at or appointment.starts_at),
            kind="appointment",
            title=APPOINTMENT_OUTCOME_TITLES[outcome].format(when=f"{starts:%-d %b %Y, %H:%M}"),
            detail="; ".join(part for part in (detail, appointment.outcome_notes) if part),
            who=_name(appointment.outcome_by),
            tags=("Review done",) if appointment.review_done else (),
        )


APPOINTMENT_OUTCOME_TITLES = {
    Appointment.Outcome.ATTENDED: "Attended the appointment",
    Appointment.Outcome.DNA: "Did not attend the appointment",
    Appointment.Outcome.CANCELLED: "Appointment for {when} cancelled",
    Appointment.Outcome.RESCHEDULED: "Appointment for {when} moved",
}


@timeline_source("invitation", "Recall invitations")
def _invitations(patient: Patient) -> Iterable[TimelineEntry]:
    """Each row of the invitation ledger; an undone batch's rows stay, tagged undone."""
    invitations = (
        Invitation.objects.filter(patient=patient)
        .select_related("register", "created_by")
        .order_by("-sent_on", "-id")[:PER_KIND_LIMIT]
    )
    for invitation in invitations:
        yield TimelineEntry(
            when=invitation.sent_on,
            entered_at=invitation.created_at,
            kind="invitation",
            title=f"{ordinal(invitation.sequence)} invitation: {invitation.register.review_name}",
            detail=f"{invitation.get_channel_display()}, QOF year {year_label(invitation.year)}",
            who=_name(invitation.created_by),
            tags=("Undone",) if invitation.cancelled_at else (),
        )
