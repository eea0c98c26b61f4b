"""The monthly PCN pack: on the first working day of the month each manager is emailed, once, links to
last month's pack (PDF and XLSX) over their practices; on any other day nothing happens, but for the
hourly retry of a pack that failed (still emailed once)."""

import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from openpyxl import load_workbook

from caseload.models import Patient
from pcn.models import AuditEvent, Role
from pcn.working_days import first_working_day_of_month
from reporting.models import MonthlyPackDelivery, ReportExport
from reporting.services import exports as export_service
from reporting.tasks import monthly_pack_retry_task, monthly_pack_task
from tests.conftest import make_person, pdf_text
from tests.reporting.test_caseload_report import caseloads  # noqa: F401 — the shared data set

pytest_plugins = ["tests.caseload.import_fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root", "caseloads")]

LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def managers(manager, practice_a, practice_b, coordinator):
    """Mina manages practice A; Max both. The coordinator gets no pack."""
    both = make_person(
        practice_a, Role.MANAGER, also_at=[practice_b], full_name="Max Both", email="max@example.test"
    )
    return manager, both


def read(export: ReportExport) -> bytes:
    with export.file.open("rb") as file:
        return file.read()


def test_the_first_working_day_of_the_month():
    assert first_working_day_of_month(date(2026, 12, 9)) == date(2026, 12, 1)  # a Tuesday
    assert first_working_day_of_month(date(2026, 8, 20)) == date(2026, 8, 3)  # 1st: Saturday
    assert first_working_day_of_month(date(2027, 1, 5)) == date(2027, 1, 4)  # bank holiday


