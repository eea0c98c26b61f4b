"""What every benchmark does first: read its command line, refuse a database other than PostgreSQL, then
set Django up (on the demo PCN for most); and how the page benchmarks time a page."""

import argparse
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import django


def arguments(doc: str, **options: int) -> argparse.Namespace:
    """The benchmark's command line: the first line of its docstring as the description, --patients (the
    demo PCN's size, 100,000 unless given) and its own whole-number options with their defaults
    (`runs=30`: --runs, 30 unless given)."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    for name, default in {"patients": 100_000, **options}.items():
        parser.add_argument(f"--{name}", type=int, default=default)
    return parser.parse_args()


def setup_django(script: str, **environ: str) -> bool:
    """Django set up on the DATABASE_URL's PostgreSQL, with `environ` set for this process. False, having
    said why, when DATABASE_URL is not a PostgreSQL one."""
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        print(f"{script} measures PostgreSQL: set DATABASE_URL=postgres://…", file=sys.stderr)
        return False
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pcn.settings")
    os.environ.update(environ)
    django.setup()
    return True


def demo_database(patients: int) -> bool:
    """The bench database migrated and holding the demo PCN with `patients` patients (seeded when it holds
    another number). False, having said why, when it cannot be reseeded (audit rows are append-only)."""
    from io import StringIO

    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from caseload.models import Patient
    from pcn.models import AuditEvent

    # The test client's host, without setup_test_environment(): that instruments every template render
    # (a signal each), which is not what production pays.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    call_command("migrate", verbosity=0)
    if Patient.objects.count() != patients:
        if AuditEvent.objects.exists():
            # Audit rows are append-only and name patients: reseeding needs a fresh database.
            print("The bench database has audit rows: drop and recreate it to reseed.", file=sys.stderr)
            return False
        started = time.perf_counter()
        call_command("seed_demo", "--patients", str(patients), "--reset", stdout=StringIO())
        # As autovacuum would after a bulk load: without statistics the planner guesses a few rows
        # for tables of 100,000 (nested loops and on-disk sorts), which production never sees for long.
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
        print(f"Seeded {patients:,} patients (and analysed) in {time.perf_counter() - started:.1f} s")
    return True


def demo_django(script: str, patients: int) -> bool:
    """Django set up in demo mode (plain HTTP, as the test client speaks) on the bench database holding
    the demo PCN with `patients` patients. False, having said why, when it cannot be."""
    return setup_django(script, DEMO_MODE="1", HTTPS="0") and demo_database(patients)


def p95(values: list[float]) -> float:
    """The 95th percentile: the value 95% of the (sorted) values are at or below."""
    ordered = sorted(values)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


def page_timings(client: object, url: str, runs: int) -> list[float]:
    """Milliseconds of each of `runs` GETs of `url` (each answered 200), after one that warms up."""
    assert client.get(url).status_code == 200, url  # type: ignore[attr-defined]
    timings = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)  # type: ignore[attr-defined]
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, url
    return timings


def signed_in_client(user: object) -> object:
    """A test client signed in as `user`, past two-factor (as if a code had been entered)."""
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    client = Client()
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get(confirmed=True).persistent_id  # type: ignore[attr-defined]
    session.save()
    return client


def signed_in_session(user: object) -> str:
    """A session key signed in as `user` past two-factor, written as a sign-in would (for a client that
    is not Django's: Locust, urllib), the user given a confirmed TOTP device if they have none."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from pcn.sessions import SessionStore

    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="bench", confirmed=True
    )
    store = SessionStore()
    store.update(
        {
            "_auth_user_id": str(user.pk),  # type: ignore[attr-defined]
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": user.get_session_auth_hash(),  # type: ignore[attr-defined]
            DEVICE_ID_SESSION_KEY: device.persistent_id,
            "_pcn_signed_in_at": int(time.time()),
        }
    )
    store.create()
    return store.session_key  # type: ignore[return-value]


ROOT = Path(__file__).resolve().parent.parent


def gunicorn(port: int, workers: int) -> subprocess.Popen:
    """gunicorn serving the project as in production (DEBUG off) on 127.0.0.1:`port`, once it answers."""
    env = {**os.environ, "DEBUG": "0", "HTTPS": "0", "DEMO_MODE": "0", "ALLOWED_HOSTS": "127.0.0.1"}
    command = [str(Path(sys.executable).with_name("gunicorn")), "pcn.wsgi", "-b", f"127.0.0.1:{port}"]
    command += ["-w", str(workers), "--log-level", "warning"]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)  # noqa: S603 — this venv's
    for _ in range(60):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2)
            return server
        except OSError:
            time.sleep(0.5)
    server.terminate()
    raise SystemExit("gunicorn did not start")
