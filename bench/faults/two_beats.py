"""Two beat processes at once (a deployment mistake the product must survive): two Celery beats and two
workers for ten minutes, every beat job every 20 seconds, on the demo PCN with a year of activity; then
every email sent is set against the rows that record a send. Prints how many jobs ran and any duplicate
sends. It forgets the bench database's chases of the day first, so the chase job has work.

    DATABASE_URL=postgres://…/pcn_bench .venv/bin/python bench/faults/two_beats.py [--minutes 10]

Target (issue: Hardening): 0 duplicate sends or jobs — the unique rows decide (one chase per action per
day, one circulation per member per meeting, one monthly pack per manager per month, outbox rows claimed).
"""

import email
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django_on_postgres import ROOT, arguments, demo_django


def _celery(kind: str, n: int, env: dict, folder: Path) -> subprocess.Popen:
    command = [str(Path(sys.executable).with_name("celery")), "-A", "pcn", kind, "--loglevel", "INFO"]
    if kind == "worker":
        command += ["-P", "solo", "-n", f"two-beats-{n}@%h", "--without-gossip", "--without-mingle"]
    else:
        command += ["--schedule", str(folder / f"beat-{n}")]
    log = (folder / f"{kind}-{n}.log").open("w")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603


def _chase_again_today() -> None:
    """Forget today's chases (bench data), so the chase job has every overdue action to chase again."""
    from django.utils import timezone

    from mdt.models import ActionChase

    ActionChase.objects.filter(sent_on=timezone.localdate()).delete()


def _due_meetings() -> int:
    """Make the demo's next few meetings due for circulation now, so the sweeps have packs to send."""
    from django.utils import timezone

    from mdt.models import Meeting

    upcoming = Meeting.objects.filter(
        status="scheduled", circulated_at__isnull=True, starts_at__gt=timezone.now()
    )
    ids = list(upcoming.order_by("starts_at").values_list("pk", flat=True)[:3])
    Meeting.objects.filter(pk__in=ids).update(circulate_at=timezone.now() - timedelta(minutes=1))
    return len(ids)


def _rows_since(marks: dict[str, int]) -> dict[str, int]:
    """Rows of each 'sent once' record made since `marks` (their highest ids before the run)."""
    from mdt.models import ActionChase, Circulation

    models = {"chases": ActionChase, "circulations": Circulation}
    return {name: model.objects.filter(pk__gt=marks[name]).count() for name, model in models.items()}


def _marks() -> dict[str, int]:
    from mdt.models import ActionChase, Circulation

    models = {"chases": ActionChase, "circulations": Circulation}
    return {
        name: model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        for name, model in models.items()
    }


def _sent(folder: Path) -> list[tuple[str, str, str]]:
    """(to, subject, body digest) of every email the workers wrote."""
    out = []
    for path in sorted(folder.glob("*.log")):
        for chunk in path.read_text().split("-" * 79):
            if "Subject:" not in chunk:
                continue
            message = email.message_from_string(chunk.strip())
            body = message.get_payload(decode=False)
            text = body if isinstance(body, str) else str(body)
            out.append((message["To"], message["Subject"], hashlib.sha256(text.encode()).hexdigest()))
    return out


def main() -> int:
    args = arguments(__doc__, minutes=10)
    if not demo_django("bench/faults/two_beats.py", args.patients):
        return 2
    circulating = _due_meetings()
    _chase_again_today()
    marks = _marks()
    with tempfile.TemporaryDirectory() as work:
        folder, mail = Path(work), Path(work) / "mail"
        mail.mkdir()
        env = {
            **os.environ, "DJANGO_SETTINGS_MODULE": "bench.faults.two_beats_settings", "PYTHONPATH": str(ROOT),
            "TWO_BEATS_MAIL_DIR": str(mail), "DEBUG": "0", "HTTPS": "0", "DEMO_MODE": "0",
        }  # fmt: skip
        processes = [_celery(kind, n, env, folder) for kind in ("worker", "beat") for n in (1, 2)]
        try:
            time.sleep(args.minutes * 60)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(timeout=60)
        sent = _sent(mail)
        rows = _rows_since(marks)
        logs = "".join(p.read_text() for p in folder.glob("*.log"))
    runs = Counter(
        line.split("Task ")[1].split("[")[0] for line in logs.splitlines() if " succeeded in " in line
    )
    failed = sum(1 for line in logs.splitlines() if " raised unexpected" in line)
    # Each chase and each circulation email has its row (one per action per day, one per member per
    # meeting): an email more than its rows is a duplicate send. (Two emails may read alike and still be
    # two sends: two actions with the same words and due date.)
    chases = sum(1 for _, subject, _ in sent if subject.startswith("Overdue MDT action"))
    circulations = sum(
        1 for _, subject, _ in sent if ": agenda for " in subject or ": minutes for " in subject
    )
    duplicates = (chases - rows["chases"]) + (circulations - rows["circulations"])
    print(f"Two beats and two workers for {args.minutes} minutes, every beat job every 20 s:")
    for name, n in sorted(runs.items()):
        print(f"  {name:<55}{n:>5} runs")
    print(f"  tasks that raised: {failed}")
    print(f"  meetings made due for circulation: {circulating}; emails sent: {len(sent)}")
    print(
        f"  chase emails {chases} for {rows['chases']} chases; circulation emails {circulations} for {rows['circulations']} circulations"
    )
    print(f"  duplicate sends: {duplicates} (target 0)")
    print(f"Target: {'met' if duplicates == 0 and failed == 0 else 'NOT MET'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