def test_each_manager_is_sent_last_months_pack_once(client, sign_in_as, managers, practice_a, practice_b,
                                                    eager_celery, django_capture_on_commit_callbacks):  # fmt: skip
    mina, max_ = managers
    with time_machine.travel(datetime(2026, 12, 1, 7, 0, tzinfo=LONDON), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            monthly_pack_task.delay()
        monthly_pack_task()  # the beat's second run that day, or a redelivery: nothing more is sent
    assert sorted(message.to[0] for message in mail.outbox) == ["max@example.test", "mina@example.test"]
    assert [message.subject for message in mail.outbox] == ["PCN pack for November 2026"] * 2
    deliveries = MonthlyPackDelivery.objects.select_related("pdf", "xlsx").order_by("manager__email")
    assert [(d.manager, str(d.month), d.sent_at is not None) for d in deliveries] == [
        (max_.user, "2026-11-01", True), (mina.user, "2026-11-01", True),
    ]  # fmt: skip
    max_pack = deliveries[0]
    assert (max_pack.pdf.state, max_pack.xlsx.state, max_pack.pdf.created_by) == ("ready", "ready", max_.user)
    assert max_pack.pdf.practice_ids == sorted([practice_a.pk, practice_b.pk])
    assert deliveries[1].pdf.practice_ids == [practice_a.pk]  # Mina's practices only
    assert max_pack.pdf.pack_reports == ["caseload", "care_plans", "mdt", "recall"]
    assert ReportExport.objects.count() == 4
    assert AuditEvent.objects.filter(action="report.monthly_pack.send").count() == 2

    body = next(message.body for message in mail.outbox if message.to == ["max@example.test"])
    pdf_url = reverse("reporting:export_detail", args=[max_pack.pdf_id])
    assert f"PDF: http://localhost:8000{pdf_url}" in body
    for patient in Patient.objects.all():  # figures and links only: no patient's details
        for detail in (patient.nhs_number, patient.given_name, patient.family_name):
            assert detail not in body

    text = " ".join(pdf_text(read(max_pack.pdf)).split())
    assert "Monthly PCN pack November 2026" in text
    assert "Reports Caseload, Personalised care and support plans, MDT meetings, Call and recall" in text
    # The caseload's first figure for both practices: 4 now, 3 at the end of October.
    assert (
        "On a caseload at the end of the period Practices November 2026 October 2026 All practices 4 3"
        in text
    )
    book = load_workbook(io.BytesIO(read(max_pack.xlsx)), read_only=True)
    assert book.sheetnames[:2] == ["About", "Caseload Figures"]
    assert list(book["Caseload Figures"].iter_rows(values_only=True))[1][:4] == (
        "On a caseload at the end of the period", 4, 3, 1,
    )  # fmt: skip

    sign_in_as(max_)  # the link opens for its manager, and only for them
    assert client.get(pdf_url).status_code == 200
    sign_in_as(mina)
    assert client.get(pdf_url).status_code == 404


@pytest.mark.parametrize(
    "when",
    [datetime(2026, 8, 1, 7, 0, tzinfo=LONDON), datetime(2026, 12, 2, 7, 0, tzinfo=LONDON)],
    ids=["saturday-1st", "second-working-day"],
)
def test_on_any_other_day_nothing_is_made_or_sent(managers, when):
    with time_machine.travel(when, tick=False):
        monthly_pack_task()
    assert mail.outbox == []
    assert not MonthlyPackDelivery.objects.exists() and not ReportExport.objects.exists()


def test_a_failed_send_is_sent_on_the_next_run(managers, monkeypatch):
    calls = []

    def refuse(self, *args, **kwargs):
        calls.append(self.to)
        raise OSError("The mail server is down")

    with time_machine.travel(datetime(2026, 12, 1, 7, 0, tzinfo=LONDON), tick=False):
        with monkeypatch.context() as patched:
            patched.setattr("django.core.mail.EmailMessage.send", refuse)
            monthly_pack_task()  # each manager's failure is logged; the others go on
        assert len(calls) == 2 and mail.outbox == []
        assert MonthlyPackDelivery.objects.filter(sent_at__isnull=True).count() == 2
        monthly_pack_task()
    assert len(mail.outbox) == 2
    assert ReportExport.objects.count() == 4  # the packs made on the first run were sent, not made again


@pytest.mark.usefixtures("managers")
def test_a_pack_that_could_not_be_made_is_made_and_sent_by_the_retry_once(monkeypatch):
    broken = {"on": True}
    pdf_writer = export_service.WRITERS["pdf"]

    def sometimes(export, every):
        if broken["on"]:
            raise RuntimeError("The PDF renderer crashed")
        return pdf_writer(export, every)

    monkeypatch.setitem(export_service.WRITERS, "pdf", sometimes)
    with time_machine.travel(datetime(2026, 12, 1, 7, 0, tzinfo=LONDON), tick=False):
        monthly_pack_task()  # both packs fail: nothing is sent, each failure counted
        monthly_pack_retry_task()  # the hourly sweep at 07:20: still broken
    assert mail.outbox == []
    assert sorted(MonthlyPackDelivery.objects.values_list("sent_at", "failures", "error")) == [
        (None, 2, "The PDF renderer crashed"), (None, 2, "The PDF renderer crashed"),
    ]  # fmt: skip
    assert list(ReportExport.objects.filter(format="pdf").values_list("state", flat=True)) == ["failed"] * 4

    broken["on"] = False
    with time_machine.travel(datetime(2026, 12, 2, 9, 20, tzinfo=LONDON), tick=False):
        monthly_pack_task()  # not the first working day: the daily job does nothing
        assert mail.outbox == []
        monthly_pack_retry_task()
        monthly_pack_retry_task()  # run twice: each manager is still emailed once
    assert sorted(message.to[0] for message in mail.outbox) == ["max@example.test", "mina@example.test"]
    deliveries = MonthlyPackDelivery.objects.select_related("pdf", "xlsx")
    assert all(d.sent_at is not None for d in deliveries) and deliveries.count() == 2
    assert {(d.pdf.state, d.xlsx.state) for d in deliveries} == {("ready", "ready")}
    # Only the failed PDFs were made again; each manager's XLSX waited and was made once.
    assert ReportExport.objects.filter(format="xlsx").count() == 2
    assert ReportExport.objects.filter(format="pdf", state="ready").count() == 2
    assert AuditEvent.objects.filter(action="report.monthly_pack.send").count() == 2


def test_the_retry_gives_up_after_the_tries_and_leaves_other_months_alone(managers, settings, monkeypatch):
    settings.REPORTING_MONTHLY_PACK_TRIES = 2
    mina, _ = managers
    MonthlyPackDelivery.objects.create(manager=mina.user, month=date(2026, 11, 1), failures=2)
    MonthlyPackDelivery.objects.create(manager=mina.user, month=date(2026, 10, 1), failures=1)
    with time_machine.travel(datetime(2026, 12, 2, 9, 20, tzinfo=LONDON), tick=False):
        monthly_pack_retry_task()
    assert mail.outbox == [] and not ReportExport.objects.exists()
    # Before the first working day, last month's round has not begun: October's pack is not retried.
    MonthlyPackDelivery.objects.filter(month=date(2026, 11, 1)).update(failures=1)
    with time_machine.travel(datetime(2027, 1, 1, 9, 20, tzinfo=LONDON), tick=False):  # a bank holiday
        monthly_pack_retry_task()
    assert mail.outbox == [] and not ReportExport.objects.exists()
