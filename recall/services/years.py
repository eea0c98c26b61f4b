"""The recall year: building each register's entries, keeping them in step with the population, and
rolling over on 1 April.

On PostgreSQL everything here is set-based SQL (one INSERT … SELECT … ON CONFLICT DO NOTHING per
register, one UPDATE for closing and one for reopening), so it costs seconds for a 100,000-patient PCN
(bench/recall.py). On SQLite (the try-it-out default) the same rules run in Python (`_python_*`); a test
holds the two to the same answer. All of it is safe to run twice. The nightly sweep (`recall_sweep`)
runs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from django.db import connection, transaction
from django.utils import timezone

from caseload.models import Patient
from recall.models import RecallEntry, Register, count_state, qof_year, year_bounds

_OPEN = tuple(str(state) for state in RecallEntry.OPEN_STATES)


@dataclass(frozen=True)
class SweepResult:
    year: int
    created: int
    closed: int
    reopened: int


# What the SQL below passes as parameters (a list of ids for `= ANY(%s)`).
type SqlParam = int | str | date | list[int]


def _due_month_sql(register: Register, year: int) -> tuple[str, list[SqlParam]]:
    """SQL for the first day of the month the review is due in (`p` the patient, `last` the last review)."""
    if register.due_rule == Register.DueRule.AFTER_LAST_REVIEW:
        # The month the interval after the last known review ends, kept inside the year; April if unknown.
        return (
            "LEAST(GREATEST(COALESCE(date_trunc('month', last.on_date + make_interval(months => %s))::date, "
            "%s), %s), %s)",
            [register.interval_months, date(year, 4, 1), date(year, 4, 1), date(year + 1, 3, 1)],
        )
    if register.due_rule == Register.DueRule.FIXED_MONTH:
        month = register.due_month or 4
        return "%s", [date(year if month >= 4 else year + 1, month, 1)]
    # The birth month: April to December fall in the year's first calendar year, January to March in the next.
    return (
        "make_date(CASE WHEN EXTRACT(MONTH FROM p.date_of_birth) >= 4 THEN %s ELSE %s END, "
        "EXTRACT(MONTH FROM p.date_of_birth)::int, 1)",
        [year, year + 1],
    )


def _eligible_sql(register: Register, year: int) -> tuple[str, list[SqlParam]]:
    """The WHERE clause for patients on `register` in `year` (alive, still registered, by the rules)."""
    year_end = year_bounds(year)[1]
    clauses = ["NOT p.is_deceased", "NOT p.has_left"]
    params: list[SqlParam] = []
    if register.ltc_flag:
        clauses.append("(p.ltc_flags & %s) <> 0")
        params.append(register.ltc_flag)
    if register.sex:
        clauses.append("p.sex = %s")
        params.append(register.sex)
    if register.min_age is not None:  # at least min_age on 31 March
        clauses.append("p.date_of_birth <= %s")
        params.append(year_end - relativedelta(years=register.min_age))
    if register.max_age is not None:  # not yet max_age + 1 on 31 March
        clauses.append("p.date_of_birth > %s")
        params.append(year_end - relativedelta(years=register.max_age + 1))
    if register.interval_months > 12:
        # Reviewed or screened recently enough: not due this year.
        clauses.append("(last.on_date IS NULL OR last.on_date + make_interval(months => %s) <= %s)")
        params += [register.interval_months, year_end]
    return " AND ".join(clauses), params


def _use_sql() -> bool:
    return connection.vendor == "postgresql"


def recall_year_build(*, year: int, patient_ids: list[int] | None = None) -> int:
    """Make the missing entries of `year` for every active register; returns how many were made."""
    if not _use_sql():
        return _python_build(year=year, patient_ids=patient_ids)
    entry_table = RecallEntry._meta.db_table
    patient_table = Patient._meta.db_table
    now = timezone.now()
    created = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for register in Register.objects.filter(is_active=True):
            due_sql, due_params = _due_month_sql(register, year)
            where_sql, where_params = _eligible_sql(register, year)
            only: list[SqlParam] = []
            if patient_ids is not None:
                where_sql += " AND p.id = ANY(%s)"
                only = [list(patient_ids)]
            cursor.execute(
                f"""
                INSERT INTO {entry_table} (patient_id, register_id, year, state, due_month, invitations,
                    seen_source, pca_reason, closed_reason, created_at, updated_at)
                SELECT p.id, %s, %s, 'due', {due_sql}, 0, '', '', '', %s, %s
                FROM {patient_table} p
                LEFT JOIN (
                    SELECT patient_id, MAX(GREATEST(seen_on, gp_last_review_on)) AS on_date
                    FROM {entry_table} WHERE register_id = %s AND year < %s GROUP BY patient_id
                ) last ON last.patient_id = p.id
                WHERE {where_sql}
                ON CONFLICT (patient_id, register_id, year) DO NOTHING
                """,  # noqa: S608 — table names from _meta, every value a parameter
                [register.pk, year, *due_params, now, now, register.pk, year, *where_params, *only],
            )
            created += cursor.rowcount
    return created


def recall_year_keep_in_step(*, year: int, today: date) -> tuple[int, int]:
    """Close the open entries of patients who died, left or lost the condition; reopen entries closed
    as off the register whose patient has the condition again. Returns (closed, reopened)."""
    if not _use_sql():
        return _python_keep_in_step(year=year, today=today)
    entry_table = RecallEntry._meta.db_table
    patient_table = Patient._meta.db_table
    register_table = Register._meta.db_table
    off_register = "(r.ltc_flag <> 0 AND (p.ltc_flags & r.ltc_flag) = 0)"
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {entry_table} e SET state = 'closed', closed_on = %s, updated_at = %s,
                closed_reason = CASE WHEN p.is_deceased THEN 'deceased' WHEN p.has_left THEN 'left'
                                     ELSE 'off_register' END
            FROM {patient_table} p, {register_table} r
            WHERE e.patient_id = p.id AND e.register_id = r.id AND e.year = %s AND e.state = ANY(%s)
              AND (p.is_deceased OR p.has_left OR {off_register})
            """,  # noqa: S608 — table names from _meta, every value a parameter
            [today, timezone.now(), year, list(_OPEN)],
        )
        closed = cursor.rowcount
        cursor.execute(
            f"""
            UPDATE {entry_table} e SET closed_reason = '', closed_on = NULL, updated_at = %s,
                state = CASE WHEN e.invitations = 0 THEN 'due'
                             WHEN e.invitations >= r.invitations_expected THEN 'excepted'
                             ELSE 'invited' END
            FROM {patient_table} p, {register_table} r
            WHERE e.patient_id = p.id AND e.register_id = r.id AND e.year = %s AND e.state = 'closed'
              AND e.closed_reason = 'off_register' AND NOT p.is_deceased AND NOT p.has_left
              AND NOT {off_register}
            """,  # noqa: S608 — table names from _meta, every value a parameter
            [timezone.now(), year],
        )
        reopened = cursor.rowcount
    return closed, reopened


