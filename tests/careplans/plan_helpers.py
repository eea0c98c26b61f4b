"""Helpers for the care plan tests: the editor's form as posted, agreeing a version, a PDF's text."""

from django.utils import timezone

from careplans.models import CarePlanVersion
from careplans.services.plans import care_plan_agree
from tests.conftest import pdf_text


def edit_post(version: CarePlanVersion, *, goal: str = "Walk to the shop", **changes: object) -> dict:
    """The editor's form with one goal and one support need, at the version's lock_version, then `changes`."""
    data = {
        "lock_version": str(version.lock_version),
        "respect_status": "not_discussed",
        "goals-TOTAL_FORMS": "1", "goals-INITIAL_FORMS": "0", "goals-MIN_NUM_FORMS": "0",
        "goals-MAX_NUM_FORMS": "1000", "goals-0-goal": goal,
        "needs-TOTAL_FORMS": "1", "needs-INITIAL_FORMS": "0", "needs-MIN_NUM_FORMS": "0",
        "needs-MAX_NUM_FORMS": "1000", "needs-0-domain": "loneliness", "needs-0-need": "Lonely at weekends",
    }  # fmt: skip
    data.update(changes)
    return data


def agree(version: CarePlanVersion, user) -> CarePlanVersion:
    """Agreed today, in person with the patient."""
    return care_plan_agree(
        version=version,
        agreed_on=timezone.localdate(),
        agreed_how="in_person",
        agreed_with="patient",
        by=user,
    )


def pdf_response_text(response) -> str:
    assert response["Content-Type"] == "application/pdf"
    return pdf_text(response.content)
