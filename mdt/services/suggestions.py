"""Agenda suggestions: the patients a user may add to a meeting's agenda (nothing is added until they
confirm one)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Exists, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils.text import Truncator

from careplans.services.ehch import ehch_badges_for
from caseload.models import CareEvent, Feedback, Patient, RiskSnapshot
from mdt.models import AgendaItem, Meeting
from mdt.services.agenda import agenda_since
from mdt.services.schedule import LONDON
from pcn.models import User
from pcn.working_days import add_working_days

# A good-news story is offered to the agendas of its MDT for this long after it was recorded, until the
# person is on one of them (our choice: about two months of weekly meetings, one of a monthly MDT).
GOOD_NEWS_OFFER_WEEKS = 8
GOOD_NEWS_EXCERPT = 200  # characters of the story in the suggestion (the agenda item's reason)


def agenda_suggestions(*, meeting: Meeting, user: User) -> list[dict[str, Any]]:
    """Patients `user` may add (nothing is added until they confirm): patients `user` can see at the
    series' practices discharged or admitted since the last meeting, new frequent attenders (at or above
    settings.FREQUENT_ATTENDER_THRESHOLD in an import since then, below it in the one before), care
    home admissions, which need an MDT assessment within 7 working days (EHCH, DOMAIN.md), and good
    news: feedback marked good news for this series in the GOOD_NEWS_OFFER_WEEKS before the meeting,
    for someone not on one of the series' agendas since it was recorded (seed 000: keep the MDT
    "abreast of 'good news' stories").

    Returns [{"patient": Patient, "reasons": [str, …], "ehch": EhchDue | None}, …] in name order;
    patients already on the agenda are left out. "ehch" is the patient page's PCSP badge as of today (a
    care home resident's PCSP due or overdue, careplans), else None. Four queries, and up to two more
    for the badges when there is anyone to suggest: seven at most, whatever the number of patients.
    """
    since = agenda_since(meeting=meeting)
    until = meeting.starts_at
    in_scope = (
        Patient.objects.visible_to(user)
        .filter(practice__in=meeting.series.practices.all(), is_deceased=False, has_left=False)
        .exclude(agenda_items__meeting=meeting)
    )
    reasons: dict[int, list[str]] = {}
    events = (
        CareEvent.objects.filter(
            patient__in=in_scope,
            occurred_at__gte=since,
            occurred_at__lt=until,
            kind__in=[
                CareEvent.Kind.DISCHARGE,
                CareEvent.Kind.ADMISSION,
                CareEvent.Kind.CARE_HOME_ADMISSION,
            ],
        )
        .order_by("occurred_at", "id")
        .values_list("patient_id", "kind", "occurred_at", "provider")
    )
    for patient_id, kind, occurred_at, provider in events:
        local_day = occurred_at.astimezone(LONDON).date()
        label = CareEvent.Kind(kind).label
        text = f"{label} on {local_day:%-d %b %Y}" + (f" ({provider})" if provider else "")
        if kind == CareEvent.Kind.CARE_HOME_ADMISSION:
            text += f": MDT assessment due by {add_working_days(local_day, 7):%-d %b %Y}"
        reasons.setdefault(patient_id, []).append(text)
    threshold = settings.FREQUENT_ATTENDER_THRESHOLD
    snapshots = RiskSnapshot.objects.filter(patient=OuterRef("pk")).order_by("-taken_on", "-id")
    frequent = (
        in_scope.filter(ae_attendances_12m__gte=threshold)
        .annotate(
            latest_on=Subquery(snapshots.values("taken_on")[:1]),
            previous_ae=Coalesce(Subquery(snapshots.values("ae_attendances_12m")[1:2]), 0),
        )
        .filter(latest_on__gte=since.astimezone(LONDON).date(), previous_ae__lt=threshold)
        .values_list("pk", "ae_attendances_12m")
    )
    for patient_id, attendances in frequent:
        reasons.setdefault(patient_id, []).append(
            f"New frequent attender: {attendances} A&E attendances in 12 months"
        )
    for patient_id, text in _good_news(meeting=meeting, in_scope=in_scope):
        reasons.setdefault(patient_id, []).append(text)
    patients = Patient.objects.filter(pk__in=reasons).select_related("practice")
    badges = ehch_badges_for(patient_ids=reasons)
    return [{"patient": p, "reasons": reasons[p.pk], "ehch": badges.get(p.pk)} for p in patients]


def _good_news(*, meeting: Meeting, in_scope: Any) -> list[tuple[int, str]]:
    """(patient id, reason) for each good-news story to offer to `meeting` (one query)."""
    until = meeting.starts_at
    on_an_agenda_since = AgendaItem.objects.filter(
        patient_id=OuterRef("patient_id"),
        meeting__series=meeting.series,
        meeting__starts_at__gt=OuterRef("created_at"),
        meeting__starts_at__lt=until,
    ).exclude(meeting__status=Meeting.Status.CANCELLED)
    stories = (
        Feedback.objects.good_news()
        .filter(
            patient__in=in_scope,
            mdt_series=meeting.series,
            created_at__lt=until,
            created_at__gte=until - timedelta(weeks=GOOD_NEWS_OFFER_WEEKS),
        )
        .exclude(Exists(on_an_agenda_since))
        .order_by("given_on", "id")
    )
    return [
        (
            story.patient_id,
            f"Good news from {story.from_whom}, {story.given_on:%-d %b %Y}: "
            + Truncator(" ".join(story.story.split())).chars(GOOD_NEWS_EXCERPT),
        )
        for story in stories
    ]
