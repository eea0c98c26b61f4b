"""Call/recall on 100,000 patients: building a QOF year, a 5,000-patient batch, reconciling 5,000 rows.

    DATABASE_URL=postgres://…/pcn_bench .venv/bin/python bench/recall.py [--patients 100000] [--repeats 3]

Seeds the demo PCN into the configured PostgreSQL database unless it already holds --patients, then
times, and prints:
  1. building the current QOF year's entries from scratch (`recall_year_build`: one INSERT … SELECT per
     register, with its eligibility rules and due months) against, as the floor, a bare
     `INSERT … SELECT` of the same rows (copied from the built table) into a scratch copy of the entry
     table (the same columns, defaults, checks, indexes and foreign keys), in the same run, the order
     alternating (targets: ≤ 10 s and ≤ 2×);
  2. a 5,000-patient SMS batch: `invitation_batch_create` (the safe-batch checks, the ledger rows in one
     INSERT, the entries' counts) and the messaging CSV written from `messaging_rows` (target ≤ 2 s);
  3. reconciling a 5,000-row recall dates file (`recall_dates_import`): the web page does this in the
     request only if it takes well under a second;
  4. the worklist page's p95 over --runs requests with one client, if `recall:worklist` exists
     (target ≤ 150 ms);
and the process's peak memory (target < 512 MB). The year's invitations, batches and entries are
removed first, not afterwards.
"""

import csv
import io
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from django_on_postgres import arguments, demo_django, p95, page_timings, signed_in_client


