"""The demo PCN's feedback and stories: about three in five people on the demo caseloads have told the
team what difference the support made (the person, or a relative), most with an answer to our own
"How much has the support helped you?" question; some stories are good news offered to an MDT, and
one recent one is waiting as a suggestion on its MDT's next agenda (mdt.services.suggestions).

Deterministic, with its own random stream; written in bulk as caseload.services.feedback would store
them, without audit rows. After demo_mdt_seed (the suggestion is for someone not on an agenda since).
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from django.utils import timezone

from caseload.models import CaseloadEpisode, Feedback, LongTermCondition, Patient
from demo.caseload import DemoPeople, demo_at
from demo.rows import rows_update
from mdt.models import AgendaItem, Meeting, MeetingSeries
from mdt.services.suggestions import GOOD_NEWS_OFFER_WEEKS

_STORIES = (
    "Having one person to call has made all the difference. I know who to ring when the letters confuse me.",
    "The lunch club has got me out of the house twice a week. I have made a friend there.",
    "Since the medication review I am less dizzy and I have not fallen again.",
    "I was sent from pillar to post before. Now the appointments are sorted and someone explains them.",
    "The carer's assessment means Mum has a break on Thursdays. It has been a lifeline for us both.",
    "Help with the Attendance Allowance form meant we could pay for a cleaner. Much less stress.",
    "It is nice that someone checks in. I don't always need anything but I feel less alone.",
    "The rails and the perching stool mean I can wash myself again without waiting for help.",
)
_GOOD_NEWS = (
    "Walked to the shops on my own for the first time since the fall, and back again.",
    "Back at the allotment this week: the pain is managed and I can kneel with the new pad.",
    "No A&E visits since the plan was agreed. Knowing who to call at night has stopped the panic.",
    "Went to my granddaughter's wedding, which I never thought I would manage this year.",
)
# The same, as a relative tells it (as many of each, so the draws are the same whoever gave it).
_STORIES_TOLD = (
    "Having one person to call has made all the difference. Mum knows who to ring when the letters confuse her.",
    "The lunch club has got Dad out of the house twice a week. He has made a friend there.",
    "Since the medication review Mum is less dizzy and she has not fallen again.",
    "We were sent from pillar to post before. Now the appointments are sorted and someone explains them.",
    "The carer's assessment means I have a break on Thursdays. It has been a lifeline for us both.",
    "Help with the Attendance Allowance form meant we could pay for a cleaner. Much less stress.",
    "It is nice that someone checks in on Dad. He feels less alone, and so do I.",
    "The rails and the perching stool mean Mum can wash herself again without waiting for help.",
)
_GOOD_NEWS_TOLD = (
    "Mum walked to the shops on her own for the first time since the fall, and back again.",
    "Dad is back at the allotment this week: the pain is managed and he can kneel with the new pad.",
    "No A&E visits since the plan was agreed. Knowing who to call at night has stopped the panic.",
    "Mum came to her granddaughter's wedding, which we never thought she would manage this year.",
)
_RELATIVES = (("Sarah", "Daughter"), ("Michael", "Son"), ("Jean", "Wife"), ("Peter", "Husband"))
_RATINGS = (5, 5, 4, 4, 4, 3, 2)


def _told(*, good_news: bool, by_relative: bool) -> tuple[str, ...]:
    if good_news:
        return _GOOD_NEWS_TOLD if by_relative else _GOOD_NEWS
    return _STORIES_TOLD if by_relative else _STORIES


def _series_for(patient: Patient, series: dict[str, MeetingSeries]) -> MeetingSeries | None:
    if patient.care_home_id is not None:
        kind = MeetingSeries.Kind.CARE_HOME
    elif patient.ltc_flags & LongTermCondition.CANCER:
        kind = MeetingSeries.Kind.CANCER_PALLIATIVE
    else:
        kind = MeetingSeries.Kind.FRAILTY
    return series.get(kind) or series.get(MeetingSeries.Kind.FRAILTY)


def _on_an_agenda_since(feedback: Feedback, at: object) -> bool:
    return (
        AgendaItem.objects.filter(
            patient_id=feedback.patient_id, meeting__series=feedback.mdt_series, meeting__starts_at__gt=at
        )
        .exclude(meeting__status=Meeting.Status.CANCELLED)
        .exists()
    )


def demo_feedback_seed(*, seed: int, on: date, people: DemoPeople) -> int:
    """Feedback for the people on the demo caseloads; returns how many stories."""
    rng = random.Random(seed * 7919 + 71)  # noqa: S311 — synthetic data must be reproducible, not secret
    series = {s.kind: s for s in MeetingSeries.objects.filter(is_active=True).order_by("name")}
    episodes = list(
        CaseloadEpisode.objects.open()
        .select_related("patient", "coordinator")
        .order_by("patient__nhs_number")
    )
    stories: list[tuple[Feedback, object]] = []
    for index, episode in enumerate(episodes):
        if rng.random() > 0.6:
            continue
        opened_on = timezone.localdate(episode.opened_at)
        latest = on - timedelta(days=1)
        if (latest - opened_on).days < 14:
            continue
        good_news = index % 3 == 0
        older = on - timedelta(weeks=GOOD_NEWS_OFFER_WEEKS + 1)
        # Good news older than the MDT offer (a recent one is chosen below), else any day since opening.
        last_day = older if good_news and older > opened_on + timedelta(days=14) else latest
        if good_news and last_day == latest:
            good_news = False
        given_on = opened_on + timedelta(days=rng.randint(14, (last_day - opened_on).days))
        by_relative = rng.random() < 0.3
        name, relationship = rng.choice(_RELATIVES)
        feedback = Feedback(
            patient=episode.patient,
            given_on=given_on,
            given_by=Feedback.GivenBy.OTHER if by_relative else Feedback.GivenBy.PERSON,
            given_by_name=f"{name} {episode.patient.family_name}" if by_relative else "",
            given_by_relationship=relationship if by_relative else "",
            story=rng.choice(_told(good_news=good_news, by_relative=by_relative)),
            rating=rng.choice(_RATINGS) if rng.random() < 0.8 else None,
            consent_to_share=rng.random() < 0.6,
            is_good_news=good_news,
            mdt_series=_series_for(episode.patient, series) if good_news else None,
            recorded_by=episode.coordinator,
        )
        at = demo_at(min(given_on + timedelta(days=rng.randint(0, 2)), latest), 15, 30)
        stories.append((feedback, at))
    _offer_one_to_an_agenda(stories, series, on=on)
    Feedback.objects.bulk_create([feedback for feedback, _ in stories], batch_size=1000)
    for feedback, at in stories:
        feedback.created_at = at  # auto_now_add stamped them now; the suggestion reads when it was recorded
    rows_update([feedback for feedback, _ in stories], ["created_at"])
    return len(stories)


def _offer_one_to_an_agenda(
    stories: list[tuple[Feedback, object]], series: dict[str, MeetingSeries], *, on: date
) -> None:
    """The first story (in NHS number order) of someone not on an agenda of their MDT since yesterday
    becomes yesterday's good news for it, so that it waits among the suggestions of that MDT's next
    agenda. No draw: the other stories stay as they are whatever the date."""
    yesterday = on - timedelta(days=1)
    for index, (feedback, _) in enumerate(stories):
        if feedback.is_good_news:
            continue
        feedback.mdt_series = _series_for(feedback.patient, series)
        if feedback.mdt_series is not None and not _on_an_agenda_since(feedback, demo_at(yesterday, 9)):
            feedback.is_good_news, feedback.given_on = True, yesterday
            told = _told(good_news=True, by_relative=feedback.given_by != Feedback.GivenBy.PERSON)
            feedback.story = told[index % len(told)]
            feedback.rating = feedback.rating or 5
            stories[index] = (feedback, demo_at(yesterday, 16))
            return
        feedback.mdt_series = None


def demo_feedback_reset() -> None:
    Feedback.objects.all().delete()
