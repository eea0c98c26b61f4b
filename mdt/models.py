"""MDT meetings. This issue's part: the recurring series (the MDT issue adds meetings, agendas, minutes)."""

from __future__ import annotations

from typing import Any, Self

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from caseload.models import MdtKind
from pcn.models import PracticeScopedQuerySet, overdue_first


class MeetingSeriesQuerySet(models.QuerySet["MeetingSeries"]):
    def visible_to(self, user: Any) -> Self:
        """Series covering at least one of the user's practices."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.filter(practices__in=user.practice_ids()).distinct()


class MeetingSeries(models.Model):
    """A recurring MDT: the weekly care home MDT, cancer and palliative care, frailty, …"""

    Kind = MdtKind  # the vocabulary lives in caseload (ReferralType.mdt_kind names it too)

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        FORTNIGHTLY = "fortnightly", "Fortnightly"
        MONTHLY = "monthly", "Monthly"

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"

    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    practices = models.ManyToManyField("pcn.Practice", related_name="meeting_series")
    care_homes = models.ManyToManyField("caseload.CareHome", related_name="meeting_series", blank=True)
    frequency = models.CharField(max_length=12, choices=Frequency.choices, default=Frequency.WEEKLY)
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices)
    start_time = models.TimeField(help_text="Local time (Europe/London).")
    duration_minutes = models.PositiveSmallIntegerField(
        default=60, validators=[MinValueValidator(15), MaxValueValidator(480)]
    )
    place = models.CharField(max_length=200, blank=True, help_text="A room, or leave blank for a video call.")
    video_link = models.URLField(blank=True)
    chair = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="chaired_series")
    members = models.ManyToManyField("pcn.User", related_name="meeting_series", blank=True)
    circulate_days_before = models.PositiveSmallIntegerField(
        "circulate the agenda (working days before)", default=2, validators=[MaxValueValidator(10)]
    )
    attachments_to_external = models.BooleanField(
        "send the agenda pack PDF to external members",
        default=False,
        help_text="Otherwise external members get the agenda without patient details attached.",
    )
    referral_types = models.ManyToManyField(
        "caseload.ReferralType",
        related_name="meeting_series",
        blank=True,
        help_text="Referral types that feed it.",
    )
    meetings_ahead = models.PositiveSmallIntegerField(
        "meetings scheduled ahead", default=4, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MeetingSeriesQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "meeting series"

    def __str__(self) -> str:
        return self.name


class ExternalMember(models.Model):
    """Someone outside the PCN who receives a series' emails but does not sign in."""

    series = models.ForeignKey(MeetingSeries, on_delete=models.CASCADE, related_name="external_members")
    name = models.CharField(max_length=200)
    role = models.CharField(max_length=200, blank=True)
    organisation = models.CharField(max_length=200, blank=True)
    email = models.EmailField()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["series", "email"], name="external_member_unique_email")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.organisation})" if self.organisation else self.name


# --- Meetings, agendas, circulation, minutes and actions (issue "MDT meetings") ------------------------


class MeetingQuerySet(models.QuerySet["Meeting"]):
    def visible_to(self, user: Any) -> Self:
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.filter(series__practices__in=user.practice_ids()).distinct()


class Meeting(models.Model):
    """One occurrence of a series. Times are stored in UTC and scheduled in Europe/London."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        CANCELLED = "cancelled", "Cancelled"
        HELD = "held", "Held"

    series = models.ForeignKey(MeetingSeries, on_delete=models.PROTECT, related_name="meetings")
    starts_at = models.DateTimeField()
    duration_minutes = models.PositiveSmallIntegerField(default=60)
    place = models.CharField(max_length=200, blank=True)
    video_link = models.URLField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    # When the series' rule says this occurrence falls; a moved meeting keeps it, so the schedule
    # does not create the same occurrence again.
    scheduled_for = models.DateTimeField()
    circulate_at = models.DateTimeField(help_text="When the agenda pack goes out (working days before).")
    agenda_approved_at = models.DateTimeField(null=True, blank=True)
    agenda_approved_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    chair_comments = models.TextField(blank=True)
    circulated_at = models.DateTimeField(null=True, blank=True)
    minutes_signed_off_at = models.DateTimeField(null=True, blank=True)
    minutes_signed_off_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MeetingQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["series", "scheduled_for"], name="meeting_one_per_occurrence")
        ]
        indexes = [models.Index(fields=["status", "circulate_at"], name="meeting_due_circulation")]

    def __str__(self) -> str:
        return f"{self.series} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def minutes_locked(self) -> bool:
        return self.minutes_signed_off_at is not None


class AgendaItemQuerySet(PracticeScopedQuerySet):
    """An item is seen by those who see its patient, at a meeting they can see: a coordinator at one
    practice works a meeting that several practices share, and sees only their own patients on it."""

    practice_lookup = "patient__practice_id"

    def visible_to(self, user: Any) -> Self:
        return super().visible_to(user).filter(meeting__in=Meeting.objects.visible_to(user))


class AgendaItem(models.Model):
    class Source(models.TextChoices):
        REFERRAL = "referral", "Referral directed to this MDT"
        CARRIED_FORWARD = "carried_forward", "Carried forward: open actions"
        SUGGESTED = "suggested", "Suggested and confirmed"
        ADDED = "added", "Added by hand"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="items")
    patient = models.ForeignKey("caseload.Patient", on_delete=models.PROTECT, related_name="agenda_items")
    source = models.CharField(max_length=20, choices=Source.choices)
    referral = models.ForeignKey(
        "caseload.Referral", null=True, blank=True, on_delete=models.SET_NULL, related_name="agenda_items"
    )
    reason = models.TextField("reason for discussion", blank=True)
    position = models.PositiveIntegerField(default=0)
    minutes_allotted = models.PositiveSmallIntegerField(default=10)
    presenter = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AgendaItemQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "patient"], name="agenda_item_patient_once")
        ]

    def __str__(self) -> str:
        return f"{self.patient} at {self.meeting}"


class Attendance(models.Model):
    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="attendance")
    user = models.ForeignKey("pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    external_member = models.ForeignKey(
        ExternalMember, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    present = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["meeting", "user"], name="attendance_user_once"),
            models.UniqueConstraint(fields=["meeting", "external_member"], name="attendance_external_once"),
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, external_member__isnull=True)
                | models.Q(user__isnull=True, external_member__isnull=False),
                name="attendance_one_kind_of_member",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user or self.external_member} at {self.meeting}"


class Discussion(models.Model):
    """The minutes for one agenda item. Locked once the chair signs off the meeting's minutes."""

    class Outcome(models.TextChoices):
        CONTINUE = "continue", "Continue"
        DISCHARGE = "discharge", "Discharge from MDT"
        REFER_ON = "refer_on", "Refer on"
        UPDATE_CARE_PLAN = "update_care_plan", "Update the care plan"
        OTHER = "other", "Other"

    item = models.OneToOneField(AgendaItem, on_delete=models.CASCADE, related_name="discussion")
    notes = models.TextField(blank=True)
    outcome = models.CharField(max_length=20, choices=Outcome.choices, blank=True)
    version = models.PositiveIntegerField(
        default=0, help_text="Optimistic locking: saves carry the version read."
    )
    updated_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Discussion of {self.item}"


