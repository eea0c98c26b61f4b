"""Feedback and stories: how many were recorded, how many were good news, how many may be shared
anonymised, and the mean answer to our own question "How much has the support helped you?" (1 "Not
at all" to 5 "A great deal"; not a validated or licensed instrument)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import Avg, Q, QuerySet

from caseload.models import Feedback, Patient
from reporting.periods import Period
from reporting.reports.base import Breakdown, ComputedMeasure, Measure, Report, Value

GIVEN_BY = Breakdown("given_by", "Who gave it", "given_by", dict(Feedback.GivenBy.choices))
RATING = Breakdown("rating", "How much the support helped", "rating", dict(Feedback.Rating.choices))


def _stories() -> QuerySet:
    return Feedback.objects.all()


# Conditions on the stories, so that the three counts (and their breakdowns) are one query a run.
def _good_news(period: Period) -> Q:
    return Q(is_good_news=True)


def _shareable(period: Period) -> Q:
    return Q(consent_to_share=True)


def _rated(period: Period, practice_ids: list[int]) -> QuerySet:
    return Feedback.objects.filter(
        patient__practice_id__in=practice_ids,
        given_on__range=(period.start, period.end),
        rating__isnull=False,
    )


def _mean_rating(period: Period, practice_ids: list[int]) -> dict[int | None, Value]:
    """The mean rating per practice and for them all, to one decimal place (two queries)."""
    rated = _rated(period, practice_ids).order_by()
    out: dict[int | None, Value] = {
        row["patient__practice_id"]: round(row["mean"], 1)
        for row in rated.values("patient__practice_id").annotate(mean=Avg("rating"))
    }
    mean = rated.aggregate(mean=Avg("rating"))["mean"]
    out[None] = round(mean, 1) if mean is not None else None
    return out


def _rated_patients(period: Period, practice_ids: list[int]) -> QuerySet[Patient]:
    return Patient.objects.filter(pk__in=_rated(period, practice_ids).values("patient_id"))


def _measure(key: str, label: str, base: Callable[[], QuerySet], **extra: Any) -> Measure:
    return Measure(key, label, base, "patient__practice_id", date_field="given_on", **extra)


REPORT = Report(
    key="feedback",
    title="Feedback and stories",
    question="How many people and carers told us about the difference the support made, how much did "
    "it help, and how many stories were good news or may be shared?",
    source="Feedback and stories recorded here from the person, the people around them or others.",
    version="feedback-1",
    measures=(
        _measure(
            "stories",
            "Stories recorded",
            _stories,
            breakdowns=(GIVEN_BY, RATING),
            help="Each piece of feedback or story, by the day it was given.",
        ),
        _measure(
            "good_news",
            "Good news",
            _stories,
            when=_good_news,
            breakdowns=(GIVEN_BY,),
            help="Stories marked good news (offered to the MDT).",
        ),
        _measure(
            "consent_to_share",
            "With consent to share anonymised",
            _stories,
            when=_shareable,
            breakdowns=(GIVEN_BY,),
        ),
        ComputedMeasure(
            "mean_rating",
            "Mean rating: how much the support helped (1 to 5)",
            _mean_rating,
            patients_of=_rated_patients,
            unit=" out of 5",  # a rate, not a count: the BI feed suppresses it on a small base
            help="Of the stories given in the period with an answer; 1 is “Not at all”, 5 “A great deal”.",
        ),
    ),
    notes=(
        "The rating is our own five-point question, “How much has the support helped you?” (Not at all, "
        "A little, Somewhat, A lot, A great deal), not a validated or licensed instrument: compare its "
        "figures with each other, not with published measures.",
        "Each story counts in the month it was given, whoever gave it (the person, someone around them, "
        "or someone else).",
    ),
)
