"""Report downloads made in the background (`ReportExport`), and the monthly pack's deliveries."""

from __future__ import annotations

from typing import Self

from django.db import models
from django.urls import reverse

from reporting.periods import Period, PeriodKind
from reporting.reports import REPORTS

PACK_KEY = "monthly_pack"  # report_key of a monthly pack (its reports are in `pack_reports`)


class ReportExportQuerySet(models.QuerySet["ReportExport"]):
    def made_by(self, user: object) -> Self:
        """A user reaches only the downloads they asked for (or were sent): anyone else's are 404."""
        return self.filter(created_by=user)


class ReportExport(models.Model):
    """One report (or the monthly pack) for a period and practices, as CSV, XLSX or PDF. A request only
    makes the row; `reporting.tasks.report_export_task` writes the file, reporting progress as it goes."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (XLSX)"
        PDF = "pdf", "PDF"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to start"
        RUNNING = "running", "Being made"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    report_key = models.CharField(max_length=40)
    pack_reports = models.JSONField(
        default=list, blank=True, help_text="A monthly pack's reports, in order (empty for one report)."
    )
    version = models.CharField("definition version", max_length=200)
    period_kind = models.CharField(max_length=10, choices=[(kind.value, kind.name) for kind in PeriodKind])
    period_start = models.DateField()
    period_end = models.DateField()
    practice_ids = models.JSONField(default=list)  # sorted
    format = models.CharField(max_length=4, choices=Format.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    file = models.FileField(upload_to="reporting/exports/", blank=True)
    error = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey("pcn.User", on_delete=models.CASCADE, related_name="report_exports")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = ReportExportQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["created_by", "-created_at"], name="report_export_by_user")]

    def __str__(self) -> str:
        return f"{self.title}, {self.period.label} ({self.get_format_display()})"

    def get_absolute_url(self) -> str:
        return reverse("reporting:export_detail", args=[self.pk])

    @property
    def period(self) -> Period:
        return Period(PeriodKind(self.period_kind), self.period_start, self.period_end)

    @property
    def is_pack(self) -> bool:
        return self.report_key == PACK_KEY

    @property
    def report_keys(self) -> list[str]:
        return list(self.pack_reports) if self.is_pack else [self.report_key]

    @property
    def title(self) -> str:
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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-month", "manager_id"]
        constraints = [
            models.UniqueConstraint(fields=["manager", "month"], name="monthly_pack_once_per_manager_month")
        ]

    def __str__(self) -> str:
        return f"{self.month:%B %Y} pack for {self.manager}"
