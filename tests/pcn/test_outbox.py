"""Background work asked for while Redis is out of reach is not lost and does not fail the request
(Hardening): the task waits in the outbox and the sweep sends it once the broker is back. The outage is
real: the Celery app is pointed at a port where nothing listens."""

import socket
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from pcn.celery import app as celery_app
from pcn.models import OutboxTask
from pcn.outbox import enqueue_on_commit, outbox_send_due
from pcn.tasks import outbox_send_due_task
from reporting.models import ReportExport

pytestmark = pytest.mark.django_db

NOVEMBER = {"period": "month", "month": "2026-11"}


def _reset_connections() -> None:
    # The app makes its connection and producer pools again from broker_url (kombu keeps one per URL).
    celery_app._pool = None
    celery_app.amqp._producer_pool = None


@contextmanager
def broker_out_of_reach():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once closed
    real = celery_app.conf.broker_url
    _reset_connections()
    celery_app.conf.broker_url = f"redis://127.0.0.1:{port}/0"
    try:
        yield
    finally:
        _reset_connections()
        celery_app.conf.broker_url = real


@pytest.fixture(autouse=True)
def no_message_left():
    yield
    celery_app.control.purge()  # the tasks sent here must not reach a later test's worker


def test_a_task_is_sent_once_the_change_commits(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        row = enqueue_on_commit(outbox_send_due_task)
        assert OutboxTask.objects.get(pk=row.pk).sent_at is None  # not before the commit
    for callback in callbacks:
        callback()
    row.refresh_from_db()
    assert row.sent_at is not None and (row.attempts, row.last_error) == (1, "")


def test_a_save_while_the_broker_is_down_succeeds_and_its_task_is_sent_when_it_is_back(
    client, sign_in_as, lead_of_both, django_capture_on_commit_callbacks
):
    sign_in_as(lead_of_both)
    with broker_out_of_reach(), django_capture_on_commit_callbacks(execute=True):
        started = time.perf_counter()
        response = client.post(
            reverse("reporting:export_create", args=["caseload"]),
            {**NOVEMBER, "practice": "", "format": "csv"},
        )
        waited = time.perf_counter() - started
    export = ReportExport.objects.get()
    assert response.status_code == 302 and response["Location"] == export.get_absolute_url()
    assert waited < 5  # the broker is given up on quickly (2 s connection timeout, no publish retries)
    (row,) = OutboxTask.objects.all()
    assert (row.name, row.args, row.sent_at, row.attempts) == (
        "reporting.tasks.report_export_task", [export.pk], None, 1,
    )  # fmt: skip
    assert row.last_error

    assert outbox_send_due() == 0  # younger than a minute: its own request may still be sending it
    with time_machine.travel(timezone.now() + timedelta(minutes=2)):
        with broker_out_of_reach():
            assert outbox_send_due() == 0  # still down: kept for the next sweep
        assert outbox_send_due() == 1  # back: sent
        assert outbox_send_due() == 0  # once
    row.refresh_from_db()
    assert row.sent_at is not None and row.attempts == 3


def test_sent_rows_are_forgotten_after_a_week():
    OutboxTask.objects.create(name="pcn.tasks.outbox_send_due_task", sent_at=timezone.now())
    with time_machine.travel(timezone.now() + timedelta(days=8)):
        outbox_send_due()
    assert not OutboxTask.objects.exists()


def test_the_sweep_runs_every_minute(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["outbox-send-due"]
    assert (entry["task"], entry["schedule"]) == ("pcn.tasks.outbox_send_due_task", 60.0)
