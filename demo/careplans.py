"""The demo PCN's care plans (PCSPs) in every state: drafts in progress, agreed plans, plans due or
overdue for review (with the review sweep's task), plans reviewed (no change, or changed into a new
version that superseded the first), and the recent care home move-ins' plans not yet agreed (EHCH:
one per practice past its 7 working days).

Deterministic, with its own random stream; written in bulk as careplans.services.plans
(care_plan_draft, care_plan_agree) and .reviews would store them, coding rows included, without
audit rows.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils import timezone

from careplans.models import CarePlan, CarePlanReview, CarePlanVersion, Goal, SupportNeed
from careplans.services.plans import PCSP_AGREED
from caseload.models import CaseloadEpisode, CodingEntry, Signposting, Task, ltc_labels
from demo.caseload import DemoPeople, demo_at

REVIEW_AHEAD_DAYS = 14  # careplans.views.reviews lists reviews due in the next 14 days

_ABOUT_ME = (
    "I have lived in Riverside all my life and worked on the railways for forty years.",
    "I live with my husband, who has dementia; our daughter visits at weekends.",
    "I used to run the church flower rota and I miss seeing people.",
    "I live alone in a ground-floor flat since my wife died two years ago.",
)
_WHAT_MATTERS = (
    "Staying in my own home and being able to get to the shops.",
    "Not going back into hospital; feeling less breathless.",
    "Seeing my grandchildren and getting out into the garden.",
    "Being free of pain and knowing who to call at night.",
)
_STRENGTHS = ("Determined and good humoured.", "Close to my neighbours.", "Good at keeping a routine.")
_SUPPORTS = ("My daughter (main carer) and my neighbour.", "My son, who phones every day.",
             "The home care agency, twice a day.", "Staff at the care home and my niece.")  # fmt: skip
_CONTINGENCY = (
    "If I am more breathless than usual, then I use my rescue pack and call the practice; out of hours, 111.",
    "If I fall and cannot get up, then I press my pendant alarm; my daughter has a key.",
    "If my carer is unwell, then call the council's emergency carer line.",
)
_GOALS = (
    ("Walk to the end of the road and back", "Physiotherapy exercises every morning", "Community physiotherapist"),
    ("Go to the lunch club once a week", "Community transport booked on Thursdays", "Care coordinator"),
    ("Understand my medicines", "Pharmacist review and a medicines chart", "Clinical pharmacist"),
    ("Sleep through the night", "Talk to the GP about pain relief at night", "GP"),
    ("Get my benefits sorted", "Attendance Allowance form with the Citizens Advice adviser", "Citizens Advice"),
)  # fmt: skip
_PROGRESS = ("Started", "Going well", "Not yet started", "Achieved")
_NEEDS = (
    (SupportNeed.Domain.MOBILITY, "Unsteady on the stairs since the fall.", "Occupational therapy assessment"),
    (SupportNeed.Domain.LONELINESS, "Sees nobody most days.", "Befriending service and the lunch club"),
    (SupportNeed.Domain.CARER, "Daughter finding caring hard.", "Carer's assessment and carers' centre"),
    (SupportNeed.Domain.MONEY, "Worried about heating bills.", "Benefits check"),
    (SupportNeed.Domain.MEMORY, "Forgetting appointments.", "Memory clinic referral and a wall calendar"),
)  # fmt: skip
_GPS = ("Dr Helen Ward", "Dr Sam Ahmed", "Dr Priya Raman", "Dr Tom Ellis")


@dataclass(frozen=True)
class DemoCarePlanCounts:
    plans: int
    versions: int
    reviews: int


class _Plans:
    def __init__(self, rng: random.Random, on: date) -> None:
        self.rng, self.on = rng, on
        self.plans: list[CarePlan] = []
        self.versions: list[tuple[CarePlan, CarePlanVersion, list[Goal], list[SupportNeed]]] = []
        self.reviews: list[CarePlanReview] = []
        self.tasks: list[Task] = []

    def version(self, plan: CarePlan, number: int, *, episode: CaseloadEpisode, conditions: str,
                signposting: Signposting | None, status: str = CarePlanVersion.Status.DRAFT,
                agreed_on: date | None = None, review_date: date | None = None) -> CarePlanVersion:  # fmt: skip
        rng, coordinator = self.rng, episode.coordinator
        version = CarePlanVersion(
            number=number, status=status, lock_version=rng.randint(1, 4),
            about_me=rng.choice(_ABOUT_ME), what_matters=rng.choice(_WHAT_MATTERS),
            strengths=rng.choice(_STRENGTHS), who_supports_me=rng.choice(_SUPPORTS), health_conditions=conditions,
            contingency_plan=rng.choice(_CONTINGENCY), named_coordinator=coordinator, gp_name=rng.choice(_GPS),
            consent_to_share=True, share_with="GP practice, community nursing and the MDT", review_date=review_date,
            created_by=coordinator, updated_by=coordinator,
        )  # fmt: skip
        if agreed_on is not None:
            version.agreed_on, version.agreed_by = agreed_on, coordinator
            version.agreed_how = rng.choice(CarePlanVersion.AgreedHow.values)
            version.agreed_with = rng.choices(CarePlanVersion.AgreedWith.values, (70, 25, 5))[0]
        goals = [
            Goal(
                goal=goal,
                steps=steps,
                who_helps=who,
                position=i,
                progress=rng.choice(_PROGRESS),
                target_date=(agreed_on or self.on) + timedelta(days=rng.randint(30, 120)),
                signposting=signposting if i == 0 else None,
            )
            for i, (goal, steps, who) in enumerate(rng.sample(_GOALS, rng.randint(1, 3)))
        ]
        for goal in goals:  # an achieved goal of an agreed plan was met (no draw: the stream stays the same)
            if goal.progress == "Achieved" and agreed_on is not None:
                goal.met_on = max(agreed_on, min(goal.target_date, self.on - timedelta(days=1)))
        needs = [
            SupportNeed(domain=domain, need=need, support_agreed=support)
            for domain, need, support in rng.sample(_NEEDS, rng.randint(1, 2))
        ]
        self.versions.append((plan, version, goals, needs))
        return version


def demo_care_plans_seed(*, seed: int, on: date, people: DemoPeople) -> DemoCarePlanCounts:
    """Care plans for the people on the demo caseloads (after demo_caseload_seed)."""
    rng = random.Random(seed * 7919 + 43)  # noqa: S311 — synthetic data must be reproducible, not secret
    episodes = list(
        CaseloadEpisode.objects.open()
        .select_related("patient", "coordinator")
        .order_by("patient__nhs_number")
    )
    signposted: dict[int, Signposting] = {}
    for signposting in Signposting.objects.order_by("signposted_on", "id"):
        signposted.setdefault(signposting.patient_id, signposting)
    work = _Plans(rng, on)
    states = ("draft", "agreed", "agreed", "review_due", "reviewed", "changed")
    for index, episode in enumerate(episodes):
        patient = episode.patient
        plan = CarePlan(patient=patient)
        work.plans.append(plan)
        conditions = "\n".join(ltc_labels(patient.ltc_flags))
        signposting = signposted.get(patient.pk)
        opened_on = timezone.localdate(episode.opened_at)
        state = "draft" if patient.care_home_since is not None else states[index % len(states)]
        agreed_on = opened_on + timedelta(days=rng.randint(10, 30))
        if state != "draft" and agreed_on >= on - timedelta(days=3):
            state = "draft"  # too new on the caseload for an agreed plan
        if state == "draft":  # started, not agreed yet (EHCH move-ins: the 7 working days are running)
            work.version(plan, 1, episode=episode, conditions=conditions, signposting=signposting)
            continue
        if state == "changed":  # the first version reviewed with changes, a second agreed since
            changed_on = agreed_on + timedelta(days=(on - agreed_on).days // 2)
            work.version(plan, 1, episode=episode, conditions=conditions, signposting=signposting,
                         status=CarePlanVersion.Status.SUPERSEDED, agreed_on=agreed_on,
                         review_date=changed_on)  # fmt: skip
            work.reviews.append(
                _review(rng, plan, 1, episode, changed_on, CarePlanReview.Outcome.CHANGES, None)
            )
            version = work.version(plan, 2, episode=episode, conditions=conditions, signposting=signposting,
                                   status=CarePlanVersion.Status.AGREED, agreed_on=changed_on,
                                   review_date=max(changed_on + timedelta(days=182), on + timedelta(days=30)))  # fmt: skip
            continue
        if state == "review_due":  # overdue or due in the next two weeks; the sweep made its task
            overdue = (index // len(states)) % 2 == 0  # the first overdue, the next due soon, in turn
            review_date = on + timedelta(
                days=rng.randint(-20, -1) if overdue else rng.randint(0, REVIEW_AHEAD_DAYS)
            )
        else:
            review_date = max(agreed_on + timedelta(days=182), on + timedelta(days=rng.randint(20, 150)))
        version = work.version(plan, 1, episode=episode, conditions=conditions, signposting=signposting,
                               status=CarePlanVersion.Status.AGREED, agreed_on=agreed_on, review_date=review_date)  # fmt: skip
        if state == "reviewed":  # reviewed, no changes: the review moved the review date on, in place
            reviewed_on = agreed_on + timedelta(days=(on - agreed_on).days * 2 // 3)
            work.reviews.append(
                _review(rng, plan, 1, episode, reviewed_on, CarePlanReview.Outcome.NO_CHANGE, review_date)
            )
        if review_date <= on:  # care_plan_reviews_sweep's task
            version.review_task_created_at = demo_at(review_date, 6)
            work.tasks.append(
                Task(
                    patient=patient,
                    title="Review the care plan",
                    kind=Task.Kind.CARE_PLAN_REVIEW,
                    owner=episode.coordinator,
                    due_on=review_date,
                    created_by=None,
                    notes=f"Care plan version {version.number} is due for review.",
                )
            )
    _write(work)
    return DemoCarePlanCounts(plans=len(work.plans), versions=len(work.versions), reviews=len(work.reviews))


def _review(rng: random.Random, plan: CarePlan, number: int, episode: CaseloadEpisode, on: date, outcome: str,
            next_review: date | None) -> CarePlanReview:  # fmt: skip
    review = CarePlanReview(
        reviewed_on=on, reviewed_how=rng.choice(CarePlanVersion.AgreedHow.values),
        reviewed_with=CarePlanVersion.AgreedWith.PATIENT, outcome=outcome, next_review_date=next_review,
        recorded_by=episode.coordinator,
        notes="Went through the plan together." if outcome == CarePlanReview.Outcome.NO_CHANGE
        else "Needs have changed since the hospital stay: goals and support updated.",
    )  # fmt: skip
    review.demo_version = (plan, number)  # type: ignore[attr-defined]
    return review


def _write(work: _Plans) -> None:
    CarePlan.objects.bulk_create(work.plans, batch_size=1000)
    for plan, version, _, _ in work.versions:
        version.plan = plan
        if version.status == CarePlanVersion.Status.SUPERSEDED:
            later = next(v for p, v, _, _ in work.versions if p is plan and v.number == version.number + 1)
            version.superseded_at = demo_at(later.agreed_on, 15)
    CarePlanVersion.objects.bulk_create([v for _, v, _, _ in work.versions], batch_size=1000)
    by_number = {(id(p), v.number): v for p, v, _, _ in work.versions}
    goals, needs, coding = [], [], []
    for _, version, version_goals, version_needs in work.versions:
        for goal in version_goals:
            goal.version = version
        for need in version_needs:
            need.version = version
        goals += version_goals
        needs += version_needs
        if version.agreed_on is not None:  # as care_plan_agree
            coding.append(CodingEntry(
                patient_id=version.plan.patient_id, coded_on=version.agreed_on, snomed_id=PCSP_AGREED.snomed_id or "",
                term=PCSP_AGREED.term, recorded_by=version.agreed_by, source=f"careplan:{version.pk}",
            ))  # fmt: skip
    Goal.objects.bulk_create(goals, batch_size=1000)
    SupportNeed.objects.bulk_create(needs, batch_size=1000)
    CodingEntry.objects.bulk_create(coding, batch_size=1000)
    for review in work.reviews:
        plan, number = review.demo_version  # type: ignore[attr-defined]
        review.version = by_number[(id(plan), number)]
    CarePlanReview.objects.bulk_create(work.reviews, batch_size=1000)
    Task.objects.bulk_create(work.tasks, batch_size=1000)


def demo_care_plans_reset() -> None:
    """Care plans protect their patients: reviews first (they protect versions), then the plans."""
    CarePlanReview.objects.all().delete()
    CarePlan.objects.all().delete()  # with their versions, goals and support needs
