"""MDT meetings: meetings held per series, patients discussed, and the actions raised, open, overdue and
closed, with the median time to close one."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from caseload.models import Patient
from mdt.models import Action, AgendaItem, Meeting
from reporting.periods import Period
from reporting.reports.base import Breakdown, ComputedMeasure, Measure, Report, Value, day_bounds, medians

ACTION_PRACTICE, ACTION_PATIENT = "item__patient__practice_id", "item__patient_id"
ACTION_SERIES = Breakdown("series", "Series", "item__meeting__series__name")


def _held() -> QuerySet:
    return Meeting.objects.filter(status=Meeting.Status.HELD)


def _discussed() -> QuerySet:
    return AgendaItem.objects.filter(meeting__status=Meeting.Status.HELD)


def _actions() -> QuerySet:
    return Action.objects.all()


def _closed() -> QuerySet:
    return Action.objects.exclude(status=Action.Status.OPEN)


def _open_at_end(period: Period) -> Q:
    _, end = day_bounds(period)
    return (Q(status=Action.Status.OPEN) | Q(closed_at__gt=end)) & Q(created_at__lte=end)


def _overdue_at_end(period: Period) -> Q:
    # Overdue: still open after its due date. On the period's last day an action due that day is not.
    return _open_at_end(period) & Q(due_on__lt=period.end)


def _closed_in(period: Period, practice_ids: list[int]) -> QuerySet:
    return _closed().filter(item__patient__practice_id__in=practice_ids, closed_at__range=day_bounds(period))


def _median_days_to_close(period: Period, practice_ids: list[int]) -> dict[int | None, Value]:
    rows = _closed_in(period, practice_ids).values_list(ACTION_PRACTICE, "created_at", "closed_at")
    return medians(
        (practice_id, (timezone.localdate(closed) - timezone.localdate(created)).days)
        for practice_id, created, closed in rows
    )


def _closed_patients(period: Period, practice_ids: list[int]) -> QuerySet[Patient]:
    return Patient.objects.filter(pk__in=_closed_in(period, practice_ids).values(ACTION_PATIENT))


REPORT = Report(
    key="mdt",
    title="MDT meetings",
    question="How many MDT meetings were held, how many people did they discuss, and are their actions "
    "being done?",
    source="MDT meetings, agendas, minutes and actions recorded here.",
    version="mdt-1",
    measures=(
        Measure(
            "meetings_held",
            "Meetings held",
            _held,
            "series__practices",
            patient_path="items__patient_id",
            date_field="starts_at",
            distinct="pk",
            breakdowns=(Breakdown("series", "Series", "series__name"),),
            help="A meeting shared by several practices counts once for each, and once in all.",
        ),
        Measure(
            "patients_discussed",
            "People discussed",
            _discussed,
            "patient__practice_id",
            date_field="meeting__starts_at",
            distinct_patients=True,
            breakdowns=(Breakdown("series", "Series", "meeting__series__name"),),
            help="Each person once, however many meetings discussed them.",
        ),
        Measure(
            "actions_raised",
            "Actions raised",
            _actions,
            ACTION_PRACTICE,
            patient_path=ACTION_PATIENT,
            date_field="created_at",
            breakdowns=(ACTION_SERIES,),
        ),
        Measure(
            "actions_open",
            "Actions open at the end of the period",
            _actions,
            ACTION_PRACTICE,
            patient_path=ACTION_PATIENT,
            when=_open_at_end,
            breakdowns=(ACTION_SERIES,),
        ),
        Measure(
            "actions_overdue",
            "Actions overdue at the end of the period",
            _actions,
            ACTION_PRACTICE,
            patient_path=ACTION_PATIENT,
            when=_overdue_at_end,
            breakdowns=(ACTION_SERIES,),
            help="Open on the period's last day, with a due date before it.",
        ),
        Measure(
            "actions_closed",
            "Actions closed",
            _closed,
            ACTION_PRACTICE,
            patient_path=ACTION_PATIENT,
            date_field="closed_at",
            breakdowns=(Breakdown("status", "How", "status", dict(Action.Status.choices)), ACTION_SERIES),
            help="Done or cancelled in the period.",
        ),
        ComputedMeasure(
            "median_days_to_close",
            "Median days to close an action",
            _median_days_to_close,
            patients_of=_closed_patients,
            unit=" days",
            help="From the day an action was raised to the day it was closed, for those closed in the period.",
        ),
    ),
    notes=(
        "Meetings held: meetings whose minutes were taken (their status is held); cancelled and scheduled "
        "ones are not counted. People discussed: on the agenda of a meeting held in the period.",
        "An action closed on its due date was done on time: it is never overdue.",
    ),
)
