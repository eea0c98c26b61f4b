"""Patients and what the population-health imports say about them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import IntFlag
from typing import TYPE_CHECKING, Any, Self

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from pcn.models import Practice
from pcn.nhs_number import NHSNumberField

if TYPE_CHECKING:
    from pcn.models import User


class LongTermCondition(IntFlag):
    """Long-term-condition flags, stored as one integer so that filters need no join.

    The registers are QOF's (DOMAIN.md, "Call / recall"), plus cancer and frailty for the MDTs.
    """

    DIABETES = 1 << 0
    HYPERTENSION = 1 << 1
    CHD = 1 << 2
    STROKE_TIA = 1 << 3
    HEART_FAILURE = 1 << 4
    COPD = 1 << 5
    ASTHMA = 1 << 6
    CKD = 1 << 7
    DEMENTIA = 1 << 8
    SMI = 1 << 9
    LEARNING_DISABILITY = 1 << 10
    CANCER = 1 << 11

    @property
    def label(self) -> str:
        return LTC_LABELS[self]


LTC_LABELS: dict[LongTermCondition, str] = {
    LongTermCondition.DIABETES: "Diabetes",
    LongTermCondition.HYPERTENSION: "Hypertension",
    LongTermCondition.CHD: "Coronary heart disease",
    LongTermCondition.STROKE_TIA: "Stroke or TIA",
    LongTermCondition.HEART_FAILURE: "Heart failure",
    LongTermCondition.COPD: "COPD",
    LongTermCondition.ASTHMA: "Asthma",
    LongTermCondition.CKD: "Chronic kidney disease",
    LongTermCondition.DEMENTIA: "Dementia",
    LongTermCondition.SMI: "Severe mental illness",
    LongTermCondition.LEARNING_DISABILITY: "Learning disability",
    LongTermCondition.CANCER: "Cancer",
}


def ltc_labels(flags: int) -> list[str]:
    return [label for flag, label in LTC_LABELS.items() if flags & flag]


class EfiCategory(models.TextChoices):
    FIT = "fit", "Fit"
    MILD = "mild", "Mild frailty"
    MODERATE = "moderate", "Moderate frailty"
    SEVERE = "severe", "Severe frailty"


def efi_category(score: Decimal | float | None) -> str:
    """eFI category from the score (DOMAIN.md): fit 0-0.12, mild 0.13-0.24, moderate 0.25-0.36, severe > 0.36.

    Boundaries: the published bands are given to two decimals, so a score is compared at two
    decimals and a boundary value belongs to the lower band (0.12 fit, 0.24 mild, 0.36 moderate);
    anything above 0.36 is severe.
    """
    if score is None:
        return ""
    value = round(Decimal(str(score)), 2)
    if value <= Decimal("0.12"):
        return EfiCategory.FIT
    if value <= Decimal("0.24"):
        return EfiCategory.MILD
    if value <= Decimal("0.36"):
        return EfiCategory.MODERATE
    return EfiCategory.SEVERE


class CareHome(models.Model):
    """A care home aligned to the PCN (EHCH: each home is aligned to one PCN)."""

    name = models.CharField(max_length=200)
    ods_code = models.CharField("ODS code", max_length=10, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    practice = models.ForeignKey(
        Practice, on_delete=models.PROTECT, related_name="care_homes", help_text="The aligned practice."
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class PatientQuerySet(models.QuerySet["Patient"]):
    def visible_to(self, user: User | Any) -> Self:
        """The one choke point for patient scoping: the practices the user is a member of."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.filter(practice_id__in=user.practice_ids())

    def search(self, text: str) -> Self:
        """By NHS number (spaces and hyphens ignored) or by name; every word must match."""
        from pcn.nhs_number import normalise

        text = (text or "").strip()
        if not text:
            return self
        digits = normalise(text)
        if digits.isdigit():
            return self.filter(nhs_number__startswith=digits)
        qs = self
        for word in text.split():
            qs = qs.filter(models.Q(family_name__istartswith=word) | models.Q(given_name__istartswith=word))
        return qs


