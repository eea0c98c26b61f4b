"""The demo's safeguarding concerns: a few at each stage, so that the clinical lead's Safeguarding list,
tasks and the patient pages' restricted banner show real-looking work. Written as the services leave
them (the concern, the lead's task, done once acknowledged; marked as emailed) but without audit rows or
emails, like the rest of the demo. Deterministic: no random stream.

The clinical lead is the first practice's named safeguarding lead; the second practice names none, so its
concerns went to its clinical leads (the same person, as clinical lead there).
"""

from datetime import date, timedelta

from caseload.models import SafeguardingConcern, Task
from caseload.services.safeguarding import TASK_TITLE
from demo.caseload import DemoPeople, demo_at, demo_patients
from pcn.working_days import add_working_days

State = SafeguardingConcern.State

# (practice: 0 the first, 1 the second; days ago; category; what was seen or said; immediate risk; state,
# outcome). Synthetic words.
_CONCERNS: tuple[tuple[int, int, str, str, bool, str, str], ...] = (
    (0, 1, "financial", "Says her nephew collects her pension each week and she is left without money "
     "for food by the weekend. Fridge nearly empty at the visit.", False, State.RAISED, ""),
    (1, 0, "self_neglect", "Found in a cold house, heating off, soiled bedding; declined help with "
     "washing and says he does not want anyone to come in.", True, State.RAISED, ""),
    (0, 8, "psychological", "Her husband answered every question for her and said she would be 'sorted "
     "out' if she complained. She looked at him before each answer.", False, State.ACKNOWLEDGED, ""),
    (1, 26, "neglect", "Pressure sore on the heel not dressed for several days; the agency carer's visits "
     "logged but no notes since last week.", False, State.CLOSED,
     "Raised with the local authority's adult safeguarding team and the care agency; district nurses "
     "visiting daily. Closed: agency plan reviewed."),
)  # fmt: skip


def demo_safeguarding_seed(*, on: date, people: DemoPeople) -> int:
    """The concerns above, each on an adult at its practice. Returns how many were made."""
    patients = demo_patients(on=on)
    made = 0
    for n, (index, days_ago, category, words, immediate, state, outcome) in enumerate(_CONCERNS):
        if index >= len(people.practice_ids):
            continue
        practice_id = people.practice_ids[index]
        adults = [p for p in patients if p.practice_id == practice_id and p.age >= 18]
        if not adults:
            continue
        person = adults[(17 * n + 5) % len(adults)]
        raised_at = demo_at(on - timedelta(days=days_ago), 11, 20)
        concern = SafeguardingConcern.objects.create(
            patient_id=person.pk, category=category, what_happened=words, immediate_risk=immediate,
            state=state, raised_by=people.worker(practice_id), raised_at=raised_at,
            sent_to_clinical_leads=index != 0, notified_at=raised_at,
            acknowledged_by=people.lead if state != State.RAISED else None,
            acknowledged_at=raised_at + timedelta(hours=2) if state != State.RAISED else None,
            closed_by=people.lead if state == State.CLOSED else None,
            closed_at=raised_at + timedelta(days=6) if state == State.CLOSED else None, outcome=outcome,
        )  # fmt: skip
        raised_on = raised_at.date()
        task = Task.objects.create(
            patient_id=person.pk, title=TASK_TITLE, kind=Task.Kind.SAFEGUARDING, owner=people.lead,
            due_on=raised_on if immediate else add_working_days(raised_on, 1), safeguarding_concern=concern,
            created_by=concern.raised_by, done_at=concern.acknowledged_at, done_by=concern.acknowledged_by,
        )  # fmt: skip
        Task.objects.filter(pk=task.pk).update(created_at=raised_at)
        made += 1
    return made


def demo_safeguarding_reset() -> None:
    """After the tasks (they protect their concern), before the patients (the concerns protect them)."""
    Task.objects.filter(safeguarding_concern__isnull=False).delete()
    SafeguardingConcern.objects.all().delete()
