"""The demo PCN's caseload work in mid-year: each demo coordinator's caseload with its contacts, tasks
(some overdue, some due today), PAM scores and re-measures, signposting with outcomes and support
given; referrals in the inbox (and those decided); transfers of care to triage (and triaged ones).

Deterministic for a seed and a date, with its own random stream (the patients stay the same), and
written in bulk: the rows are those the services would store (caseload.services.contacts, .pam,
.signposting, .referrals, .care_events), coding-export rows included, but no audit rows (nobody
looked at anything; demo_pcn_reset refuses once an audit row names a patient).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.utils import timezone

from caseload.codes import (
    CODED_INTERVENTION_KEYS,
    INTERVENTIONS_BY_KEY,
    PAM_LEVEL,
    SOCIAL_PRESCRIBING_REFERRAL,
)
from caseload.models import (
    ActivationMeasure,
    CareEvent,
    CaseloadEpisode,
    CodingEntry,
    Contact,
    EfiCategory,
    LongTermCondition,
    Patient,
    Referral,
    ReferralType,
    Service,
    Signposting,
    SupportGiven,
    Task,
    pam_level,
)
from caseload.services.signposting import SUPPORT_CODE_KEYS
from demo.rows import rows_update
from mdt.models import MeetingSeries
from pcn.models import Membership, Role, User
from pcn.working_days import add_working_days


@dataclass(frozen=True)
class DemoPeople:
    """Who works the demo: each practice's demo coordinator (practices without one have none), the
    clinical lead (who chairs the MDTs) and the PCN manager."""

    coordinators: dict[int, User]
    lead: User
    manager: User
    practice_ids: tuple[int, ...]

    def worker(self, practice_id: int) -> User:
        """Who records things at a practice: its coordinator, else the clinical lead."""
        return self.coordinators.get(practice_id, self.lead)


def demo_people(*, practice_ids: list[int]) -> DemoPeople:
    coordinators = {
        m.practice_id: m.user
        for m in Membership.objects.filter(role=Role.COORDINATOR, user__email__endswith="@demo.pcn.test")
        .select_related("user")
        .order_by("user__email")
    }
    return DemoPeople(
        coordinators=coordinators,
        lead=User.objects.get(email="lead@demo.pcn.test"),
        manager=User.objects.get(email="manager@demo.pcn.test"),
        practice_ids=tuple(practice_ids),
    )


class _Person(NamedTuple):
    pk: int
    nhs_number: str
    practice_id: int
    age: int
    ltc_flags: int
    efi_category: str
    care_home_id: int | None
    care_home_since: date | None
    risk: Decimal


def demo_patients(*, on: date) -> list[_Person]:
    """The living, registered patients, in NHS number order (the order every demo stream walks)."""
    people = []
    for row in (
        Patient.objects.filter(is_deceased=False, has_left=False)
        .order_by("nhs_number")
        .values_list(
            "pk", "nhs_number", "practice_id", "date_of_birth", "ltc_flags", "efi_category", "care_home_id",
            "care_home_since", "risk_score",
        )
    ):  # fmt: skip
        born = row[3]
        age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
        people.append(
            _Person(row[0], row[1], row[2], age, row[4], row[5], row[6], row[7], row[8] or Decimal(0))
        )
    return people


def demo_at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def is_frail(person: _Person) -> bool:
    return person.efi_category in (EfiCategory.MODERATE, EfiCategory.SEVERE)


@dataclass
class DemoCaseloadCounts:
    episodes: int = 0
    referrals: int = 0
    care_events: int = 0
    contacts: int = 0
    tasks: int = 0
    activation_measures: int = 0
    signpostings: int = 0
    support_given: int = 0
    coding_entries: int = 0


_REASON_DETAIL = {
    CaseloadEpisode.Reason.REFERRAL: ("Referred by the GP after a fall", "Referred by the practice nurse",
                                      "Hospital discharge team referral", "Care home manager's referral"),
    CaseloadEpisode.Reason.RISK_LIST: ("Top of the risk list at the last import", "Risk rising since the last import",
                                       "Frequent A&E attender"),
    CaseloadEpisode.Reason.MDT: ("Agreed at the frailty MDT", "Agreed at the care home MDT"),
    CaseloadEpisode.Reason.OTHER: ("Carer asked for help", "Asked for support at the surgery"),
}  # fmt: skip
_CONTACT_NOTES = (
    "Talked through how the week has gone; managing at home with help from family.",
    "Discussed medication and the pharmacy delivery; no concerns raised.",
    "Struggling with stairs since the fall; agreed to ask for an occupational therapy assessment.",
    "Feeling low and isolated; talked about the community lunch club and a befriending service.",
    "Carer finding things hard; talked about a carer's assessment and respite options.",
    "Went through the hospital letter together; questions noted for the GP.",
    "Reviewed what matters most: staying at home and getting out to the garden centre.",
    "Money worries: talked about Attendance Allowance and the council tax reduction.",
    "Checked in after the appointment; blood pressure readings written down for the nurse.",
)
_CONTACT_OUTCOMES = (
    "Follow-up call booked", "Signposted to a local service", "Information sent by post",
    "GP asked to review", "No further action for now", "Carer to call back",
)  # fmt: skip
_TASK_TITLES = (
    "Call back about the blue badge application", "Chase the falls clinic appointment",
    "Check the pharmacy has set up the blister packs", "Ring the carer about respite options",
    "Send the Attendance Allowance form", "Ask the district nurses about the pressure cushion",
    "Book an interpreter for the next visit", "Check the community transport booking",
    "Follow up the memory clinic letter", "Ask the GP about the medication review",
)  # fmt: skip
_LEAD_TASKS = (
    "Review medication after the MDT discussion",
    "Sign the anticipatory medicines chart",
    "Call the hospice nurse about symptom control",
    "Reply to the consultant's letter",
)
_MANAGER_TASKS = ("Reply to the family's feedback letter", "Arrange an interpreter for the care plan review")
_PROVIDERS = {
    CareEvent.Kind.ADMISSION: ("Riverside General Hospital", "St Mary's Hospital"),
    CareEvent.Kind.DISCHARGE: ("Riverside General Hospital", "St Mary's Hospital"),
    CareEvent.Kind.AE_ATTENDANCE: ("Riverside General Hospital A&E", "Riverside Urgent Treatment Centre"),
    CareEvent.Kind.OUT_OF_HOURS: ("Riverside Urgent Care (out of hours)",),
    CareEvent.Kind.NHS_111: ("NHS 111",),
}
_SUMMARIES = {
    CareEvent.Kind.ADMISSION: ("Admitted with a chest infection.", "Admitted after a fall at home.",
                               "Admitted with shortness of breath.", "Admitted with confusion; possible UTI."),
    CareEvent.Kind.DISCHARGE: ("Discharged home with a package of care.", "Discharged; new medication started.",
                               "Discharged after a fall; physiotherapy referral made.",
                               "Discharged; follow-up in the respiratory clinic."),
    CareEvent.Kind.AE_ATTENDANCE: ("Seen and discharged: minor head injury.", "Chest pain; troponin negative.",
                                   "Fall; no fracture."),
    CareEvent.Kind.OUT_OF_HOURS: ("Home visit overnight for breathlessness.", "Advice given on pain relief.",
                                  "Catheter problem; district nurse asked to visit."),
    CareEvent.Kind.NHS_111: ("Called about dizziness; advised to see the GP.", "Called about a rash; self-care advice."),
}  # fmt: skip
_REFERRERS = (
    (Referral.Source.GP, "Dr Helen Ward"), (Referral.Source.GP, "Dr Sam Ahmed"),
    (Referral.Source.PRACTICE_NURSE, "Nurse Kaur"), (Referral.Source.HOSPITAL, "Discharge team, Riverside General"),
    (Referral.Source.CARE_HOME, "Care home manager"), (Referral.Source.SPLW, "Social prescribing link worker"),
    (Referral.Source.SELF, "Self-referral"),
)  # fmt: skip
_REFERRAL_REASONS = {
    "Care home MDT": ("New resident: settling in, falls risk and medication review wanted.",
                      "Change in needs: eating less and more confused this month."),
    "Frailty / proactive care": ("Two falls this year and living alone; would like a holistic assessment.",
                                 "Moderate frailty, recent admission; family worried about coping at home."),
    "Cancer and palliative care": ("Likely in the last year of life; wants to talk about preferences.",
                                   "New diagnosis; support with appointments and carer needed."),
    "Care coordination": ("Several services involved and struggling to keep track of appointments.",
                          "Frequent A&E attendance; lonely and anxious at night.",
                          "Carer breakdown risk; needs help to find support."),
}  # fmt: skip
_DECLINE_REASONS = ("Already supported by the community matron.", "Declined support when contacted.")
_SIGNPOST_OUTCOMES = (
    Signposting.Outcome.ENGAGED, Signposting.Outcome.NOT_ENGAGED, Signposting.Outcome.ENGAGED,
    Signposting.Outcome.DECLINED, Signposting.Outcome.ENGAGED, Signposting.Outcome.PENDING,
)  # fmt: skip
_SIGNPOST_NOTES = ("Gave the phone number and the opening times.", "Referred by email with consent.", "")
_SUPPORT_NOTES = {
    SupportGiven.Kind.BENEFITS: "Helped to complete the Attendance Allowance form.",
    SupportGiven.Kind.EMPLOYMENT: "Introduced to the employment adviser at the job centre.",
    SupportGiven.Kind.PERSONAL_HEALTH_BUDGET: "Personal health budget agreed for a carer break.",
}
_METHODS = (Contact.Method.PHONE, Contact.Method.PHONE, Contact.Method.PHONE, Contact.Method.FACE_TO_FACE,
            Contact.Method.HOME_VISIT, Contact.Method.VIDEO)  # fmt: skip
_INTERVENTIONS = tuple(INTERVENTIONS_BY_KEY)


class _Writer:
    """The rows made so far, written in bulk (created_at set afterwards where reports read it)."""

    def __init__(self, rng: random.Random, *, on: date, people: DemoPeople) -> None:
        self.rng, self.on, self.people = rng, on, people
        self.episodes: list[CaseloadEpisode] = []
        self.contacts: list[Contact] = []
        self.tasks: list[tuple[Task, datetime]] = []
        self.measures: list[ActivationMeasure] = []
        self.signpostings: list[Signposting] = []
        self.support: list[SupportGiven] = []
        self.referrals: list[tuple[Referral, datetime]] = []
        self.events: list[tuple[CareEvent, datetime]] = []
        self.event_keys: set[tuple[str, str, datetime, str]] = set()
        self.coding: list[tuple[CodingEntry, Any, str]] = []  # entry, the record it codes, the source prefix
        self.series: dict[str, MeetingSeries] = {}  # the MDT of each kind (referrals directed to one)
        self.outcomes_given = 0  # signposting outcomes recorded so far

    def task(self, *, patient_id: int, title: str, kind: str, owner: User, due_on: date, at: datetime,
             by: User | None, notes: str = "", done: bool = False, care_event: CareEvent | None = None) -> Task:  # fmt: skip
        task = Task(
            patient_id=patient_id, title=title, kind=kind, owner=owner, due_on=due_on, notes=notes,
            created_by=by, care_event=care_event,
            done_at=demo_at(min(due_on, self.on - timedelta(days=1)), 16) if done else None,
            done_by=owner if done else None,
        )  # fmt: skip
        self.tasks.append((task, at))
        return task

    def code(self, *, patient_id: int, coded_on: date, term: str, snomed_id: str | None, by: User,
             record: Any, prefix: str) -> None:  # fmt: skip
        entered = coded_on < self.on - timedelta(days=14)  # the older rows already entered in the GP record
        entry = CodingEntry(
            patient_id=patient_id, coded_on=coded_on, snomed_id=snomed_id or "", term=term, recorded_by=by,
            entered_at=demo_at(coded_on + timedelta(days=7), 10) if entered else None,
            entered_by=by if entered else None,
        )  # fmt: skip
        self.coding.append((entry, record, prefix))

    def event(self, *, person: _Person, kind: str, at: datetime, by: User) -> CareEvent | None:
        provider = self.rng.choice(_PROVIDERS[kind])
        key = (person.nhs_number, kind, at, provider)
        if key in self.event_keys:
            return None
        self.event_keys.add(key)
        event = CareEvent(
            patient_id=person.pk, nhs_number=person.nhs_number, kind=kind, occurred_at=at, provider=provider,
            summary=self.rng.choice(_SUMMARIES[kind]), source=CareEvent.Source.MANUAL, created_by=by,
        )  # fmt: skip
        self.events.append((event, at + timedelta(minutes=30)))  # entered soon after it happened
        return event

    def write(self) -> None:
        CaseloadEpisode.objects.bulk_create(self.episodes, batch_size=1000)
        for referral, _ in self.referrals:
            referral.episode_id = referral.episode.pk if referral.episode else None
        Referral.objects.bulk_create([r for r, _ in self.referrals], batch_size=1000)
        CareEvent.objects.bulk_create([e for e, _ in self.events], batch_size=1000)
        for contact in self.contacts:
            contact.care_event_id = contact.care_event.pk if contact.care_event else None
        Contact.objects.bulk_create(self.contacts, batch_size=1000)
        for task, _ in self.tasks:
            task.care_event_id = task.care_event.pk if task.care_event else None
        Task.objects.bulk_create([t for t, _ in self.tasks], batch_size=1000)
        ActivationMeasure.objects.bulk_create(self.measures, batch_size=1000)
        Signposting.objects.bulk_create(self.signpostings, batch_size=1000)
        SupportGiven.objects.bulk_create(self.support, batch_size=1000)
        for entry, record, prefix in self.coding:
            entry.source = f"{prefix}:{record.pk}"
        CodingEntry.objects.bulk_create([e for e, _, _ in self.coding], batch_size=1000)
        # auto_now_add stamped them now; the reports count by when they were recorded.
        for rows in (self.tasks, self.referrals, self.events):
            for obj, at in rows:
                obj.created_at = at
            rows_update([obj for obj, _ in rows], ["created_at"])


def demo_caseload_seed(*, seed: int, on: date, people: DemoPeople) -> DemoCaseloadCounts:
    """Caseloads, referrals and transfers of care, after the patients and the care home moves."""
    rng = random.Random(seed * 7919 + 29)  # noqa: S311 — synthetic data must be reproducible, not secret
    patients = demo_patients(on=on)
    by_practice: dict[int, list[_Person]] = {}
    for person in patients:
        by_practice.setdefault(person.practice_id, []).append(person)
    services = list(Service.objects.filter(is_active=True).order_by("name", "id"))
    types = {
        t.name: t
        for t in ReferralType.objects.filter(is_active=True).order_by("name").prefetch_related("criteria")
    }
    writer = _Writer(rng, on=on, people=people)
    writer.series = {s.kind: s for s in MeetingSeries.objects.filter(is_active=True).order_by("-name")}
    on_caseload: dict[int, CaseloadEpisode] = {}
    for practice_id in people.practice_ids:
        listed = by_practice.get(practice_id, [])
        coordinator = people.coordinators.get(practice_id)
        if coordinator is not None:
            _caseload(writer, listed, coordinator, services, types, on_caseload)
        _inbox(writer, listed, people.worker(practice_id), types, on_caseload)
        _transfers(writer, listed, people.worker(practice_id), on_caseload)
    _lead_and_manager_tasks(writer, patients, people)
    writer.write()
    return DemoCaseloadCounts(
        episodes=len(writer.episodes), referrals=len(writer.referrals), care_events=len(writer.events),
        contacts=len(writer.contacts), tasks=len(writer.tasks), activation_measures=len(writer.measures),
        signpostings=len(writer.signpostings), support_given=len(writer.support),
        coding_entries=len(writer.coding),
    )  # fmt: skip


def _caseload(
    w: _Writer, listed: list[_Person], coordinator: User, services: list[Service],
    types: dict[str, ReferralType], on_caseload: dict[int, CaseloadEpisode],
) -> None:  # fmt: skip
    """A coordinator's caseload: the practice's recent care home move-ins, then people from the top
    third by risk; and a few closed episodes."""
    rng, on = w.rng, w.on
    size = min(max(len(listed) // 25, 8), 45)
    adults = [p for p in listed if p.age >= 18]
    movers = [p for p in adults if p.care_home_since is not None]
    ranked = sorted((p for p in adults if p.care_home_since is None), key=lambda p: (-p.risk, p.nhs_number))
    pool = ranked[: max(3 * size, 30)]
    chosen = movers + rng.sample(pool, min(size - len(movers), len(pool)))
    closed = [p for p in ranked[len(pool) : len(pool) + 40] if p not in chosen][:3]
    for index, person in enumerate(chosen):
        if person.care_home_since is not None:
            opened_on, reason = person.care_home_since, CaseloadEpisode.Reason.REFERRAL
        else:
            opened_on = on - timedelta(days=rng.randint(14, 240))
            reason = rng.choices(list(_REASON_DETAIL), (45, 30, 15, 10))[0]
        episode = CaseloadEpisode(
            patient_id=person.pk, coordinator=coordinator, reason=reason,
            reason_detail=rng.choice(_REASON_DETAIL[reason]), opened_at=demo_at(opened_on, 14),
            opened_by=coordinator,
        )  # fmt: skip
        w.episodes.append(episode)
        on_caseload[person.pk] = episode
        if reason == CaseloadEpisode.Reason.REFERRAL:
            _accepted_referral(w, person, episode, coordinator, types)
        _contacts(w, person, episode, coordinator, index)
        _pam(w, person, episode, coordinator, index)
        _signposting(w, person, episode, coordinator, services)
    for person in closed:
        opened_on = on - timedelta(days=rng.randint(200, 330))
        closed_on = on - timedelta(days=rng.randint(30, 150))
        episode = CaseloadEpisode(
            patient_id=person.pk, coordinator=coordinator, reason=CaseloadEpisode.Reason.RISK_LIST,
            reason_detail="Top of the risk list at the last import", opened_at=demo_at(opened_on, 14),
            opened_by=coordinator, status=CaseloadEpisode.Status.CLOSED, closed_at=demo_at(closed_on, 15),
            closed_by=coordinator, close_reason=rng.choice(["goals_met", "declined", "other_service"]),
            last_contact_at=demo_at(closed_on, 11),
        )  # fmt: skip
        w.episodes.append(episode)
        w.contacts.append(_contact(w, person, coordinator, demo_at(closed_on, 11), None))
    _coordinator_tasks(w, chosen, coordinator)


def _contact(w: _Writer, person: _Person, by: User, at: datetime, next_due: date | None) -> Contact:
    rng = w.rng
    keys = ["care_coordination", *rng.sample(_INTERVENTIONS[1:], rng.choice((0, 1, 1, 2)))]
    method = (
        Contact.Method.CARE_HOME_VISIT if person.care_home_id and rng.random() < 0.5 else rng.choice(_METHODS)
    )
    contact = Contact(
        patient_id=person.pk, contact_at=at, method=method,
        with_whom=rng.choices(list(Contact.WithWhom.values), (75, 20, 5))[0],
        duration_minutes=rng.choice((10, 15, 20, 30, 45, 60)), interventions=list(dict.fromkeys(keys)),
        notes=rng.choice(_CONTACT_NOTES), outcome=rng.choice(_CONTACT_OUTCOMES), next_contact_due=next_due,
        recorded_by=by,
    )  # fmt: skip
    for key in contact.interventions:  # as contact_record: only the interventions with an id are coded
        if key in CODED_INTERVENTION_KEYS:
            code = INTERVENTIONS_BY_KEY[key]
            w.code(patient_id=person.pk, coded_on=timezone.localdate(at), term=code.term,
                   snomed_id=code.snomed_id, by=by, record=contact, prefix="contact")  # fmt: skip
    return contact


def _contacts(w: _Writer, person: _Person, episode: CaseloadEpisode, by: User, index: int) -> None:
    """Contacts since the episode opened; the latest sets the episode's next contact due: for one
    in six overdue, one in six today, the rest in the next four weeks."""
    rng, on = w.rng, w.on
    opened_on = timezone.localdate(episode.opened_at)
    bucket = index % 6
    # An overdue next contact was planned after the last one: that contact was at least 12 days ago.
    overdue = bucket == 0 and (on - opened_on).days > 13
    latest = on - timedelta(days=12 if overdue else 1)
    days_open = (latest - opened_on).days + 1
    count = 1 + min(4, days_open // 30)
    days = sorted(rng.sample(range(1, max(days_open, count + 1)), count))
    when = [demo_at(min(opened_on + timedelta(days=d), latest), rng.choice((9, 10, 11, 14, 15)),
                    rng.choice((0, 15, 30, 45))) for d in days]  # fmt: skip
    last_due = (
        on - timedelta(days=rng.randint(1, 10)) if overdue
        else on if bucket in (0, 1)
        else on + timedelta(days=rng.randint(1, 28))
    )  # fmt: skip
    for n, at in enumerate(when):
        next_due = timezone.localdate(when[n + 1]) if n + 1 < len(when) else last_due
        w.contacts.append(_contact(w, person, by, at, next_due))
    episode.last_contact_at, episode.next_contact_due = when[-1], last_due


def _pam(w: _Writer, person: _Person, episode: CaseloadEpisode, by: User, index: int) -> None:
    """A first PAM for most people on the caseload, a re-measure for those measured long enough ago
    (two in three of them improved by 3 points or more); the re-measure task of activation_record."""
    rng, on = w.rng, w.on
    if rng.random() > 0.6:
        return
    first_on = timezone.localdate(episode.opened_at) + timedelta(days=rng.randint(7, 21))
    if first_on >= on:
        return
    score = Decimal(str(round(min(max(rng.gauss(50, 9), 25.0), 85.0), 1)))
    dates_scores = [(first_on, score)]
    if (on - first_on).days > 100 and rng.random() < 0.75:
        again_on = first_on + timedelta(days=rng.randint(90, min(180, (on - first_on).days - 1)))
        change = rng.uniform(3.0, 12.0) if index % 3 != 2 else rng.uniform(-4.0, 2.9)
        dates_scores.append((again_on, Decimal(str(round(min(max(float(score) + change, 0.0), 100.0), 1)))))
    months = settings.PAM_REMEASURE_MONTHS
    for n, (measured_on, value) in enumerate(dates_scores):
        measure = ActivationMeasure(
            patient_id=person.pk, score=value, level=pam_level(value), measured_on=measured_on, measured_by=by
        )
        w.measures.append(measure)
        w.code(patient_id=person.pk, coded_on=measured_on, term=f"{PAM_LEVEL.term} {measure.level}",
               snomed_id=PAM_LEVEL.snomed_id, by=by, record=measure, prefix="pam")  # fmt: skip
        remeasured = n + 1 < len(dates_scores)
        w.task(
            patient_id=person.pk, title="Re-measure activation (PAM)", kind=Task.Kind.PAM_REMEASURE, owner=by,
            due_on=measured_on + relativedelta(months=months), at=demo_at(measured_on, 12), by=by,
            done=remeasured,
        )  # fmt: skip
        if remeasured:  # done when the re-measure was recorded
            task = w.tasks[-1][0]
            task.done_at = demo_at(dates_scores[n + 1][0], 12)


def _signposting(
    w: _Writer, person: _Person, episode: CaseloadEpisode, by: User, services: list[Service]
) -> None:
    rng, on = w.rng, w.on
    opened_on = timezone.localdate(episode.opened_at)
    if services and rng.random() < 0.45:
        for service in rng.sample(services, min(len(services), rng.choice((1, 1, 2)))):
            signposted_on = min(opened_on + timedelta(days=rng.randint(3, 60)), on - timedelta(days=1))
            outcome, outcome_on = Signposting.Outcome.PENDING, None
            if (on - signposted_on).days > 28:
                # Engaged, did not engage, engaged, declined, … in turn: every outcome shows.
                outcome = _SIGNPOST_OUTCOMES[w.outcomes_given % len(_SIGNPOST_OUTCOMES)]
                w.outcomes_given += 1
                if outcome != Signposting.Outcome.PENDING:
                    outcome_on = signposted_on + timedelta(days=rng.randint(7, 28))
            signposting = Signposting(
                patient_id=person.pk, service=service, signposted_on=signposted_on, signposted_by=by,
                outcome=outcome, outcome_on=outcome_on, notes=rng.choice(_SIGNPOST_NOTES),
            )  # fmt: skip
            w.signpostings.append(signposting)
            if service.category == Service.Category.SOCIAL_PRESCRIBING:  # as signposting_record
                w.code(patient_id=person.pk, coded_on=signposted_on, term=SOCIAL_PRESCRIBING_REFERRAL.term,
                       snomed_id=SOCIAL_PRESCRIBING_REFERRAL.snomed_id, by=by, record=signposting,
                       prefix="signposting")  # fmt: skip
    if rng.random() < 0.2:
        kind = rng.choices(list(SupportGiven.Kind.values), (15, 60, 25))[0]
        given_on = min(opened_on + timedelta(days=rng.randint(7, 90)), on - timedelta(days=1))
        support = SupportGiven(
            patient_id=person.pk, kind=kind, given_on=given_on, notes=_SUPPORT_NOTES[kind], given_by=by
        )
        w.support.append(support)
        if key := SUPPORT_CODE_KEYS.get(kind):  # as support_record
            code = INTERVENTIONS_BY_KEY[key]
            w.code(patient_id=person.pk, coded_on=given_on, term=code.term, snomed_id=code.snomed_id, by=by,
                   record=support, prefix="support")  # fmt: skip


def _coordinator_tasks(w: _Writer, chosen: list[_Person], coordinator: User) -> None:
    """Tasks on about half the caseload: the first overdue, the second due today, then a mix."""
    rng, on = w.rng, w.on
    for n, person in enumerate(p for i, p in enumerate(chosen) if i % 2 == 0):
        bucket = n % 5
        due_on = (
            on - timedelta(days=rng.randint(1, 6)) if bucket == 0
            else on if bucket == 1
            else on + timedelta(days=rng.randint(1, 14)) if bucket in (2, 3)
            else on - timedelta(days=rng.randint(3, 20))
        )  # fmt: skip
        w.task(
            patient_id=person.pk, title=rng.choice(_TASK_TITLES), kind=Task.Kind.GENERAL, owner=coordinator,
            due_on=due_on, at=demo_at(min(due_on, on) - timedelta(days=rng.randint(2, 10)), 10), by=coordinator,
            done=bucket == 4,
        )  # fmt: skip


def _lead_and_manager_tasks(w: _Writer, patients: list[_Person], people: DemoPeople) -> None:
    on = w.on
    adults = [p for p in patients if p.age >= 65]
    for n, title in enumerate(_LEAD_TASKS):
        if adults:
            w.task(patient_id=adults[(7 * n) % len(adults)].pk, title=title, kind=Task.Kind.GENERAL,
                   owner=people.lead, due_on=on + timedelta(days=(-2, 0, 3, 8)[n]),
                   at=demo_at(on - timedelta(days=5), 13), by=people.lead)  # fmt: skip
    for n, title in enumerate(_MANAGER_TASKS):
        if adults:
            w.task(patient_id=adults[(11 * n + 3) % len(adults)].pk, title=title, kind=Task.Kind.GENERAL,
                   owner=people.manager, due_on=on - timedelta(days=n * 3),
                   at=demo_at(on - timedelta(days=6), 10), by=people.manager)  # fmt: skip


def _referral_type_for(person: _Person, types: dict[str, ReferralType]) -> ReferralType | None:
    if person.care_home_id is not None:
        name = "Care home MDT"
    elif person.ltc_flags & LongTermCondition.CANCER:
        name = "Cancer and palliative care"
    elif is_frail(person) and person.age >= 65:
        name = "Frailty / proactive care"
    else:
        name = "Care coordination"
    return types.get(name) or next(iter(types.values()), None)


def _answers(referral_type: ReferralType, *, all_met: bool) -> list[dict[str, Any]]:
    """The checklist as referral_criteria_answers copies it; when not all met, the last required one is not."""
    criteria = list(referral_type.criteria.all())
    unmet = None if all_met else max((c.pk for c in criteria if c.is_required), default=None)
    return [
        {"criterion_id": c.pk, "text": c.text, "required": c.is_required, "met": c.pk != unmet}
        for c in criteria
    ]


def _referral(w: _Writer, person: _Person, referral_type: ReferralType, *, received_on: date, by: User,
              all_met: bool = True, **decided: Any) -> Referral:  # fmt: skip
    rng = w.rng
    source, name = rng.choice(_REFERRERS)
    reasons = _REFERRAL_REASONS.get(referral_type.name, _REFERRAL_REASONS["Care coordination"])
    referral = Referral(
        patient_id=person.pk, referral_type=referral_type, source=source, referrer_name=name,
        referrer_email="referrals@example.org" if source != Referral.Source.SELF else "",
        reason=rng.choice(reasons), urgency=rng.choices(list(Referral.Urgency.values), (60, 25, 15))[0],
        received_on=received_on, criteria=_answers(referral_type, all_met=all_met), created_by=by, **decided,
    )  # fmt: skip
    w.referrals.append((referral, demo_at(received_on, 9, rng.randint(0, 59))))
    return referral


def _accepted_referral(w: _Writer, person: _Person, episode: CaseloadEpisode, by: User,
                       types: dict[str, ReferralType]) -> None:  # fmt: skip
    referral_type = _referral_type_for(person, types)
    if referral_type is None:
        return
    opened_on = timezone.localdate(episode.opened_at)
    episode.reason_detail = f"{referral_type.name} referral"[:300]  # as referral_accept
    _referral(w, person, referral_type, received_on=opened_on - timedelta(days=w.rng.randint(0, 4)), by=by,
              status=Referral.Status.ACCEPTED, decided_by=by, decided_at=episode.opened_at, episode=episode)  # fmt: skip


def _inbox(w: _Writer, listed: list[_Person], by: User, types: dict[str, ReferralType],
           on_caseload: dict[int, CaseloadEpisode]) -> None:  # fmt: skip
    """New referrals of the last ten days (the third of every four missing a required criterion), two declined
    ones and, for each MDT kind with a patient to refer, one directed to that MDT."""
    rng, on = w.rng, w.on
    free = [p for p in listed if p.age >= 18 and p.pk not in on_caseload]
    if not free or not types:
        return
    count = min(max(len(listed) // 60, 3), 12)
    picked = rng.sample(free, min(count + 2, len(free)))
    for n, person in enumerate(picked[:count]):
        referral_type = _referral_type_for(person, types)
        _referral(w, person, referral_type, received_on=on - timedelta(days=rng.randint(0, 9)), by=by,
                  all_met=n % 4 != 2)  # fmt: skip
    for person in picked[count:]:
        received_on = on - timedelta(days=rng.randint(30, 90))
        _referral(w, person, _referral_type_for(person, types), received_on=received_on, by=by,
                  status=Referral.Status.DECLINED, decided_by=by, decided_at=demo_at(received_on + timedelta(days=2), 11),
                  decline_reason=rng.choice(_DECLINE_REASONS))  # fmt: skip
    taken = {p.pk for p in picked}
    for name, fits in (("Care home MDT", lambda p: p.care_home_id is not None),
                       ("Frailty / proactive care", lambda p: is_frail(p) and p.age >= 65 and p.care_home_id is None),
                       ("Cancer and palliative care", lambda p: p.ltc_flags & LongTermCondition.CANCER)):  # fmt: skip
        candidates = [p for p in free if p.pk not in taken and fits(p)]
        series = w.series.get(types[name].mdt_kind) if name in types else None
        if series is not None and candidates:
            person = rng.choice(candidates)
            taken.add(person.pk)
            received_on = on - timedelta(days=rng.randint(3, 8))
            # On the series' next agenda once demo_mdt_seed refreshes it (agenda_refresh).
            _referral(w, person, types[name], received_on=received_on, by=by, status=Referral.Status.DIRECTED_TO_MDT,
                      decided_by=by, decided_at=demo_at(received_on + timedelta(days=1), 12), mdt_series=series)  # fmt: skip


def _transfers(w: _Writer, listed: list[_Person], by: User, on_caseload: dict[int, CaseloadEpisode]) -> None:
    """Transfers of care: a few in the last four days to triage (half for people on the caseload), and
    older ones triaged. A discharge gets its follow-up task, as discharge_follow_up_ensure makes it."""
    rng, on = w.rng, w.on
    if not listed:
        return
    kinds = list(_PROVIDERS)
    weights = (20, 35, 20, 15, 10)
    caseload = [p for p in listed if p.pk in on_caseload]
    others = [p for p in listed if p.pk not in on_caseload and p.age >= 18]
    to_triage = min(max(len(listed) // 50, 4), 12)
    triaged = min(max(len(listed) // 40, 4), 16)
    for n in range(to_triage + triaged):
        pool = caseload if (n % 2 == 0 and caseload) or not others else others
        person = rng.choice(pool)
        kind = CareEvent.Kind.DISCHARGE if n == 0 else rng.choices(kinds, weights)[0]
        days_ago = rng.randint(1, 4) if n < to_triage else rng.randint(5, 60)
        at = demo_at(on - timedelta(days=days_ago), rng.randint(0, 23), rng.randint(0, 59))
        event = w.event(person=person, kind=kind, at=at, by=by)
        if event is None:
            continue
        episode = on_caseload.get(person.pk)
        owner = episode.coordinator if episode is not None else by
        follow_up = None
        if kind == CareEvent.Kind.DISCHARGE:
            local = timezone.localtime(at)
            follow_up = w.task(
                patient_id=person.pk,
                title=(f"Follow up the discharge of {local.day} {local:%B %Y}" + f" from {event.provider}"[:120]),
                kind=Task.Kind.DISCHARGE_FOLLOW_UP, owner=owner,
                due_on=add_working_days(local.date(), settings.DISCHARGE_FOLLOW_UP_WORKING_DAYS),
                at=at + timedelta(hours=2), by=by, care_event=event,
            )  # fmt: skip
        if n >= to_triage:
            event.triaged_at, event.triaged_by = at + timedelta(hours=rng.randint(3, 30)), by
            event.outcome = rng.choices(
                [CareEvent.Outcome.ACKNOWLEDGED, CareEvent.Outcome.CONTACT], (60, 40)
            )[0]
            if timezone.localdate(event.triaged_at) >= on:
                event.triaged_at = demo_at(on - timedelta(days=1), 17)
            if follow_up is not None:  # followed up when it was triaged
                follow_up.done_at, follow_up.done_by = event.triaged_at, owner
            if event.outcome == CareEvent.Outcome.CONTACT:
                # As contact_record: the latest contact sets the open episode's last contact and next
                # due (here the one already planned is kept).
                latest = episode is not None and episode.last_contact_at <= event.triaged_at
                contact = _contact(
                    w, person, by, event.triaged_at, episode.next_contact_due if latest else None
                )
                contact.care_event = event
                w.contacts.append(contact)
                if latest:
                    episode.last_contact_at = event.triaged_at


def demo_caseload_reset() -> None:
    """The caseload records go before the patients they name (they protect them)."""
    CodingEntry.objects.all().delete()
    Signposting.objects.all().delete()
    SupportGiven.objects.all().delete()
    ActivationMeasure.objects.all().delete()
    Task.objects.all().delete()
    Contact.objects.all().delete()
    Referral.objects.all().delete()
    CaseloadEpisode.objects.all().delete()
    CareEvent.objects.all().delete()
