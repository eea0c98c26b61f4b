"""Referrals: received by source, type and outcome, decided, and the median days from a referral's
arrival to the first contact with the person."""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from caseload.models import Contact, Patient, Referral
from reporting.periods import Period
from reporting.reports.base import Breakdown, ComputedMeasure, Measure, Report, Value, medians

SOURCE = Breakdown("source", "Source", "source", dict(Referral.Source.choices))
TYPE = Breakdown("type", "Type", "referral_type__name")
OUTCOME = Breakdown("outcome", "Outcome", "status", dict(Referral.Status.choices))


def _referrals() -> QuerySet:
    return Referral.objects.all()


def _decided() -> QuerySet:
    return Referral.objects.exclude(status=Referral.Status.NEW)


def _received_in(period: Period, practice_ids: list[int]) -> QuerySet:
    return Referral.objects.filter(
        patient__practice_id__in=practice_ids, received_on__range=(period.start, period.end)
    )


def _with_first_contact(period: Period, practice_ids: list[int]) -> QuerySet:
    """Referrals received in the period with `first_contact_at`: the person's first contact on or after
    the day it arrived (those with none yet are left out)."""
    first = Contact.objects.filter(
        patient_id=OuterRef("patient_id"), contact_at__date__gte=OuterRef("received_on")
    ).order_by("contact_at", "id")
    return (
        _received_in(period, practice_ids)
        .annotate(first_contact_at=Subquery(first.values("contact_at")[:1]))
        .filter(first_contact_at__isnull=False)
    )


def _median_days_to_contact(period: Period, practice_ids: list[int]) -> dict[int | None, Value]:
    rows = _with_first_contact(period, practice_ids).values_list(
        "patient__practice_id", "received_on", "first_contact_at"
    )
    return medians(
        (practice_id, (timezone.localdate(contacted) - received).days)
        for practice_id, received, contacted in rows
    )


def _contacted_patients(period: Period, practice_ids: list[int]) -> QuerySet[Patient]:
    return Patient.objects.filter(pk__in=_with_first_contact(period, practice_ids).values("patient_id"))


REPORT = Report(
    key="referrals",
    title="Referrals",
    question="Where do referrals come from, what happens to them, and how soon is the person contacted?",
    source="Referrals recorded here (by hand or from the referral form) and the contacts that followed.",
    version="referrals-1",
    measures=(
        Measure(
            "received",
            "Referrals received",
            _referrals,
            "patient__practice_id",
            date_field="received_on",
            breakdowns=(SOURCE, TYPE, OUTCOME),
            help="By outcome, where each referral received in the period stands now.",
        ),
        Measure(
            "decided",
            "Referrals decided",
            _decided,
            "patient__practice_id",
            date_field="decided_at",
            breakdowns=(OUTCOME, TYPE),
            help="Accepted, declined or directed to an MDT in the period.",
        ),
        ComputedMeasure(
            "median_days_to_contact",
            "Median days from referral to first contact",
            _median_days_to_contact,
            patients_of=_contacted_patients,
            unit=" days",
            help="For referrals received in the period whose person has been contacted since: days from the "
            "day received to the first contact on or after it.",
        ),
    ),
    notes=(
        "Referrals not yet followed by a contact are not in the median: the referrals received, by "
        "outcome, show how many are still new.",
    ),
)
