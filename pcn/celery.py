"""Celery application. Tasks live in each app's tasks.py and call one service each."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pcn.settings")

# Every task counts its deliveries: a poison message is given up after three (pcn.task_guard).
app = Celery("pcn", task_cls="pcn.task_guard:GuardedTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
