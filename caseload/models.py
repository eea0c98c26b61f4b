"""Patients and what the population-health imports say about them."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import IntFlag
from typing import TYPE_CHECKING, Any, Self

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone

from pcn.models import Practice, PracticeScopedQuerySet, Role, overdue_first
from pcn.nhs_number import NHSNumberField, normalise
from pcn.permissions import Perm, has_perm

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
    ATRIAL_FIBRILLATION = 1 << 12
    NON_DIABETIC_HYPERGLYCAEMIA = 1 << 13

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
    LongTermCondition.ATRIAL_FIBRILLATION: "Atrial fibrillation",
    LongTermCondition.NON_DIABETIC_HYPERGLYCAEMIA: "Non-diabetic hyperglycaemia",
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


class PatientQuerySet(PracticeScopedQuerySet):
    practice_lookup = "practice_id"

    def search(self, text: str) -> Self:
        """By NHS number (spaces and hyphens ignored) or by name; every word must match."""
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
    # As the GP record codes it (e.g. "White British", "Indian"): free text, as extracts give the term,
    # not the NHS Data Dictionary letter. Blank: not recorded (the data quality report lists them). A
    # database default too, so that the raw COPY writers (the demo seed, the benches) need not name it.
    ethnicity = models.CharField(max_length=100, blank=True, default="", db_default="")
    interpreter_needed = models.BooleanField(default=False)
    is_carer = models.BooleanField(default=False)
    has_carer = models.BooleanField(default=False)
    care_home = models.ForeignKey(
        CareHome, null=True, blank=True, on_delete=models.SET_NULL, related_name="residents"
    )
    # The move-in date, when a coordinator records it (the resident flag from an import has none); it
    # starts the EHCH 7-working-day PCSP clock as a care home admission event does.
    care_home_since = models.DateField("moved into the care home on", null=True, blank=True)
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
        return reverse("overview:patient_detail", args=[self.pk])

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


class ImportProfile(models.Model):
    """How to read one source's files: which column is which field, date formats, encoding, delimiter.

    The shipped profiles (our canonical CSV, an EMIS search export, a SystmOne export and an ICB risk
    extract) come from a data migration; administrators edit them and add their own (the forms check
    a profile with `caseload.services.import_files.profile_problems`). The field names a column can map to, and
    the rules for each, are in `caseload.services.import_files.FIELDS`.
    """

    class Encoding(models.TextChoices):
        # AUTO: UTF-8 when the whole file reads as UTF-8 (or starts with its byte order mark), else
        # Windows-1252 (caseload.services.import_files.detect_encoding). The others pin one.
        AUTO = "auto", "Detect: UTF-8 (with or without a byte order mark), otherwise Windows-1252"
        # "utf-8-sig" reads UTF-8 with or without the byte order mark Excel writes ("CSV UTF-8").
        UTF8 = "utf-8-sig", "UTF-8 (with or without a byte order mark)"
        CP1252 = "cp1252", "Windows-1252 (cp1252, Excel's plain CSV on UK Windows)"

    class Delimiter(models.TextChoices):
        COMMA = ",", "Comma"
        SEMICOLON = ";", "Semicolon"
        TAB = "\t", "Tab"
        PIPE = "|", "Vertical bar (|)"

    name = models.CharField(max_length=100, unique=True)
    slug = models.SlugField(
        max_length=50,
        unique=True,
        help_text="Short name for `manage.py import_population --profile` and the drop folder's sub-folder.",
    )
    description = models.TextField(blank=True)
    column_map = models.JSONField(
        default=dict,
        blank=True,
        help_text="Source column heading → field name (caseload.services.import_files.FIELDS).",
    )
    date_formats = models.JSONField(
        default=list, blank=True, help_text="strptime formats, tried in order, e.g. %d/%m/%Y."
    )
    encoding = models.CharField(max_length=10, choices=Encoding.choices, default=Encoding.AUTO)
    delimiter = models.CharField(max_length=1, choices=Delimiter.choices, default=Delimiter.COMMA)
    fill_down = models.JSONField(
        default=list,
        blank=True,
        help_text="Source columns whose blank cells take the value above (EMIS: a patient's later rows).",
    )
    one_row_per_patient = models.BooleanField(
        default=True,
        help_text="When on, an NHS number found on two rows is an error; when off, the rows are one "
        "patient's (EMIS: one row per coded condition) and their conditions are combined.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# Batches of the transfers-of-care feed share ImportBatch with the population imports.
CARE_EVENT_FEED_SOURCE = "Care events feed"


class ImportBatchQuerySet(models.QuerySet["ImportBatch"]):
    def population(self) -> Self:
        """Population imports only (not care-event feed batches, which have their own pages)."""
        return self.exclude(source=CARE_EVENT_FEED_SOURCE)

    def visible_to(self, user: User | Any) -> Self:
        """Administrators see every import; PCN managers see their own and the unattended ones
        (drop folder, `manage.py import_population` without --user)."""
        if not has_perm(user, Perm.IMPORT_POPULATION):
            return self.none()
        if user.has_role(Role.ADMINISTRATOR):
            return self
        return self.filter(models.Q(created_by=user) | models.Q(created_by__isnull=True))

    def stuck(self, *, since: datetime) -> Self:
        """Batches still checking, waiting or running that have shown no sign of life since `since`."""
        return self.filter(status__in=ImportBatch.WORKING, updated_at__lt=since)


class ImportBatch(models.Model):
    """One population import: who, when, which file (by hash), what happened.

    The web upload goes CHECKING (the preview is computed in the background) → CHECKED (the user
    sees the counts and the errors) → PENDING (they chose to import) → RUNNING → DONE or FAILED;
    CANCELLED when they decide not to. Command-line and drop-folder imports start at RUNNING.
    A batch left CHECKING, PENDING or RUNNING with no sign of life for IMPORT_STUCK_AFTER_MINUTES
    (its worker was killed) is failed by the drop-folder sweep (caseload.services.import_runs).
    """

    class Status(models.TextChoices):
        CHECKING = "checking", "Checking the file"
        CHECKED = "checked", "Checked"
        PENDING = "pending", "Waiting"
        RUNNING = "running", "Importing"
        DONE = "done", "Imported"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    WORKING = (Status.CHECKING, Status.PENDING, Status.RUNNING)  # queued or being worked on

    source = models.CharField(max_length=100)
    profile = models.ForeignKey(
        ImportProfile, null=True, blank=True, on_delete=models.PROTECT, related_name="batches"
    )
    filename = models.CharField(max_length=255, blank=True)
    file_sha256 = models.CharField(max_length=64, blank=True)
    # The uploaded file, under MEDIA_ROOT/imports/, kept from upload until the import ends.
    file = models.FileField(upload_to="imports/", max_length=200, blank=True)
    created_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="import_batches"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The worker's sign of life: set by each save, each claim of the batch and each progress update.
    updated_at = models.DateTimeField(auto_now=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    dry_run = models.BooleanField(default=False)
    skip_invalid = models.BooleanField("skip invalid rows", default=False)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    # {"rows", "new", "updated", "unchanged", "invalid"}: rows read, patients new/updated/unchanged,
    # rows not imported. The preview's counts until the import runs, then the import's.
    counts = models.JSONField(default=dict, blank=True)
    # {"errors": [[row, column, value, reason], …] (the first IMPORT_REPORT_ERRORS_SHOWN),
    #  "error_count": n, "warnings": [[row, column, value, reason], …] (rows imported all the same,
    #  e.g. a patient's rows repeated further down), "warning_count": n, "notes": [...]}; every
    #  error and warning is in report_file (CSV).
    report = models.JSONField(default=dict, blank=True)
    report_file = models.FileField(upload_to="imports/reports/", max_length=200, blank=True)
    unmapped_columns = models.JSONField(default=list, blank=True)
    error_message = models.TextField(blank=True)
    # A drop-folder import's file, by its name in IMPORT_DROP_DIR/processing/ while it is imported.
    drop_file = models.CharField(max_length=255, blank=True)

    objects = ImportBatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "import batches"

    def __str__(self) -> str:
        return f"{self.source} {self.created_at:%Y-%m-%d %H:%M}"

    def get_absolute_url(self) -> str:
        return reverse("caseload:import_batch_detail", args=[self.pk])

    @property
    def is_working(self) -> bool:
        """Background work is queued or running: the page polls for progress."""
        return self.status in self.WORKING

    @property
    def error_count(self) -> int:
        return int(self.report.get("error_count", 0))

    @property
    def warning_count(self) -> int:
        return int(self.report.get("warning_count", 0))

    @property
    def new_count(self) -> int:
        # The demo seed's batches say "created" for "new".
        return int(self.counts.get("new", self.counts.get("created", 0)))

    @property
    def valid_patients(self) -> int:
        counts = self.counts
        return sum(int(counts.get(key, 0)) for key in ("new", "updated", "unchanged"))


class RiskSnapshot(models.Model):
    """What one import said about one patient, kept so that trends across imports can be shown."""

    # No index of its own: (patient, batch) and (patient, -taken_on) both start with it, and every
    # import writes a snapshot per new or changed patient, so a third index would only cost time.
    patient = models.ForeignKey(
        Patient, on_delete=models.CASCADE, related_name="risk_snapshots", db_index=False
    )
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


class CaseloadEpisodeQuerySet(PracticeScopedQuerySet):
    practice_lookup = "patient__practice_id"

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


# --- Caseload II: referrals, transfers of care, contacts, tasks, activation, signposting, coding ------


def pam_level(score: Decimal | float) -> int:
    """Patient Activation Measure level from the 0-100 score (DOMAIN.md; Insignia Health's bands):
    1 ≤ 47.0; 2 47.1-55.1; 3 55.2-67.0; 4 ≥ 67.1. Scores are recorded to one decimal place."""
    value = round(Decimal(str(score)), 1)
    if value <= Decimal("47.0"):
        return 1
    if value <= Decimal("55.1"):
        return 2
    if value <= Decimal("67.0"):
        return 3
    return 4


class MdtKind(models.TextChoices):
    """The kinds of MDT (mdt.models.MeetingSeries.Kind is this class): a referral type names the kind
    of MDT it feeds, and caseload sits below mdt, so the vocabulary lives here."""

    CARE_HOME = "care_home", "Care home MDT"
    CANCER_PALLIATIVE = "cancer_palliative", "Cancer and palliative care"
    FRAILTY = "frailty", "Frailty / proactive care"
    OTHER = "other", "Other"


class ReferralType(models.Model):
    """Administrator-defined: care home MDT, frailty / proactive care, cancer & palliative, …"""

    name = models.CharField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    mdt_kind = models.CharField("feeds the MDT of kind", max_length=20, blank=True, choices=MdtKind.choices)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ReferralCriterion(models.Model):
    referral_type = models.ForeignKey(ReferralType, on_delete=models.CASCADE, related_name="criteria")
    text = models.CharField(max_length=300)
    position = models.PositiveSmallIntegerField(default=0)
    is_required = models.BooleanField(
        default=True, help_text="Must be met before the referral can be directed to an MDT."
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.text


class ReferralQuerySet(PracticeScopedQuerySet):
    practice_lookup = "patient__practice_id"


class Referral(models.Model):
    class Source(models.TextChoices):
        GP = "gp", "GP"
        PRACTICE_NURSE = "practice_nurse", "Practice nurse"
        CARE_HOME = "care_home", "Care home"
        HOSPITAL = "hospital", "Hospital"
        SPLW = "splw", "Social prescribing link worker"
        SELF = "self", "Self-referral"
        OTHER = "other", "Other"

    class Urgency(models.TextChoices):
        ROUTINE = "routine", "Routine"
        SOON = "soon", "Soon (within a week)"
        URGENT = "urgent", "Urgent (within 2 working days)"

    class Status(models.TextChoices):
        NEW = "new", "New"
        ACCEPTED = "accepted", "Accepted onto the caseload"
        DECLINED = "declined", "Declined"
        DIRECTED_TO_MDT = "mdt", "Directed to an MDT"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="referrals")
    referral_type = models.ForeignKey(ReferralType, on_delete=models.PROTECT, related_name="referrals")
    source = models.CharField(max_length=20, choices=Source.choices)
    referrer_name = models.CharField(max_length=200)
    referrer_email = models.EmailField(blank=True)
    reason = models.TextField()
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)
    received_on = models.DateField()
    # The checklist as answered: [{"criterion_id": 3, "text": "…", "required": true, "met": false}, …]
    # (a copy, so that later edits to the type's criteria do not rewrite old answers).
    criteria = models.JSONField(default=list, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.NEW)
    created_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decline_reason = models.TextField(blank=True)
    referrer_told_at = models.DateTimeField(null=True, blank=True)
    mdt_series = models.ForeignKey(
        "mdt.MeetingSeries", null=True, blank=True, on_delete=models.PROTECT, related_name="referrals"
    )
    episode = models.ForeignKey(
        CaseloadEpisode, null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals"
    )

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["-received_on", "-id"]
        indexes = [models.Index(fields=["status", "received_on"], name="referral_status_received")]

    def __str__(self) -> str:
        return f"{self.referral_type} referral for {self.patient}"

    @property
    def criteria_met(self) -> bool:
        return all(answer.get("met") for answer in self.criteria if answer.get("required", True))


class CareEventQuerySet(PracticeScopedQuerySet):
    practice_lookup = "patient__practice_id"

    def to_triage(self) -> Self:
        return self.filter(triaged_at__isnull=True, patient__isnull=False)

    def unmatched(self) -> Self:
        return self.filter(patient__isnull=True, resolved_at__isnull=True)


class CareEvent(models.Model):
    """A transfer of care: admission, discharge, A&E, out of hours, NHS 111, care home admission, death."""

    class Kind(models.TextChoices):
        ADMISSION = "admission", "Hospital admission"
        DISCHARGE = "discharge", "Hospital discharge"
        AE_ATTENDANCE = "ae", "A&E attendance"
        OUT_OF_HOURS = "ooh", "Out-of-hours contact"
        NHS_111 = "nhs111", "NHS 111 report"
        CARE_HOME_ADMISSION = "care_home_admission", "Care home admission"
        DEATH = "death", "Death notification"

    class Outcome(models.TextChoices):
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        CONTACT = "contact", "Contact recorded"
        TASK = "task", "Task created"
        MDT = "mdt", "Added to an MDT"
        REFERRED = "referred", "Referred"

    class Source(models.TextChoices):
        MANUAL = "manual", "Entered by hand"
        FEED = "feed", "Imported feed"

    patient = models.ForeignKey(
        Patient, null=True, blank=True, on_delete=models.PROTECT, related_name="care_events"
    )
    nhs_number = NHSNumberField(help_text="As received; kept for unmatched events.")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    provider = models.CharField(max_length=200, blank=True)
    summary = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    batch = models.ForeignKey(
        ImportBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="care_events"
    )
    created_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    triaged_at = models.DateTimeField(null=True, blank=True)
    triaged_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    outcome_note = models.TextField(blank=True)
    # An unmatched event (no patient with its NHS number) is resolved by matching it or dismissing it.
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolution_note = models.CharField(max_length=300, blank=True)

    objects = CareEventQuerySet.as_manager()

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            # A feed re-imported changes nothing: the same event is the same row.
            models.UniqueConstraint(
                fields=["nhs_number", "kind", "occurred_at", "provider"], name="careevent_unique_event"
            )
        ]
        indexes = [models.Index(fields=["triaged_at", "occurred_at"], name="careevent_triage")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_at:%Y-%m-%d}"


class Contact(models.Model):
    class Method(models.TextChoices):
        PHONE = "phone", "Phone"
        FACE_TO_FACE = "face_to_face", "Face to face"
        VIDEO = "video", "Video"
        HOME_VISIT = "home_visit", "Home visit"
        CARE_HOME_VISIT = "care_home_visit", "Care home visit"
        MESSAGE = "message", "Message"

    class WithWhom(models.TextChoices):
        PATIENT = "patient", "Patient"
        CARER = "carer", "Carer"
        PROFESSIONAL = "professional", "Professional"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="contacts")
    contact_at = models.DateTimeField()
    method = models.CharField(max_length=20, choices=Method.choices)
    with_whom = models.CharField(max_length=20, choices=WithWhom.choices, default=WithWhom.PATIENT)
    duration_minutes = models.PositiveSmallIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(600)]
    )
    # Keys of caseload.codes.CONTACT_INTERVENTIONS.
    interventions = models.JSONField(default=list, blank=True)
    notes = models.TextField(blank=True)
    outcome = models.CharField(max_length=300, blank=True)
    next_contact_due = models.DateField(null=True, blank=True)
    care_event = models.ForeignKey(
        CareEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="contacts"
    )
    recorded_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-contact_at", "-id"]
        indexes = [models.Index(fields=["patient", "-contact_at"], name="contact_patient_at")]

    def __str__(self) -> str:
        return f"{self.get_method_display()} contact {self.contact_at:%Y-%m-%d}"


class TaskQuerySet(PracticeScopedQuerySet):
    practice_lookup = "patient__practice_id"

    def open(self) -> Self:
        return self.filter(done_at__isnull=True)

    def in_order(self, *, today: date) -> Self:
        """Overdue first, then open by due date, then done ones."""
        return overdue_first(self, closed=models.Q(done_at__isnull=False), on=today)


class Task(models.Model):
    class Kind(models.TextChoices):
        GENERAL = "general", "Task"
        DISCHARGE_FOLLOW_UP = "discharge_follow_up", "Discharge follow-up"
        PAM_REMEASURE = "pam_remeasure", "Re-measure activation (PAM)"
        TRIAGE = "triage", "From a transfer of care"
        CARE_PLAN_REVIEW = "care_plan_review", "Review the care plan"
        SAFEGUARDING = "safeguarding", "Safeguarding concern"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="tasks")
    title = models.CharField(max_length=200)
    kind = models.CharField(max_length=24, choices=Kind.choices, default=Kind.GENERAL)
    owner = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="tasks")
    due_on = models.DateField()
    notes = models.TextField(blank=True)
    care_event = models.ForeignKey(
        CareEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    # A safeguarding lead's task to acknowledge a concern: done when the concern is acknowledged. Its
    # title and notes say nothing of the concern (tasks show to the whole team).
    safeguarding_concern = models.ForeignKey(
        "SafeguardingConcern", null=True, blank=True, on_delete=models.PROTECT, related_name="tasks"
    )
    created_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey("pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["owner", "done_at", "due_on"], name="task_owner_open_due")]

    def __str__(self) -> str:
        return self.title


class ActivationMeasure(models.Model):
    """A Patient Activation Measure result. PAM is licensed: the score, level, date and who measured
    it are stored; the 13 questions and answers never are."""

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="activation_measures")
    score = models.DecimalField(
        max_digits=4, decimal_places=1, validators=[MinValueValidator(0), MaxValueValidator(100)]
    )
    level = models.PositiveSmallIntegerField(editable=False)
    measured_on = models.DateField()
    measured_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-measured_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(score__gte=0, score__lte=100), name="pam_score_0_100"),
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=4), name="pam_level_1_4"),
        ]

    def __str__(self) -> str:
        return f"PAM {self.score} (level {self.level}) on {self.measured_on}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.level = pam_level(self.score)
        super().save(*args, **kwargs)


class Service(models.Model):
    """The signposting directory."""

    class Category(models.TextChoices):
        BENEFITS = "benefits", "Benefits advice"
        EMPLOYMENT = "employment", "Employment and training"
        CARERS = "carers", "Carers' support"
        SELF_MANAGEMENT = "self_management", "Self-management courses"
        PEER_SUPPORT = "peer_support", "Peer support"
        SOCIAL_PRESCRIBING = "social_prescribing", "Social prescribing"
        HOUSING = "housing", "Housing"
        MENTAL_WELLBEING = "mental_wellbeing", "Mental wellbeing"
        OTHER = "other", "Other"

    name = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=Category.choices)
    description = models.TextField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    website = models.URLField(blank=True)
    address = models.CharField(max_length=300, blank=True)
    eligibility = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Signposting(models.Model):
    class Outcome(models.TextChoices):
        PENDING = "pending", "Not known yet"
        ENGAGED = "engaged", "Engaged with the service"
        DECLINED = "declined", "Declined"
        NOT_ENGAGED = "not_engaged", "Did not engage"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="signpostings")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="signpostings")
    signposted_on = models.DateField()
    signposted_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.PENDING)
    outcome_on = models.DateField(null=True, blank=True)
    notes = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-signposted_on", "-id"]

    def __str__(self) -> str:
        return f"{self.service} on {self.signposted_on}"


class SupportGiven(models.Model):
    """Support recorded on the patient: personal health budget, benefits, employment and training."""

    class Kind(models.TextChoices):
        PERSONAL_HEALTH_BUDGET = "phb", "Personal health budget"
        BENEFITS = "benefits", "Help to access benefits"
        EMPLOYMENT = "employment", "Help to take up training or employment"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="support_given")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    given_on = models.DateField()
    notes = models.TextField(blank=True)
    given_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-given_on", "-id"]
        verbose_name_plural = "support given"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.given_on}"


class PersonAroundQuerySet(PracticeScopedQuerySet):
    practice_lookup = "patient__practice_id"


class PersonAround(models.Model):
    """Someone in the person's life: a carer, a relative, a friend or neighbour, a professional
    (issue #11, "the people around the person"). How to reach them, whether they are the main carer,
    and whether the person has agreed that they may be told about their care (and when that was
    recorded). Not the caseload's contacts (`Contact`: a conversation with the person)."""

    class Relationship(models.TextChoices):
        CARER = "carer", "Carer"
        PARTNER = "partner", "Partner"
        CHILD = "child", "Son or daughter"
        PARENT = "parent", "Parent"
        OTHER_RELATIVE = "other_relative", "Other relative"
        FRIEND = "friend", "Friend or neighbour"
        PROFESSIONAL = "professional", "Professional"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="people_around")
    name = models.CharField(max_length=200)
    relationship = models.CharField(max_length=20, choices=Relationship.choices)
    relationship_detail = models.CharField(
        "about the relationship",
        max_length=200,
        blank=True,
        help_text="For example: daughter-in-law, district nurse",
    )
    phone = models.CharField(max_length=40, blank=True)
    email = models.EmailField(blank=True)
    is_main_carer = models.BooleanField("main carer", default=False)
    may_receive_information = models.BooleanField("may receive information about the person", default=False)
    consent_recorded_on = models.DateField("date the person agreed", null=True, blank=True)
    notes = models.TextField(blank=True)
    created_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = PersonAroundQuerySet.as_manager()

    class Meta:
        ordering = ["-is_main_carer", "name", "id"]
        verbose_name_plural = "people around the person"
        constraints = [
            # One main carer per person: the one the team calls first (the service says who it is).
            models.UniqueConstraint(
                fields=["patient"], condition=models.Q(is_main_carer=True), name="personaround_one_main_carer"
            ),
            # Consent to share is only recorded with the date it was given.
            models.CheckConstraint(
                condition=models.Q(may_receive_information=False)
                | models.Q(consent_recorded_on__isnull=False),
                name="personaround_consent_dated",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.relationship_label})"

    @property
    def relationship_label(self) -> str:
        """The relationship with its detail ("Other relative: niece"), or the relationship alone."""
        label = self.get_relationship_display()
        return f"{label}: {self.relationship_detail}" if self.relationship_detail else label


# --- Caseload III: safeguarding concerns ------------------------------------------------------------


class SafeguardingConcernQuerySet(PracticeScopedQuerySet):
    """Everyone who sees the patient sees that a concern is open (the patient page's banner); its
    category and text are for `readable_by` alone."""

    practice_lookup = "patient__practice_id"

    def open(self) -> Self:
        return self.exclude(state=SafeguardingConcern.State.CLOSED)

    def readable_by(self, user: User | Any) -> Self:
        """The raiser, the practice's safeguarding lead, and its clinical leads and administrators."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.visible_to(user).filter(
            models.Q(raised_by=user)
            | models.Q(patient__practice__safeguarding_lead=user)
            | models.Q(patient__practice_id__in=user.practices_as(Role.CLINICAL_LEAD, Role.ADMINISTRATOR))
        )

    def in_state(self, state: str) -> Self:
        """A list of one state: open ones by immediate risk, then the longest waiting; closed, newest first.
        Without the words and outcome (a list shows neither)."""
        rows = self.filter(state=state).select_related("patient__practice", "raised_by")
        rows = rows.defer("what_happened", "outcome")
        if state == SafeguardingConcern.State.CLOSED:
            return rows.order_by("-closed_at", "-id")
        return rows.order_by("-immediate_risk", "raised_at", "id")

    def actionable_by(self, user: User | Any) -> Self:
        """Those the user may acknowledge and close: as the practice's safeguarding lead or a clinical lead."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.visible_to(user).filter(
            models.Q(patient__practice__safeguarding_lead=user)
            | models.Q(patient__practice_id__in=user.practices_as(Role.CLINICAL_LEAD))
        )


