"""Signposting and support given: people signposted by service category, what came of it, and support
given (personal health budgets, benefits, employment and training) by kind."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import QuerySet

from caseload.models import Service, Signposting, SupportGiven
from reporting.reports.base import Breakdown, Measure, Report

CATEGORY = Breakdown("category", "Service category", "service__category", dict(Service.Category.choices))
OUTCOME = Breakdown("outcome", "Outcome", "outcome", dict(Signposting.Outcome.choices))
KIND = Breakdown("kind", "Kind", "kind", dict(SupportGiven.Kind.choices))


def _signposted() -> QuerySet:
    return Signposting.objects.all()


def _outcomes() -> QuerySet:
    return Signposting.objects.exclude(outcome=Signposting.Outcome.PENDING)


def _support(kind: str | None = None) -> Callable[[], QuerySet]:
    def base() -> QuerySet:
        rows = SupportGiven.objects.all()
        return rows.filter(kind=kind) if kind else rows

    return base


REPORT = Report(
    key="signposting",
    title="Signposting and support given",
    question="Where were people signposted, what came of it, and what support (personal health budgets, "
    "benefits, employment) were they given?",
    source="Signposting to the services directory and support given, recorded here.",
    version="signposting-1",
    measures=(
        Measure(
            "signposted",
            "Signposted",
            _signposted,
            "patient__practice_id",
            date_field="signposted_on",
            breakdowns=(CATEGORY, OUTCOME, Breakdown("by", "Signposted by", "signposted_by__full_name")),
            help="Each signposting to a service; by outcome, where each stands now.",
        ),
        Measure(
            "outcomes",
            "Outcomes recorded",
            _outcomes,
            "patient__practice_id",
            date_field="outcome_on",
            breakdowns=(OUTCOME, CATEGORY),
            help="Signpostings whose outcome (engaged, declined, did not engage) was recorded in the period.",
        ),
        Measure(
            "support_given",
            "Support given",
            _support(),
            "patient__practice_id",
            date_field="given_on",
            breakdowns=(KIND,),
        ),
        *(
            Measure(
                f"support_{kind}",
                label,
                _support(kind),
                "patient__practice_id",
                date_field="given_on",
                distinct_patients=True,
                help="Each person once.",
            )
            for kind, label in (
                (SupportGiven.Kind.PERSONAL_HEALTH_BUDGET, "People given a personal health budget"),
                (SupportGiven.Kind.BENEFITS, "People helped to access benefits"),
                (SupportGiven.Kind.EMPLOYMENT, "People helped to take up training or employment"),
            )
        ),
    ),
)