def recall_sweep(*, today: date | None = None) -> SweepResult:
    """The nightly sweep: the current QOF year's entries made (on 1 April this is the roll-over to the
    new year: last year's entries stay as they were, as history) and kept in step. Run twice, the
    second run changes nothing."""
    today = today or timezone.localdate()
    year = qof_year(today)
    closed, reopened = recall_year_keep_in_step(year=year, today=today)
    created = recall_year_build(year=year)
    return SweepResult(year=year, created=created, closed=closed, reopened=reopened)


# --- The same rules in Python (SQLite) ------------------------------------------------------------


def _last_reviews(register: Register, year: int) -> dict[int, date]:
    last: dict[int, date] = {}
    rows = RecallEntry.objects.filter(register=register, year__lt=year).values_list(
        "patient_id", "seen_on", "gp_last_review_on"
    )
    for patient_id, *days in rows:
        for day in days:
            if day and (patient_id not in last or day > last[patient_id]):
                last[patient_id] = day
    return last


def _python_due_month(register: Register, born: date, last: date | None, year: int) -> date:
    first, final = date(year, 4, 1), date(year + 1, 3, 1)
    if register.due_rule == Register.DueRule.AFTER_LAST_REVIEW:
        if last is None:
            return first
        due = (last + relativedelta(months=register.interval_months)).replace(day=1)
        return min(max(due, first), final)
    month = (register.due_month or 4) if register.due_rule == Register.DueRule.FIXED_MONTH else born.month
    return date(year if month >= 4 else year + 1, month, 1)


