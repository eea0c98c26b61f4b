"""Building the recall year, keeping it in step with the population, and the roll-over on 1 April."""

from datetime import date

import pytest
import time_machine

from caseload.models import LongTermCondition, Patient
from recall.models import RecallEntry, qof_year, year_bounds, year_label
from recall.services import years
from recall.services.years import recall_sweep, recall_year_build, recall_year_keep_in_step
from tests.factories import PatientFactory
from tests.recall.conftest import YEAR, entry_of, register

pytestmark = pytest.mark.django_db

SQL_AND_PYTHON = pytest.mark.parametrize("sql", [True, False], ids=["postgresql-sql", "python"])


@pytest.fixture
def path(request, monkeypatch):
    """Run the test on both ways of building (the SQL PostgreSQL uses, the Python SQLite uses)."""
    monkeypatch.setattr(years, "_use_sql", lambda: request.param)
    return request.param


both_paths = pytest.mark.parametrize("path", [True, False], ids=["sql", "python"], indirect=True)


def test_qof_year_runs_april_to_march():
    assert qof_year(date(2026, 4, 1)) == 2026
    assert qof_year(date(2027, 3, 31)) == 2026
    assert qof_year(date(2026, 3, 31)) == 2025
    assert year_bounds(2026) == (date(2026, 4, 1), date(2027, 3, 31))
    assert year_label(2026) == "2026/27"
    assert year_label(1999) == "1999/00"


@both_paths
def test_entries_follow_the_condition_flags_and_the_birth_month(path, practice_a):
    march = PatientFactory(
        practice=practice_a,
        date_of_birth=date(1960, 3, 9),
        ltc_flags=LongTermCondition.DIABETES | LongTermCondition.COPD,
    )
    june = PatientFactory(
        practice=practice_a, date_of_birth=date(1970, 6, 30), ltc_flags=LongTermCondition.ASTHMA
    )
    PatientFactory(practice=practice_a, date_of_birth=date(1970, 6, 30), ltc_flags=0)

    # 3 reviews, and 5 screening entries (both women: bowel and breast, and cervical for the younger).
    assert recall_year_build(year=YEAR, patient_ids=[march.pk, june.pk]) == 8

    rows = sorted(
        RecallEntry.objects.filter(register__kind="review").values_list(
            "patient_id", "register__key", "due_month", "state"
        )
    )
    assert rows == [
        (march.pk, "copd", date(2027, 3, 1), "due"),
        (march.pk, "diabetes", date(2027, 3, 1), "due"),
        (june.pk, "asthma", date(2026, 6, 1), "due"),
    ]


@both_paths
def test_building_twice_makes_nothing_more(path, diabetic):
    first = recall_year_build(year=YEAR)
    assert first >= 1
    assert recall_year_build(year=YEAR) == 0
    assert RecallEntry.objects.filter(patient=diabetic, register__key="diabetes").count() == 1


@both_paths
def test_age_and_sex_rules_are_read_on_31_march(path, practice_a):
    # Learning disability checks are for 14 and over: 14 by 31 March 2027 is in, 14 on 1 April is not.
    in_time = PatientFactory(
        practice=practice_a, date_of_birth=date(2013, 3, 31), ltc_flags=LongTermCondition.LEARNING_DISABILITY
    )
    too_young = PatientFactory(
        practice=practice_a, date_of_birth=date(2013, 4, 1), ltc_flags=LongTermCondition.LEARNING_DISABILITY
    )
    # Cervical screening: women 25 to 64.
    woman = PatientFactory(practice=practice_a, date_of_birth=date(1980, 5, 5), sex=Patient.Sex.FEMALE)
    man = PatientFactory(practice=practice_a, date_of_birth=date(1980, 5, 5), sex=Patient.Sex.MALE)
    old = PatientFactory(
        practice=practice_a, date_of_birth=date(1962, 3, 31), sex=Patient.Sex.FEMALE
    )  # 65 on 31/3/27

    recall_year_build(year=YEAR)

    def keys(patient):
        return set(RecallEntry.objects.filter(patient=patient).values_list("register__key", flat=True))

    assert keys(in_time) == {"learning_disability"}
    assert keys(too_young) == set()
    assert "cervical_screening" in keys(woman)
    assert "cervical_screening" not in keys(man)
    assert "cervical_screening" not in keys(old)
    assert keys(man) == set()  # 46 on 31 March: no programme for him yet


