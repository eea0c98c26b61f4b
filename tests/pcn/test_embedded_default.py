"""`make run` with nothing configured: SQLite and the file broker. Migrations and the demo seed must
work there too (PostgreSQL-only index features, for one, must not break it)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(args: list[str], var_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "pcn.settings",
        "VAR_DIR": str(var_dir),
        "DEBUG": "1",
        "DEMO_MODE": "1",
        "HTTPS": "0",
    }
    return subprocess.run(  # noqa: S603 (fixed arguments)
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )


def test_migrate_and_seed_on_the_embedded_sqlite_default(tmp_path):
    migrate = run(["migrate", "--noinput", "-v0"], tmp_path)
    assert migrate.returncode == 0, migrate.stderr
    seed = run(["seed_demo", "--if-empty", "--patients", "200", "--practices", "2"], tmp_path)
    assert seed.returncode == 0, seed.stderr
    assert "Patients" in seed.stdout
    assert (tmp_path / "db.sqlite3").exists()
    assert (tmp_path / "celery" / "queue").is_dir()  # the broker that needs no server
    again = run(["seed_demo", "--if-empty"], tmp_path)
    assert again.stdout.strip() == "The database already holds patients: demo data not loaded again."
