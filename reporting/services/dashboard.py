"""The manager's dashboard: a few headline figures, each a figure of a shipped report, over the last 12
complete months.

The query count does not depend on the data: an event figure's trend is one grouped query, an as-at
figure's one query per month, and the EHCH percentage two per month (careplans.services.ehch).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.safestring import SafeString

from careplans.services.ehch import EHCH_PCSP_WORKING_DAYS
from reporting.charts import Point, bar_chart
from reporting.periods import Period
from reporting.reports import REPORTS
from reporting.reports.base import AnyMeasure, ComputedMeasure, Report, Value


@dataclass(frozen=True)
class Headline:
    """A figure of a report, under a short name for the dashboard."""

    report_key: str
    measure_key: str
    label: str
    note: str = ""  # what a month's value means, when the figure's own label is long

    @property
    def report(self) -> Report:
        return REPORTS[self.report_key]

    @property
    def measure(self) -> AnyMeasure:
        return self.report.measure(self.measure_key)


# What a PCN manager watches each month: the caseload and how fast it grows, the work done with it
# (contacts, PCSPs), the EHCH DES requirement (a PCSP within 7 working days of a care home admission)
# and whether MDT actions are being done.
HEADLINES: tuple[Headline, ...] = (
    Headline("caseload", "size", "On a caseload", "People on a caseload at the end of each month."),
    Headline("caseload", "new", "New to a caseload", "Episodes opened in each month."),
    Headline("contacts", "contacts", "Contacts", "Contacts recorded in each month."),
    Headline("care_plans", "agreed", "PCSPs agreed", "Care plan versions agreed in each month."),
    Headline(
        "care_plans",
        "ehch_on_time_percent",
        f"EHCH: PCSP within {EHCH_PCSP_WORKING_DAYS} working days",
        "Of each month's care home admissions whose deadline has passed or whose plan is agreed.",
    ),
    Headline(
        "mdt", "actions_overdue", "MDT actions overdue", "Open past their due date at the end of each month."
    ),
)


@dataclass(frozen=True)
class HeadlineFigure:
    headline: Headline
    periods: list[Period]
    values: list[Value]

    @property
    def measure(self) -> AnyMeasure:
        return self.headline.measure

    @property
    def unit(self) -> str:
        return self.measure.unit if isinstance(self.measure, ComputedMeasure) else ""

    @property
    def latest(self) -> Value:
        return self.values[-1] if self.values else None

    @property
    def change(self) -> Value:
        """The latest month against the month before it (None when either has no figure)."""
        if len(self.values) < 2 or self.values[-1] is None or self.values[-2] is None:
            return None
        return round(self.values[-1] - self.values[-2], 1)

    @property
    def change_size(self) -> Value:
        return None if self.change is None else abs(self.change)

    @property
    def months(self) -> list[tuple[Period, Value]]:
        return list(zip(self.periods, self.values, strict=True))

    @property
    def chart(self) -> SafeString:
        points = [Point(f"{p.start:%b}", p.label, v) for p, v in self.months]
        maximum = 100 if self.unit == "%" else None
        chart_id = f"{self.headline.report_key}-{self.headline.measure_key}".replace("_", "-")
        title = f"{self.headline.label}, by month"
        return bar_chart(points, chart_id=chart_id, title=title, unit=self.unit, maximum=maximum)


def dashboard_figures(*, periods: list[Period], practice_ids: list[int]) -> list[HeadlineFigure]:
    """Each headline's figure in each period, for the practices (the PCN figure: all of them together)."""
    return [
        HeadlineFigure(headline, periods, list(headline.measure.trend(periods, practice_ids)))
        for headline in HEADLINES
    ]
