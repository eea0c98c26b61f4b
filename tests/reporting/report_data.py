"""Builders for the report tests' hand-built data sets (and the timeline tests'): one row of each kind a
report counts, with the dates and values the test says. Times are 10:00 UTC (10:00 or 11:00 in London)
unless given."""

from datetime import UTC, date, datetime, time

from careplans.models import CarePlan, CarePlanReview, CarePlanVersion
from caseload.models import (
    ActivationMeasure,
    CareEvent,
    Contact,
    Referral,
    ReferralType,
    Service,
    Signposting,
    SupportGiven,
)
from mdt.models import Action, AgendaItem, Meeting, MeetingSeries
from recall.models import RecallEntry, Register
from reporting.reports.base import FigureRow, ReportResult, Value


def at(day: str, hour: int = 10, minute: int = 0) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=UTC)


def figures(result: ReportResult) -> dict[str, tuple[Value, Value, dict[int, Value]]]:
    """A report run's figures by key: (the total, the period before's total, per practice)."""
    return {row.measure.key: (row.total, row.previous_total, row.current) for row in result.figures}


def figure(result: ReportResult, key: str) -> FigureRow:
    return next(row for row in result.figures if row.measure.key == key)


def stamp(row, **times: datetime):
    """Set auto_now_add times (created_at) after the fact."""
    type(row).objects.filter(pk=row.pk).update(**times)
    for name, value in times.items():
        setattr(row, name, value)
    return row


def contact(patient, by, when: str, method: str = "phone", interventions=(), **extra) -> Contact:
    return Contact.objects.create(
        patient=patient, recorded_by=by, contact_at=at(when), method=method,
        interventions=list(interventions), **{"duration_minutes": 20, **extra},
    )  # fmt: skip


def plan_version(patient, by, *, number: int = 1, status: str = "agreed", agreed_on: date | None = None,
                 review_date: date | None = None, superseded_at: datetime | None = None) -> CarePlanVersion:  # fmt: skip
    plan, _ = CarePlan.objects.get_or_create(patient=patient)
    return CarePlanVersion.objects.create(
        plan=plan, number=number, status=status, agreed_on=agreed_on, agreed_by=by if agreed_on else None,
        agreed_how="in_person" if agreed_on else "", agreed_with="patient" if agreed_on else "",
        review_date=review_date, superseded_at=superseded_at, created_by=by,
    )  # fmt: skip


def review(
    version, by, on: date, outcome: str = "no_change", next_review: date | None = None
) -> CarePlanReview:
    return CarePlanReview.objects.create(
        version=version, reviewed_on=on, reviewed_how="phone", reviewed_with="patient", outcome=outcome,
        next_review_date=next_review, recorded_by=by,
    )  # fmt: skip


def care_event(patient, kind: str, occurred: datetime, **extra) -> CareEvent:
    return CareEvent.objects.create(
        patient=patient, nhs_number=patient.nhs_number, kind=kind, occurred_at=occurred,
        provider=extra.pop("provider", "General Hospital"), **extra,
    )  # fmt: skip


def pam(patient, by, on: date, score: str) -> ActivationMeasure:
    return ActivationMeasure.objects.create(patient=patient, measured_by=by, measured_on=on, score=score)


def series(name: str, chair, *practices) -> MeetingSeries:
    made = MeetingSeries.objects.create(
        name=name, kind=MeetingSeries.Kind.CARE_HOME, weekday=MeetingSeries.Weekday.TUESDAY,
        start_time=time(13, 0), chair=chair,
    )  # fmt: skip
    made.practices.add(*practices)
    return made


def meeting(of: MeetingSeries, starts: datetime, status: str = "held") -> Meeting:
    return Meeting.objects.create(
        series=of, starts_at=starts, scheduled_for=starts, circulate_at=starts, status=status
    )


def item(at_meeting: Meeting, patient) -> AgendaItem:
    return AgendaItem.objects.create(meeting=at_meeting, patient=patient, source=AgendaItem.Source.ADDED)


def action(on_item: AgendaItem, by, *, raised: datetime, due: date, closed: datetime | None = None,
           status: str = "done") -> Action:  # fmt: skip
    made = Action.objects.create(
        item=on_item, what="Call the family", owner_user=by, due_on=due, created_by=by,
        status=status if closed else "open", closed_at=closed, closed_by=by if closed else None,
    )  # fmt: skip
    return stamp(made, created_at=raised)


def referral_type(name: str) -> ReferralType:
    return ReferralType.objects.create(name=name)


def referral(patient, by, kind: ReferralType, received: date, source: str = "gp", status: str = "new",
             decided: datetime | None = None) -> Referral:  # fmt: skip
    return Referral.objects.create(
        patient=patient, referral_type=kind, source=source, referrer_name="Dr Who", reason="Falls",
        received_on=received, status=status, decided_at=decided, decided_by=by if decided else None,
        created_by=by,
    )  # fmt: skip


def register(key: str, name: str, expected: int = 2) -> Register:
    return Register.objects.create(
        key=key, name=name, review_name=f"{name} review", invitation_term=f"{name} invitation",
        invitations_expected=expected,
    )  # fmt: skip


def entry(patient, on: Register, year: int, state: str = "due", invitations: int = 0, **extra) -> RecallEntry:
    return RecallEntry.objects.create(
        patient=patient, register=on, year=year, state=state, invitations=invitations,
        due_month=date(year, 6, 1), **extra,
    )  # fmt: skip


def service(name: str, category: str) -> Service:
    return Service.objects.create(name=name, category=category)


def signpost(patient, by, to: Service, on: date, outcome: str = "pending", outcome_on: date | None = None):
    return Signposting.objects.create(
        patient=patient,
        service=to,
        signposted_on=on,
        signposted_by=by,
        outcome=outcome,
        outcome_on=outcome_on,
    )


def support(patient, by, kind: str, on: date) -> SupportGiven:
    return SupportGiven.objects.create(patient=patient, kind=kind, given_on=on, given_by=by)