class Patient(models.Model):
    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        INDETERMINATE = "I", "Indeterminate"
        UNKNOWN = "U", "Not known"

    nhs_number = NHSNumberField(unique=True)
    # Blank only when an import without name columns (an ICB risk extract) brought the patient in.
    given_name = models.CharField(max_length=100, blank=True)
    family_name = models.CharField(max_length=100, blank=True)
    date_of_birth = models.DateField()
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="patients")

    address = models.CharField(max_length=300, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    mobile = models.CharField(max_length=30, blank=True)
    preferred_language = models.CharField(max_length=60, blank=True)
    interpreter_needed = models.BooleanField(default=False)
    is_carer = models.BooleanField(default=False)
    has_carer = models.BooleanField(default=False)
    care_home = models.ForeignKey(
        CareHome, null=True, blank=True, on_delete=models.SET_NULL, related_name="residents"
    )
    is_deceased = models.BooleanField(default=False)
    has_left = models.BooleanField("left the practice", default=False)

    # The latest risk-stratification figures, copied from the newest RiskSnapshot so that lists
    # filter and sort on indexed columns without a join.
    risk_score = models.DecimalField(
        max_digits=4,
        decimal_places=1,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    efi_score = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    efi_category = models.CharField(max_length=10, choices=EfiCategory.choices, blank=True)
    ae_attendances_12m = models.PositiveSmallIntegerField(
        "A&E attendances (12 months)", null=True, blank=True
    )
    emergency_admissions_12m = models.PositiveSmallIntegerField(
        "Emergency admissions (12 months)", null=True, blank=True
    )
    ltc_flags = models.PositiveIntegerField("long-term conditions", default=0)
    # Kept by the imports, for the cohort's "risk rising" and "new since the last import" filters:
    # the risk score of the import before the latest one that scored this patient, and the import
    # that first brought the patient in.
    previous_risk_score = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    first_batch = models.ForeignKey(
        "ImportBatch", null=True, blank=True, on_delete=models.SET_NULL, related_name="new_patients"
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_name", "id"]
        indexes = [
            models.Index(
                fields=["practice", "family_name", "given_name", "id"], name="patient_practice_name"
            ),
            models.Index(fields=["family_name", "given_name", "id"], name="patient_name"),
            models.Index(fields=["date_of_birth", "id"], name="patient_dob"),
            # The cohort list sorts on these (highest first, unknown last) with id as tie-breaker.
            models.Index(models.F("risk_score").desc(nulls_last=True), "id", name="patient_risk_desc"),
            models.Index(models.F("efi_score").desc(nulls_last=True), "id", name="patient_efi_desc"),
            models.Index(models.F("ae_attendances_12m").desc(nulls_last=True), "id", name="patient_ae_desc"),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} ({self.nhs_number})"

    def get_absolute_url(self) -> str:
        return reverse("caseload:patient_detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name.upper()}".strip() or "Name not known"

    @property
    def display_name(self) -> str:
        """Name as lists show it ("SMITH, Jane"); imports without names (an ICB extract) leave it unknown."""
        if not self.family_name and not self.given_name:
            return "Name not known"
        return ", ".join(part for part in (self.family_name.upper(), self.given_name) if part)

    @property
    def is_frequent_attender(self) -> bool:
        from django.conf import settings

        return (self.ae_attendances_12m or 0) >= settings.FREQUENT_ATTENDER_THRESHOLD

    @property
    def is_care_home_resident(self) -> bool:
        return self.care_home_id is not None

    def age(self, on: date) -> int:
        dob = self.date_of_birth
        return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))

    @property
    def conditions(self) -> list[str]:
        return ltc_labels(self.ltc_flags)


class ImportBatch(models.Model):
    """One population import: who, when, which file (by hash), what happened."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"

    source = models.CharField(max_length=100)
    filename = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="import_batches"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    counts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.source} {self.created_at:%Y-%m-%d %H:%M}"


class RiskSnapshot(models.Model):
    """What one import said about one patient, kept so that trends across imports can be shown."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="risk_snapshots")
    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="snapshots")
    taken_on = models.DateField()
    risk_score = models.DecimalField(max_digits=4, decimal_places=1, null=True, blank=True)
    efi_score = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    efi_category = models.CharField(max_length=10, choices=EfiCategory.choices, blank=True)
    ae_attendances_12m = models.PositiveSmallIntegerField(null=True, blank=True)
    emergency_admissions_12m = models.PositiveSmallIntegerField(null=True, blank=True)
    ltc_flags = models.PositiveIntegerField(default=0)
    source = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-taken_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "batch"], name="risksnapshot_one_per_patient_per_batch"
            )
        ]
        indexes = [models.Index(fields=["patient", "-taken_on"], name="risksnapshot_patient_taken")]

    def __str__(self) -> str:
        return f"{self.patient_id} {self.taken_on}"


class CaseloadEpisodeQuerySet(models.QuerySet["CaseloadEpisode"]):
    def visible_to(self, user: User | Any) -> Self:
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.filter(patient__practice_id__in=user.practice_ids())

    def open(self) -> Self:
        return self.filter(status=CaseloadEpisode.Status.OPEN)


class CaseloadEpisode(models.Model):
    """A patient taken onto a care coordinator's caseload: who, when, why; closed with a reason."""

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    class Reason(models.TextChoices):
        REFERRAL = "referral", "Referral"
        MDT = "mdt", "MDT decision"
        RISK_LIST = "risk_list", "Risk stratification list"
        OTHER = "other", "Other"

    class CloseReason(models.TextChoices):
        GOALS_MET = "goals_met", "Goals met"
        DECLINED = "declined", "Declined further support"
        MOVED = "moved", "Moved away or left the practice"
        DIED = "died", "Died"
        OTHER_SERVICE = "other_service", "Transferred to another service"
        NO_CONTACT = "no_contact", "Could not be contacted"
        OTHER = "other", "Other"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="episodes")
    coordinator = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="caseload_episodes")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    reason = models.CharField(max_length=20, choices=Reason.choices)
    reason_detail = models.CharField("why, in a few words", max_length=300, blank=True)
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    # Kept by the contacts (issue "Caseload II"); set by hand until then.
    last_contact_at = models.DateTimeField(null=True, blank=True)
    next_contact_due = models.DateField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    close_reason = models.CharField(max_length=20, choices=CloseReason.choices, blank=True)
    close_note = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CaseloadEpisodeQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-id"]
        constraints = [
            # A patient is on at most one caseload at a time.
            models.UniqueConstraint(
                fields=["patient"], condition=models.Q(status="open"), name="episode_one_open_per_patient"
            ),
            models.CheckConstraint(
                condition=models.Q(status="open", closed_at__isnull=True)
                | models.Q(status="closed", closed_at__isnull=False),
                name="episode_closed_has_closed_at",
            ),
        ]
        indexes = [
            models.Index(
                fields=["coordinator", "status", "next_contact_due"], name="episode_coordinator_due"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient} on {self.coordinator}'s caseload ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status == self.Status.OPEN
