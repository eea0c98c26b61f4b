"""Patient Activation Measure (PAM): people measured, re-measured and improved, by level."""

from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import ExtractDay, ExtractMonth, ExtractYear

from caseload.models import ActivationMeasure
from reporting.reports.base import Breakdown, Measure, Report

# PAM's meaningful change (DOMAIN.md): a gain of at least 3 points within 12 months.
IMPROVED_BY_POINTS = 3

LEVELS = {
    1: "Level 1 (47.0 or less)",
    2: "Level 2 (47.1 to 55.1)",
    3: "Level 3 (55.2 to 67.0)",
    4: "Level 4 (67.1 or more)",
}


def _earlier() -> QuerySet:
    """The patient's measures before this one (an earlier day, or the same day and recorded first)."""
    return ActivationMeasure.objects.filter(
        Q(measured_on__lt=OuterRef("measured_on"))
        | Q(measured_on=OuterRef("measured_on"), id__lt=OuterRef("id")),
        patient_id=OuterRef("patient_id"),
    )


def _measures() -> QuerySet:
    return ActivationMeasure.objects.all()


def _remeasures() -> QuerySet:
    return ActivationMeasure.objects.filter(Exists(_earlier()))


def _as_number(day: str) -> F:
    # YYYYMMDD as a number: adding 10000 moves a date on a year to the day, so "on or after the date
    # 12 months before" is a comparison of numbers, in portable SQL (PostgreSQL and SQLite).
    return ExtractYear(day) * 10000 + ExtractMonth(day) * 100 + ExtractDay(day)  # type: ignore[return-value]


def _improvements() -> QuerySet:
    """Measures at least IMPROVED_BY_POINTS above the patient's previous one, taken in the 12 months
    before (from the same date a year earlier)."""
    previous = _earlier().order_by("-measured_on", "-id")
    return (
        ActivationMeasure.objects.alias(
            previous_score=Subquery(previous.values("score")[:1]),
            previous_on=Subquery(previous.values("measured_on")[:1]),
        )
        .alias(previous_day=_as_number("previous_on"), this_day=_as_number("measured_on"))
        .filter(previous_score__lte=F("score") - IMPROVED_BY_POINTS, previous_day__gte=F("this_day") - 10000)
    )


BY_LEVEL = Breakdown("level", "Level", "level", LEVELS)

REPORT = Report(
    key="pam",
    title="Patient Activation Measure",
    question="How many people had their activation measured, were measured again, and improved?",
    source="PAM scores recorded here (score, level, date and who measured; never the questions).",
    version="pam-1",
    measures=(
        Measure(
            "measured",
            "People measured",
            _measures,
            "patient__practice_id",
            date_field="measured_on",
            distinct_patients=True,
            breakdowns=(BY_LEVEL,),
            help="People with a PAM in the period. By level, a person measured twice at different levels "
            "counts under each.",
        ),
        Measure(
            "remeasured",
            "People re-measured",
            _remeasures,
            "patient__practice_id",
            date_field="measured_on",
            distinct_patients=True,
            breakdowns=(BY_LEVEL,),
            help="People whose PAM in the period was their second or later.",
        ),
        Measure(
            "improved",
            "People whose activation improved",
            _improvements,
            "patient__practice_id",
            date_field="measured_on",
            distinct_patients=True,
            breakdowns=(BY_LEVEL,),
            help=f"A PAM in the period at least {IMPROVED_BY_POINTS} points above the person's previous one, "
            "measured within the 12 months before it.",
        ),
    ),
    notes=(
        "PAM levels: 1 up to 47.0; 2 47.1 to 55.1; 3 55.2 to 67.0; 4 67.1 and above.",
        f"Improved: a gain of {IMPROVED_BY_POINTS} points or more within 12 months is a meaningful change; "
        "each PAM in the period is compared with the person's previous one, if that was taken on or after "
        "the same date a year before.",
    ),
)
