"""Background work for reporting: making a download (a report, a saved search's result, a data-quality
list), deleting old ones, the daily monthly-pack check and its hourly retry, and the weekly saved searches.

Each task is one line of work, safe to run twice, enqueued after commit (STYLE.md 4).
"""

from celery import shared_task
from django.utils import timezone

from pcn.outbox import enqueue_on_commit
from reporting.models import ReportExport
from reporting.services.exports import report_export_render, report_exports_expire
from reporting.services.packs import monthly_pack_retry, monthly_pack_send
from reporting.services.saved_searches import saved_searches_run_due


@shared_task(acks_late=True)
def report_export_task(export_id: int) -> None:
    report_export_render(export=ReportExport.objects.get(pk=export_id))  # a made export is left as it is


@shared_task(acks_late=True)
def monthly_pack_task() -> None:
    monthly_pack_send(today=timezone.localdate())  # acts on the first working day; each manager once


@shared_task(acks_late=True)
def monthly_pack_retry_task() -> None:
    monthly_pack_retry(today=timezone.localdate())  # failed packs again; each manager still emailed once


@shared_task(acks_late=True)
def report_exports_expire_task() -> None:
    report_exports_expire(now=timezone.now())  # old files deleted, their rows kept as expired


def report_export_enqueue(export: ReportExport) -> None:
    enqueue_on_commit(report_export_task, export.pk)


@shared_task(acks_late=True)
def saved_searches_run_due_task() -> None:
    saved_searches_run_due(today=timezone.localdate())  # each due search run once; its owner emailed once
