"""Call and recall: registers, each patient's recall year, the invitation ledger and appointments.

A register is data (administrators edit it in the admin site): who is on it (a long-term-condition
flag and/or an age and sex rule), the review it drives, how many invitations a QOF year the rules
expect, their spacing and how the due month is chosen. For each patient × register × QOF year there
is one `RecallEntry`, whose state the services in `recall.services.entries` move; every invitation is
an `Invitation` row that is never overwritten (an undone batch cancels its rows, it does not delete
them).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Self

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import connections, models
from django.urls import reverse

from caseload.models import LTC_LABELS, Contact, Patient, ltc_labels
from pcn.models import PracticeScopedQuerySet

if TYPE_CHECKING:
    from pcn.models import User


# A screening call is a caseload Contact (it shows on the patient's timeline, its outcome reading
# "<register name> call: <what happened>") linked to its entry by a ScreeningCall row.
CALL_MARK = " call: "


class ScreeningCallOutcome(models.TextChoices):
    WILL_BOOK = "will_book", "Spoke – will book"
    DECLINED = "declined", "Spoke – declined"
    NO_ANSWER = "no_answer", "No answer"
    LEFT_MESSAGE = "left_message", "Left a message"
    WRONG_NUMBER = "wrong_number", "Wrong number"


def screening_call_outcome(register: Register, outcome: str) -> str:
    """The contact's outcome text: "Bowel cancer screening call: spoke – will book"."""
    label = ScreeningCallOutcome(outcome).label
    return f"{register.name}{CALL_MARK}{label[0].lower()}{label[1:]}"


LTC_FLAG_CHOICES = [(0, "None (an age and sex rule only)")] + [
    (int(flag), label) for flag, label in LTC_LABELS.items()
]


