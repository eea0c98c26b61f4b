"""Core data: practices, the PCN's own settings, users and their memberships, and the audit trail."""

from __future__ import annotations

from datetime import date
from functools import cached_property
from typing import Any, Self

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone

# ODS codes: a GP practice is a letter and five digits (A81001); a PCN is "U" and five digits.
validate_practice_ods_code = RegexValidator(
    r"^[A-Z][0-9]{5}$", "Enter the practice's ODS code: a capital letter and five digits, like A81001."
)
validate_pcn_ods_code = RegexValidator(
    r"^U[0-9]{5}$", "Enter the PCN's ODS code: U and five digits, like U12345."
)


class Practice(models.Model):
    ods_code = models.CharField(
        "ODS code", max_length=6, unique=True, validators=[validate_practice_ods_code]
    )
    name = models.CharField(max_length=200)
    # For letters to patients (call/recall invitations): the practice's postal address and phone.
    address = models.CharField(max_length=300, blank=True, help_text="One line per part, as on an envelope.")
    postcode = models.CharField(max_length=10, blank=True)
    phone = models.CharField(max_length=30, blank=True)
    # The GP (or other clinician) who receives the practice's safeguarding concerns (caseload's
    # SafeguardingConcern). Without one, a concern still goes to the practice's clinical leads.
    safeguarding_lead = models.ForeignKey(
        "pcn.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="safeguarding_lead_for",
        help_text="Receives the practice's safeguarding concerns (an email with a link, and a task). "
        "Someone with a role at this practice. Without one, concerns go to the practice's clinical leads.",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.ods_code})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.ods_code = (self.ods_code or "").strip().upper()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        lead = self.safeguarding_lead
        if lead is None:
            return
        if not lead.is_active:
            raise ValidationError(
                {"safeguarding_lead": f"{lead} is deactivated: choose someone who signs in."}
            )
        if self.pk is None or not lead.memberships.filter(practice_id=self.pk).exists():
            raise ValidationError(
                {"safeguarding_lead": f"{lead} has no role at this practice: give them one first (Users)."}
            )


class PcnSettings(models.Model):
    """The PCN's own settings: one row, edited by administrators (`PcnSettings.load()`)."""

    name = models.CharField("PCN name", max_length=200, default="Primary Care Network")
    ods_code = models.CharField("PCN ODS code", max_length=6, blank=True, validators=[validate_pcn_ods_code])
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "PCN settings"
        verbose_name_plural = "PCN settings"

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)

    @classmethod
    def load(cls) -> PcnSettings:
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj


class Role(models.TextChoices):
    COORDINATOR = "coordinator", "Care coordinator"
    CLINICAL_LEAD = "clinical_lead", "Clinical lead"
    MANAGER = "manager", "PCN manager"
    ADMINISTRATOR = "administrator", "Administrator"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)

    def with_role_at(self, practice_ids: Any, *roles: str) -> models.QuerySet[User]:
        """The active people with one of `roles` at one of the practices, by name."""
        return (
            self.filter(
                is_active=True, memberships__practice_id__in=practice_ids, memberships__role__in=roles
            )
            .distinct()
            .order_by("full_name")
        )

    def get_by_natural_key(self, username: str | None) -> User:
        # Email addresses are stored lower-case; sign-in is case-insensitive.
        return self.get(email__iexact=username or "")


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200)
    job_title = models.CharField(max_length=200, blank=True)
    is_active = models.BooleanField(
        default=True, help_text="Unticking this signs the user out everywhere (their sessions are ended)."
    )
    is_staff = models.BooleanField(default=False, help_text="Can use the administration site.")
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["full_name"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def get_full_name(self) -> str:
        return self.full_name

    def get_short_name(self) -> str:
        return self.full_name.split(" ")[0] if self.full_name else self.email

    # Memberships are read once per request (the user object lives for one request).
    @cached_property
    def _memberships(self) -> list[tuple[int, str]]:
        return list(self.memberships.values_list("practice_id", "role"))

    def practice_ids(self) -> frozenset[int]:
        """The practices whose patients this user may see: those they are a member of."""
        return frozenset(practice_id for practice_id, _ in self._memberships)

    def roles(self) -> frozenset[str]:
        return frozenset(role for _, role in self._memberships)

    def has_role(self, *roles: str) -> bool:
        return bool(self.roles().intersection(roles))

    def practices_as(self, *roles: str) -> frozenset[int]:
        """The practices where the user holds one of `roles` (a clinical lead at one practice is not
        one at the others)."""
        return frozenset(practice_id for practice_id, role in self._memberships if role in roles)


class Membership(models.Model):
    """A user's role at a practice. A user sees the patients of the practices they are a member of."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "practice", "role"], name="membership_unique_user_practice_role"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} at {self.practice.ods_code}"


class AuditEventQuerySet(models.QuerySet["AuditEvent"]):
    def for_patient(self, patient_id: int) -> Self:
        return self.filter(patient_links__patient_id=patient_id)

    def by_user(self, user_id: int) -> Self:
        return self.filter(user_id=user_id)

    def between(self, start: Any, end: Any) -> Self:
        return self.filter(at__gte=start, at__lt=end)


class AuditEvent(models.Model):
    """Append-only record of who viewed, listed, exported, downloaded or changed patient data.

    On PostgreSQL a trigger refuses UPDATE and DELETE of audit rows (migration 0002), so not even
    the application's own database user can rewrite history. Write through `pcn.audit.audit()`.
    """

    at = models.DateTimeField(default=timezone.now, db_index=True)
    user = models.ForeignKey(User, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=80, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    path = models.CharField(max_length=500, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    patients = models.ManyToManyField(
        "caseload.Patient", through="AuditEventPatient", related_name="+", blank=True
    )

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["user", "at"], name="audit_user_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.user} {self.action}"


class AuditEventPatient(models.Model):
    """Which patients an audit event touched ("who accessed this patient"); append-only too."""

    event = models.ForeignKey(AuditEvent, on_delete=models.PROTECT, related_name="patient_links")
    patient = models.ForeignKey("caseload.Patient", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "patient"], name="audit_event_patient_unique")
        ]
        indexes = [models.Index(fields=["patient", "event"], name="audit_patient_event")]

    def __str__(self) -> str:
        return f"event {self.event_id} patient {self.patient_id}"


class OutboxTask(models.Model):
    """A background task asked for by a change (a transactional outbox, pcn.outbox): written in the
    change's transaction, sent to the broker once it commits, and sent again by a sweep if the broker
    did not take it, so that saving never depends on the broker being up and nothing asked for is lost."""

    name = models.CharField(max_length=200)  # the task's registered name
    args = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["created_at"], condition=models.Q(sent_at__isnull=True), name="outbox_unsent"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name}{tuple(self.args)} {'sent' if self.sent_at else 'waiting'}"


class TaskAttempt(models.Model):
    """A background task's deliveries to a worker (pcn.task_guard): counted before it runs, so a task
    that kills its worker every time (a poison message) is given up after its third delivery instead of
    being redelivered for ever; a task that raised is kept as failed. Both are listed for administrators
    in the admin site; a task that finished is forgotten."""

    class State(models.TextChoices):
        RUNNING = "running", "Running (or its worker died)"
        FAILED = "failed", "Failed"
        GIVEN_UP = "given_up", "Given up after repeated deliveries"

    task_id = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=200)
    args = models.JSONField(default=list)
    deliveries = models.PositiveSmallIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    error = models.CharField(max_length=300, blank=True)  # the exception's type only (no patient data)
    first_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return f"{self.name} {self.task_id} ({self.get_state_display()})"


from pcn.sessions import UserSession  # noqa: E402  (the session model is a pcn model)

__all__ = [
    "AuditEvent",
    "AuditEventPatient",
    "Membership",
    "OutboxTask",
    "PcnSettings",
    "Practice",
    "Role",
    "TaskAttempt",
    "User",
    "UserSession",
]


class PracticeScopedQuerySet(models.QuerySet):
    """The one choke point for practice scoping (DESIGN.md "Data and access rules").

    `visible_to(user)` keeps the rows whose practice is one the user is a member of; nobody signed
    out or deactivated sees anything. Each queryset of patient-bearing data says, in
    `practice_lookup`, how a row reaches its practice.
    """

    practice_lookup = "practice_id"

    def visible_to(self, user: Any) -> Self:
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.filter(**{f"{self.practice_lookup}__in": user.practice_ids()})


def overdue_first[QS: models.QuerySet](queryset: QS, *, closed: models.Q, on: date) -> QS:
    """Rows with a `due_on`, overdue ones first, then the open ones by due date, then the `closed` ones."""
    return queryset.annotate(
        rank=models.Case(
            models.When(closed, then=models.Value(2)),
            models.When(due_on__lt=on, then=models.Value(0)),
            default=models.Value(1),
            output_field=models.IntegerField(),
        )
    ).order_by("rank", "due_on", "id")
