"""`manage.py demo_totp EMAIL`: the current two-factor code of a demo user (DEMO_MODE only)."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from demo.services import DemoSeedRefused, demo_totp_token


class Command(BaseCommand):
    help = (
        "Print the current 6-digit code of the user's authenticator, so that demo users can sign in "
        "without a phone. Runs only when DEMO_MODE is on."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("email", help="The user's email address.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self.stdout.write(demo_totp_token(email=options["email"]))
        except DemoSeedRefused as refusal:
            raise CommandError(str(refusal)) from refusal
