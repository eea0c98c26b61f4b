"""How long `manage.py seed_demo --reset` takes for a large PCN on PostgreSQL (target: 100,000 in < 60 s).

    DATABASE_URL=postgres://… .venv/bin/python bench/seed_demo.py [--patients 100000] [--practices 3]

Seeds into the configured database, replacing its patients (DEMO_MODE is turned on for this process).
The time includes deleting the previous demo data.
"""

import sys
import time
from io import StringIO

from django_on_postgres import arguments, setup_django


def main() -> int:
    args = arguments(__doc__, practices=3, seed=1)
    if not setup_django("bench/seed_demo.py", DEMO_MODE="1"):  # seed_demo refuses without DEMO_MODE
        return 2
    from django.core.management import call_command
    from django.db import connection

    from caseload.models import Patient, RiskSnapshot

    if connection.vendor != "postgresql":
        print(f"bench/seed_demo.py measures PostgreSQL, not {connection.vendor}.", file=sys.stderr)
        return 2

    before = Patient.objects.count()
    started = time.perf_counter()
    call_command(
        "seed_demo",
        "--patients", str(args.patients),
        "--practices", str(args.practices),
        "--seed", str(args.seed),
        "--reset",
        stdout=StringIO(),
    )  # fmt: skip
    seconds = time.perf_counter() - started

    patients, snapshots = Patient.objects.count(), RiskSnapshot.objects.count()
    assert patients == args.patients, patients
    print(f"PostgreSQL {connection.pg_version // 10000}: replaced {before:,} patients with {patients:,}")
    print(f"  {snapshots:,} risk snapshots")
    print(f"  {seconds:.1f} s, {patients / seconds:,.0f} patients/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
