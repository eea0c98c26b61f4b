"""Call and recall, per register: on the register, invited once, twice and three or more times, seen,
personalised care adjustments (by reason) and excepted but still due — for the QOF year(s) the period
falls in."""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Q, QuerySet

from recall.models import RecallEntry
from reporting.periods import Period, qof_year_of
from reporting.reports.base import Breakdown, Measure, Report

REGISTER = Breakdown("register", "Register", "register__name")
State = RecallEntry.State


def qof_years(period: Period) -> list[int]:
    """The QOF years (by the year of their 1 April) the period touches."""
    first, last = qof_year_of(period.start).start.year, qof_year_of(period.end).start.year
    return list(range(first, last + 1))


def _entries() -> QuerySet:
    return RecallEntry.objects.all()


def _of_years(condition: Q) -> Callable[[Period], Q]:
    """The entries of the period's QOF years that meet `condition`. The figures are all conditions on
    the recall entries, so the report counts them in one scan of the year's entries."""

    def when(period: Period) -> Q:
        return Q(year__in=qof_years(period)) & condition

    return when


def _measure(key: str, label: str, when: Callable[[Period], Q], help: str, *more: Breakdown) -> Measure:
    return Measure(
        key, label, _entries, "patient__practice_id", when=when, breakdowns=(REGISTER, *more), help=help
    )


REPORT = Report(
    key="recall",
    title="Call and recall",
    question="For each register, how many people are due a review this QOF year, how many have been invited "
    "once, twice or more, seen, given a personalised care adjustment, or excepted but still due?",
    source="The recall year of each person on each register, kept here from the registers, the "
    "invitations sent and the reviews recorded or read back from the GP record.",
    version="recall-1",
    measures=(
        _measure(
            "on_register",
            "On a register",
            _of_years(~Q(state=State.CLOSED)),
            "People on each register this QOF year (each register a person is on counts).",
        ),
        _measure(
            "due",
            "Due, not yet invited",
            _of_years(Q(state=State.DUE)),
            "Not invited, booked, seen or adjusted yet.",
        ),
        _measure(
            "invited_once",
            "Invited once",
            _of_years(Q(invitations=1)),
            "Exactly one invitation this QOF year (cancelled ones not counted), whatever happened next.",
        ),
        _measure("invited_twice", "Invited twice", _of_years(Q(invitations=2)), "Exactly two invitations."),
        _measure(
            "invited_three_plus",
            "Invited three times or more",
            _of_years(Q(invitations__gte=3)),
            "Three invitations or more (cervical screening expects three).",
        ),
        _measure(
            "seen",
            "Seen, review done",
            _of_years(Q(state=State.SEEN)),
            "Review recorded here or in the GP record.",
        ),
        _measure(
            "pca",
            "Personalised care adjustment",
            _of_years(Q(state=State.PCA)),
            "By register and by reason.",
            Breakdown("pca_reason", "Reason", "pca_reason", dict(RecallEntry.PcaReason.choices)),
        ),
        _measure(
            "excepted",
            "Excepted but still due",
            _of_years(Q(state=State.EXCEPTED)),
            "Invited as many times as the register expects (excepted from the indicator), not yet seen.",
        ),
    ),
    notes=(
        "Each figure counts the recall year of each person on each register for the QOF year (1 April to "
        "31 March) the period falls in, as it stands today: within one QOF year a month and the month "
        "before show the same numbers, and a QOF year's figures keep moving until it ends. A period that "
        "crosses 1 April counts both QOF years, so a person can count once for each.",
        "On a register leaves out those who left it (died, moved away, or no longer on the register).",
    ),
)
