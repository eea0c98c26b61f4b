"""Settings for the PCN care-coordination site: one file, read from the environment.

With nothing set, the site runs on an SQLite file and a Celery broker that needs no server
(kombu's filesystem transport), so `make run` works on a bare machine. Production sets
DATABASE_URL (PostgreSQL) and REDIS_URL, and leaves DEBUG off. The README lists every variable.
"""

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
from celery.schedules import crontab
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def daily_at(task: str, *, hour: int, minute: int) -> dict[str, Any]:
    """A Celery beat entry: `task` once a day at hour:minute, London time (CELERY_TIMEZONE)."""
    return {"task": task, "schedule": crontab(hour=hour, minute=minute)}


DEBUG = env_bool("DEBUG", False)
# Demo mode: seeded synthetic PCN, `manage.py demo_totp` prints demo users' codes. Never in production.
DEMO_MODE = env_bool("DEMO_MODE", False)
# HTTPS: redirect to https, HSTS, Secure `__Host-` cookies. On unless DEBUG; tests and `make run` turn it off.
HTTPS = env_bool("HTTPS", not DEBUG)

# Without SECRET_KEY, a development key is used; `check --deploy` reports it, so production must set one.
SECRET_KEY = (
    os.environ.get("SECRET_KEY") or "django-insecure-development-only-key-set-SECRET_KEY-in-production"
)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "pcn.apps.PcnAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "crispy_forms",
    "django_filters",
    "pcn",
    "caseload",
    "mdt",
    "careplans",
    "recall",
    "reporting",
    "overview",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "pcn.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "pcn.middleware.RequireTwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "pcn.middleware.AbsoluteSessionLifetimeMiddleware",
    "django_htmx.middleware.HtmxMiddleware",  # request.htmx
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Axes last: it turns a lockout into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pcn.urls"
WSGI_APPLICATION = "pcn.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "pcn.context_processors.navigation",
            ],
            "builtins": ["pcn.templatetags.pcn_tags"],
        },
    }
]

# --- Data -------------------------------------------------------------------------------------------
if not os.environ.get("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default keeps its SQLite file here
DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Accounts, sessions, two-factor -----------------------------------------------------------------
AUTH_USER_MODEL = "pcn.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Sessions live in the database with the user's id beside them, so that deactivating a user can
# end every session they hold (pcn.sessions). The cookie's age is the idle timeout: every request
# saves the session and pushes expiry forward.
SESSION_ENGINE = "pcn.sessions"
SESSION_IDLE_TIMEOUT_MINUTES = env_int("SESSION_IDLE_TIMEOUT_MINUTES", 30)
SESSION_COOKIE_AGE = SESSION_IDLE_TIMEOUT_MINUTES * 60
# However active, a session ends this long after sign-in (pcn.middleware.AbsoluteSessionLifetimeMiddleware).
SESSION_ABSOLUTE_LIFETIME_HOURS = env_int("SESSION_ABSOLUTE_LIFETIME_HOURS", 10)
SESSION_SAVE_EVERY_REQUEST = True
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# django-axes: after 5 failed sign-ins to one account from one address, that account is locked there
# for 30 minutes (an administrator can unlock sooner: `manage.py axes_reset_username EMAIL`). Keyed on
# the pair, not the address alone, because a whole practice can sit behind one NHS network address.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", 30))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# The sign-in form posts the email address as "username" (Django's AuthenticationForm field name).
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
# Behind the production proxy the client address is the first of X-Forwarded-For.
AXES_IPWARE_PROXY_COUNT = env_int("PROXY_COUNT", 0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

OTP_TOTP_ISSUER = os.environ.get("OTP_ISSUER", "PCN Care Coordination")
OTP_TOTP_THROTTLE_FACTOR = 1

# --- Security headers -------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = True
if HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    # `__Host-` cookies are bound to this host, Secure, path "/": no subdomain can set or read them.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
if env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Content Security Policy from Django's own middleware: no inline script or style anywhere.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
}

# --- The product's own rules ----------------------------------------------------------------------------
# Frequent attenders: A&E attendances in 12 months at or above this (DOMAIN.md; NHSE winter plan, a setting).
FREQUENT_ATTENDER_THRESHOLD = env_int("FREQUENT_ATTENDER_THRESHOLD", 5)
# Call/recall: a review or invitation recorded here that the GP record (the last recall dates file)
# still does not show after this many days is listed on the coding discrepancies page.
RECALL_CODING_LAG_DAYS = env_int("RECALL_CODING_LAG_DAYS", 14)
# Recall dates files (recall.services.reconcile): the largest upload, and the most rows the web page
# reconciles in the request (bench/recall.py measures 5,000; larger files: manage.py import_recall_dates).
RECALL_DATES_MAX_MB = env_int("RECALL_DATES_MAX_MB", 10)
RECALL_DATES_MAX_ROWS = env_int("RECALL_DATES_MAX_ROWS", 5000)
# Patient Activation Measure: a re-measure task this many months after each measure (DOMAIN.md; default 6,
# *unverified*: no NHSE-mandated interval was found, so the PAM form says so).
PAM_REMEASURE_MONTHS = env_int("PAM_REMEASURE_MONTHS", 6)
# A hospital discharge makes a follow-up task due this many working days later (pcn.working_days).
# *Unverified*: a local default, no national standard found; the UI says so.
DISCHARGE_FOLLOW_UP_WORKING_DAYS = env_int("DISCHARGE_FOLLOW_UP_WORKING_DAYS", 2)

# --- Uploads ----------------------------------------------------------------------------------------
IMPORT_MAX_UPLOAD_MB = env_int("IMPORT_MAX_UPLOAD_MB", 50)
# Population imports (caseload.services.import_files): the most rows one file may have, and the drop folder that
# Celery beat sweeps (files in IMPORT_DROP_DIR/<profile slug>/; they move to done/ or failed/ with
# their report). A file is picked up once it has not changed for IMPORT_DROP_MIN_AGE_SECONDS, so
# that a file still being copied in is left alone.
IMPORT_MAX_ROWS = env_int("IMPORT_MAX_ROWS", 1_000_000)
IMPORT_DROP_DIR = Path(os.environ.get("IMPORT_DROP_DIR", VAR_DIR / "imports"))
IMPORT_DROP_MIN_AGE_SECONDS = env_int("IMPORT_DROP_MIN_AGE_SECONDS", 60)
IMPORT_DROP_SKIP_INVALID = env_bool("IMPORT_DROP_SKIP_INVALID", False)
# An import checking, waiting or running with no sign of life for this long has lost its worker
# (killed, out of memory, restarted): the drop-folder sweep fails it. A live import is never taken
# for one: it reports progress as it reads the file and holds its batch's row lock while it writes.
IMPORT_STUCK_AFTER_MINUTES = max(5, env_int("IMPORT_STUCK_AFTER_MINUTES", 30))
DATA_UPLOAD_MAX_NUMBER_FILES = 5
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# --- Internationalisation ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("STATIC_MANIFEST", HTTPS)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))

CRISPY_ALLOWED_TEMPLATE_PACKS = ("nhsuk",)
CRISPY_TEMPLATE_PACK = "nhsuk"

# --- Email (Django 6.1 MAILERS) ------------------------------------------------------------------------
# SMTP when EMAIL_HOST is set; otherwise, for trying it out, messages are printed to the console.
_email_host = os.environ.get("EMAIL_HOST", "")
if _email_host:
    _mailer: dict = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": _email_host,
            "port": env_int("EMAIL_PORT", 587),
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", True),
            "use_ssl": env_bool("EMAIL_USE_SSL", False),
            "timeout": 30,
        },
    }
