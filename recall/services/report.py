"""The call/recall report: per register and practice, one QOF year, where every entry stands; and the
same figures by due month. Two aggregate queries (COUNT … FILTER (WHERE …) per figure), whatever the
number of patients; nothing is counted row by row in Python.

What each figure counts (the page says the same, from `FIGURES`):
- On register: the year's entries, less those closed because the condition is no longer recorded
  ("off register", counted separately at the end). Patients who died or left during the year stay in.
- Due so far: on-register entries whose due month is this month or earlier, whatever their state.
- The states, which add up to "on register": not yet invited; invited once, twice, three or more times
  (still waiting: no booking, review or PCA yet, by invitations not cancelled); booked; seen (review
  done, here or coded in the GP record); PCA, by each of the five reasons; closed: deceased; closed:
  left the practice.
- Excepted but still due: invited as often as the rules expect (2; cervical screening 3) and still
  waiting. They are part of the "invited" figures too: QOF no longer counts them, the product does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from django.db.models import Count, Q, QuerySet

from pcn.models import Practice, User
from recall.models import RecallEntry, Register

State, Closed, Pca = RecallEntry.State, RecallEntry.ClosedReason, RecallEntry.PcaReason
OFF_REGISTER = Q(state=State.CLOSED, closed_reason=Closed.OFF_REGISTER)
WAITING = Q(state__in=[State.INVITED, State.EXCEPTED])


class Figure(NamedTuple):
    key: str
    label: str
    help: str


FIGURES: list[Figure] = [
    Figure("on_register", "On register", "This year's entries, less those closed as no longer on the register."),
    Figure("due_so_far", "Due so far", "On register, due this month or earlier, whatever their state."),
    Figure("not_invited", "Not yet invited", "Waiting, no invitation yet."),
    Figure("invited_1", "Invited once", "Waiting after one invitation."),
    Figure("invited_2", "Invited twice", "Waiting after two invitations."),
    Figure("invited_3", "Invited 3+ times", "Waiting after three or more invitations."),
    Figure("excepted", "Excepted but still due", "Invited as often as the rules expect, still waiting "
           "(also in the invited figures)."),
    Figure("booked", "Booked", "An appointment is booked."),
    Figure("seen", "Seen", "Review done, recorded here or coded in the GP record."),
    *[Figure(f"pca_{reason.value}", f"PCA: {reason.label}", "A personalised care adjustment.") for reason in Pca],
    Figure("closed_deceased", "Closed: deceased", "Died during the year."),
    Figure("closed_left", "Closed: left", "Left the practice during the year."),
    Figure("off_register", "Off register", "Closed: the condition is no longer recorded (not on register)."),
]  # fmt: skip
PCA_KEYS = [f"pca_{reason.value}" for reason in Pca]
MONTH_FIGURES = [figure for figure in FIGURES if figure.key != "due_so_far"]
# The page's columns: the five PCA reasons as one (their own table splits them), deceased and left as one.
PAGE_COLUMNS = [
    ("on_register", "On register"), ("due_so_far", "Due so far"), ("not_invited", "Not yet invited"),
    ("invited_1", "Invited once"), ("invited_2", "Invited twice"), ("invited_3", "Invited 3+ times"),
    ("excepted", "Excepted but still due"), ("booked", "Booked"), ("seen", "Seen"), ("pca", "PCA"),
    ("closed", "Closed: deceased or left"), ("off_register", "Off register"),
]  # fmt: skip
MONTH_COLUMNS = [column for column in PAGE_COLUMNS if column[0] != "due_so_far"]


def _conditions(month: date) -> dict[str, Q]:
    conditions = {
        "on_register": ~OFF_REGISTER,
        "due_so_far": ~OFF_REGISTER & Q(due_month__lte=month),
        "not_invited": Q(state=State.DUE),
        "invited_1": WAITING & Q(invitations=1),
        "invited_2": WAITING & Q(invitations=2),
        "invited_3": WAITING & Q(invitations__gte=3),
        "excepted": Q(state=State.EXCEPTED),
        "booked": Q(state=State.BOOKED),
        "seen": Q(state=State.SEEN),
        **{f"pca_{reason.value}": Q(state=State.PCA, pca_reason=reason) for reason in Pca},
        "closed_deceased": Q(state=State.CLOSED, closed_reason=Closed.DECEASED),
        "closed_left": Q(state=State.CLOSED, closed_reason=Closed.LEFT),
        "off_register": OFF_REGISTER,
    }
    return conditions


@dataclass
class Counts:
    values: dict[str, int]

    def __getitem__(self, key: str) -> int:
        return self.values[key]

    @property
    def pca(self) -> int:
        return sum(self.values[key] for key in PCA_KEYS)

    @property
    def closed(self) -> int:
        return self.values["closed_deceased"] + self.values["closed_left"]

    def value(self, key: str) -> int:
        return self.pca if key == "pca" else self.closed if key == "closed" else self.values[key]

    @property
    def page_cells(self) -> list[int]:
        return [self.value(key) for key, _ in PAGE_COLUMNS]

    @property
    def month_cells(self) -> list[int]:
        return [self.value(key) for key, _ in MONTH_COLUMNS]

    @property
    def pca_cells(self) -> list[int]:
        return [self.values[key] for key in PCA_KEYS]

    def __add__(self, other: Counts) -> Counts:
        return Counts({key: value + other.values.get(key, 0) for key, value in self.values.items()})


@dataclass
class ReportRow:
    register: Register
    practice: Practice | None  # None: the register's total over the practices shown
    counts: Counts


@dataclass
class RecallReport:
    year: int
    month: date
    practices: list[Practice]
    rows: list[ReportRow] = field(default_factory=list)
    by_month: list[tuple[date, Counts]] = field(default_factory=list)

    def csv_rows(self) -> Iterator[list[Any]]:
        for row in self.rows:
            practice = row.practice
            yield [
                row.register.name,
                practice.name if practice else "All practices shown",
                practice.ods_code if practice else "",
                *(row.counts[figure.key] for figure in FIGURES),
            ]

    def month_rows(self) -> Iterator[list[Any]]:
        for month, counts in self.by_month:
            yield [month.strftime("%B %Y"), *(counts[figure.key] for figure in MONTH_FIGURES)]


REPORT_HEADER = ["Register", "Practice", "ODS code", *(figure.label for figure in FIGURES)]
MONTH_HEADER = ["Due month", *(figure.label for figure in MONTH_FIGURES)]


# values(...).annotate(**aggregates): rows of the aggregates' counts too, which the stubs' row type
# (built from keyword names it can see) leaves out.
type _CountRows = QuerySet[RecallEntry, dict[str, Any]]


def recall_report(
    *, user: User, year: int, today: date, practice: Practice | None = None, register: Register | None = None
) -> RecallReport:
    """The report over the user's practices (or one of them). `register` narrows the by-month figures."""
    month = today.replace(day=1)
    practices = list(Practice.objects.filter(pk__in=user.practice_ids()).order_by("name"))
    if practice is not None:
        practices = [p for p in practices if p.pk == practice.pk]
    entries = RecallEntry.objects.filter(year=year, patient__practice_id__in=[p.pk for p in practices])
    conditions = _conditions(month)
    aggregates = {key: Count("pk", filter=condition) for key, condition in conditions.items()}
    grouped: _CountRows = (
        entries.values("register_id", "patient__practice_id")  # type: ignore[assignment]  # see _CountRows
        .annotate(**aggregates)
        .order_by()
    )
    month_entries = entries.filter(register=register) if register is not None else entries
    months: _CountRows = (
        month_entries.values("due_month")  # type: ignore[assignment]  # see _CountRows
        .annotate(**{key: aggregates[key] for key in conditions if key != "due_so_far"})
        .order_by("due_month")
    )
    report = RecallReport(year=year, month=month, practices=practices)
    report.by_month = [(row.pop("due_month"), Counts(row)) for row in months]
    _report_rows(report, list(grouped))
    return report


def _report_rows(report: RecallReport, grouped: list[dict[str, Any]]) -> None:
    """Register × practice rows in the registers' order, and each register's total over its practices."""
    registers = {register.pk: register for register in Register.objects.all()}
    practices = {practice.pk: practice for practice in report.practices}
    by_register: dict[int, list[ReportRow]] = {}
    for row in grouped:
        register_id, practice_id = row.pop("register_id"), row.pop("patient__practice_id")
        by_register.setdefault(register_id, []).append(
            ReportRow(registers[register_id], practices[practice_id], Counts(row))
        )
    order = sorted(by_register, key=lambda pk: (registers[pk].display_order, registers[pk].name))
    for register_id in order:
        rows = sorted(by_register[register_id], key=lambda row: row.practice.name if row.practice else "")
        report.rows += rows
        if len(rows) > 1:
            total = rows[0].counts
            for practice_row in rows[1:]:
                total = total + practice_row.counts
            report.rows.append(ReportRow(registers[register_id], None, total))
