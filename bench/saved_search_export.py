"""A saved search's 100,000-row XLSX (and CSV), as the background download writes it: its time and the
process's peak memory.

    DATABASE_URL=postgres://…/pcn_bench .venv/bin/python bench/saved_search_export.py [--rows 100000]
    … bench/saved_search_export.py --full      # the whole background task: row, file, audit (writes)

Target (issue: Reporting): a 100,000-row XLSX of a saved search in ≤ 30 s with peak memory < 300 MB.

The search is Find patients with no filter (everyone, by name) over the demo PCN manager's practices, so
the database needs at least --rows patients (`seed_demo --patients 100000`; with --seed this script seeds
an empty one). By default it only reads: its connection is opened read-only (PostgreSQL's
default_transaction_read_only), so it may be pointed at a shared bench database; the search is not saved
and nothing is audited. --full runs `report_export_render` itself on a ReportExport row (the file under a
temporary MEDIA_ROOT, the audit event with its 100,000 patients): on a database of your own only.

Time is wall-clock (`time.perf_counter`), the count query included, printed with this process's CPU time
(`getrusage`: user + system), which a busy machine does not inflate. Memory is the peak resident set size
(`resource.getrusage(RUSAGE_SELF).ru_maxrss`) of this process, Django and its imports included, printed
with the resident size before the download for comparison.
"""

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

from django_on_postgres import demo_database, setup_django


def rss_mb() -> float:
    """This process's resident set size now, from /proc (Linux), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s() -> float:
    """This process's CPU time (user + system): what the download costs it, whatever else the machine runs."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument(
        "--full", action="store_true", help="the whole background task (writes a row and an audit event)"
    )
    parser.add_argument(
        "--seed", action="store_true", help="seed the demo PCN if the database has too few patients"
    )
    args = parser.parse_args()
    if not setup_django("bench/saved_search_export.py", DEMO_MODE="1", HTTPS="0"):
        return 2
    from django.db import connections

    writes = args.full or args.seed
    if not writes:
        # Read-only from the first query on: a write by anything below fails rather than lands.
        options = connections["default"].settings_dict.setdefault("OPTIONS", {})
        options["options"] = (options.get("options", "") + " -c default_transaction_read_only=on").strip()

    from caseload.models import Patient
    from pcn.models import User
    from reporting.models import ReportExport, SavedSearch
    from reporting.services.exports import list_export_request, report_export_render
    from reporting.services.list_exports import list_csv_write, list_xlsx_write, saved_search_list

    if args.seed and not demo_database(args.rows):
        return 2
    patients = Patient.objects.filter(is_deceased=False, has_left=False).count()
    if patients < args.rows:
        print(f"The database has {patients:,} patients: seed at least {args.rows:,} (--seed, on your own database)",
              file=sys.stderr)  # fmt: skip
        return 2
    manager = User.objects.get(email="manager@demo.pcn.test")
    search = SavedSearch(kind=SavedSearch.Kind.PATIENTS, query="", name="Everyone (bench)", owner=manager)
    if not writes:
        with connections["default"].cursor() as cursor:
            cursor.execute("SHOW default_transaction_read_only")
            assert cursor.fetchone()[0] == "on", "the connection is not read-only"
    print(f"PostgreSQL: {patients:,} patients; {'the whole background task' if args.full else 'read-only'}")
    before = rss_mb()
    print(f"Resident memory before the download: {before:.0f} MB")

    if args.full:
        with tempfile.TemporaryDirectory() as media:
            from django.conf import settings

            settings.MEDIA_ROOT = media
            search.save()
            listed = saved_search_list(search=search, user=manager)
            listed.limit = args.rows
            started, cpu = time.perf_counter(), cpu_s()
            export, _ = list_export_request(
                by=manager, patients=listed, saved_search=search, practice_ids=sorted(manager.practice_ids()),
                format="xlsx", rows=listed.count(),
            )  # fmt: skip
            export = report_export_render(export=export)
            elapsed, cpu = time.perf_counter() - started, cpu_s() - cpu
            size = export.file.size
            rows = export.progress_total
            assert export.state == ReportExport.State.READY, export.error
        report("XLSX, the background task (query, file, saved, audited)", rows, elapsed, cpu, size, args.rows)
        return 0

    results = []
    for format, write in (("xlsx", list_xlsx_write), ("csv", list_csv_write)):
        listed = saved_search_list(search=search, user=manager)
        listed.limit = args.rows
        with tempfile.TemporaryFile() as target:
            started, cpu = time.perf_counter(), cpu_s()
            total = listed.count()
            kwargs = {"by": manager} if format == "xlsx" else {}
            written = write(target, listed, step=lambda done: None, **kwargs)
            elapsed, cpu = time.perf_counter() - started, cpu_s() - cpu
            size = target.tell()
        assert len(written) == total, (len(written), total)
        results.append(report(format.upper(), len(written), elapsed, cpu, size, args.rows))
    return 0 if results[0] else 1


def report(what: str, rows: int, elapsed: float, cpu: float, size: int, target_rows: int) -> bool:
    peak = peak_mb()
    met = elapsed <= 30 and peak < 300
    print(
        f"  {what}: {rows:,} rows in {elapsed:.1f} s ({rows / elapsed:,.0f} rows/s; {cpu:.1f} s of this process's CPU), "
        f"{size / 1e6:.1f} MB file; "
        f"peak RSS so far {peak:.0f} MB"
    )
    if rows >= target_rows and what.startswith("XLSX"):
        print(f"  target ≤ 30 s and < 300 MB: {'met' if met else 'NOT MET'}")
    return met


if __name__ == "__main__":
    sys.exit(main())
