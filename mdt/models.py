"""MDT meetings. This issue's part: the recurring series (the MDT issue adds meetings, agendas, minutes)."""

from __future__ import annotations

from typing import Any, Self

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class MeetingSeriesQuerySet(models.QuerySet["MeetingSeries"]):
    def visible_to(self, user: Any) -> Self:
        """Series covering at least one of the user's practices."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.filter(practices__in=user.practice_ids()).distinct()


class MeetingSeries(models.Model):
    """A recurring MDT: the weekly care home MDT, cancer and palliative care, frailty, …"""

    class Kind(models.TextChoices):
        CARE_HOME = "care_home", "Care home MDT"
        CANCER_PALLIATIVE = "cancer_palliative", "Cancer and palliative care"
        FRAILTY = "frailty", "Frailty / proactive care"
        OTHER = "other", "Other"

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
