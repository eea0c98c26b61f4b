"""Reporting's records: downloads made in the background (`ReportExport`: a report, the monthly pack, a
saved search's result or a data-quality check's patients) and the monthly pack's
deliveries; saved searches (a Find-patients or recall worklist filter kept under a name), their runs and
their counts; the BI feed's API tokens (an administrator issues one to a user for a Power BI or Excel
query, and revokes it; only a hash of the token is stored, the token itself is shown once)."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any, Self

from django.conf import settings
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from reporting.periods import Period, PeriodKind
from reporting.reports import REPORTS

PACK_KEY = "monthly_pack"  # report_key of a monthly pack (its reports are in `pack_reports`)


def list_filename(*, kind: str, key: str, label: str, on: date, format: str) -> str:
    """A list download's file name, made in the request or the background alike:
    "data-quality-no_mobile-2026-12-03.csv", "high-risk-over-75s-2026-12-03.xlsx" (a saved search's name)."""
    if kind == ReportExport.Kind.DATA_QUALITY:
        return f"data-quality-{key}-{on.isoformat()}.{format}"
    return f"{slugify(label) or key.replace('_', '-')}-{on.isoformat()}.{format}"


class ReportExportQuerySet(models.QuerySet["ReportExport"]):
    def made_by(self, user: object) -> Self:
        """A user reaches only the downloads they asked for (or were sent): anyone else's are 404."""
        return self.filter(created_by=user)


class ReportExport(models.Model):
    """A download made in the background: one report (or the monthly pack) for a period and practices as
    CSV, XLSX or PDF, or a list of patients (a saved search's result, a data-quality check's patients) as
    CSV or XLSX. A request only makes the row; `reporting.tasks.report_export_task` writes the file,
    reporting progress as it goes. Past REPORTING_EXPORT_KEEP_DAYS its file is deleted and the row kept,
    expired (`reporting.services.exports.report_exports_expire`)."""

    class Kind(models.TextChoices):
        REPORT = "report", "Report"
        SAVED_SEARCH = "saved_search", "Saved search"
        DATA_QUALITY = "data_quality", "Data quality"

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"
        PDF = "pdf", "PDF"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        RUNNING = "running", "Being made"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.REPORT)
    # A report's key (or PACK_KEY); a saved search's kind (SavedSearch.Kind); a data-quality check's key.
    report_key = models.CharField(max_length=40)
    pack_reports = models.JSONField(
        default=list, blank=True, help_text="A monthly pack's reports, in order (empty for one report)."
    )
    # The saved search a list came from (its filters are copied to `query` when asked for, so a download
    # shows what was asked even if the search is deleted meanwhile).
    saved_search = models.ForeignKey(
        "SavedSearch", on_delete=models.SET_NULL, null=True, blank=True, related_name="exports"
    )
    query = models.TextField(
        blank=True, help_text="A saved search's filters when the download was asked for."
    )
    label = models.CharField(max_length=200, blank=True, help_text="A list's title, e.g. the search's name.")
    version = models.CharField("definition version", max_length=200, blank=True)
    # A report's period; none for a list (it is of today).
    period_kind = models.CharField(
        max_length=10, choices=[(kind.value, kind.name) for kind in PeriodKind], blank=True
    )
    period_start = models.DateField(null=True, blank=True)
    period_end = models.DateField(null=True, blank=True)
    practice_ids = models.JSONField(default=list)  # sorted
    format = models.CharField(max_length=4, choices=Format.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)  # a report's figures + 1; a list's rows
    file = models.FileField(upload_to="reporting/exports/", blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey("pcn.User", on_delete=models.CASCADE, related_name="report_exports")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    objects = ReportExportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["created_by", "-created_at"], name="report_export_by_user"),
            models.Index(fields=["state", "finished_at"], name="report_export_to_expire"),
        ]

    def __str__(self) -> str:
        when = f", {self.period.label}" if self.period else ""
        return f"{self.title}{when} ({self.get_format_display()})"

    def get_absolute_url(self) -> str:
        return reverse("reporting:export_detail", args=[self.pk])

    @property
    def period(self) -> Period | None:
        if not self.period_kind or self.period_start is None or self.period_end is None:
            return None
        return Period(PeriodKind(self.period_kind), self.period_start, self.period_end)

    @property
    def is_pack(self) -> bool:
        return self.report_key == PACK_KEY

    @property
    def is_list(self) -> bool:
        """A list of patients (a saved search's result, a data-quality check's), not a report's figures."""
        return self.kind != self.Kind.REPORT

    @property
    def report_keys(self) -> list[str]:
        return list(self.pack_reports) if self.is_pack else [self.report_key]

    @property
    def title(self) -> str:
        if self.kind == self.Kind.SAVED_SEARCH:
            return f"Saved search: {self.label}"
        if self.kind == self.Kind.DATA_QUALITY:
            return f"Data quality: {self.label}"
        if self.is_pack:
            return "Monthly PCN pack"
        report = REPORTS.get(self.report_key)
        return report.title if report else self.report_key

    @property
    def working(self) -> bool:
        return self.state in (self.State.PENDING, self.State.RUNNING)

    @property
    def filename(self) -> str:
        period = self.period
        if period is None:
            made = timezone.localdate(self.created_at) if self.created_at else timezone.localdate()
            return list_filename(
                kind=self.kind, key=self.report_key, label=self.label, on=made, format=self.format
            )
        when = (
            f"{period.start:%Y-%m}"
            if period.kind == PeriodKind.MONTH
            else f"{period.start:%Y-%m-%d}-to-{period.end:%Y-%m-%d}"
        )
        return f"{self.report_key.replace('_', '-')}-{when}.{self.format}"


class MonthlyPackDelivery(models.Model):
    """A manager's monthly pack: one row per manager and month decides that they are emailed once."""

    manager = models.ForeignKey("pcn.User", on_delete=models.CASCADE, related_name="monthly_packs")
    month = models.DateField(help_text="The first day of the month the pack covers.")
    pdf = models.ForeignKey(ReportExport, on_delete=models.SET_NULL, null=True, related_name="+")
    xlsx = models.ForeignKey(ReportExport, on_delete=models.SET_NULL, null=True, related_name="+")
    sent_at = models.DateTimeField(null=True, blank=True)
    # Tries that failed (making a file or sending): the retry sweep stops at REPORTING_MONTHLY_PACK_TRIES.
    failures = models.PositiveSmallIntegerField(default=0)
    error = models.CharField(max_length=300, blank=True, help_text="Why the last try failed.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "manager_id"]
        constraints = [
            models.UniqueConstraint(fields=["manager", "month"], name="monthly_pack_once_per_manager_month")
        ]

    def __str__(self) -> str:
        return f"{self.month:%B %Y} pack for {self.manager}"


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


def token_hash(token: str) -> str:
    """SHA-256 of the token, hex. A token is 256 random bits (reporting.services.tokens), so a fast hash
    is enough: there is nothing to guess from a leaked hash, unlike a password."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def live(self) -> Self:
        """Not revoked, and held by an active user."""
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    user = models.ForeignKey(
        "pcn.User", on_delete=models.CASCADE, related_name="api_tokens", help_text="The figures are theirs: "
        "the feed shows the practices they are a member of."
    )  # fmt: skip
    name = models.CharField(max_length=100, help_text="What it is for, e.g. “Power BI PCN dashboard”.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