@both_paths
def test_screening_is_due_only_when_the_last_test_is_old_enough(path, practice_a):
    recent = PatientFactory(practice=practice_a, date_of_birth=date(1960, 8, 1), sex=Patient.Sex.FEMALE)
    overdue = PatientFactory(practice=practice_a, date_of_birth=date(1960, 8, 1), sex=Patient.Sex.FEMALE)
    breast = register("breast_screening")
    for patient, screened in ((recent, date(2025, 1, 10)), (overdue, date(2023, 11, 2))):
        RecallEntry.objects.create(
            patient=patient, register=breast, year=YEAR - 1, due_month=date(2025, 4, 1), state="seen",
            seen_on=screened, seen_source="gp_record",
        )  # fmt: skip

    recall_year_build(year=YEAR)

    assert not RecallEntry.objects.filter(patient=recent, register=breast, year=YEAR).exists()
    # Due 36 months after the last test: November 2026.
    assert entry_of(overdue, "breast_screening").due_month == date(2026, 11, 1)


@both_paths
def test_keeping_in_step_closes_the_dead_the_leavers_and_the_lost_condition_and_reopens(path, practice_a):
    dies, leaves, cured = (
        # Men under 50: on no screening register, so only their diabetes entries are in play.
        PatientFactory(
            practice=practice_a,
            ltc_flags=LongTermCondition.DIABETES,
            sex=Patient.Sex.MALE,
            date_of_birth=date(1990, 5, 1),
        )
        for _ in range(3)
    )
    recall_year_build(year=YEAR)
    Patient.objects.filter(pk=dies.pk).update(is_deceased=True)
    Patient.objects.filter(pk=leaves.pk).update(has_left=True)
    Patient.objects.filter(pk=cured.pk).update(ltc_flags=0)
    seen = entry_of(dies)
    RecallEntry.objects.filter(pk=seen.pk).update(invitations=1, state="invited")

    assert recall_year_keep_in_step(year=YEAR, today=date(2026, 12, 3)) == (3, 0)
    assert [(entry_of(p).state, entry_of(p).closed_reason) for p in (dies, leaves, cured)] == [
        ("closed", "deceased"), ("closed", "left"), ("closed", "off_register"),
    ]  # fmt: skip
    assert recall_year_keep_in_step(year=YEAR, today=date(2026, 12, 3)) == (0, 0)

    Patient.objects.filter(pk=cured.pk).update(ltc_flags=LongTermCondition.DIABETES)
    assert recall_year_keep_in_step(year=YEAR, today=date(2026, 12, 4)) == (0, 1)
    assert (entry_of(cured).state, entry_of(cured).closed_reason) == ("due", "")


@both_paths
def test_a_reopened_entry_keeps_its_invitations(path, diabetes_entry, diabetic):
    RecallEntry.objects.filter(pk=diabetes_entry.pk).update(invitations=2, state="excepted")
    Patient.objects.filter(pk=diabetic.pk).update(ltc_flags=0)
    recall_year_keep_in_step(year=YEAR, today=date(2026, 12, 3))
    Patient.objects.filter(pk=diabetic.pk).update(ltc_flags=LongTermCondition.DIABETES)
    recall_year_keep_in_step(year=YEAR, today=date(2026, 12, 4))
    assert entry_of(diabetic).state == "excepted"


@both_paths
def test_the_sweep_rolls_the_year_over_on_1_april_once(path, diabetes_entry, diabetic):
    with time_machine.travel(date(2027, 3, 31), tick=False):
        assert recall_sweep().year == YEAR
    assert not RecallEntry.objects.filter(year=YEAR + 1).exists()

    with time_machine.travel(date(2027, 4, 1), tick=False):
        result = recall_sweep()
        again = recall_sweep()

    assert (result.year, again.year, again.created, again.closed) == (YEAR + 1, YEAR + 1, 0, 0)
    new = entry_of(diabetic, year=YEAR + 1)
    assert (new.state, new.invitations, new.due_month) == ("due", 0, date(2027, 6, 1))
    # Last year's entry is history: left as it was.
    assert entry_of(diabetic).state == "due"


def test_the_sql_and_the_python_build_give_the_same_entries(practice_a, monkeypatch):
    for n in range(40):
        PatientFactory(
            practice=practice_a, date_of_birth=date(1940 + n, 1 + n % 12, 1 + n % 27),
            sex=Patient.Sex.FEMALE if n % 2 else Patient.Sex.MALE,
            ltc_flags=(1 << (n % 14)) | (1 << ((n * 5) % 14)),
        )  # fmt: skip

    def built() -> list[tuple]:
        recall_year_build(year=YEAR)
        rows = sorted(RecallEntry.objects.values_list("patient_id", "register_id", "due_month", "state"))
        RecallEntry.objects.all().delete()
        return rows

    monkeypatch.setattr(years, "_use_sql", lambda: True)
    sql = built()
    monkeypatch.setattr(years, "_use_sql", lambda: False)
    assert built() == sql
    assert len(sql) > 40
