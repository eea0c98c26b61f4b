"""What every benchmark does first: refuse a database other than PostgreSQL, then set Django up."""

import os
import sys
from pathlib import Path

import django


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