class SafeguardingConcern(models.Model):
    """A safeguarding concern raised on a patient (issue #11): it goes to the practice's safeguarding
    lead (or, without one, its clinical leads) by an email holding a link only, and a task. Raised →
    acknowledged (by the lead or a clinical lead) → closed with an outcome. Its category, text and
    outcome are read only by `SafeguardingConcernQuerySet.readable_by`, and every read is audited."""

    class Category(models.TextChoices):
        # The ten types of abuse and neglect of adults in the Care and support statutory guidance
        # (Care Act 2014, chapter 14), then a child, then anything else.
        PHYSICAL = "physical", "Physical abuse"
        DOMESTIC = "domestic", "Domestic abuse"
        SEXUAL = "sexual", "Sexual abuse"
        PSYCHOLOGICAL = "psychological", "Psychological or emotional abuse"
        FINANCIAL = "financial", "Financial or material abuse"
        MODERN_SLAVERY = "modern_slavery", "Modern slavery"
        DISCRIMINATORY = "discriminatory", "Discriminatory abuse"
        ORGANISATIONAL = "organisational", "Organisational abuse"
        NEGLECT = "neglect", "Neglect and acts of omission"
        SELF_NEGLECT = "self_neglect", "Self-neglect"
        CHILD = "child", "Child safeguarding concern"
        OTHER = "other", "Other"

    class State(models.TextChoices):
        RAISED = "raised", "Awaiting acknowledgement"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        CLOSED = "closed", "Closed"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="safeguarding_concerns")
    category = models.CharField(max_length=20, choices=Category.choices)
    what_happened = models.TextField("what was seen or said")
    immediate_risk = models.BooleanField("someone is at immediate risk")
    state = models.CharField(max_length=12, choices=State.choices, default=State.RAISED)
    raised_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    raised_at = models.DateTimeField(default=timezone.now)
    # The practice had no safeguarding lead when it was raised: it went to the clinical leads.
    sent_to_clinical_leads = models.BooleanField(default=False)
    # When the email went (the task that sends it does nothing a second time).
    notified_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    outcome = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SafeguardingConcernQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at", "-id"]
        indexes = [models.Index(fields=["patient", "state"], name="safeguarding_patient_state")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state="raised", acknowledged_at__isnull=True, closed_at__isnull=True)
                | models.Q(state="acknowledged", acknowledged_at__isnull=False, closed_at__isnull=True)
                | (
                    models.Q(state="closed", acknowledged_at__isnull=False, closed_at__isnull=False)
                    & ~models.Q(outcome="")
                ),
                name="safeguarding_state_dates",
            )
        ]

    def __str__(self) -> str:
        return f"Safeguarding concern {self.pk} ({self.get_state_display()})"

    def get_absolute_url(self) -> str:
        return reverse("caseload:safeguarding_detail", args=[self.pk])

    @property
    def is_open(self) -> bool:
        return self.state != self.State.CLOSED


