"""Settings for bench/faults/two_beats.py: the project's, with every beat job every 20 seconds (so ten
minutes run each daily job about thirty times from each beat) and email written to files to count."""

import os

from pcn.settings import *  # noqa: F403 — the project's settings, changed only below
from pcn.settings import CELERY_BEAT_SCHEDULE

for _entry in CELERY_BEAT_SCHEDULE.values():
    _entry["schedule"] = 20.0
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "OPTIONS": {"file_path": os.environ["TWO_BEATS_MAIL_DIR"]},
    }
}
