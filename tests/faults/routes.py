"""The ways a file comes in, and what must be true once it has: each hostile file (tests.faults.corpus)
through the service the Celery tasks call, `manage.py import_population`, the drop-folder sweep and
the web upload → preview → import pages; then 0 unhandled exceptions, 0 server errors, 0 partial
writes (a checksum of the patients, their risk snapshots and the care events), no batch left working,
and the file-level or row-numbered outcome the file expects. Used by tests/faults and
bench/faults/hostile_files.py (PostgreSQL: the checksum is SQL)."""

import contextlib
import io
import logging
import os
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from caseload.models import CareEvent, ImportBatch, ImportProfile, Patient, RiskSnapshot
from caseload.services.care_events import care_event_feed_import_file
from caseload.services.import_runs import (
    DROP_FOLDER_DONE,
    DROP_FOLDER_FAILED,
    DROP_FOLDER_PROCESSING,
    population_import_drop_folder_sweep,
    population_import_file,
)
from pcn.models import Practice, Role, User
from tests.conftest import make_person, sign_in
from tests.factories import PatientFactory
from tests.faults.corpus import (
    IMPORTS,
    INACTIVE_PRACTICE,
    OTHER_PRACTICE,
    OTHER_PRACTICE_PATIENT,
    PRACTICE,
    REFUSED,
    ROWS,
    Hostile,
)

POPULATION_ROUTES = ("service", "command", "drop folder", "web")
FEED_ROUTES = ("service", "web")  # a feed has no command or drop folder
WORKING = (ImportBatch.Status.CHECKING, ImportBatch.Status.PENDING, ImportBatch.Status.RUNNING)
CommitHook = Callable[[], contextlib.AbstractContextManager[Any]]


@dataclass
class World:
    manager: User  # a PCN manager at P99001 only
    directory: Path  # files are written here; the drop folder is its drop/
    commit: CommitHook  # runs what a view left for the commit (pytest's transaction never commits)
    client: Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = sign_in(Client(raise_request_exception=False), self.manager)


def world_make(directory: Path, commit: CommitHook) -> World:
    """The practices the corpus names, its uploader, and the patient at another practice."""
    practice = Practice.objects.get_or_create(ods_code=PRACTICE, defaults={"name": "Riverside Surgery"})[0]
    other = Practice.objects.get_or_create(ods_code=OTHER_PRACTICE, defaults={"name": "Hillside Practice"})[0]
    Practice.objects.get_or_create(
        ods_code=INACTIVE_PRACTICE, defaults={"name": "Closed", "is_active": False}
    )
    if not Patient.objects.filter(nhs_number=OTHER_PRACTICE_PATIENT).exists():
        PatientFactory(nhs_number=OTHER_PRACTICE_PATIENT, practice=other)
    manager = make_person(practice, Role.MANAGER).user
    return World(manager=manager, directory=directory, commit=commit)


@dataclass
class Outcome:
    file: Hostile
    route: str
    status: str = ""  # the batch's last status, or "form" (the upload form refused the file)
    error_rows: tuple[int, ...] = ()
    unhandled: list[str] = field(default_factory=list)  # escaped, or caught by the last-resort handler
    server_errors: int = 0
    partial: bool = False
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ended(self) -> str:
        if self.status == "form" or (self.status == ImportBatch.Status.FAILED and not self.error_rows):
            return "file-level error"
        if self.error_rows:
            return "row errors"
        if self.status == ImportBatch.Status.DONE:
            return "imported"
        return self.status or "nothing"


def checksum() -> str:
    """The patients, their risk snapshots and the care events, as one digest."""
    parts = [
        f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM {model._meta.db_table} t)"  # noqa: S608 — table names from _meta
        for model in (Patient, RiskSnapshot, CareEvent)
    ]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {' || '.join(parts)}")
        return cursor.fetchone()[0]