else:
    _mailer = {"BACKEND": "django.core.mail.backends.console.EmailBackend"}
MAILERS = {"default": _mailer}
# pcn.E001 (pcn/checks.py) reports a console backend under `check --deploy` and names EMAIL_HOST.
SILENCED_SYSTEM_CHECKS = ["mail.E001"]
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "PCN Care Coordination <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Celery -----------------------------------------------------------------------------------------
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object]  # kombu's options: numbers, folders and flags
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Work is scheduled by storing `due_at` rows and sweeping; no task waits this long (STYLE.md 4).
    # A broker out of reach is given up on in 2 s (pcn.outbox sends the task later).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600, "socket_connect_timeout": 2}
else:
    # A broker that needs no server: messages are files under var/celery, shared by web, worker and beat.
    CELERY_BROKER_URL = "filesystem://"
    _celery_dir = VAR_DIR / "celery"
    for _folder in ("queue", "processed", "control"):
        (_celery_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_celery_dir / "queue"),
        "data_folder_out": str(_celery_dir / "queue"),
        "processed_folder": str(_celery_dir / "processed"),
        "control_folder": str(_celery_dir / "control"),  # kombu's default is ./control, beside manage.py
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
# Publishing does not retry in the request: a task the broker did not take waits in the outbox.
CELERY_TASK_PUBLISH_RETRY = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {}
CELERY_BEAT_SCHEDULE["outbox-send-due"] = {"task": "pcn.tasks.outbox_send_due_task", "schedule": 60.0}
CELERY_BEAT_SCHEDULE["population-import-drop-folder"] = {
    "task": "caseload.tasks.population_import_sweep_task",
    "schedule": timedelta(minutes=5),
}
# MDT meetings: every active series kept `meetings_ahead` occurrences ahead, next agendas refreshed.
CELERY_BEAT_SCHEDULE["mdt-schedule-meetings"] = {
    "task": "mdt.tasks.meetings_schedule_task",
    "schedule": timedelta(hours=1),
}
# MDT agenda circulation: meetings whose circulate_at has passed get their pack emailed (each member once).
CELERY_BEAT_SCHEDULE["mdt-circulate-agendas"] = {
    "task": "mdt.tasks.circulation_sweep_task",
    "schedule": timedelta(minutes=5),
}
# Links in emails sent by tasks, which have no request to take the host from.
SITE_URL = os.environ.get("SITE_URL", "http://localhost:8000")

