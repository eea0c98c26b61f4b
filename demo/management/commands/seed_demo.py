"""`manage.py seed_demo`: a synthetic PCN to try the product with (DEMO_MODE only)."""

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from caseload.models import Patient
from demo.services import DEMO_PASSWORD, DEMO_USERS, DemoSeedRefused, demo_pcn_seed
from pcn.models import Membership


class Command(BaseCommand):
    help = (
        "Seed a deterministic synthetic PCN: practices, care homes, patients (999 test-range NHS numbers), "
        "two risk imports and one demo user per role. Runs only with DEMO_MODE on. Refuses when the database "
        "already holds patients, unless --reset, which deletes every patient, care home and import first."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--patients", type=int, default=3000, help="How many patients (default 3000).")
        parser.add_argument("--practices", type=int, default=3, help="How many practices, 2-9 (default 3).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: the same seed, the same data.")
        parser.add_argument(
            "--reset", action="store_true", help="Delete every patient, care home and import first."
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing (and succeed) when the database already holds patients: what `make run` uses.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and not options["reset"] and Patient.objects.exists():
            self.stdout.write("The database already holds patients: demo data not loaded again.")
            return
        started = time.perf_counter()
        try:
            counts = demo_pcn_seed(
                patients=options["patients"],
                practices=options["practices"],
                seed=options["seed"],
                reset=options["reset"],
            )
        except DemoSeedRefused as refusal:
            raise CommandError(str(refusal)) from refusal
        seconds = time.perf_counter() - started

        self.stdout.write(
            self.style.SUCCESS(f"Seeded the demo PCN in {seconds:.1f} s (seed {options['seed']}).")
        )
        for label, value in (
            ("Practices", counts.practices),
            ("Care homes", counts.care_homes),
            ("Patients", counts.patients),
            ("  care home residents", counts.care_home_residents),
            ("  with an eFI score (65+)", counts.with_efi),
            ("  frequent attenders", counts.frequent_attenders),
            ("  with an ethnicity", counts.with_ethnicity),
            ("Import batches", counts.import_batches),
            ("Risk snapshots", counts.risk_snapshots),
            ("Users", counts.users),
            ("MDT series", counts.meeting_series),
            ("Recall entries (this year)", counts.recall_entries),
            ("  invitations sent", counts.recall_invitations),
            ("  appointments", counts.appointments),
            ("Caseload episodes", counts.caseload_episodes),
            ("  contacts", counts.contacts),
            ("  tasks", counts.tasks),
            ("  PAM scores", counts.activation_measures),
            ("  signposting", counts.signpostings),
            ("  support given", counts.support_given),
            ("Referrals", counts.referrals),
            ("Transfers of care", counts.care_events),
            ("Care plans", counts.care_plans),
            ("  versions", counts.care_plan_versions),
            ("  reviews", counts.care_plan_reviews),
            ("MDT meetings held", counts.mdt_meetings_held),
            ("  agenda items", counts.agenda_items),
            ("  actions", counts.mdt_actions),
            ("Safeguarding concerns", counts.safeguarding_concerns),
            ("  GP reviews booked after", counts.gp_reviews_booked),
            ("Feedback and stories", counts.feedback_stories),
            ("Coding export rows", counts.coding_entries),
        ):
            self.stdout.write(f"  {label:<28}{value:>9,}")

        scopes: dict[str, list[str]] = {}
        for email, ods_code in Membership.objects.filter(
            user__email__in=[u.email for u in DEMO_USERS]
        ).values_list("user__email", "practice__ods_code"):
            scopes.setdefault(email, []).append(ods_code)
        self.stdout.write("")
        self.stdout.write(f"Demo sign-ins — password for all: {DEMO_PASSWORD}")
        self.stdout.write("Two-factor code: manage.py demo_totp EMAIL")
        for user in DEMO_USERS:
            practices = ", ".join(sorted(scopes.get(user.email, [])))
            self.stdout.write(f"  {user.email:<30}{user.role.label:<18}{practices}")