def main() -> int:
    args = arguments(__doc__, repeats=3, batch=5000, runs=30)
    if not demo_django("bench/recall.py", args.patients):
        return 2
    from django.db import connection, transaction
    from django.urls import NoReverseMatch, reverse
    from django.utils import timezone

    from caseload.models import Patient
    from pcn.exports import csv_safe
    from pcn.models import User
    from recall.models import Appointment, Invitation, InvitationBatch, RecallEntry, qof_year
    from recall.services.invitations import MESSAGING_HEADER, invitation_batch_create, messaging_rows
    from recall.services.reconcile import recall_dates_import
    from recall.services.years import recall_year_build

    today = timezone.localdate()
    year = qof_year(today)
    manager = User.objects.get(email="manager@demo.pcn.test")
    entry_table = RecallEntry._meta.db_table
    columns = [
        f.column for f in RecallEntry._meta.concrete_fields if f.column != "id"
    ]  # the same rows, less their ids
    column_list = ", ".join(columns)

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_entry_scratch")
        cursor.execute(f"CREATE TABLE bench_entry_scratch (LIKE {entry_table} INCLUDING ALL)")
        for column, target in (("patient_id", "caseload_patient"), ("register_id", "recall_register"),
                               ("pca_by_id", "pcn_user")):  # fmt: skip
            cursor.execute(
                f"ALTER TABLE bench_entry_scratch ADD FOREIGN KEY ({column}) REFERENCES {target} (id) "
                "DEFERRABLE INITIALLY DEFERRED"
            )

    def reset() -> None:
        Appointment.entries.through.objects.filter(recallentry__year=year).delete()
        Invitation.objects.filter(year=year).delete()
        InvitationBatch.objects.filter(sent_on=today).delete()
        RecallEntry.objects.filter(year=year).delete()
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE bench_entry_scratch")
            for table in (entry_table, "bench_entry_scratch", "caseload_patient"):
                cursor.execute(f"VACUUM ANALYZE {table}")
            cursor.execute("CHECKPOINT")

    def build() -> float:
        started = time.perf_counter()
        made = recall_year_build(year=year)
        seconds = time.perf_counter() - started
        print(f"  recall_year_build            {seconds:6.2f} s   {made:,} entries")
        return seconds

    def bare() -> float:
        if not RecallEntry.objects.filter(year=year).exists():
            recall_year_build(year=year)  # the rows to copy
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO bench_entry_scratch ({column_list}) SELECT {column_list} FROM {entry_table} "
                "WHERE year = %s",
                [year],
            )
            copied = cursor.rowcount
        seconds = time.perf_counter() - started
        print(f"  bare INSERT … SELECT         {seconds:6.2f} s   {copied:,} rows")
        return seconds

    on_registers = Patient.objects.exclude(ltc_flags=0).count()
    print(
        f"PostgreSQL {connection.pg_version // 10000}: {Patient.objects.count():,} patients, "
        f"{on_registers:,} with a condition on a register; QOF year {year}"
    )
    print("1. Building the year from scratch, against a bare INSERT … SELECT of the same rows")
    builds, bares = [], []
    for repeat in range(1, args.repeats + 1):
        reset()
        # Alternate which goes first, so that neither always meets the warmer cache.
        if repeat % 2:
            builds.append(build())
            bares.append(bare())
        else:
            bares.append(bare())  # builds its rows first (untimed), then copies them
            with connection.cursor() as cursor:
                cursor.execute(f"DELETE FROM {entry_table} WHERE year = %s", [year])
                cursor.execute(f"VACUUM ANALYZE {entry_table}")
            builds.append(build())
    build_s, bare_s = statistics.median(builds), statistics.median(bares)
    ratio = build_s / bare_s
    print(
        f"  median: build {build_s:.2f} s (target ≤ 10 s: {'met' if build_s <= 10 else 'NOT MET'}), bare "
        f"{bare_s:.2f} s, ratio {ratio:.2f}× (target ≤ 2×: {'met' if ratio <= 2 else 'NOT MET'})"
    )
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_entry_scratch")
        cursor.execute(f"VACUUM ANALYZE {entry_table}")

    print(f"2. A {args.batch:,}-patient SMS batch: ledger rows, entries, the messaging CSV")
    patient_ids = list(
        RecallEntry.objects.filter(year=year, state__in=RecallEntry.INVITABLE_STATES)
        .exclude(patient__mobile="")
        .order_by("patient_id")
        .values_list("patient_id", flat=True)
        .distinct()[: args.batch]
    )
    entries = RecallEntry.objects.filter(
        year=year, state__in=RecallEntry.INVITABLE_STATES, patient_id__in=patient_ids
    )
    started = time.perf_counter()
    batch = invitation_batch_create(entries=entries, channel="sms", on=today, by=manager, description="bench")
    created = time.perf_counter() - started
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(MESSAGING_HEADER)
    lines = 0
    for row in messaging_rows(batch):
        writer.writerow(csv_safe(row))
        lines += 1
    batch_s = time.perf_counter() - started
    print(
        f"  {batch.patient_count:,} patients, {batch.invitation_count:,} invitations, "
        f"{len(batch.excluded):,} left out, {lines:,} CSV rows ({len(buffer.getvalue()) / 1024:.0f} KB)"
    )
    print(
        f"  batch create {created:.2f} s, with the CSV {batch_s:.2f} s "
        f"(target ≤ 2 s: {'met' if batch_s <= 2 else 'NOT MET'})"
    )

    print("3. Reconciling a 5,000-row recall dates file")
    rows = list(
        RecallEntry.objects.filter(year=year, register__key="diabetes")
        .order_by("patient_id")
        .values_list("patient__nhs_number", flat=True)[:5000]
    )
    with tempfile.NamedTemporaryFile("w", suffix=".csv", newline="", delete=False) as handle:
        writer = csv.writer(handle)
        writer.writerow(["NHS number", "last_review_diabetes", "last_invited_diabetes", "pca_diabetes"])
        for index, nhs in enumerate(rows):
            review = today.replace(day=1).strftime("%d/%m/%Y") if index % 3 == 0 else "14/03/2024"
            writer.writerow([nhs, review, today.strftime("%Y-%m-%d"), ""])
    path = Path(handle.name)
    started = time.perf_counter()
    result = recall_dates_import(path=path, by=manager)
    reconcile_s = time.perf_counter() - started
    path.unlink()
    print(
        f"  {result.rows:,} rows, {result.matched:,} matched, {result.entries_updated:,} entries, "
        f"{result.reviews_closed:,} closed as seen: {reconcile_s:.2f} s"
    )

    print("4. The worklist page")
    try:
        url = reverse("recall:worklist")
    except NoReverseMatch:
        print("  skipped: recall:worklist does not exist on this branch")
    else:
        # The coordinator at one practice is the worklist's user (the target); the manager sees the whole
        # PCN's 100,000 patients at once (printed for comparison).
        for email, target in (("coordinator@demo.pcn.test", 150), ("manager@demo.pcn.test", None)):
            user = User.objects.get(email=email)
            client = signed_in_client(user)
            for query in ("", "?register=1"):
                timings = page_timings(client, url + query, args.runs)
                slowest = p95(timings)
                verdict = (
                    f"target ≤ {target} ms: {'met' if slowest <= target else 'NOT MET'}"
                    if target
                    else "no target"
                )
                print(
                    f"  {email.split('@')[0]:<12} {url + query:<22} median {statistics.median(timings):6.1f} ms, "
                    f"p95 {slowest:6.1f} ms ({verdict})"
                )

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"Peak memory of this process: {peak_mb:.0f} MB (target < 512 MB: {'met' if peak_mb < 512 else 'NOT MET'})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
