"""A poison message is given up (Hardening): every task counts its deliveries before it runs, so one
whose worker dies each time is not run a fourth time but marked given up, logged and listed for
administrators; a task that raises is kept as failed (its exception's type only); one that finishes is
forgotten."""

import logging

import pytest
from celery import shared_task
from django.urls import reverse

from pcn.models import TaskAttempt
from pcn.task_guard import MAX_DELIVERIES

pytestmark = pytest.mark.django_db

ran: list[int] = []


class WorkerDied(BaseException):
    """What a killed worker looks like from here: the task stops and nothing records how it ended."""


@shared_task(name="tests.poison")
def poison(n: int) -> None:
    ran.append(n)
    raise WorkerDied


@shared_task(name="tests.fine")
def fine(n: int) -> int:
    ran.append(n)
    return n


def deliver(task, task_id: str, *args):
    """One delivery of a message to a worker, as the worker's tracer runs it."""
    task.push_request(id=task_id, is_eager=False)
    try:
        return task(*args)
    finally:
        task.pop_request()


@pytest.fixture(autouse=True)
def fresh():
    ran.clear()


def test_a_task_that_kills_its_worker_is_given_up_after_three_deliveries(caplog):
    for _ in range(MAX_DELIVERIES):
        with pytest.raises(WorkerDied):
            deliver(poison, "poison-1", 7)
    with caplog.at_level(logging.ERROR, logger="pcn.task_guard"):
        assert deliver(poison, "poison-1", 7) is None  # the fourth delivery is not run
    assert ran == [7, 7, 7]
    attempt = TaskAttempt.objects.get(task_id="poison-1")
    assert (attempt.name, attempt.args, attempt.deliveries, attempt.state) == (
        "tests.poison",
        [7],
        4,
        "given_up",
    )
    assert "Gave up tests.poison poison-1 after 3 deliveries" in caplog.text
    assert MAX_DELIVERIES == 3


def test_a_task_that_finishes_is_forgotten():
    assert deliver(fine, "fine-1", 3) == 3
    assert ran == [3] and not TaskAttempt.objects.exists()


def test_a_task_that_raised_is_kept_as_failed_with_the_type_only():
    with pytest.raises(WorkerDied):
        deliver(poison, "raised-1", 1)
    poison.on_failure(ValueError("Mrs Example, 999 000 0018"), "raised-1", [1], {}, None)
    attempt = TaskAttempt.objects.get(task_id="raised-1")
    assert (attempt.state, attempt.error) == ("failed", "ValueError")


def test_a_task_run_eagerly_is_not_counted():
    assert fine.apply(args=[5]).get() == 5
    assert ran == [5] and not TaskAttempt.objects.exists()


def test_administrators_see_the_tasks_given_up(sign_in_as, administrator):
    administrator.user.is_staff = administrator.user.is_superuser = True
    administrator.user.save(update_fields=["is_staff", "is_superuser"])
    TaskAttempt.objects.create(task_id="x-1", name="tests.poison", args=[1], deliveries=4, state="given_up")
    page = sign_in_as(administrator).get(reverse("admin:pcn_taskattempt_changelist"))
    assert page.status_code == 200
    assert "tests.poison" in page.text and "Given up after repeated deliveries" in page.text