def _python_eligible(register: Register, patient: Mapping[str, Any], last: date | None, year: int) -> bool:
    year_end = year_bounds(year)[1]
    born = patient["date_of_birth"]
    return not (
        patient["is_deceased"]
        or patient["has_left"]
        or (register.ltc_flag and not patient["ltc_flags"] & register.ltc_flag)
        or (register.sex and patient["sex"] != register.sex)
        or (register.min_age is not None and born > year_end - relativedelta(years=register.min_age))
        or (register.max_age is not None and born <= year_end - relativedelta(years=register.max_age + 1))
        or (
            register.interval_months > 12
            and last is not None
            and last + relativedelta(months=register.interval_months) > year_end
        )
    )


def _python_build(*, year: int, patient_ids: list[int] | None) -> int:
    patients = Patient.objects.all()
    if patient_ids is not None:
        patients = patients.filter(pk__in=patient_ids)
    rows = list(patients.values("id", "date_of_birth", "sex", "ltc_flags", "is_deceased", "has_left"))
    created = 0
    with transaction.atomic():
        for register in Register.objects.filter(is_active=True):
            last = _last_reviews(register, year)
            existing = set(
                RecallEntry.objects.filter(register=register, year=year).values_list("patient_id", flat=True)
            )
            new = [
                RecallEntry(
                    patient_id=patient["id"],
                    register=register,
                    year=year,
                    due_month=_python_due_month(
                        register, patient["date_of_birth"], last.get(patient["id"]), year
                    ),
                )
                for patient in rows
                if patient["id"] not in existing
                and _python_eligible(register, patient, last.get(patient["id"]), year)
            ]
            RecallEntry.objects.bulk_create(new, batch_size=500)
            created += len(new)
    return created


def _python_keep_in_step(*, year: int, today: date) -> tuple[int, int]:
    closed = reopened = 0
    with transaction.atomic():
        entries = RecallEntry.objects.filter(year=year).select_related("patient", "register")
        for entry in entries.filter(state__in=_OPEN) | entries.filter(
            state=RecallEntry.State.CLOSED, closed_reason=RecallEntry.ClosedReason.OFF_REGISTER
        ):
            patient, register = entry.patient, entry.register
            off = bool(register.ltc_flag) and not patient.ltc_flags & register.ltc_flag
            if entry.state != RecallEntry.State.CLOSED and (patient.is_deceased or patient.has_left or off):
                entry.state, entry.closed_on = RecallEntry.State.CLOSED, today
                entry.closed_reason = (
                    RecallEntry.ClosedReason.DECEASED
                    if patient.is_deceased
                    else RecallEntry.ClosedReason.LEFT
                    if patient.has_left
                    else RecallEntry.ClosedReason.OFF_REGISTER
                )
                closed += 1
            elif entry.state == RecallEntry.State.CLOSED and not (
                patient.is_deceased or patient.has_left or off
            ):
                entry.closed_reason, entry.closed_on = "", None
                entry.state = count_state(entry.invitations, register.invitations_expected)
                reopened += 1
            else:
                continue
            entry.save(update_fields=["state", "closed_reason", "closed_on", "updated_at"])
    return closed, reopened
