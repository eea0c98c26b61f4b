"""The monthly PCN pack: on the first working day of each month, each PCN manager gets the previous
month's pack (REPORTING_MONTHLY_PACK_REPORTS, as PDF and XLSX, over the practices they manage) and one
email with links to it.

The beat task runs daily; on other days it does nothing. A MonthlyPackDelivery row (unique manager ×
month) is claimed by setting sent_at before sending, so a second run, or a redelivery after a crash,
sends no second email; a failed send releases the claim and re-raises. The files are made in the task
itself (it is already in the background) before the email goes, so its links lead to a ready download.

A pack that fails (a file that cannot be made, a send refused) leaves its row unsent, with the failure
counted: an hourly sweep (`monthly_pack_retry`) tries it again, remaking only the files that failed, until
it is sent or has failed REPORTING_MONTHLY_PACK_TRIES times, for as long as the month lasts.
"""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from pcn.audit import audit
from pcn.models import Role, User
from pcn.working_days import first_working_day_of_month
from reporting.models import PACK_KEY, MonthlyPackDelivery, ReportExport
from reporting.periods import Period, last_complete_month
from reporting.services.exports import report_export_render, report_export_request

logger = logging.getLogger(__name__)


def pack_managers() -> list[User]:
    """Active users with a manager's membership and an email address to send to."""
    managers = User.objects.filter(is_active=True, memberships__role=Role.MANAGER).exclude(email="")
    return list(managers.distinct().order_by("pk"))


def _pack_export(*, manager: User, period: Period, format: str, made: ReportExport | None) -> ReportExport:
    if made is not None and made.state != ReportExport.State.FAILED:
        return made
    export, _ = report_export_request(
        by=manager, report_key=PACK_KEY, period=period, practice_ids=sorted(manager.practice_ids()),
        format=format, pack_reports=list(settings.REPORTING_MONTHLY_PACK_REPORTS),
    )  # fmt: skip
    return export


def _pack_email(*, delivery: MonthlyPackDelivery, period: Period) -> EmailMessage:
    site = settings.SITE_URL.rstrip("/")
    body = render_to_string(
        "reporting/email/monthly_pack.txt",
        {
            "manager": delivery.manager,
            "period": period,
            "pdf_link": site + reverse("reporting:export_detail", args=[delivery.pdf_id]),
            "xlsx_link": site + reverse("reporting:export_detail", args=[delivery.xlsx_id]),
            "list_link": site + reverse("reporting:export_list"),
        },
    )
    return EmailMessage(subject=f"PCN pack for {period.label}", body=body, to=[delivery.manager.email])


def monthly_pack_deliver(*, manager: User, period: Period) -> bool:
    """Make `manager`'s pack for `period` (if not made) and email them once; whether this call sent."""
    month = period.start
    with transaction.atomic():
        delivery, _ = MonthlyPackDelivery.objects.select_for_update().get_or_create(
            manager=manager, month=month
        )
        if delivery.sent_at is not None:
            return False
        delivery.pdf = _pack_export(manager=manager, period=period, format="pdf", made=delivery.pdf)
        delivery.xlsx = _pack_export(manager=manager, period=period, format="xlsx", made=delivery.xlsx)
        delivery.save(update_fields=["pdf", "xlsx"])
    for export in (delivery.pdf, delivery.xlsx):
        report_export_render(export=export)
    if not MonthlyPackDelivery.objects.filter(pk=delivery.pk, sent_at__isnull=True).update(
        sent_at=timezone.now()
    ):
        return False  # another run sent it meanwhile
    try:
        _pack_email(delivery=delivery, period=period).send()
    except Exception:
        MonthlyPackDelivery.objects.filter(pk=delivery.pk).update(sent_at=None)
        raise
    audit(None, "report.monthly_pack.send", user=manager, month=f"{month:%Y-%m}",
          exports=[delivery.pdf_id, delivery.xlsx_id])  # fmt: skip
    return True


def _deliver_or_count(manager: User, period: Period) -> bool:
    """monthly_pack_deliver, a failure counted on its row and logged rather than raised: one manager's
    failed pack (its export says why) must not stop the others'."""
    try:
        return monthly_pack_deliver(manager=manager, period=period)
    except Exception as error:
        logger.exception("The monthly pack for user %s could not be made or sent", manager.pk)
        MonthlyPackDelivery.objects.filter(manager=manager, month=period.start).update(
            failures=F("failures") + 1, error=(str(error) or type(error).__name__)[:300]
        )
        return False


def monthly_pack_send(*, today: date) -> int:
    """On the first working day of the month, each manager's pack for the month before; how many were
    emailed by this call (none on any other day, and none a second time)."""
    if today != first_working_day_of_month(today):
        return 0
    period = last_complete_month(today)
    return sum(_deliver_or_count(manager, period) for manager in pack_managers())


def monthly_pack_retry(*, today: date) -> int:
    """Each pack of this month's round (for last month) not sent yet because a try failed, tried again:
    from the first working day to the month's end, at most REPORTING_MONTHLY_PACK_TRIES tries in all, to
    managers who still are. How many were emailed by this call."""
    if today < first_working_day_of_month(today):
        return 0  # this month's round has not started: last month's was for the month before
    period = last_complete_month(today)
    managers = {manager.pk: manager for manager in pack_managers()}
    unsent = MonthlyPackDelivery.objects.filter(
        month=period.start, sent_at__isnull=True, failures__gt=0,
        failures__lt=settings.REPORTING_MONTHLY_PACK_TRIES, manager_id__in=managers,
    ).order_by("manager_id")  # fmt: skip
    return sum(
        _deliver_or_count(managers[manager_id], period)
        for manager_id in unsent.values_list("manager_id", flat=True)
    )
