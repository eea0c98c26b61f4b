"""Server time of the cohort list and My caseload over 100,000 patients (target: every p95 < 150 ms).

    DATABASE_URL=postgres://…/pcn_bench .venv/bin/python bench/caseload_pages.py [--patients 100000] [--runs 30]

Seeds the demo PCN into the configured PostgreSQL database (replacing its patients) unless it
already holds --patients, puts 400 patients on the demo coordinator's caseload, then times each
page with one in-process client (Django's test client: the whole request through middleware,
views, queries and templates; no network). Prints median and p95 per page.
"""

import statistics
import sys

from django_on_postgres import arguments, demo_django, p95, page_timings, signed_in_client


def main() -> int:
    args = arguments(__doc__, runs=30)
    if not demo_django("bench/caseload_pages.py", args.patients):
        return 2
    from django.db import connection

    from caseload.models import CaseloadEpisode, Patient
    from caseload.services.episodes import episodes_open
    from pcn.models import User

    coordinator = User.objects.get(email="coordinator@demo.pcn.test")
    manager = User.objects.get(email="manager@demo.pcn.test")
    if not CaseloadEpisode.objects.filter(coordinator=coordinator).exists():
        patients = list(
            Patient.objects.filter(practice_id__in=coordinator.practice_ids()).order_by("-risk_score")[:400]
        )
        episodes_open(patients=patients, coordinator=coordinator, reason="risk_list", by=coordinator)
    connection.cursor().execute("ANALYZE")

    client_for = signed_in_client

    cases = [
        ("manager: cohort, unfiltered", manager, "/patients/"),
        ("manager: filtered (75+, moderate/severe eFI)", manager,
         "/patients/?age_band=75-84&age_band=85%2B&efi=moderate&efi=severe"),
        ("manager: filtered (diabetes + frequent attender)", manager,
         "/patients/?conditions=diabetes&frequent_attender=yes"),
        ("manager: risk rising, not on a caseload", manager, "/patients/?risk_rising=on&on_caseload=no"),
        ("manager: searched by name", manager, "/patients/?q=smith"),
        ("manager: searched by NHS number", manager, "/patients/?q=999+600+12"),
        *[(f"manager: sorted by {key}", manager, f"/patients/?sort={key}")
          for key in ("name", "-name", "nhs_number", "age", "-age", "risk", "efi", "ae")],
        ("manager: deep page (150 of 200)", manager, "/patients/?sort=risk&page=150"),
        ("coordinator: cohort, own practice", coordinator, "/patients/?sort=risk"),
        ("coordinator: My caseload (400 open)", coordinator, "/caseload/"),
        ("manager: everyone's caseloads", manager, "/caseload/?coordinator="),
    ]  # fmt: skip

    print(
        f"PostgreSQL {connection.pg_version // 10000}, {Patient.objects.count():,} patients, {args.runs} runs each"
    )
    print(f"{'page':<52}{'median ms':>10}{'p95 ms':>9}")
    worst = 0.0
    clients = {user.pk: client_for(user) for user in (manager, coordinator)}
    for label, user, url in cases:
        timings = page_timings(clients[user.pk], url, args.runs)
        worst = max(worst, p95(timings))
        print(f"{label:<52}{statistics.median(timings):>10.1f}{p95(timings):>9.1f}")
    print(f"worst p95: {worst:.1f} ms (target < 150 ms): {'met' if worst < 150 else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
