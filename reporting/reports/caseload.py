"""Caseload: size at the end of the period, new and closed (by reason), transfers between coordinators —
by practice and coordinator."""

from django.db.models import Q, QuerySet

from caseload.models import CaseloadEpisode
from pcn.models import AuditEvent
from reporting.periods import Period
from reporting.reports.base import Breakdown, Measure, Report, day_bounds

COORDINATOR = Breakdown("coordinator", "Coordinator", "coordinator__full_name")


def _open_at_end(period: Period) -> Q:
    _, end = day_bounds(period)
    return (Q(closed_at__isnull=True) | Q(closed_at__gt=end)) & Q(opened_at__lte=end)


def _episodes() -> QuerySet:
    return CaseloadEpisode.objects.all()


def _transfers() -> QuerySet:
    # A transfer changes the episode's coordinator in place; the audit trail (append-only) keeps each one.
    return AuditEvent.objects.filter(action="caseload.transfer")


REPORT = Report(
    key="caseload",
    title="Caseload",
    question="How many people are on the care coordinators' caseloads, and how many joined and left them?",
    source="Caseload episodes recorded here (opened, transferred and closed by coordinators).",
    version="caseload-1",
    measures=(
        Measure(
            "size",
            "On a caseload at the end of the period",
            _episodes,
            "patient__practice_id",
            when=_open_at_end,
            distinct_patients=True,
            breakdowns=(COORDINATOR,),
        ),
        Measure(
            "new",
            "Taken onto a caseload",
            _episodes,
            "patient__practice_id",
            date_field="opened_at",
            breakdowns=(
                COORDINATOR,
                Breakdown("reason", "Why", "reason", dict(CaseloadEpisode.Reason.choices)),
            ),
        ),
        Measure(
            "closed",
            "Closed",
            _episodes,
            "patient__practice_id",
            date_field="closed_at",
            breakdowns=(
                Breakdown(
                    "close_reason", "Reason closed", "close_reason", dict(CaseloadEpisode.CloseReason.choices)
                ),
                COORDINATOR,
            ),
        ),
        Measure(
            "transfers",
            "Transferred between coordinators",
            _transfers,
            "patient_links__patient__practice_id",
            patient_path="patient_links__patient_id",
            date_field="at",
        ),
    ),
    notes=(
        "A transfer between coordinators closes no episode: the patient stays on a caseload and counts once.",
    ),
)
