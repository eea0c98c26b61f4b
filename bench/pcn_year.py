"""A year of a PCN's care coordination at the PCN's size, for the report benchmarks.

The demo's lived-in caseload (demo/) is sized for trying the product: a caseload of up to 45 for each
practice's one demo coordinator, a few hundred contacts, whatever the number of patients. A PCN of 100,000
patients works at another scale, and a report's queries must be timed on it. This adds, on top of the demo
and in bulk, what such a PCN records in the year to today (the proportions are assumptions of ours, not
national figures):

- 2 in 100 patients taken onto a caseload in the year (40 in 100 of them closed since, with a reason), each
  with the referral that brought them;
- a contact about every 30 days of an episode (1 to 12), PAM for 6 in 10 (half re-measured), signposting
  for 7 in 10, support given for 2 in 10 and feedback or a story for 1 in 4 (1 in 5 of them good news);
- a personalised care and support plan agreed for 6 in 10 (a third of those reviewed), a draft for 1 in 10;
- transfers of care for 1 in 10 patients (85 in 100 triaged);
- each MDT series meeting weekly, 6 to 10 patients discussed and 1 or 2 actions each (7 in 10 closed).

Deterministic for a seed; no audit rows (nobody looked at anything).
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from careplans.models import CarePlan, CarePlanReview, CarePlanVersion
from caseload.codes import INTERVENTIONS_BY_KEY
from caseload.models import (
    ActivationMeasure,
    CareEvent,
    CaseloadEpisode,
    Contact,
    Feedback,
    Patient,
    Referral,
    ReferralType,
    Service,
    Signposting,
    SupportGiven,
    pam_level,
)
from demo.caseload import demo_people
from mdt.models import Action, AgendaItem, Meeting, MeetingSeries
from pcn.models import Practice

BATCH = 5_000


def choices(model: type[models.Model], field: str) -> list[Any]:
    return [value for value, _ in model._meta.get_field(field).choices]  # type: ignore[union-attr]


class _Year:
    def __init__(self, *, seed: int, today: date) -> None:
        self.rng = random.Random(seed)
        self.today = today
        self.start = today - timedelta(days=365)
        self.people = demo_people(practice_ids=list(Practice.objects.values_list("pk", flat=True)))

    def at(self, day: date, hour: int | None = None) -> datetime:
        return timezone.make_aware(datetime.combine(day, time(hour or self.rng.choice((9, 10, 11, 14, 15)))))

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, max((last - first).days, 0)))

    def coordinator(self, practice_id: int) -> Any:
        return self.people.coordinators.get(practice_id, self.people.lead)


def pcn_year_seed(*, seed: int = 7, today: date | None = None) -> dict[str, int]:
    """Adds the year (see the module's docstring); the counts of rows added, by kind."""
    year = _Year(seed=seed, today=today or timezone.localdate())
    with transaction.atomic():
        episodes = _episodes(year)
        counts = {"episodes": len(episodes)}
        counts |= _episode_work(year, episodes)
        counts |= _care_plans(year, episodes)
        counts["transfers of care"] = _care_events(year)
        counts |= _mdt(year, episodes)
    return counts


def _episodes(year: _Year) -> list[CaseloadEpisode]:
    rng = year.rng
    taken = set(CaseloadEpisode.objects.values_list("patient_id", flat=True))
    free = [
        (pk, practice_id)
        for pk, practice_id in Patient.objects.filter(is_deceased=False)
        .order_by("pk")
        .values_list("pk", "practice_id")
        if pk not in taken
    ]
    chosen = rng.sample(free, len(free) // 50)
    episodes = []
    for patient_id, practice_id in chosen:
        opened = year.day_between(year.start, year.today - timedelta(days=3))
        closes = rng.random() < 0.4 and (year.today - opened).days > 40
        closed = year.day_between(opened + timedelta(days=30), year.today) if closes else None
        by = year.coordinator(practice_id)
        episodes.append(
            CaseloadEpisode(
                patient_id=patient_id,
                coordinator=by,
                opened_by=by,
                reason=rng.choice(choices(CaseloadEpisode, "reason")),
                opened_at=year.at(opened),
                status="closed" if closed else "open",
                closed_at=year.at(closed) if closed else None,
                closed_by=by if closed else None,
                close_reason=rng.choice(choices(CaseloadEpisode, "close_reason")) if closed else "",
            )
        )
    return CaseloadEpisode.objects.bulk_create(episodes, batch_size=BATCH)


def _last_day(year: _Year, episode: CaseloadEpisode) -> date:
    return timezone.localdate(episode.closed_at) if episode.closed_at else year.today


def _episode_work(year: _Year, episodes: list[CaseloadEpisode]) -> dict[str, int]:
    rng = year.rng
    types = list(ReferralType.objects.filter(is_active=True).order_by("pk"))
    services = list(Service.objects.filter(is_active=True).order_by("pk"))
    interventions = sorted(INTERVENTIONS_BY_KEY)
    contacts, pams, signposts, support, referrals, stories = [], [], [], [], [], []
    for episode in episodes:
        opened, last = timezone.localdate(episode.opened_at), _last_day(year, episode)
        by = episode.coordinator
        for _ in range(min(12, 1 + (last - opened).days // 30)):
            contacts.append(
                Contact(
                    patient_id=episode.patient_id,
                    contact_at=year.at(year.day_between(opened, last)),
                    method=rng.choice(choices(Contact, "method")),
                    duration_minutes=rng.randint(10, 45),
                    interventions=rng.sample(interventions, rng.choice((1, 1, 2))),
                    recorded_by=by,
                )
            )
        if rng.random() < 0.6:
            measured = [opened + timedelta(days=14)]
            if rng.random() < 0.5 and opened + timedelta(days=200) < last:
                measured.append(opened + timedelta(days=rng.randint(180, 200)))
            score = rng.gauss(50, 9)
            for day in measured:
                score = min(max(score + rng.gauss(2, 4), 0), 100)
                value = Decimal(str(round(score, 1)))
                pams.append(
                    ActivationMeasure(
                        patient_id=episode.patient_id,
                        score=value,
                        level=pam_level(value),
                        measured_on=day,
                        measured_by=by,
                    )
                )
        if services and rng.random() < 0.7:
            for _ in range(rng.choice((1, 1, 2))):
                on = year.day_between(opened, last)
                outcome = rng.choice(choices(Signposting, "outcome"))
                signposts.append(
                    Signposting(
                        patient_id=episode.patient_id,
                        service=rng.choice(services),
                        signposted_on=on,
                        signposted_by=by,
                        outcome=outcome,
                        outcome_on=None
                        if outcome == Signposting.Outcome.PENDING
                        else min(on + timedelta(14), last),
                    )
                )
        if rng.random() < 0.2:
            support.append(
                SupportGiven(
                    patient_id=episode.patient_id,
                    kind=rng.choice(choices(SupportGiven, "kind")),
                    given_on=year.day_between(opened, last),
                    given_by=by,
                )
            )
        if rng.random() < 0.25:
            stories.append(
                Feedback(
                    patient_id=episode.patient_id,
                    given_on=year.day_between(opened, last),
                    given_by=Feedback.GivenBy.PERSON,
                    story="The calls have helped me get back out to the shops.",
                    rating=rng.choice((None, 3, 4, 4, 5)),
                    consent_to_share=rng.random() < 0.6,
                    is_good_news=rng.random() < 0.2,
                    recorded_by=by,
                )
            )
        if types:
            referrals.append(_referral(year, episode, rng.choice(types)))
    for model, rows in (
        (Contact, contacts),
        (ActivationMeasure, pams),
        (Signposting, signposts),
        (SupportGiven, support),
        (Referral, referrals),
        (Feedback, stories),
    ):
        model.objects.bulk_create(rows, batch_size=BATCH)
    return {
        "contacts": len(contacts),
        "PAM scores": len(pams),
        "signposting": len(signposts),
        "support given": len(support),
        "referrals": len(referrals),
        "feedback": len(stories),
    }


def _referral(year: _Year, episode: CaseloadEpisode, referral_type: ReferralType) -> Referral:
    received = timezone.localdate(episode.opened_at) - timedelta(days=year.rng.randint(1, 10))
    return Referral(
        patient_id=episode.patient_id,
        referral_type=referral_type,
        source=year.rng.choice(choices(Referral, "source")),
        referrer_name="Bench referrer",
        reason="Needs help coordinating their care.",
        received_on=received,
        status=Referral.Status.ACCEPTED,
        created_by=episode.coordinator,
        decided_by=episode.coordinator,
        decided_at=episode.opened_at,
        episode=episode,
    )


def _care_plans(year: _Year, episodes: list[CaseloadEpisode]) -> dict[str, int]:
    rng = year.rng
    planned = set(CarePlan.objects.values_list("patient_id", flat=True))
    chosen = [e for e in episodes if e.patient_id not in planned and rng.random() < 0.7]
    plans = CarePlan.objects.bulk_create(
        [CarePlan(patient_id=e.patient_id) for e in chosen], batch_size=BATCH
    )
    versions, agreed = [], []
    for plan, episode in zip(plans, chosen, strict=True):
        by = episode.coordinator
        if rng.random() < 1 / 7:
            versions.append(CarePlanVersion(plan=plan, number=1, status="draft", created_by=by))
            continue
        on = min(timezone.localdate(episode.opened_at) + timedelta(days=rng.randint(5, 40)), year.today)
        version = CarePlanVersion(
            plan=plan,
            number=1,
            status="agreed",
            named_coordinator=by,
            agreed_on=on,
            agreed_how=rng.choice(choices(CarePlanVersion, "agreed_how")),
            agreed_with=rng.choice(choices(CarePlanVersion, "agreed_with")),
            agreed_by=by,
            review_date=on + timedelta(days=182),
            created_by=by,
        )
        versions.append(version)
        agreed.append(version)
    CarePlanVersion.objects.bulk_create(versions, batch_size=BATCH)
    reviews = [
        CarePlanReview(
            version=v,
            reviewed_on=min(v.agreed_on + timedelta(days=rng.randint(60, 120)), year.today),
            reviewed_how=v.agreed_how,
            reviewed_with=v.agreed_with,
            outcome=CarePlanReview.Outcome.NO_CHANGE,
            recorded_by=v.agreed_by,
        )
        for v in agreed
        if rng.random() < 1 / 3
    ]
    CarePlanReview.objects.bulk_create(reviews, batch_size=BATCH)
    return {"care plans": len(plans), "care plan reviews": len(reviews)}


def _care_events(year: _Year) -> int:
    rng = year.rng
    patients = list(Patient.objects.order_by("pk").values_list("pk", "nhs_number", "practice_id"))
    events = []
    for patient_id, nhs_number, practice_id in rng.sample(patients, len(patients) // 10):
        occurred = year.at(year.day_between(year.start, year.today), rng.randint(0, 23))
        triaged = rng.random() < 0.85 and occurred + timedelta(days=5) < timezone.now()
        events.append(
            CareEvent(
                patient_id=patient_id,
                nhs_number=nhs_number,
                kind=rng.choice(choices(CareEvent, "kind")),
                occurred_at=occurred + timedelta(minutes=rng.randint(0, 59)),
                provider="Bench General Hospital",
                source=CareEvent.Source.FEED,
                triaged_at=occurred + timedelta(hours=rng.randint(4, 120)) if triaged else None,
                triaged_by=year.coordinator(practice_id) if triaged else None,
                outcome=rng.choice(choices(CareEvent, "outcome")) if triaged else "",
            )
        )
    return len(CareEvent.objects.bulk_create(events, batch_size=BATCH, ignore_conflicts=True))


def _mdt(year: _Year, episodes: list[CaseloadEpisode]) -> dict[str, int]:
    rng = year.rng
    by_practice: dict[int, list[int]] = {}
    practice_of = dict(
        Patient.objects.filter(pk__in=[e.patient_id for e in episodes]).values_list("pk", "practice_id")
    )
    for episode in episodes:
        by_practice.setdefault(practice_of[episode.patient_id], []).append(episode.patient_id)
    meetings, lead = [], year.people.lead
    for series in MeetingSeries.objects.prefetch_related("practices").order_by("pk"):
        taken = set(series.meetings.values_list("scheduled_for", flat=True))
        day = year.start + timedelta(days=(series.weekday - year.start.weekday()) % 7)
        while day < year.today - timedelta(days=1):
            starts = timezone.make_aware(datetime.combine(day, series.start_time))
            if starts not in taken:
                meetings.append(
                    Meeting(
                        series=series,
                        starts_at=starts,
                        status=Meeting.Status.HELD,
                        scheduled_for=starts,
                        circulate_at=starts - timedelta(days=2),
                        circulated_at=starts - timedelta(days=2),
                    )
                )
            day += timedelta(days=7)
    Meeting.objects.bulk_create(meetings, batch_size=BATCH)
    pools = {
        s.pk: [p for practice in s.practices.all() for p in by_practice.get(practice.pk, [])]
        for s in MeetingSeries.objects.prefetch_related("practices")
    }
    items = []
    for meeting in meetings:
        pool = pools.get(meeting.series_id) or []
        for position, patient_id in enumerate(rng.sample(pool, min(len(pool), rng.randint(6, 10)))):
            items.append(
                AgendaItem(
                    meeting=meeting, patient_id=patient_id, source=AgendaItem.Source.ADDED, position=position
                )
            )
    AgendaItem.objects.bulk_create(items, batch_size=BATCH)
    actions = []
    for item in items:
        held = timezone.localdate(item.meeting.starts_at)
        for _ in range(rng.choice((1, 1, 2))):
            due = held + timedelta(days=rng.choice((7, 14, 28)))
            closed = rng.random() < 0.7 and due - timedelta(days=5) < year.today
            closed_on = min(due + timedelta(days=rng.randint(-5, 10)), year.today) if closed else None
            actions.append(
                Action(
                    item=item,
                    what="Review medication and arrange a follow-up",
                    owner_user=lead,
                    due_on=due,
                    status=Action.Status.DONE if closed else Action.Status.OPEN,
                    closed_at=year.at(closed_on) if closed_on else None,
                    closed_by=lead if closed else None,
                    created_by=lead,
                )
            )
    Action.objects.bulk_create(actions, batch_size=BATCH)
    return {"MDT meetings": len(meetings), "agenda items": len(items), "MDT actions": len(actions)}
