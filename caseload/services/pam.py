"""The Patient Activation Measure: recording a score (with its coding row and re-measure task), and
the change and the chart the patient page shows."""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from caseload.codes import PAM_LEVEL, Code
from caseload.models import (
    ActivationMeasure,
    CaseloadEpisode,
    Patient,
    Task,
)
from caseload.services.coding import coding_entry_record
from pcn.audit import audit
from pcn.models import User


def _months_later(day: date, months: int) -> date:
    return day + relativedelta(months=months)  # 31 August + 6 months → 28/29 February


@transaction.atomic
def activation_record(*, patient: Patient, score: Any, measured_on: date, by: User) -> Any:
    """Record a Patient Activation Measure score (0-100, one decimal; the level is computed).

    Also: a coding-export row with the PAM concept id 962851000000103 and the level in the term
    ("Patient Activation Measure Level 3": CodingEntry is unique per source and term, and the level
    is what the GP record needs); a re-measure task due settings.PAM_REMEASURE_MONTHS later (default
    6, *unverified*: no NHSE-mandated interval was found, DOMAIN.md) for the coordinator of the
    patient's open episode, else the person who measured; and any earlier open re-measure task for
    the patient is completed, because this measure is the re-measure. PAM is licensed: only the
    score, level, date and who measured it are stored, never the questions or answers.
    """
    if measured_on > timezone.localdate():
        raise ValidationError("The date measured cannot be in the future.", code="future")
    score = Decimal(str(score))
    if not Decimal("0") <= score <= Decimal("100") or score != score.quantize(Decimal("0.1")):
        raise ValidationError("The score must be from 0 to 100, to one decimal place.", code="score")
    measure = ActivationMeasure.objects.create(
        patient=patient, score=score, measured_on=measured_on, measured_by=by
    )
    coding_entry_record(
        patient=patient,
        coded_on=measured_on,
        code=Code(PAM_LEVEL.key, f"{PAM_LEVEL.term} {measure.level}", PAM_LEVEL.snomed_id),
        recorded_by=by,
        source=f"pam:{measure.pk}",
    )
    now = timezone.now()
    earlier = list(
        Task.objects.open()
        .filter(patient=patient, kind=Task.Kind.PAM_REMEASURE)
        .select_for_update()
        .values_list("pk", flat=True)
    )
    if earlier:
        Task.objects.filter(pk__in=earlier).update(done_at=now, done_by=by)
    episode = CaseloadEpisode.objects.open().filter(patient=patient).select_related("coordinator").first()
    remeasure = Task.objects.create(
        patient=patient,
        title="Re-measure activation (PAM)",
        kind=Task.Kind.PAM_REMEASURE,
        owner=episode.coordinator if episode else by,
        due_on=_months_later(measured_on, settings.PAM_REMEASURE_MONTHS),
        created_by=by,
    )
    audit(
        None, "pam.record", [patient], user=by, measure_id=measure.pk, level=measure.level,
        remeasure_task_id=remeasure.pk, completed_task_ids=earlier,
    )  # fmt: skip
    return measure


MEANINGFUL_PAM_CHANGE = Decimal("3")  # points within 12 months (DOMAIN.md, "Patient Activation Measure")


@dataclass(frozen=True)
class PamChange:
    points: Decimal
    since: date

    @property
    def size(self) -> Decimal:
        return abs(self.points)

    @property
    def meaningful(self) -> bool:
        return self.size >= MEANINGFUL_PAM_CHANGE

    @property
    def improved(self) -> bool:
        return self.points >= MEANINGFUL_PAM_CHANGE


def pam_change(measures: list[ActivationMeasure]) -> PamChange | None:
    """The latest score against the earliest one in the 12 months before it (measures oldest first).
    A gain of 3 points or more within 12 months is a meaningful change (DOMAIN.md)."""
    if len(measures) < 2:
        return None
    latest = measures[-1]
    window_start = latest.measured_on - timedelta(days=365)
    earlier = [m for m in measures[:-1] if m.measured_on >= window_start]
    if not earlier:
        return None
    return PamChange(points=latest.score - earlier[0].score, since=earlier[0].measured_on)


# The chart: a server-drawn SVG (no JavaScript library; presentation attributes, which the CSP allows).
CHART_WIDTH, CHART_HEIGHT = 640, 260


CHART_LEFT, CHART_RIGHT, CHART_TOP, CHART_BOTTOM = 48, 76, 12, 36


# Level bands drawn between the published boundaries (1 ≤ 47.0; 2 47.1-55.1; 3 55.2-67.0; 4 ≥ 67.1).
PAM_BANDS = ((1, 0.0, 47.05, "#fde0dc"), (2, 47.05, 55.15, "#fff1c6"), (3, 55.15, 67.05, "#dde9f5"),
             (4, 67.05, 100.0, "#dcefe0"))  # fmt: skip


def pam_chart(measures: list[ActivationMeasure]) -> dict[str, Any] | None:
    """Coordinates for templates/caseload/pam_chart.html (measures oldest first)."""
    if not measures:
        return None
    plot_w = CHART_WIDTH - CHART_LEFT - CHART_RIGHT
    plot_h = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM

    def y(score: float) -> float:
        return round(CHART_TOP + plot_h * (1 - score / 100), 1)

    first, last = measures[0].measured_on, measures[-1].measured_on
    span = (last - first).days

    def x(day: date) -> float:
        if span == 0:
            return round(CHART_LEFT + plot_w / 2, 1)
        return round(CHART_LEFT + plot_w * (day - first).days / span, 1)

    points = [
        {
            "x": x(m.measured_on),
            "y": y(float(m.score)),
            "score": m.score,
            "level": m.level,
            "on": m.measured_on,
        }
        for m in measures
    ]
    label_every = max(1, len(points) // 6)
    for index, point in enumerate(points):
        point["label"] = index % label_every == 0 or index == len(points) - 1
    bands = [
        {"level": level, "y": y(high), "height": round(y(low) - y(high), 1), "fill": fill,
         "label_y": round((y(low) + y(high)) / 2 + 4, 1)}
        for level, low, high, fill in PAM_BANDS
    ]  # fmt: skip
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "left": CHART_LEFT,
        "right": CHART_WIDTH - CHART_RIGHT,
        "top": CHART_TOP,
        "bottom": CHART_HEIGHT - CHART_BOTTOM,
        "plot_width": plot_w,
        "band_label_x": CHART_WIDTH - CHART_RIGHT + 6,
        "date_label_y": CHART_HEIGHT - CHART_BOTTOM + 18,
        "bands": bands,
        "ticks": [{"value": v, "y": y(v), "label_y": y(v) + 4} for v in (0, 47, 55, 67, 100)],
        "points": points,
        "polyline": " ".join(f"{p['x']},{p['y']}" for p in points),
    }
