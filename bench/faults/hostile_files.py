"""The hostile-file campaign (#13, F9): the whole generated corpus (tests/faults/corpus.py, the big
files included: zip bombs, 10 MB cells, 2 million empty rows, a 51 MB file) through every way in —
the service the Celery tasks call, `manage.py import_population`, the drop-folder sweep and the web
upload → preview → import pages (Celery eager) — and a table of what became of them:

    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE pcn_faults_bench"
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pcn_faults_bench .venv/bin/python bench/faults/hostile_files.py

Targets (reliability anchors F9): 0 unhandled exceptions (escaped, or caught and logged by an
import's last-resort handler), 0 5xx, 0 partial writes (the checksum of the patients, risk snapshots
and care events unchanged by every refused file), every file ending in a file-level or
row-numbered error (or, for the odd but valid ones, imported whole). Exits 1 when a target is missed.
"""

import argparse
import contextlib
import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from django_on_postgres import setup_django


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="leave out the big files")
    args = parser.parse_args()
    if not setup_django("bench/faults/hostile_files.py", HTTPS="0", DEBUG="0", DEMO_MODE="0"):
        return 2
    from django.conf import settings
    from django.core.management import call_command

    from pcn.celery import app
    from tests.faults.corpus import corpus
    from tests.faults.routes import failures, routes_of, run, table, world_make

    call_command("migrate", verbosity=0)
    work = Path(tempfile.mkdtemp(prefix="bench-hostile-"))
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.MEDIA_ROOT, settings.IMPORT_DROP_DIR = work / "media", work / "drop"
    settings.CELERY_TASK_ALWAYS_EAGER = app.conf.task_always_eager = True
    logging.getLogger("celery").setLevel(logging.WARNING)
    world = world_make(work, contextlib.nullcontext)  # real commits: what a view leaves runs then

    files = [file for file in corpus() if not (args.fast and file.big)]
    outcomes, growth = [], {}
    started = time.perf_counter()
    for file in files:
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        for route in routes_of(file):
            outcomes.append(run(file, route, world))
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
        growth[file.kind] = max(growth.get(file.kind, 0), grown)
    print(table(outcomes))
    slowest = max(outcomes, key=lambda o: o.seconds)
    print(
        f"\n{len(files)} files ({sum(f.big for f in files)} big, "
        f"{sum(len(f.content) for f in files if f.big) / 1_048_576:.0f} MB of them) in "
        f"{time.perf_counter() - started:.0f} s; slowest {slowest.file.name} via {slowest.route} "
        f"{slowest.seconds:.1f} s; peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
        f"(most a file added: {max(growth.values()) / 1024:.0f} MB, {max(growth, key=growth.get)})"
    )
    problems = failures(outcomes)
    for line in problems:
        print("NOT AS EXPECTED:", line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