class FeedbackQuerySet(PracticeScopedQuerySet):
    practice_lookup = "patient__practice_id"

    def good_news(self) -> Self:
        return self.filter(is_good_news=True)


class Feedback(models.Model):
    """Feedback from the person, someone around them or another named person: their story of what the
    care coordination changed (issue #11, "Outcomes and stories"; seed 002: "encourage people, their
    families and carers to provide feedback and to share their stories"), with an optional rating on
    a question of our own (`Rating`), and whether they agree to it being shared anonymised.

    A story marked good news is offered to the next agenda of `mdt_series` (mdt.services.suggestions;
    seed 000: "keep the MDT … abreast of 'good news' stories") and counted in the feedback report."""

    class GivenBy(models.TextChoices):
        PERSON = "person", "The person"
        PERSON_AROUND = "person_around", "Someone around the person"
        OTHER = "other", "Someone else"

    class Rating(models.IntegerChoices):
        """ "How much has the support helped you?" — our own five-point question, not a validated or
        licensed instrument (so it can be asked freely; its figures compare like with like only here)."""

        NOT_AT_ALL = 1, "Not at all"
        A_LITTLE = 2, "A little"
        SOMEWHAT = 3, "Somewhat"
        A_LOT = 4, "A lot"
        A_GREAT_DEAL = 5, "A great deal"

    RATING_QUESTION = "How much has the support helped you?"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="feedback")
    given_on = models.DateField("date given")
    given_by = models.CharField("given by", max_length=20, choices=GivenBy.choices)
    # Someone around the person: who, while they are on the record (their name is kept below too, so
    # the story still says who gave it once they are removed).
    person_around = models.ForeignKey(
        PersonAround, null=True, blank=True, on_delete=models.SET_NULL, related_name="feedback"
    )
    given_by_name = models.CharField("name of who gave it", max_length=200, blank=True)
    given_by_relationship = models.CharField("their relationship to the person", max_length=200, blank=True)
    story = models.TextField()
    rating = models.PositiveSmallIntegerField(
        "how much the support has helped", choices=Rating.choices, null=True, blank=True
    )
    consent_to_share = models.BooleanField("agrees to it being shared anonymised", default=False)
    is_good_news = models.BooleanField("good news", default=False)
    mdt_series = models.ForeignKey(
        "mdt.MeetingSeries", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        verbose_name="MDT to tell",
    )  # fmt: skip
    recorded_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField("recorded at", auto_now_add=True)
    updated_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = FeedbackQuerySet.as_manager()

    class Meta:
        ordering = ["-given_on", "-id"]
        verbose_name_plural = "feedback"
        constraints = [
            # Only good news is offered to an MDT.
            models.CheckConstraint(
                condition=models.Q(is_good_news=True) | models.Q(mdt_series__isnull=True),
                name="feedback_mdt_only_for_good_news",
            ),
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="feedback_rating_1_to_5",
            ),
            # Someone other than the person is named.
            models.CheckConstraint(
                condition=models.Q(given_by="person") | ~models.Q(given_by_name=""),
                name="feedback_giver_named",
            ),
        ]

    def __str__(self) -> str:
        return f"Feedback of {self.given_on} from {self.giver}"

    @property
    def from_whom(self) -> str:
        """As in "from …": "the person", or the giver's name and relationship."""
        return "the person" if self.given_by == self.GivenBy.PERSON else self.giver

    @property
    def giver(self) -> str:
        """Who gave it: "The person", or their name and relationship."""
        if self.given_by == self.GivenBy.PERSON:
            return self.GivenBy.PERSON.label
        return (
            f"{self.given_by_name} ({self.given_by_relationship})"
            if self.given_by_relationship
            else self.given_by_name
        )


