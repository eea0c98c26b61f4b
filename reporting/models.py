"""Saved searches: a Find-patients or recall worklist filter kept under a name, its runs and their counts."""

from __future__ import annotations

from typing import Any, Self

from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.urls import reverse


class SavedSearchQuerySet(models.QuerySet["SavedSearch"]):
    def visible_to(self, user: Any) -> Self:
        """The user's own searches and those shared with the PCN. A search holds filters, not patients:
        whoever runs it sees the patients of their own practices only."""
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        return self.filter(Q(owner=user) | Q(shared=True))

    def with_latest_runs(self, user: Any) -> Self:
        """Each search's last count, its run time and the count before, among the runs `user` sees."""
        seen = SavedSearchRun.objects.seen_by(user).filter(search=OuterRef("pk")).order_by("-run_at", "-id")
        return self.annotate(
            last_count=Subquery(seen.values("count")[:1]),
            last_run_at=Subquery(seen.values("run_at")[:1]),
            previous_count=Subquery(seen.values("count")[1:2]),
        ).annotate(change=F("last_count") - F("previous_count"))

    def due(self, *, on: Any) -> Self:
        return self.filter(schedule=SavedSearch.Schedule.WEEKLY, next_run_on__lte=on)


class SavedSearch(models.Model):
    class Kind(models.TextChoices):
        PATIENTS = "patients", "Find patients"
        RECALL_WORKLIST = "recall_worklist", "Recall worklist"

    class Schedule(models.TextChoices):
        NONE = "none", "Not scheduled"
        WEEKLY = "weekly", "Every week"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # The list page's query string, as validated by its filter's form when saved (no page number).
    query = models.TextField(blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches"
    )
    shared = models.BooleanField(default=False, help_text="Shared with everyone in the PCN")
    schedule = models.CharField(max_length=10, choices=Schedule.choices, default=Schedule.NONE)
    # The day the weekly job next runs it (advanced a week from each scheduled run); None when not scheduled.
    next_run_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = SavedSearchQuerySet.as_manager()

    class Meta:
        ordering = ("name", "id")
        indexes = [models.Index(fields=["schedule", "next_run_on"], name="saved_search_due")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("reporting:saved_search_detail", args=[self.pk])

    def list_url(self) -> str:
        """The list page with the search's filters applied."""
        name = "caseload:patient_list" if self.kind == self.Kind.PATIENTS else "recall:worklist"
        return reverse(name) + (f"?{self.query}" if self.query else "")


class SavedSearchRunQuerySet(models.QuerySet["SavedSearchRun"]):
    def seen_by(self, user: Any) -> Self:
        """The runs a user sees: their own, and the scheduled ones of their own searches. A run counts in
        its runner's scope, so another person's count (of other practices) is neither shown nor compared."""
        return self.filter(Q(run_by=user) | Q(run_by__isnull=True, search__owner=user))


class SavedSearchRun(models.Model):
    search = models.ForeignKey(SavedSearch, on_delete=models.CASCADE, related_name="runs")
    run_at = models.DateTimeField()
    count = models.PositiveIntegerField()
    # Who ran it; None for the weekly job (run in the owner's scope).
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The scheduled day a weekly run was for: one run per search per scheduled day.
    scheduled_for = models.DateField(null=True, blank=True)

    objects = SavedSearchRunQuerySet.as_manager()

    class Meta:
        ordering = ("-run_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=["search", "scheduled_for"],
                condition=Q(scheduled_for__isnull=False),
                name="saved_search_run_once_a_schedule",
            )
        ]
        indexes = [models.Index(fields=["search", "-run_at"], name="saved_search_run_latest")]

    def __str__(self) -> str:
        return f"{self.search}: {self.count} at {self.run_at:%Y-%m-%d %H:%M}"
