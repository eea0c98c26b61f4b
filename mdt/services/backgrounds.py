"""Each patient's background for a meeting (read-only): what the agenda page shows under each item,
and what the agenda pack PDF reuses, so that the two say the same."""

from __future__ import annotations

from typing import Any

from caseload.models import ActivationMeasure, CareEvent, PersonAround
from mdt.models import Action

RECENT_EVENTS_SHOWN = 5


def patient_backgrounds(*, patients: list[Any], since: Any) -> dict[int, dict[str, Any]]:
    """Each patient's background, assembled for a meeting, keyed by patient id: latest risk and eFI,
    transfers of care since `since` (the last meeting), the care plan, latest PAM, open actions and
    the people around the person.

    Four queries whatever the number of patients (the patients themselves are passed in).
    """
    ids = [p.pk for p in patients]
    events: dict[int, list[Any]] = {pk: [] for pk in ids}
    for event in CareEvent.objects.filter(patient_id__in=ids, occurred_at__gte=since).order_by(
        "-occurred_at", "-id"
    ):
        events[event.patient_id].append(event)  # type: ignore[index]  # patient_id__in: not None
    pam: dict[int, Any] = {}
    for measure in ActivationMeasure.objects.filter(patient_id__in=ids).order_by("-measured_on", "-id"):
        pam.setdefault(measure.patient_id, measure)
    actions: dict[int, list[Any]] = {pk: [] for pk in ids}
    for action in (
        Action.objects.open()
        .filter(item__patient_id__in=ids)
        .select_related("item__meeting", "owner_user", "owner_external")
        .order_by("due_on", "id")
    ):
        actions[action.item.patient_id].append(action)
    # Everyone around the person, not only those who may receive information: the MDT is the
    # professionals caring for the person, who need to know who the carer is and who else is involved
    # (a carer's own needs, who to contact in a crisis) whatever the person agreed to share. The
    # consent flag is shown beside each, so that nobody in the meeting tells someone the person has
    # not agreed may be told. The team's notes about each person stay on the patient page.
    people: dict[int, list[Any]] = {pk: [] for pk in ids}
    for person in PersonAround.objects.filter(patient_id__in=ids):
        people[person.patient_id].append(person)
    return {
        p.pk: {
            "patient": p,
            "risk_score": p.risk_score,
            "previous_risk_score": p.previous_risk_score,
            "efi_score": p.efi_score,
            "efi_category": p.get_efi_category_display() if p.efi_category else "",
            "recent_events": events[p.pk][:RECENT_EVENTS_SHOWN],
            "more_events": max(0, len(events[p.pk]) - RECENT_EVENTS_SHOWN),
            # Care plans (PCSPs) arrive with their own issue; until then every patient has none.
            "care_plan": None,
            "care_plan_summary": "No care plan yet",
            "latest_pam": pam.get(p.pk),
            "open_actions": actions[p.pk],
            "people_around": people[p.pk],
        }
        for p in patients
    }


def patient_background(*, patient: Any, since: Any) -> dict[str, Any]:
    """One patient's background (four queries); for many, `patient_backgrounds`."""
    return patient_backgrounds(patients=[patient], since=since)[patient.pk]
