"""Every Celery task's base class (pcn.celery): a poison message is given up, not redelivered for ever.

Tasks acknowledge late (after running), so a task whose worker dies is delivered again — what keeps
work from being lost when a worker is killed. A task that kills its worker each time would then loop for
ever. So each delivery is counted in a `TaskAttempt` row, committed before the task runs: the fourth
delivery of the same message is not run but marked given up, logged as an error and listed in the admin
site (Background tasks). A task that raises is recorded as failed (its exception's type, never its
message: it may quote patient data) and not retried; one that finishes is forgotten. Tasks run eagerly
(tests, `apply()`) are not counted.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import Task
from django.apps import apps
from django.db import transaction

log = logging.getLogger(__name__)

MAX_DELIVERIES = 3


def _attempts() -> Any:
    return apps.get_model("pcn", "TaskAttempt")  # this module is imported before the models are ready


class GuardedTask(Task):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        request = self.request
        if request.is_eager or not request.id:
            return super().__call__(*args, **kwargs)
        if not self._delivered(request.id, list(args)):
            return None
        result = super().__call__(*args, **kwargs)
        _attempts().objects.filter(task_id=request.id).delete()
        return result

    def _delivered(self, task_id: str, args: list[Any]) -> bool:
        """Count this delivery; False (and the task given up) past MAX_DELIVERIES."""
        attempts = _attempts()
        with transaction.atomic():
            attempt, _ = attempts.objects.select_for_update().get_or_create(
                task_id=task_id, defaults={"name": self.name, "args": args}
            )
            attempt.deliveries += 1
            if attempt.deliveries > MAX_DELIVERIES:
                attempt.state = attempts.State.GIVEN_UP
                attempt.save(update_fields=["deliveries", "state", "updated_at"])
                log.error("Gave up %s %s after %s deliveries", self.name, task_id, MAX_DELIVERIES)
                return False
            attempt.save(update_fields=["deliveries", "updated_at"])
        return True

    def on_failure(self, exc: BaseException, task_id: str, args: Any, kwargs: Any, einfo: Any) -> None:
        attempts = _attempts()
        attempts.objects.filter(task_id=task_id).update(state=attempts.State.FAILED, error=type(exc).__name__)
