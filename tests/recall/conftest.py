"""Call/recall fixtures: a diabetic patient at practice A with a current-year entry, and helpers."""

from datetime import date

import pytest

from caseload.models import LongTermCondition
from recall.models import RecallEntry, Register
from recall.services.years import recall_year_build
from tests.factories import PatientFactory

YEAR = 2026  # the QOF year 2026/27; tests freeze the clock inside it
TODAY = date(2026, 12, 3)


def register(key: str) -> Register:
    return Register.objects.get(key=key)


def entry_of(patient, key: str = "diabetes", year: int = YEAR) -> RecallEntry:
    return RecallEntry.objects.get(patient=patient, register__key=key, year=year)


@pytest.fixture
def diabetic(practice_a):
    return PatientFactory(
        practice=practice_a, given_name="Dora", family_name="Diabetic", date_of_birth=date(1950, 6, 15),
        ltc_flags=LongTermCondition.DIABETES, mobile="07700900123", address="1 High Street, Riverside",
        postcode="RV1 1AA",
    )  # fmt: skip


@pytest.fixture
def diabetes_entry(diabetic) -> RecallEntry:
    recall_year_build(year=YEAR, patient_ids=[diabetic.pk])
    return entry_of(diabetic)
