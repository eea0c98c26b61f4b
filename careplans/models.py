"""Personalised care and support plans (PCSP), following the PRSB PCSP standard's sections.

One plan per patient, with versions. A version is a draft until it is agreed with the person;
an agreed version never changes (editing it starts a new draft pre-filled from it), and the
previous agreed version is marked superseded when the new one is agreed.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Self

from django.core.validators import URLValidator
from django.db import models
from django.db.models.functions import Coalesce

from caseload.models import CaseloadEpisode
from pcn.models import PracticeScopedQuerySet


class CarePlanQuerySet(PracticeScopedQuerySet):
    practice_lookup = "patient__practice_id"


class CarePlan(models.Model):
    patient = models.OneToOneField("caseload.Patient", on_delete=models.PROTECT, related_name="care_plan")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CarePlanQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Care plan for {self.patient}"


class CarePlanVersionQuerySet(PracticeScopedQuerySet):
    practice_lookup = "plan__patient__practice_id"

    def agreed(self) -> Self:
        return self.filter(status=CarePlanVersion.Status.AGREED)

    def with_rows(self) -> Self:
        """With who agreed it and the named coordinator, and its goals and support needs prefetched
        with their signposting services: the plan page's versions in three queries."""
        return self.select_related("agreed_by", "named_coordinator").prefetch_related(
            models.Prefetch("goals", queryset=Goal.objects.select_related("signposting__service")),
            models.Prefetch(
                "support_needs", queryset=SupportNeed.objects.select_related("signposting__service")
            ),
        )

    def with_owner(self) -> Self:
        """Annotate `owner_id`: the coordinator of the patient's open episode, else who agreed the plan."""
        open_coordinator = CaseloadEpisode.objects.open().filter(
            patient_id=models.OuterRef("plan__patient_id")
        )
        return self.annotate(
            owner_id=Coalesce(
                models.Subquery(open_coordinator.values("coordinator_id")[:1]),
                "agreed_by_id",
                output_field=CarePlanVersion._meta.get_field("id"),
            ),
        )

    def reviews_due(self, *, by: date) -> Self:
        """Agreed versions to review by `by` (overdue ones included), soonest first, with `owner_id`."""
        return (
            self.agreed()
            .filter(review_date__lte=by)
            .select_related("plan__patient__practice", "agreed_by")
            .with_owner()
            .order_by("review_date", "id")
        )


class CarePlanReviewQuerySet(PracticeScopedQuerySet):
    practice_lookup = "version__plan__patient__practice_id"


