"""Reports over the demo PCN (100,000 patients with a year of activity: `seed_demo`, then bench/pcn_year.py): each report's figures
through the ORM against the same aggregate SQL run bare, every report page and the dashboard p95.

    DATABASE_URL=postgres://…/pcn_bench .venv/bin/python bench/reports.py [--patients 100000] [--runs 20]

Targets (issue: Reporting): each report's main query ≤ 1.5× the bare SQL of the same aggregate; every report
page and the dashboard p95 ≤ 300 ms for one client. The demo's own activity is sized for trying the product;
bench/pcn_year.py adds a year of a PCN of this size the first time.
"""

import resource
import statistics
import sys
import time
from dataclasses import replace

from django_on_postgres import arguments, demo_django, p95, page_timings, signed_in_client


def orm_and_bare(
    connection: object, report: object, period: object, practice_ids: list[int]
) -> tuple[float, float, int]:
    """The report run through the ORM and the very queries it sends executed bare (median ms of 7 runs),
    and how many queries: what the ORM adds on top of the SQL."""
    from django.test.utils import CaptureQueriesContext

    from reporting.reports.base import report_run

    with CaptureQueriesContext(connection) as sent:
        report_run(report=report, period=period, practice_ids=practice_ids)
    orm, bare = [], []
    for _ in range(7):
        started = time.perf_counter()
        report_run(report=report, period=period, practice_ids=practice_ids)
        orm.append(time.perf_counter() - started)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for query in sent.captured_queries:
                cursor.execute(query["sql"])
                cursor.fetchall()
        bare.append(time.perf_counter() - started)
    return statistics.median(orm) * 1000, statistics.median(bare) * 1000, len(sent.captured_queries)


def main() -> int:
    args = arguments(__doc__, runs=20)
    if not demo_django("bench/reports.py", args.patients):
        return 2
    from django.db import connection
    from django.urls import reverse
    from django.utils import timezone
    from pcn_year import pcn_year_seed

    from caseload.models import Contact
    from pcn.models import User
    from reporting.periods import last_complete_month, qof_year_of
    from reporting.reports import REPORTS
    from reporting.reports.base import Measure

    if Contact.objects.count() < args.patients // 20:  # the demo alone: add the PCN's year
        started = time.perf_counter()
        added = pcn_year_seed()
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(f"Added a year of a PCN's activity in {time.perf_counter() - started:.1f} s:")
        print("  " + ", ".join(f"{n:,} {kind}" for kind, n in added.items()))
    manager = User.objects.get(email="manager@demo.pcn.test")
    practice_ids = sorted(manager.practice_ids())
    today = timezone.localdate()
    period = qof_year_of(today)
    print(f"PostgreSQL: {args.patients:,} patients; period {period.label}; {len(practice_ids)} practices")

    print(
        "1. Each report's figures (this period and the one before, per practice) through the ORM, against "
        "the same SQL run bare (median of 7 runs). 'counted': its counted figures (the target); 'whole': "
        "with the figures worked out in Python too (medians, EHCH working days)"
    )
    worst = 0.0
    for report in REPORTS.values():
        counted = replace(report, measures=tuple(m for m in report.measures if isinstance(m, Measure)))
        figures = {}
        for name, chosen in (("counted", counted), ("whole", report)):
            orm, bare, queries = orm_and_bare(connection, chosen, period, practice_ids)
            figures[name] = (orm, bare, queries)
        ratio = figures["counted"][0] / figures["counted"][1]
        worst = max(worst, ratio)
        whole = figures["whole"]
        print(
            f"  {report.key:<12} counted: {figures['counted'][2]:2d} queries, ORM {figures['counted'][0]:6.1f} ms,"
            f" bare {figures['counted'][1]:6.1f} ms, {ratio:4.2f}×   whole: {whole[2]:2d} queries, ORM"
            f" {whole[0]:6.1f} ms, bare {whole[1]:6.1f} ms, {whole[0] / whole[1]:4.2f}×"
        )
    print(f"  worst counted ratio {worst:.2f}× (target ≤ 1.5×: {'met' if worst <= 1.5 else 'NOT MET'})")

    print("2. The pages, one client (the PCN manager), p95 of runs")
    client = signed_in_client(manager)
    month = last_complete_month(today)
    urls = [("dashboard", reverse("reporting:dashboard"))] + [
        (key, f"{reverse('reporting:report_detail', args=[key])}?period=month&month={month.start:%Y-%m}")
        for key in REPORTS
    ]
    slowest = 0.0
    for name, url in urls:
        timings = page_timings(client, url, args.runs)
        slowest = max(slowest, p95(timings))
        print(f"  {name:<12} median {statistics.median(timings):6.1f} ms   p95 {p95(timings):6.1f} ms")
    print(f"  slowest p95 {slowest:.0f} ms (target ≤ 300 ms: {'met' if slowest <= 300 else 'NOT MET'})")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"Peak memory of this process: {peak:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