class CodingEntryQuerySet(PracticeScopedQuerySet):
    practice_lookup = "patient__practice_id"

    def for_export(self, *, practice_id: int, start: date, end: date, entered: bool | None = None) -> Self:
        """The coding export's rows: one practice (the patient's), coded on start..end inclusive,
        entered in the GP record or not (None: both), in the order they are entered."""
        rows = self.filter(patient__practice_id=practice_id, coded_on__range=(start, end))
        if entered is not None:
            rows = rows.filter(entered_at__isnull=not entered)
        return rows.select_related("patient", "recorded_by").order_by("coded_on", "patient__nhs_number", "id")


class CodingEntry(models.Model):
    """Something the GP record should learn about, for the coding export: one row per code.

    Made by the services that record the activity (contacts with coded interventions, PAM,
    social prescribing referrals, and later MDT discussions and care plans). `snomed_id` is blank
    where no id is known (caseload.codes): never invented.
    """

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="coding_entries")
    coded_on = models.DateField()
    snomed_id = models.CharField(max_length=20, blank=True)
    term = models.CharField(max_length=255)
    recorded_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    source = models.CharField(max_length=40, help_text="What made it, e.g. contact:12, pam:3.")
    created_at = models.DateTimeField(auto_now_add=True)
    entered_at = models.DateTimeField(null=True, blank=True)
    entered_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = CodingEntryQuerySet.as_manager()

    class Meta:
        ordering = ["coded_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "term"], name="codingentry_one_per_source_term")
        ]
        indexes = [models.Index(fields=["coded_on", "entered_at"], name="codingentry_date_entered")]

    def __str__(self) -> str:
        return f"{self.term} ({self.snomed_id or 'no id'}) {self.coded_on}"