# MDT action chasing: owners of overdue actions get at most one email per action every N days; from
# the (M+1)th chase on, the series' chair is copied. Both are local choices, not national guidance.
MDT_CHASE_INTERVAL_DAYS = max(1, env_int("MDT_CHASE_INTERVAL_DAYS", 7))
MDT_CHASE_ESCALATE_AFTER = max(1, env_int("MDT_CHASE_ESCALATE_AFTER", 3))
# Daily, in the morning; a second run that day sends nothing.
CELERY_BEAT_SCHEDULE["mdt-action-chase"] = daily_at("mdt.tasks.actions_chase_task", hour=7, minute=30)

# Care plan reviews: each agreed plan whose review date has come gets one review task (safe to rerun).
CELERY_BEAT_SCHEDULE["careplans-reviews-sweep"] = daily_at(
    "careplans.tasks.care_plan_reviews_sweep_task", hour=6, minute=45
)

# Call/recall: each night the current QOF year's entries are made and kept in step (on 1 April, the
# new year's); the sweep is idempotent.
CELERY_BEAT_SCHEDULE["recall-sweep"] = daily_at("recall.tasks.recall_sweep_task", hour=2, minute=30)

# --- Logging: no patient data in logs; who saw what is the AuditEvent's job. -------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # weasyprint logs every layout step at INFO (MDT packs); fontTools logs each font subset.
    "loggers": {
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}

# --- Reporting: downloads and the monthly pack (reporting.services.exports, .packs) ---------------------
# Asking again for the same download (report, period, practices, format) within this many minutes of the
# last one being made gets that file rather than a new one; one still being made is always reused.
REPORTING_EXPORT_REUSE_MINUTES = env_int("REPORTING_EXPORT_REUSE_MINUTES", 60)
# A saved search's result or a data-quality check's patients over this many rows is made in the background
# (a download with a progress bar, kept under "Your downloads"); a smaller one is sent in the request.
REPORTING_EXPORT_BACKGROUND_ROWS = env_int("REPORTING_EXPORT_BACKGROUND_ROWS", 500)
# Made downloads (their files hold patients' details) are deleted this many days after being made; the
# row is kept, marked expired, so that its page says to make it again. Swept daily.
REPORTING_EXPORT_KEEP_DAYS = max(1, env_int("REPORTING_EXPORT_KEEP_DAYS", 7))
CELERY_BEAT_SCHEDULE["reporting-exports-expire"] = daily_at(
    "reporting.tasks.report_exports_expire_task", hour=3, minute=15
)
# The reports in the monthly PCN pack (keys of reporting.reports.REPORTS), in order.
REPORTING_MONTHLY_PACK_REPORTS = env_list(
    "REPORTING_MONTHLY_PACK_REPORTS", ["caseload", "care_plans", "mdt", "recall"]
)
# Daily; the task acts only on the first working day of the month (pcn.working_days), each manager once.
CELERY_BEAT_SCHEDULE["reporting-monthly-pack"] = daily_at(
    "reporting.tasks.monthly_pack_task", hour=7, minute=0
)
# Tries of one manager's monthly pack before the hourly retry gives up (each try that fails is logged).
REPORTING_MONTHLY_PACK_TRIES = max(1, env_int("REPORTING_MONTHLY_PACK_TRIES", 6))
# Hourly: a manager's pack that could not be made or sent (its delivery row unsent) is tried again, on
# any day of the month after the first working day; still sent once (the same unique row decides).
CELERY_BEAT_SCHEDULE["reporting-monthly-pack-retry"] = {
    "task": "reporting.tasks.monthly_pack_retry_task",
    "schedule": crontab(minute=20),
}

# --- Reporting: saved searches ------------------------------------------------------------------------
# Daily: each weekly saved search due (a week since its last scheduled run) is run in its owner's scope and
# the owner emailed the count; a second run that day finds nothing due (reporting.services.saved_searches).
CELERY_BEAT_SCHEDULE["reporting-saved-searches-weekly"] = daily_at(
    "reporting.tasks.saved_searches_run_due_task", hour=7, minute=0
)

# --- Reporting: data quality and the BI feed (reporting.services.data_quality, .bi_feed) ----------------
# Small numbers on the BI feed, as NHS England's published statistics treat them: a count from 1 to
# BI_SUPPRESS_BELOW - 1 is shown as "*", any other count is rounded to the nearest BI_ROUND_TO (0 stays 0);
# a percentage or median is "*" when fewer than BI_SUPPRESS_BELOW patients are behind it.
BI_SUPPRESS_BELOW = env_int("BI_SUPPRESS_BELOW", 8)
BI_ROUND_TO = max(1, env_int("BI_ROUND_TO", 5))
