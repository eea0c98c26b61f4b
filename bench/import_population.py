"""How fast the population import is on PostgreSQL, against the bare COPY + upsert of the same rows.

    DATABASE_URL=postgres://…/pcn_bench .venv/bin/python bench/import_population.py [--rows 100000]

In one run it generates a canonical CSV of --rows synthetic patients (999 test range, practices
B99001-B99006 that it creates), then times:
  1. the full import (`population_import_file`: read, check every row, COPY, one upsert statement
     that also writes the risk snapshots, the batch and its audit event) into an empty register;
  2. re-importing the same file (changes nothing);
  3. importing a second file in which every patient's risk score and A&E count changed (the
     monthly refresh: every patient updated, a snapshot each);
and, as the floor, the bare `COPY` of the same file into a typed staging table plus one
`INSERT … ON CONFLICT (nhs_number) DO UPDATE` into a scratch copy of the patient table (the same
columns, defaults, checks, indexes and foreign keys; no validation, no condition flags or eFI
category, no snapshots, no batch), for the first load and for the changed file. It prints the times, their ratios (target: ≤ 2×) and the process's peak memory
(target: < 512 MB). The bench's own patients and scratch table are removed first, not afterwards.
"""

import argparse
import csv
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from django_on_postgres import setup_django

PRACTICES = [f"B9900{n}" for n in range(1, 7)]
COLUMNS = [
    "nhs_number", "given_name", "family_name", "date_of_birth", "sex", "practice_code", "address",
    "postcode", "phone", "mobile", "preferred_language", "interpreter_needed", "is_carer", "has_carer",
    "care_home_resident", "care_home_name", "is_deceased", "has_left", "risk_score", "efi_score",
    "ae_attendances_12m", "emergency_admissions_12m", "conditions",
]  # fmt: skip
GIVEN = [
    "Joan",
    "Arthur",
    "Nasreen",
    "Tomasz",
    "Margaret",
    "Samuel",
    "Eilidh",
    "Bilal",
    "Irene",
    "Grace",
    "Ravi",
]
FAMILY = ["Whitfield", "Pembroke", "Akhtar", "Kowalski", "O'Connor", "Osei", "Campbell", "Hussain", "Hughes"]
STREETS = ["High Street", "Station Road", "Church Lane", "Mill Lane", "Victoria Road", "Park Avenue"]
LANGUAGES = ["English"] * 8 + ["Polish", "Urdu", "Bengali", "Punjabi"]
KEYS = ["diabetes", "hypertension", "chd", "stroke_tia", "heart_failure", "copd", "asthma", "ckd", "dementia"]


