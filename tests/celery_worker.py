"""A real Celery worker on Redis against the test database, for the tests marked `celery_worker`."""

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

from pcn.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[1]


class Worker:
    def __init__(self, process: subprocess.Popen, log_path: Path) -> None:
        self.process, self.log_path = process, log_path

    def log(self) -> str:
        return self.log_path.read_text()

    def wait_until(self, done: Callable[[], bool], *, what: str, seconds: int = 60) -> None:
        """Poll `done` until it is true; fail, with the worker's log, if the worker dies or time runs out."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if done():
                return
            assert self.process.poll() is None, self.log()
            time.sleep(0.5)
        pytest.fail(f"The worker did not {what} within {seconds} s:\n" + self.log())


@contextmanager
def celery_worker(tmp_path: Path, *, name: str, **env: str) -> Iterator[Worker]:
    """A worker named `<name>-<random>` with `env` on top of this process's environment; its log is
    tmp_path/worker.log. It is stopped (killed if need be) when the block ends."""
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        pytest.fail("This test needs Redis: set REDIS_URL (make test does)")
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": redis_url,
        "MEDIA_ROOT": str(tmp_path / "worker-media"),
        "HTTPS": "0",
        "DB_CONN_MAX_AGE": "0",
        **env,
    }
    log_path = tmp_path / "worker.log"
    arguments = [str(Path(sys.executable).with_name("celery")), "-A", "pcn", "worker", "-P", "solo"]
    arguments += ["--concurrency", "1", "-n", f"{name}-{uuid.uuid4().hex[:8]}@%h", "--loglevel", "INFO"]
    arguments += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    celery_app.control.purge()  # messages other tests left on the broker are not this test's business
    with log_path.open("w") as log:
        process = subprocess.Popen(arguments, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            yield Worker(process, log_path)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