class _Crashes(logging.Handler):
    """Counts what the imports' last-resort handlers log (crash_log): an unexpected error, caught."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def _crashes() -> Any:
    handler = _Crashes()
    loggers = [logging.getLogger(name) for name in ("caseload.services.import_batches", "django.request")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


def run(file: Hostile, route: str, world: World) -> Outcome:
    """Put `file` through `route` and check it."""
    outcome = Outcome(file, route)
    before, last = checksum(), ImportBatch.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    started = time.perf_counter()
    with _crashes() as crashes:
        try:
            batch = _ROUTES[(file.feed, route)](file, world, outcome)
        except Exception as error:
            outcome.unhandled.append(f"{type(error).__name__}: {str(error)[:200]}")
            batch = None
    outcome.seconds = time.perf_counter() - started
    outcome.unhandled += [f"logged: {record.getMessage()[:200]}" for record in crashes]
    if batch is not None:
        batch.refresh_from_db()
        outcome.status = batch.status
        outcome.error_rows = tuple(sorted({int(error[0]) for error in batch.report.get("errors", [])}))
        if batch.status == ImportBatch.Status.FAILED and not batch.error_message:
            outcome.problems.append("failed without saying why")
    if ImportBatch.objects.filter(pk__gt=last, status__in=WORKING).exists():
        outcome.problems.append("a batch was left working")
    changed = checksum() != before
    _expectations(file, outcome, batch, changed)
    return outcome


def _expectations(file: Hostile, outcome: Outcome, batch: ImportBatch | None, changed: bool) -> None:
    problems = outcome.problems
    expect = (outcome.route == "web" and file.web) or file.expect
    if expect != IMPORTS and changed:
        outcome.partial = True
        problems.append("written although refused")
    if outcome.unhandled or outcome.server_errors:
        return
    if expect == REFUSED and outcome.ended != "file-level error":
        problems.append(f"expected a file-level error, ended with {outcome.ended} {outcome.error_rows[:10]}")
    elif expect == ROWS and outcome.error_rows != file.error_rows:
        problems.append(
            f"expected errors on rows {file.error_rows}, ended with {outcome.ended} {outcome.error_rows[:10]}"
        )
    elif expect == IMPORTS:
        counts = batch.counts if batch is not None else {}
        imported = counts.get("new", 0) + counts.get("updated", 0) + counts.get("unchanged", 0)
        if outcome.status != ImportBatch.Status.DONE or counts.get("invalid") or imported != file.patients:
            problems.append(
                f"expected all {file.patients} imported, ended {outcome.ended} {counts} {batch.error_message if batch else ''}"
            )
            outcome.partial = outcome.status == ImportBatch.Status.DONE


def _written(file: Hostile, world: World, folder: str = "files") -> Path:
    path = world.directory / folder / file.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(file.content)
    return path


def _service(file: Hostile, world: World, outcome: Outcome) -> ImportBatch:
    path = _written(file, world)
    profile = ImportProfile.objects.get(slug=file.profile)
    return population_import_file(path=path, profile=profile, by=world.manager)


def _feed_service(file: Hostile, world: World, outcome: Outcome) -> ImportBatch:
    return care_event_feed_import_file(path=_written(file, world), by=world.manager)


def _command(file: Hostile, world: World, outcome: Outcome) -> ImportBatch:
    path = _written(file, world)
    failed = False
    try:
        call_command("import_population", str(path), "--profile", file.profile, stdout=io.StringIO())
    except CommandError:
        failed = True
    batch = ImportBatch.objects.latest("pk")
    if failed != (batch.status == ImportBatch.Status.FAILED):
        outcome.problems.append(f"the command's exit does not match the batch ({batch.status})")
    return batch


def _drop(file: Hostile, world: World, outcome: Outcome) -> ImportBatch | None:
    root = Path(settings.IMPORT_DROP_DIR)  # the caller's, under its directory
    path = root / file.profile / file.name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(file.content)
    then = time.time() - 3600
    os.utime(path, (then, then))
    batches = population_import_drop_folder_sweep()
    if len(batches) != 1:
        outcome.problems.append(f"the sweep returned {len(batches)} batches")
        return None
    (batch,) = batches
    folder = DROP_FOLDER_DONE if batch.status == ImportBatch.Status.DONE else DROP_FOLDER_FAILED
    moved = [p for p in (root / folder).iterdir() if p.name == batch.drop_file]
    if not moved or not Path(f"{moved[0]}.report.csv").is_file():
        outcome.problems.append(f"the file is not in {folder}/ with its report")
    if any((root / DROP_FOLDER_PROCESSING).iterdir()) or any((root / file.profile).iterdir()):
        outcome.problems.append("a file was left in processing/ or in the profile's folder")
    return batch


def _answer(outcome: Outcome, response: Any) -> Any:
    if response.status_code >= 500:
        outcome.server_errors += 1
    return response


def _upload(file: Hostile, world: World, outcome: Outcome, url: str, **data: Any) -> ImportBatch | None:
    """Send the file on the upload page: its batch, or None when the form refused it (or nothing came)."""
    last = ImportBatch.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    upload = SimpleUploadedFile(file.name, file.content, "text/csv")
    with world.commit():
        response = _answer(outcome, world.client.post(reverse(url), {**data, "file": upload}))
    if response.status_code == 200 and "nhsuk-error-summary" in response.text:
        outcome.status = "form"
        return None
    batch = ImportBatch.objects.filter(pk__gt=last).first()
    if response.status_code != 302 or batch is None:
        outcome.problems.append(f"the upload answered {response.status_code}")
    return batch


def _web(file: Hostile, world: World, outcome: Outcome) -> ImportBatch | None:
    profile = ImportProfile.objects.get(slug=file.profile)
    batch = _upload(file, world, outcome, "caseload:import_upload", profile=profile.pk)
    if batch is None:
        return None
    client = world.client
    _answer(outcome, client.get(batch.get_absolute_url()))
    batch.refresh_from_db()
    if batch.status == ImportBatch.Status.CHECKED:
        with world.commit():
            _answer(outcome, client.post(reverse("caseload:import_batch_start", args=[batch.pk])))
        batch.refresh_from_db()
        _answer(outcome, client.get(batch.get_absolute_url()))
        if batch.status == ImportBatch.Status.CHECKED:  # refused: it has invalid rows
            _answer(outcome, client.post(reverse("caseload:import_batch_cancel", args=[batch.pk])))
            if not ImportBatch.objects.filter(pk=batch.pk, status=ImportBatch.Status.CANCELLED).exists():
                outcome.problems.append("the refused batch could not be cancelled")
    _answer(outcome, client.get(reverse("caseload:import_batch_report", args=[batch.pk])))
    return batch


def _feed_web(file: Hostile, world: World, outcome: Outcome) -> ImportBatch | None:
    batch = _upload(file, world, outcome, "caseload:care_event_import")
    if batch is None:
        return None
    detail = reverse("caseload:care_event_import_detail", args=[batch.pk])
    _answer(outcome, world.client.get(detail))
    batch.refresh_from_db()
    if batch.status == ImportBatch.Status.CHECKED:
        _answer(outcome, world.client.post(reverse("caseload:care_event_import_start", args=[batch.pk])))
        _answer(outcome, world.client.get(detail))
    return batch


_ROUTES: dict[tuple[bool, str], Callable[[Hostile, World, Outcome], ImportBatch | None]] = {
    (False, "service"): _service,
    (False, "command"): _command,
    (False, "drop folder"): _drop,
    (False, "web"): _web,
    (True, "service"): _feed_service,
    (True, "web"): _feed_web,
}


def routes_of(file: Hostile) -> tuple[str, ...]:
    return FEED_ROUTES if file.feed else POPULATION_ROUTES


def failures(outcomes: Iterable[Outcome]) -> list[str]:
    """One line per file and route that is not as it must be."""
    return [
        f"{o.file.name} via {o.route}: "
        + "; ".join([*o.unhandled, *(["5xx"] if o.server_errors else []), *o.problems])
        for o in outcomes
        if o.unhandled or o.server_errors or o.problems
    ]


def table(outcomes: list[Outcome]) -> str:
    """The figures: totals, then each kind of file's outcomes."""
    files = {o.file.name for o in outcomes}
    lines = [
        f"files {len(files)}, routes {len({o.route for o in outcomes})}, runs {len(outcomes)}; "
        f"unhandled exceptions {sum(bool(o.unhandled) for o in outcomes)}, "
        f"5xx {sum(o.server_errors for o in outcomes)}, partial writes {sum(o.partial for o in outcomes)}, "
        f"batches left working {sum('a batch was left working' in o.problems for o in outcomes)}, "
        f"not as expected {len(failures(outcomes))}",
        "",
        f"{'kind':<22} {'files':>5} {'runs':>5} {'file-level':>10} {'row errors':>10} {'imported':>8} "
        f"{'failing':>7} {'slowest s':>9}",
    ]
    by_kind: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_kind[o.file.kind].append(o)
    for kind, runs in by_kind.items():
        ended = Counter(o.ended for o in runs)
        lines.append(
            f"{kind:<22} {len({o.file.name for o in runs}):>5} {len(runs):>5} {ended['file-level error']:>10} "
            f"{ended['row errors']:>10} {ended['imported']:>8} {len(failures(runs)):>7} "
            f"{max(o.seconds for o in runs):>9.2f}"
        )
    return "\n".join(lines)