def generate(path: Path, numbers: list[str], *, seed: int, changed: bool = False) -> None:
    rng = random.Random(seed)  # the same people in both files; `changed` moves their figures
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for index, number in enumerate(numbers):
            age = rng.randint(0, 100)
            risk = rng.randint(0, 1000) / 10
            ae = rng.randint(0, 12)
            if changed:
                risk, ae = (risk + 7.5) % 100, (ae + 1) % 13
            writer.writerow(
                [
                    number, rng.choice(GIVEN), rng.choice(FAMILY),
                    f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{2025 - age}",
                    rng.choice("MF"), PRACTICES[index % len(PRACTICES)],
                    f"{rng.randint(1, 200)} {rng.choice(STREETS)}, Riverside",
                    f"ZZ99 {rng.randint(1, 9)}{rng.choice('ABDEFGH')}{rng.choice('JLNPQRST')}",
                    f"01632 {rng.randint(960000, 960999)}", f"07700 {rng.randint(900000, 900999)}",
                    rng.choice(LANGUAGES), rng.choice("NNNNY"), rng.choice("NNNY"), rng.choice("NNNY"), "N", "",
                    "N", "N", f"{risk:.1f}", f"{rng.randint(0, 50) / 100:.2f}" if age >= 65 else "",
                    ae, rng.randint(0, 5), ";".join(rng.sample(KEYS, rng.randint(0, 3))),
                ]
            )  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5, help="first loads to time; the median is compared")
    args = parser.parse_args()
    os.environ.setdefault("HTTPS", "0")
    if not setup_django("bench/import_population.py"):
        return 2
    from django.core.management import call_command
    from django.db import connection, transaction

    from caseload.models import ImportBatch, ImportProfile, Patient, RiskSnapshot
    from caseload.services.import_runs import population_import_file
    from pcn.models import Practice
    from pcn.nhs_number import synthetic_sequence

    if connection.vendor != "postgresql":
        print(f"bench/import_population.py measures PostgreSQL, not {connection.vendor}.", file=sys.stderr)
        return 2
    call_command("migrate", verbosity=0)
    profile = ImportProfile.objects.get(slug="canonical")
    practice_ids = [
        Practice.objects.update_or_create(ods_code=code, defaults={"name": f"Bench practice {code}"})[0].pk
        for code in PRACTICES
    ]
    numbers = list(synthetic_sequence(start=100_000))[: args.rows]
    workdir = Path(tempfile.mkdtemp(prefix="bench-import-"))
    first_file, changed_file = workdir / "population_v1.csv", workdir / "population_v2.csv"
    generate(first_file, numbers, seed=1)
    generate(changed_file, numbers, seed=1, changed=True)
    size_mb = first_file.stat().st_size / 1_048_576

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_patient_scratch")
        # The patient table's shape: its columns, defaults, checks and indexes (LIKE … INCLUDING ALL),
        # and its foreign keys, which LIKE leaves out, as Django makes them (deferred to the commit).
        cursor.execute("CREATE TABLE bench_patient_scratch (LIKE caseload_patient INCLUDING ALL)")
        for column, target in (
            ("practice_id", "pcn_practice"),
            ("care_home_id", "caseload_carehome"),
            ("first_batch_id", "caseload_importbatch"),
        ):
            cursor.execute(
                f"ALTER TABLE bench_patient_scratch ADD FOREIGN KEY ({column}) REFERENCES {target} (id) "
                "DEFERRABLE INITIALLY DEFERRED"
            )

    def reset() -> None:
        """Empty the bench's part of the register and the scratch table, and settle the disk."""
        with connection.cursor() as cursor:
            cursor.execute(
                "DELETE FROM caseload_risksnapshot WHERE patient_id IN "
                "(SELECT id FROM caseload_patient WHERE practice_id = ANY(%s))",
                [practice_ids],
            )
            cursor.execute("DELETE FROM caseload_patient WHERE practice_id = ANY(%s)", [practice_ids])
            cursor.execute("TRUNCATE bench_patient_scratch")
            for table in ("caseload_patient", "caseload_risksnapshot", "bench_patient_scratch"):
                cursor.execute(f"VACUUM ANALYZE {table}")
            cursor.execute("CHECKPOINT")  # a superuser's (or pg_checkpoint's) right

    def timed(label: str, path: Path) -> tuple[float, ImportBatch]:
        started = time.perf_counter()
        batch = population_import_file(path=path, profile=profile)
        seconds = time.perf_counter() - started
        assert batch.status == ImportBatch.Status.DONE, batch.error_message
        counts = batch.counts
        print(
            f"  {label:<40} {seconds:6.2f} s   new {counts['new']:,}, updated {counts['updated']:,}, "
            f"unchanged {counts['unchanged']:,}"
        )
        return seconds, batch

    columns = [
        c for c in COLUMNS if c not in ("practice_code", "care_home_resident", "care_home_name", "conditions")
    ]
    staging_types = {
        "date_of_birth": "date", "interpreter_needed": "boolean", "is_carer": "boolean", "has_carer": "boolean",
        "care_home_resident": "boolean", "is_deceased": "boolean", "has_left": "boolean",
        "risk_score": "numeric(4,1)", "efi_score": "numeric(3,2)", "ae_attendances_12m": "smallint",
        "emergency_admissions_12m": "smallint",
    }  # fmt: skip
    staging = ", ".join(f"{c} {staging_types.get(c, 'text')}" for c in COLUMNS)
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in [*columns[1:], "practice_id", "updated_at"])

    def bare(label: str, path: Path) -> float:
        """The floor: COPY the raw file into a typed staging table, one INSERT … ON CONFLICT, commit."""
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL datestyle = 'ISO, DMY'")
            cursor.execute(f"CREATE TEMPORARY TABLE bench_staging ({staging}) ON COMMIT DROP")
            with (
                connection.connection.cursor() as raw,
                raw.copy("COPY bench_staging FROM STDIN (FORMAT csv, HEADER true)") as copy,
                path.open("rb") as handle,
            ):
                while block := handle.read(1 << 20):
                    copy.write(block)
            cursor.execute(
                f"INSERT INTO bench_patient_scratch ({', '.join(columns)}, practice_id, efi_category, "
                "ltc_flags, created_at, updated_at) "
                f"SELECT {', '.join('s.' + c for c in columns)}, p.id, '', 0, now(), now() "
                "FROM bench_staging s JOIN pcn_practice p ON p.ods_code = s.practice_code "
                f"ON CONFLICT (nhs_number) DO UPDATE SET {updates}"
            )
        seconds = time.perf_counter() - started
        print(f"  {label:<40} {seconds:6.2f} s")
        return seconds

    print(f"PostgreSQL {connection.pg_version // 10000}: {args.rows:,} rows, {size_mb:.1f} MB canonical CSV")
    others = Patient.objects.exclude(practice_id__in=practice_ids).count()
    if others:
        print(f"  (the patient table also holds {others:,} other patients)")
    print("Full import = read, check every row, COPY, one upsert + snapshots, batch, audit, commit.")
    print("Bare = COPY of the raw file + one INSERT … ON CONFLICT into a scratch copy of the patient table.")
    firsts, bares = [], []
    for repeat in range(1, args.repeats + 1):
        reset()
        # Alternate which goes first, so that neither always meets the warmer cache.
        for which in ("import", "bare") if repeat % 2 else ("bare", "import"):
            if which == "import":
                seconds, batch = timed(f"full import, first load #{repeat}", first_file)
                assert batch.counts["new"] == args.rows
                firsts.append(seconds)
            else:
                bares.append(bare(f"bare, first load #{repeat}", first_file))
    again, batch = timed("full import, same file again", first_file)
    assert batch.counts["unchanged"] == args.rows and RiskSnapshot.objects.filter(batch=batch).count() == 0
    refresh, batch = timed("full import, changed file", changed_file)
    assert batch.counts["updated"] == args.rows
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    bare_refresh = bare("bare, changed file", changed_file)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_patient_scratch")

    first, bare_first = statistics.median(firsts), statistics.median(bares)
    print(f"First load, median of {args.repeats}: full import {first:.2f} s, bare {bare_first:.2f} s")
    print("Ratios, full import / bare (target ≤ 2.0):")
    print(f"  first load           {first / bare_first:5.2f}×   ({args.rows / first:,.0f} rows/s)")
    print(f"  changed file         {refresh / bare_refresh:5.2f}×   ({args.rows / refresh:,.0f} rows/s)")
    print(
        f"  same file again      {again / bare_refresh:5.2f}×   (it writes nothing; against the bare re-upsert)"
    )
    print(f"Peak memory of this process (after the imports): {peak_mb:.0f} MB (target < 512 MB)")
    for path in (first_file, changed_file):
        path.unlink()
    workdir.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