class Register(models.Model):
    class Kind(models.TextChoices):
        REVIEW = "review", "Annual review"
        SCREENING = "screening", "Cancer screening"

    class DueRule(models.TextChoices):
        BIRTH_MONTH = "birth_month", "The patient's birth month"
        FIXED_MONTH = "fixed_month", "A fixed month"
        AFTER_LAST_REVIEW = "after_last_review", "An interval after the last review"

    class Sex(models.TextChoices):
        ANY = "", "Any"
        FEMALE = "F", "Female"
        MALE = "M", "Male"

    key = models.SlugField(
        max_length=40,
        unique=True,
        help_text="Short name used in file columns: last_review_<key>, last_invited_<key>, pca_<key>.",
    )
    name = models.CharField(max_length=100)
    review_name = models.CharField(max_length=150, help_text="The review or test it drives, for letters.")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.REVIEW)
    ltc_flag = models.PositiveIntegerField(
        "long-term condition",
        choices=LTC_FLAG_CHOICES,
        default=0,
        help_text="Patients with this condition flag are on the register (with the age and sex rule, if any).",
    )
    sex = models.CharField(max_length=1, choices=Sex.choices, blank=True, default=Sex.ANY)
    min_age = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Age on 31 March, the end of the QOF year."
    )
    max_age = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Age on 31 March, the end of the QOF year."
    )
    invitations_expected = models.PositiveSmallIntegerField(
        default=2,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
        help_text="Invitations a year the rules expect: 2 for QOF registers, 3 for cervical screening. "
        "Once that many are sent the patient is excepted from the indicator, but still due.",
    )
    min_days_between_invitations = models.PositiveSmallIntegerField(
        default=7,
        validators=[MaxValueValidator(365)],
        help_text="Unverified: no official minimum interval has been found; 7 days is common practice.",
    )
    due_rule = models.CharField(max_length=20, choices=DueRule.choices, default=DueRule.BIRTH_MONTH)
    due_month = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(12)],
        help_text="For the fixed-month rule: 1 (January) to 12.",
    )
    interval_months = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(120)],
        help_text="How often the review or test is due. A patient whose last one is more recent than this "
        "before the year's end is not due this year.",
    )
    invitation_term = models.CharField(
        max_length=200, help_text="The term the coding export gives an invitation (no SNOMED id is invented)."
    )
    review_snomed_id = models.CharField(
        "review SNOMED id",
        max_length=20,
        blank=True,
        help_text="Only a code DOMAIN.md gives, e.g. 888461000000107 for chronic disease reviews.",
    )
    review_term = models.CharField(max_length=200, blank=True)
    display_order = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["display_order", "name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(due_rule="fixed_month") | models.Q(due_month__isnull=False),
                name="register_fixed_month_has_month",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_screening(self) -> bool:
        return self.kind == self.Kind.SCREENING

    def rule_text(self) -> str:
        parts = ltc_labels(self.ltc_flag) if self.ltc_flag else []
        if self.sex:
            parts.append(self.get_sex_display().lower())
        if self.min_age is not None and self.max_age is not None:
            parts.append(f"aged {self.min_age} to {self.max_age}")
        elif self.min_age is not None:
            parts.append(f"aged {self.min_age} or over")
        elif self.max_age is not None:
            parts.append(f"aged {self.max_age} or under")
        return ", ".join(parts) or "everyone"


class RecallEntryQuerySet(PracticeScopedQuerySet):
    practice_lookup = "patient__practice_id"

    def open(self) -> Self:
        return self.filter(state__in=RecallEntry.OPEN_STATES)

    def for_year(self, year: int) -> Self:
        return self.filter(year=year)

    def screening_non_responders(self, *, year: int) -> Self:
        """Screening entries of `year` invited at least once and still not seen, booked, PCA or closed."""
        return self.filter(
            year=year,
            register__kind=Register.Kind.SCREENING,
            state__in=(RecallEntry.State.INVITED, RecallEntry.State.EXCEPTED),
            invitations__gte=1,
        )

    def with_last_call(self, *, since: date) -> Self:
        """Each entry's latest screening call since `since` (`last_call_outcome`, the outcome's key, and
        `last_call_at`). Two subqueries in the same SELECT: no query per row."""
        calls = ScreeningCall.objects.filter(
            entry_id=models.OuterRef("pk"), contact__contact_at__date__gte=since
        ).order_by("-contact__contact_at", "-id")
        return self.annotate(
            last_call_outcome=models.Subquery(calls.values("outcome")[:1]),
            last_call_at=models.Subquery(calls.values("contact__contact_at")[:1]),
        )


class RecallEntry(models.Model):
    """One patient's review on one register in one QOF year (1 April to 31 March)."""

    class State(models.TextChoices):
        DUE = "due", "Due, not invited"
        INVITED = "invited", "Invited"
        EXCEPTED = "excepted", "Excepted but still due"
        BOOKED = "booked", "Booked"
        SEEN = "seen", "Seen, review done"
        PCA = "pca", "Personalised care adjustment"
        CLOSED = "closed", "Closed"

    class PcaReason(models.TextChoices):
        UNSUITABLE = "unsuitable", "Unsuitable"
        INFORMED_DISSENT = "informed_dissent", "Informed dissent"
        NO_RESPONSE = "no_response", "Did not respond to offers of care"
        SERVICE_UNAVAILABLE = "service_unavailable", "Service not available"
        NEWLY_DIAGNOSED = "newly_diagnosed", "Newly diagnosed or newly registered"

    class ClosedReason(models.TextChoices):
        DECEASED = "deceased", "Deceased"
        LEFT = "left", "Left the practice"
        OFF_REGISTER = "off_register", "No longer on the register"

    class SeenSource(models.TextChoices):
        HERE = "here", "Recorded here"
        GP_RECORD = "gp_record", "Coded in the GP record"

    # Entries that still want work: the worklists show them, the sweep keeps them in step.
    OPEN_STATES = (State.DUE, State.INVITED, State.EXCEPTED, State.BOOKED)
    # Entries that may be invited (booked patients need no invitation).
    INVITABLE_STATES = (State.DUE, State.INVITED, State.EXCEPTED)

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="recall_entries")
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="entries")
    year = models.PositiveSmallIntegerField(help_text="The QOF year that starts on 1 April of this year.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.DUE)
    due_month = models.DateField(help_text="The first day of the month the review is due in.")
    invitations = models.PositiveSmallIntegerField(default=0, help_text="Invitations not cancelled.")
    last_invited_on = models.DateField(null=True, blank=True)
    seen_on = models.DateField(null=True, blank=True)
    seen_source = models.CharField(max_length=10, choices=SeenSource.choices, blank=True)
    pca_reason = models.CharField(max_length=20, choices=PcaReason.choices, blank=True)
    pca_on = models.DateField(null=True, blank=True)
    pca_by = models.ForeignKey("pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    closed_reason = models.CharField(max_length=15, choices=ClosedReason.choices, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    # What the GP record said at the last reconciliation (a recall dates file), for the discrepancies page.
    gp_last_review_on = models.DateField(null=True, blank=True)
    gp_last_invited_on = models.DateField(null=True, blank=True)
    gp_pca_on = models.DateField(null=True, blank=True)
    gp_checked_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = RecallEntryQuerySet.as_manager()

    class Meta:
        ordering = ["due_month", "id"]
        verbose_name_plural = "recall entries"
        constraints = [
            models.UniqueConstraint(fields=["patient", "register", "year"], name="recall_entry_one_per_year"),
            models.CheckConstraint(
                condition=~models.Q(state="pca") | ~models.Q(pca_reason=""),
                name="recall_entry_pca_has_reason",
            ),
            models.CheckConstraint(
                condition=~models.Q(state="closed") | ~models.Q(closed_reason=""),
                name="recall_entry_closed_has_reason",
            ),
        ]
        indexes = [
            models.Index(fields=["register", "year", "state", "due_month"], name="recall_entry_worklist"),
            models.Index(fields=["patient", "year"], name="recall_entry_patient_year"),
        ]

    def __str__(self) -> str:
        return f"{self.register} {self.year_label} ({self.get_state_display()})"

    @property
    def year_label(self) -> str:
        return year_label(self.year)

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    def state_text(self) -> str:
        """The state as worklists show it: "Invited ×2", "Excepted but still due (×2)"."""
        if self.state == self.State.INVITED:
            return f"Invited ×{self.invitations}"
        if self.state == self.State.EXCEPTED:
            return f"Excepted but still due (invited ×{self.invitations})"
        if self.state == self.State.PCA:
            return f"PCA: {self.get_pca_reason_display()}"
        if self.state == self.State.CLOSED:
            return f"Closed: {self.get_closed_reason_display()}"
        return self.get_state_display()

    def last_call_text(self) -> str:
        """What the last screening call found ("No answer"), on entries read `with_last_call`."""
        outcome = getattr(self, "last_call_outcome", None) or ""
        return ScreeningCallOutcome(outcome).label if outcome else ""


def count_state(invitations: int, expected: int) -> str:
    """The state an open entry that is not booked has from its invitations alone."""
    if invitations == 0:
        return RecallEntry.State.DUE
    return RecallEntry.State.EXCEPTED if invitations >= expected else RecallEntry.State.INVITED


def year_label(year: int) -> str:
    return f"{year}/{(year + 1) % 100:02d}"


def qof_year(on: date) -> int:
    """The QOF year a date falls in, by the year of its 1 April."""
    return on.year if on.month >= 4 else on.year - 1


def year_bounds(year: int) -> tuple[date, date]:
    return date(year, 4, 1), date(year + 1, 3, 31)


class Channel(models.TextChoices):
    SMS = "sms", "Text message (SMS)"
    LETTER = "letter", "Letter"
    PHONE = "phone", "Phone call"
    NHS_APP = "nhs_app", "NHS App message"


class InvitationBatchQuerySet(models.QuerySet["InvitationBatch"]):
    def visible_to(self, user: Any) -> Self:
        """A batch is shown to a user who sees every practice whose patients it invited."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        mine = user.practice_ids()
        if connections[self.db].vendor == "postgresql":
            return self.filter(practice_ids__contained_by=sorted(mine))
        # SQLite (development, the demo) has no JSON containment lookup: compare in Python. Batches are
        # few (a handful a week per practice), and this reads only their ids and practices.
        return self.filter(
            pk__in=[pk for pk, ids in self.values_list("pk", "practice_ids") if set(ids) <= mine]
        )


class InvitationBatch(models.Model):
    """Invitations sent together from a worklist: the ledger rows, the messaging export, the letters."""

    class LettersState(models.TextChoices):
        NONE = "", "No letters"
        PENDING = "pending", "Waiting to start"
        RENDERING = "rendering", "Being made"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    channel = models.CharField(max_length=10, choices=Channel.choices)
    sent_on = models.DateField()
    description = models.CharField(max_length=300, blank=True, help_text="The worklist it was made from.")
    practice_ids = models.JSONField(default=list, help_text="The practices of the patients it invited.")
    patient_count = models.PositiveIntegerField(default=0)
    invitation_count = models.PositiveIntegerField(default=0)
    excluded = models.JSONField(
        default=list, blank=True, help_text="Patients left out by the safe-batch checks, with the reason."
    )
    created_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    letters_state = models.CharField(max_length=10, choices=LettersState.choices, blank=True)
    letters_done = models.PositiveIntegerField(default=0)
    letters_total = models.PositiveIntegerField(default=0)
    letters_file = models.FileField(upload_to="recall/", blank=True)
    letters_error = models.CharField(max_length=300, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The one-time key of the confirm form that made it: a second submit of that form finds this batch
    # rather than making another.
    request_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)

    objects = InvitationBatchQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "invitation batches"

    def __str__(self) -> str:
        return f"{self.get_channel_display()} batch {self.sent_on} ({self.patient_count} patients)"

    def get_absolute_url(self) -> str:
        return reverse("recall:batch_detail", args=[self.pk])

    @property
    def letters_working(self) -> bool:
        return self.letters_state in (self.LettersState.PENDING, self.LettersState.RENDERING)

    @property
    def is_cancelled(self) -> bool:
        return self.cancelled_at is not None

    def can_undo(self, today: date) -> bool:
        return not self.is_cancelled and self.sent_on == today


class InvitationQuerySet(PracticeScopedQuerySet):
    practice_lookup = "patient__practice_id"

    def active(self) -> Self:
        return self.filter(cancelled_at__isnull=True)


class Invitation(models.Model):
    """One ledger row: an invitation for one review. One letter covering several reviews is several rows
    of one batch. Rows are never updated except to cancel them (an undone batch)."""

    entry = models.ForeignKey(RecallEntry, on_delete=models.PROTECT, related_name="invitation_rows")
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="recall_invitations")
    register = models.ForeignKey(Register, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveSmallIntegerField(help_text="1st, 2nd, 3rd invitation this QOF year.")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    sent_on = models.DateField()
    batch = models.ForeignKey(
        InvitationBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="invitations"
    )
    created_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = InvitationQuerySet.as_manager()

    class Meta:
        ordering = ["-sent_on", "-id"]
        indexes = [
            models.Index(fields=["patient", "-sent_on"], name="invitation_patient_sent"),
            models.Index(fields=["entry", "cancelled_at"], name="invitation_entry_active"),
        ]

    def __str__(self) -> str:
        return f"{self.register} invitation {self.sequence} on {self.sent_on}"

    @property
    def year_label(self) -> str:
        return year_label(self.year)


class AppointmentQuerySet(PracticeScopedQuerySet):
    practice_lookup = "patient__practice_id"

    def open(self) -> Self:
        return self.filter(outcome=Appointment.Outcome.BOOKED)

    def in_my_order(self, *, now: datetime) -> Self:
        """Past appointments still without an outcome first (oldest first), then the upcoming ones
        (soonest first), then those with an outcome (newest first)."""
        booked = models.Q(outcome=Appointment.Outcome.BOOKED)
        rank = models.Case(
            models.When(booked & models.Q(starts_at__lt=now), then=models.Value(0)),
            models.When(booked, then=models.Value(1)),
            default=models.Value(2),
        )
        recorded_at = models.Case(
            models.When(~booked, then=models.F("starts_at")), output_field=models.DateTimeField()
        )
        return self.annotate(rank=rank).order_by("rank", recorded_at.desc(nulls_last=True), "starts_at", "id")


class Appointment(models.Model):
    class Role(models.TextChoices):
        NURSE = "nurse", "Practice nurse"
        HCA = "hca", "Healthcare assistant"
        GP = "gp", "GP"
        PHARMACIST = "pharmacist", "Clinical pharmacist"
        COORDINATOR = "coordinator", "Care coordinator"
        OTHER = "other", "Other"

    class Outcome(models.TextChoices):
        BOOKED = "booked", "Booked"
        ATTENDED = "attended", "Attended"
        DNA = "dna", "Did not attend"
        CANCELLED = "cancelled", "Cancelled"
        RESCHEDULED = "rescheduled", "Rescheduled"

    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="appointments")
    starts_at = models.DateTimeField()
    with_whom = models.CharField("with", max_length=200, blank=True, help_text="The clinician's name.")
    role = models.CharField(max_length=12, choices=Role.choices)
    location = models.CharField("where", max_length=200, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    entries = models.ManyToManyField(
        RecallEntry, blank=True, related_name="appointments", help_text="The reviews it is for."
    )
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.BOOKED)
    review_done = models.BooleanField(default=False)
    outcome_notes = models.CharField(max_length=300, blank=True)
    outcome_at = models.DateTimeField(null=True, blank=True)
    outcome_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    rescheduled_to = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="rescheduled_from"
    )
    booked_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="recall_appointments")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        indexes = [
            models.Index(fields=["patient", "starts_at"], name="appointment_patient_at"),
            models.Index(fields=["booked_by", "starts_at"], name="appointment_booker_at"),
        ]

    def __str__(self) -> str:
        return f"Appointment {self.starts_at:%Y-%m-%d %H:%M} ({self.get_outcome_display()})"

    @property
    def is_open(self) -> bool:
        return self.outcome == self.Outcome.BOOKED

    def booked_by_user(self, user: User) -> bool:
        return self.booked_by_id == user.pk


class ScreeningCall(models.Model):
    """A call to a screening non-responder: the caseload Contact it was recorded as, and what it found."""

    entry = models.ForeignKey(RecallEntry, on_delete=models.PROTECT, related_name="screening_calls")
    contact = models.OneToOneField(Contact, on_delete=models.PROTECT, related_name="screening_call")
    outcome = models.CharField(max_length=15, choices=ScreeningCallOutcome.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.entry.register} call: {self.get_outcome_display()}"