class Addendum(models.Model):
    """A correction to signed-off minutes: the minutes themselves never change."""

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="addenda")
    text = models.TextField()
    added_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["added_at", "id"]

    def __str__(self) -> str:
        return f"Addendum to {self.meeting}"


class ActionQuerySet(PracticeScopedQuerySet):
    practice_lookup = "item__patient__practice_id"

    def open(self) -> Self:
        return self.filter(status=Action.Status.OPEN)

    def overdue(self, *, on: Any) -> Self:
        return self.open().filter(due_on__lt=on)

    def overdue_first(self, *, on: Any) -> Self:
        """Overdue first, then open by due date, then closed ones (My actions)."""
        return overdue_first(self, closed=~models.Q(status=Action.Status.OPEN), on=on)


class Action(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    item = models.ForeignKey(AgendaItem, on_delete=models.PROTECT, related_name="actions")
    what = models.CharField(max_length=300)
    owner_user = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="mdt_actions"
    )
    owner_external = models.ForeignKey(
        ExternalMember, null=True, blank=True, on_delete=models.PROTECT, related_name="actions"
    )
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    closed_note = models.CharField(max_length=500, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ActionQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(owner_user__isnull=False, owner_external__isnull=True)
                | models.Q(owner_user__isnull=True, owner_external__isnull=False),
                name="action_one_owner",
            )
        ]
        indexes = [models.Index(fields=["status", "due_on"], name="action_status_due")]

    def __str__(self) -> str:
        return self.what


class ActionChase(models.Model):
    """One chase email about an overdue action; the sweep sends at most one per action per interval."""

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="chases")
    sent_on = models.DateField()
    to_email = models.EmailField()
    escalated = models.BooleanField(default=False, help_text="Sent to the chair as well.")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sent_at", "id"]
        constraints = [models.UniqueConstraint(fields=["action", "sent_on"], name="chase_once_per_day")]

    def __str__(self) -> str:
        return f"Chase of {self.action} on {self.sent_on}"


class Circulation(models.Model):
    """One member's copy of a meeting's agenda (or minutes): the unique row decides 'sent once'."""

    class Kind(models.TextChoices):
        AGENDA = "agenda", "Agenda pack"
        MINUTES = "minutes", "Minutes"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="circulations")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    user = models.ForeignKey("pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    external_member = models.ForeignKey(
        ExternalMember, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    email = models.EmailField()
    sent_at = models.DateTimeField(null=True, blank=True)
    resent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["meeting", "kind", "email"], name="circulation_once_per_member")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.email}"


class MeetingDocument(models.Model):
    """A rendered PDF (agenda pack or minutes), made in the background and stored.

    The pack that is circulated shows every patient on the agenda (`scope` blank). A user who does not
    see every practice of the series gets a pack of their own practices' patients instead (`scope`:
    those practices' ids), made on request: a stored file is only ever handed to a user who sees every
    practice in its `practice_ids`.
    """

    class Kind(models.TextChoices):
        AGENDA_PACK = "agenda_pack", "Agenda pack"
        MINUTES = "minutes", "Minutes"

    class State(models.TextChoices):
        RENDERING = "rendering", "Rendering"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    meeting = models.ForeignKey(Meeting, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    scope = models.CharField(
        max_length=200,
        blank=True,
        help_text="Blank: every patient on the agenda. Otherwise the ids of the practices (ascending, "
        "comma-separated) whose patients it shows.",
    )
    practice_ids = models.JSONField(
        default=list, blank=True, help_text="The practices whose patients the stored file shows."
    )
    state = models.CharField(max_length=10, choices=State.choices, default=State.RENDERING)
    file = models.FileField(upload_to="mdt/", blank=True)
    # The agenda's content hash when rendered: a changed agenda makes the pack stale.
    source_hash = models.CharField(max_length=64, blank=True)
    rendered_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["meeting", "kind", "scope"], name="document_one_per_kind_and_scope"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.meeting}"
