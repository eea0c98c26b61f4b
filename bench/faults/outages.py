"""Outages tried live against gunicorn, a Celery worker and beat as in production: PostgreSQL stopped and
started again under a signed-in user's page views, then Redis stopped for 60 s while a manager asks for
report downloads (each queues a background task). Prints what the user saw and when work caught up.

    DATABASE_URL=postgres://…/pcn_bench .venv/bin/python bench/faults/outages.py [--pg-down 10] [--redis-down 60]

Targets (issue: Hardening): while PostgreSQL is down the web answers a plain 503 page (no traceback) and
answers again within 30 s of its return with no process restart; Redis down 60 s → 0 failed web requests
for business actions, 0 lost tasks, all done within 5 minutes of Redis's return.

It stops and starts this machine's PostgreSQL 15 cluster (pg_ctlcluster) and Redis (redis-cli shutdown,
then scripts/services-up.sh): run it where nothing else needs them for a couple of minutes.
"""

import http.cookiejar
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django_on_postgres import ROOT, arguments, demo_django, gunicorn, signed_in_session

PORT = 8766


class Browser:
    """A signed-in user's browser: a cookie jar holding the session, the CSRF cookie kept as it comes."""

    def __init__(self, cookie_name: str, session_key: str) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.jar.set_cookie(_cookie(cookie_name, session_key))
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())

    def get(self, path: str) -> tuple[int, str]:
        return self._open(urllib.request.Request(f"http://127.0.0.1:{PORT}{path}"))

    def post(self, path: str, data: dict) -> tuple[int, str]:
        body = urllib.parse.urlencode(data).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{PORT}{path}", data=body, method="POST")
        request.add_header("Referer", f"http://127.0.0.1:{PORT}{path}")
        return self._open(request)

    def _open(self, request: urllib.request.Request) -> tuple[int, str]:
        try:
            with self.opener.open(request, timeout=30) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as answered:
            return answered.code, answered.read().decode()
        except OSError:
            return 0, ""  # no answer at all

    def csrf(self) -> str:
        return next(c.value for c in self.jar if c.name.endswith("csrftoken"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a 302 is the answer we count


def _cookie(name: str, value: str) -> http.cookiejar.Cookie:
    return http.cookiejar.Cookie(
        0, name, value, None, False, "127.0.0.1", False, False, "/", True, False, None, False, None, None, {}
    )


def _run(*command: str) -> None:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


def postgres_restart(browser: Browser, page: str, down: int) -> dict:
    """Poll the page every 0.25 s; stop PostgreSQL for `down` s; what came back, and how fast."""
    seen: list[tuple[float, int, bool]] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            status, body = browser.get(page)
            seen.append((time.monotonic(), status, "Traceback" in body or "Exception" in body))
            time.sleep(0.25)

    poller = threading.Thread(target=poll)
    poller.start()
    time.sleep(3)
    stopped = time.monotonic()
    _run("pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "stop", "-m", "fast")
    time.sleep(down)
    _run("pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "start")
    back = time.monotonic()
    deadline = back + 60
    while time.monotonic() < deadline and not any(t > back and s == 200 for t, s, _ in seen):
        time.sleep(0.25)
    time.sleep(2)
    stop.set()
    poller.join()
    during = Counter(s for t, s, _ in seen if stopped <= t <= back)
    first_ok = min((t for t, s, _ in seen if t > back and s == 200), default=None)
    return {
        "during": dict(during),
        "tracebacks": sum(1 for _, _, trace in seen if trace),
        "other_5xx": sum(1 for _, s, _ in seen if s >= 500 and s != 503),
        "recovered_s": None if first_ok is None else first_ok - back,
    }


def redis_outage(browser: Browser, down: int) -> dict:
    """A manager asks for a different download every 2 s for `down` + 20 s, Redis stopped for `down` s
    from the 10th second; how many asks failed, and when the last download was made."""
    from django.db import close_old_connections

    from pcn.models import OutboxTask
    from reporting.models import ReportExport
    from reporting.reports import REPORTS

    close_old_connections()
    asks = [(key, f"2026-{month:02d}") for month in range(1, 12) for key in REPORTS]
    started, failed, made = time.monotonic(), 0, 0
    stopped = back = None
    first_export = ReportExport.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for key, month in asks:
        elapsed = time.monotonic() - started
        if stopped is None and elapsed >= 10:
            _run("redis-cli", "-h", "127.0.0.1", "shutdown", "nosave")
            stopped = time.monotonic()
        if stopped is not None and back is None and time.monotonic() - stopped >= down:
            _run(str(ROOT / "scripts/services-up.sh"))
            back = time.monotonic()
        if back is not None and time.monotonic() - back > 20:
            break
        status, _ = browser.get(f"/reports/{key}/?period=month&month={month}")
        token = browser.csrf()
        status, _ = browser.post(
            f"/reports/{key}/download/",
            {
                "csrfmiddlewaretoken": token,
                "period": "month",
                "month": month,
                "practice": "",
                "format": "csv",
            },
        )
        made += 1
        failed += status != 302
        time.sleep(2)
    close_old_connections()
    ours = ReportExport.objects.filter(pk__gt=first_export)
    deadline = (back or time.monotonic()) + 300
    while time.monotonic() < deadline and ours.exclude(state="ready").exists():
        time.sleep(2)
    done_after = time.monotonic() - (back or time.monotonic())
    return {
        "asked": made,
        "failed": failed,
        "downloads": ours.count(),
        "not_ready": ours.exclude(state="ready").count(),
        "outbox_waiting": OutboxTask.objects.filter(sent_at__isnull=True).count(),
        "all_done_s": done_after,
    }


def _celery(kind: str) -> subprocess.Popen:
    env = {**os.environ, "DEBUG": "0", "HTTPS": "0", "DEMO_MODE": "0"}
    command = [str(Path(sys.executable).with_name("celery")), "-A", "pcn", kind, "--loglevel", "WARNING"]
    if kind == "worker":
        command += ["-P", "solo", "--without-gossip", "--without-mingle"]
    else:
        command += ["--schedule", str(Path(tempfile.gettempdir()) / "outages-beat")]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # noqa: S603


def main() -> int:
    args = arguments(__doc__, **{"pg-down": 10, "redis-down": 60})
    if not demo_django("bench/faults/outages.py", args.patients):
        return 2
    from django.conf import settings

    from caseload.models import CaseloadEpisode
    from pcn.models import User

    manager = User.objects.get(email="manager@demo.pcn.test")
    browser = Browser(settings.SESSION_COOKIE_NAME, signed_in_session(manager))
    patient = CaseloadEpisode.objects.filter(status="open").values_list("patient_id", flat=True).first()
    server = gunicorn(PORT, 2)
    pids = server.pid
    try:
        pg = postgres_restart(browser, f"/patients/{patient}/", args.pg_down)
        workers = [_celery("worker"), _celery("beat")]
        try:
            redis = redis_outage(browser, args.redis_down)
        finally:
            for process in workers:
                process.terminate()
                process.wait(timeout=30)
        alive = server.poll() is None and server.pid == pids
    finally:
        server.terminate()
        server.wait(timeout=30)
    _report(pg, redis, alive, args)
    return 0


def _report(pg: dict, redis: dict, alive: bool, args: object) -> None:
    print(f"PostgreSQL stopped for {args.pg_down} s under a patient page polled every 0.25 s:")  # type: ignore[attr-defined]
    print(f"  answers while down: {pg['during']} (0 = no answer; 503 = the plain 'unavailable' page)")
    print(f"  tracebacks shown: {pg['tracebacks']}; other 5xx: {pg['other_5xx']}")
    recovered = pg["recovered_s"]
    print(
        f"  first 200 after it was back: {'never' if recovered is None else f'{recovered:.1f} s'} (target ≤ 30 s)"
    )
    print(f"  gunicorn the same process throughout: {alive}")
    print(f"Redis stopped for {args.redis_down} s while the manager asked for downloads every 2 s:")  # type: ignore[attr-defined]
    print(f"  asked {redis['asked']}, failed {redis['failed']} (target 0)")
    print(
        f"  downloads {redis['downloads']}, not made {redis['not_ready']}, tasks still waiting "
        f"{redis['outbox_waiting']} (target 0); all made {redis['all_done_s']:.0f} s after Redis was back "
        "(target ≤ 300 s)"
    )
    ok = (
        recovered is not None and recovered <= 30 and pg["tracebacks"] == 0 and pg["other_5xx"] == 0 and alive
        and redis["failed"] == 0 and redis["not_ready"] == 0 and redis["outbox_waiting"] == 0
        and redis["all_done_s"] <= 300
    )  # fmt: skip
    print(f"Targets: {'met' if ok else 'NOT MET'}")


if __name__ == "__main__":
    sys.exit(main())