class CarePlanVersion(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        AGREED = "agreed", "Agreed"
        SUPERSEDED = "superseded", "Superseded"

    class AgreedHow(models.TextChoices):
        IN_PERSON = "in_person", "In person"
        PHONE = "phone", "Phone"
        VIDEO = "video", "Video"

    class AgreedWith(models.TextChoices):
        PATIENT = "patient", "The person"
        CARER = "carer", "Their carer"
        ADVOCATE = "advocate", "Their advocate"

    class Respect(models.TextChoices):
        NOT_DISCUSSED = "not_discussed", "Not discussed"
        IN_PLACE = "in_place", "ReSPECT form in place"
        DECLINED = "declined", "Declined"

    plan = models.ForeignKey(CarePlan, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.DRAFT)
    # Optimistic locking: a save carries the lock_version it read; a stale one is refused.
    lock_version = models.PositiveIntegerField(default=0)

    # About me and what matters to me (in the person's words)
    about_me = models.TextField(blank=True)
    what_matters = models.TextField("what matters to me", blank=True)
    # My strengths and who supports me
    strengths = models.TextField(blank=True)
    who_supports_me = models.TextField(blank=True)
    # My health conditions (pre-filled from the imported data, editable)
    health_conditions = models.TextField(blank=True)
    # Shared decision making
    decision_aids_used = models.TextField(blank=True)
    decisions_reached = models.TextField(blank=True)
    # My contingency and escalation plan
    contingency_plan = models.TextField("if … then …, who to call", blank=True)
    # Advance care planning and ReSPECT
    advance_care_planning = models.TextField(blank=True)
    respect_status = models.CharField(
        "ReSPECT", max_length=16, choices=Respect.choices, default=Respect.NOT_DISCUSSED
    )
    # My contacts
    named_coordinator = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    gp_name = models.CharField("GP", max_length=200, blank=True)
    other_contacts = models.TextField(blank=True)
    # Consent to share
    consent_to_share = models.BooleanField(default=False)
    share_with = models.TextField("shared with", blank=True)
    review_date = models.DateField(null=True, blank=True)

    # Agreement
    agreed_on = models.DateField(null=True, blank=True)
    agreed_how = models.CharField(max_length=12, choices=AgreedHow.choices, blank=True)
    agreed_with = models.CharField(max_length=12, choices=AgreedWith.choices, blank=True)
    agreed_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    # The review sweep makes one review task per agreed version.
    review_task_created_at = models.DateTimeField(null=True, blank=True)

    created_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = CarePlanVersionQuerySet.as_manager()

    class Meta:
        ordering = ["plan", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="careplan_version_number_unique"),
            # At most one draft and one agreed (current) version per plan.
            models.UniqueConstraint(
                fields=["plan"], condition=models.Q(status="draft"), name="careplan_one_draft"
            ),
            models.UniqueConstraint(
                fields=["plan"], condition=models.Q(status="agreed"), name="careplan_one_agreed"
            ),
        ]
        indexes = [models.Index(fields=["status", "review_date"], name="careplan_review_due")]

    def __str__(self) -> str:
        return f"{self.plan} v{self.number} ({self.get_status_display()})"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class Goal(models.Model):
    """One of my goals, in the person's words."""

    version = models.ForeignKey(CarePlanVersion, on_delete=models.CASCADE, related_name="goals")
    goal = models.TextField()
    steps = models.TextField(blank=True)
    who_helps = models.CharField(max_length=300, blank=True)
    target_date = models.DateField(null=True, blank=True)
    progress = models.TextField(blank=True)
    # When the person and the coordinator agreed the goal was met (the outcomes page counts them).
    met_on = models.DateField("date met", null=True, blank=True)
    signposting = models.ForeignKey(
        "caseload.Signposting", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.goal[:60]


class SupportNeed(models.Model):
    class Domain(models.TextChoices):
        HEALTH = "health", "Health"
        MOBILITY = "mobility", "Mobility and falls"
        MEMORY = "memory", "Memory"
        MENTAL_WELLBEING = "mental_wellbeing", "Mental wellbeing"
        LONELINESS = "loneliness", "Loneliness"
        CARER = "carer", "Carer"
        HOUSING = "housing", "Housing"
        MONEY = "money", "Money and benefits"
        EMPLOYMENT = "employment", "Employment and training"
        PHB = "phb", "Personal health budget"

    version = models.ForeignKey(CarePlanVersion, on_delete=models.CASCADE, related_name="support_needs")
    domain = models.CharField(max_length=20, choices=Domain.choices)
    need = models.TextField()
    support_agreed = models.TextField(blank=True)
    signposting = models.ForeignKey(
        "caseload.Signposting", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["domain", "id"]

    def __str__(self) -> str:
        return f"{self.get_domain_display()}: {self.need[:40]}"


class CarePlanReview(models.Model):
    """A review of the current (agreed) version with the person. "No changes" keeps the plan as agreed
    and sets its next review date; "changes needed" starts a new draft, agreed in the usual way."""

    class Outcome(models.TextChoices):
        NO_CHANGE = "no_change", "No changes needed: the plan stays as agreed"
        CHANGES = "changes", "Changes needed: start a new version of the plan"

    version = models.ForeignKey(CarePlanVersion, on_delete=models.PROTECT, related_name="reviews")
    reviewed_on = models.DateField()
    reviewed_how = models.CharField(max_length=12, choices=CarePlanVersion.AgreedHow.choices)
    reviewed_with = models.CharField(max_length=12, choices=CarePlanVersion.AgreedWith.choices)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    notes = models.TextField(blank=True)
    next_review_date = models.DateField(null=True, blank=True)
    recorded_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = CarePlanReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-reviewed_on", "-id"]

    def __str__(self) -> str:
        return f"Review of {self.version} on {self.reviewed_on}"


# --- Shared decision making: decision aids and the offers of them (issue #11) -------------------------


class DecisionAid(models.Model):
    """A patient decision aid the PCN offers (e.g. a NICE patient decision aid), kept by administrators
    in the admin site. Withdrawn ones (is_active off) are not offered again; past offers keep them."""

    title = models.CharField(max_length=200)
    url = models.URLField(
        "link",
        max_length=500,
        validators=[
            URLValidator(
                schemes=["https"], message="Enter a link that starts with https://", code="not_https"
            )
        ],
    )
    decision = models.CharField("the decision it supports", max_length=300)
    source = models.CharField(
        max_length=200, blank=True, help_text='For example: "NICE patient decision aid"'
    )
    is_active = models.BooleanField("offered now", default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "id"]

    def __str__(self) -> str:
        return f"{self.title} ({self.source})" if self.source else self.title


class DecisionAidOfferQuerySet(PracticeScopedQuerySet):
    practice_lookup = "patient__practice_id"


class DecisionAidOffer(models.Model):
    """A decision aid offered to the person for a decision they are making, with how they prepared for
    the conversation with the clinician (what matters to them, their questions), and what was decided."""

    patient = models.ForeignKey(
        "caseload.Patient", on_delete=models.PROTECT, related_name="decision_aid_offers"
    )
    aid = models.ForeignKey(DecisionAid, on_delete=models.PROTECT, related_name="offers")
    decision = models.TextField("the decision being made")
    offered_on = models.DateField()
    offered_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    what_matters = models.TextField("what matters most to them about this decision", blank=True)
    questions = models.TextField("questions they want to ask", blank=True)
    outcome = models.TextField("outcome of the conversation", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = DecisionAidOfferQuerySet.as_manager()

    class Meta:
        ordering = ["-offered_on", "-id"]

    def __str__(self) -> str:
        return f"{self.aid.title} offered on {self.offered_on}"


def version_copy(version: CarePlanVersion, **changes: Any) -> dict[str, Any]:
    """The plan fields of a version, to pre-fill a new draft from it."""
    skip = {"id", "plan", "number", "status", "lock_version", "agreed_on", "agreed_how", "agreed_with",
            "agreed_by", "superseded_at", "review_task_created_at", "created_by", "created_at", "updated_by",
            "updated_at"}  # fmt: skip
    values = {
        f.attname: getattr(version, f.attname) for f in version._meta.concrete_fields if f.name not in skip
    }
    values.update(changes)
    return values
