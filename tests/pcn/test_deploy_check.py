"""`manage.py check --deploy` passes with zero warnings for a production configuration."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def check_deploy(**settings: str) -> subprocess.CompletedProcess[str]:
    """`manage.py check --deploy` in a production configuration, plus `settings`."""
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "pcn.settings",
        "SECRET_KEY": "k3y-" + "x7Qp9" * 12,
        "ALLOWED_HOSTS": "pcn.example.nhs.uk",
        "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/pcn"),
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        **settings,
    }
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_check_deploy_has_no_warnings_in_production_configuration():
    result = check_deploy(EMAIL_HOST="smtp.example.nhs.uk")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "System check identified no issues (0 silenced)."


def test_production_cookies_are_host_prefixed_and_secure():
    env = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "pcn.settings", "SECRET_KEY": "k" * 60}
    code = (
        "from django.conf import settings as s; "
        "print(s.SESSION_COOKIE_NAME, s.CSRF_COOKIE_NAME, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, "
        "s.SECURE_HSTS_SECONDS, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_AGE)"
    )
    result = subprocess.run(  # noqa: S603 (fixed arguments)
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.split() == [
        "__Host-sessionid",
        "__Host-csrftoken",
        "True",
        "True",
        "31536000",
        "True",
        "1800",
    ]


def test_check_deploy_without_email_host_names_the_variable_to_set():
    result = check_deploy()
    assert result.returncode == 1
    assert "?: (pcn.E001) Email is printed to the console, not sent: no EMAIL_HOST is set." in result.stderr
    assert "HINT: Set EMAIL_HOST to your SMTP relay" in result.stderr
    # Django's own message for the same case, which names no variable, is replaced by ours.
    assert "mail.E001" not in result.stderr
