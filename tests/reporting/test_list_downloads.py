"""Lists as downloads (issue 10): a saved search's result (Find patients, the recall worklist) and a
data-quality check's patients, as CSV or XLSX; sent in the request when small, made in the background
through ReportExport over REPORTING_EXPORT_BACKGROUND_ROWS rows; escaped, scoped and audited either way;
and a made download's file deleted after REPORTING_EXPORT_KEEP_DAYS."""

import csv
import io
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from pcn.models import AuditEvent, Role
from recall.models import Register
from reporting.models import ReportExport
from reporting.services.exports import report_export_render, report_exports_expire
from reporting.services.saved_searches import saved_search_create
from reporting.tasks import report_exports_expire_task
from tests.factories import MembershipFactory, PatientFactory
from tests.reporting.report_data import entry

pytest_plugins = ["tests.caseload.import_fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 3, 2, 9, 30, tzinfo=LONDON)
PATIENT_HEADER = [
    "NHS number", "Family name", "Given name", "Date of birth", "Sex", "Practice", "Risk score", "eFI",
    "eFI category", "A&E attendances (12 months)", "Emergency admissions (12 months)",
    "Long-term conditions", "Care home", "Care coordinator",
]  # fmt: skip


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def high_risk(practice_a, practice_b):
    """Three high-risk patients at A (one named as a formula), two at B, one low-risk at A."""
    at_a = [
        PatientFactory(practice=practice_a, risk_score=Decimal("70"), family_name="=HYPERLINK(1)",
                       given_name="@Ann", nhs_number="9990000026"),
        PatientFactory(practice=practice_a, risk_score=Decimal("75"), family_name="Baker", given_name="Bo"),
        PatientFactory(practice=practice_a, risk_score=Decimal("80"), family_name="Cole", given_name="Cy"),
    ]  # fmt: skip
    at_b = [PatientFactory(practice=practice_b, risk_score=Decimal("90")) for _ in range(2)]
    PatientFactory(practice=practice_a, risk_score=Decimal("10"))
    return at_a, at_b


def download(client, search, format: str):
    return client.post(reverse("reporting:saved_search_download", args=[search.pk]), {"format": format})


def sheet(book, name: str) -> list[list]:
    return [list(row) for row in book[name].iter_rows(values_only=True)]


def read(export: ReportExport) -> bytes:
    with export.file.open("rb") as file:
        return file.read()


def search_of(
    owner, query: str = "risk_band=high", shared: bool = False, kind: str = "patients", name="High risk"
):
    return saved_search_create(owner=owner, kind=kind, query=query, name=name, shared=shared)


# --- Small: made in the request ----------------------------------------------------------------------


def test_a_small_result_comes_as_xlsx_in_the_request_with_a_cover_sheet(sign_in_as, coordinator, high_risk):
    search = search_of(coordinator.user)
    response = download(sign_in_as(coordinator), search, "xlsx")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="high-risk-2026-03-02.xlsx"'
    assert "no-store" in response["Cache-Control"]  # patients' details: no browser or proxy keeps them
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    assert book.sheetnames == ["About", "High risk"]
    assert sheet(book, "About") == [
        ["Saved search: High risk"],
        ["What", "Find patients, saved search “High risk”"],
        ["Filters", "Risk band: High (60 to 79.9)"],
        ["Practices", "Riverside Surgery"],
        ["Made by", "Cara Coordinator"],
        ["Made at", "02/03/2026 09:30"],
    ]
    rows = sheet(book, "High risk")
    assert rows[0] == PATIENT_HEADER
    # Practice A's high-risk patients only (80 is "very high"), by name; the formula escaped.
    assert [row[:3] for row in rows[1:]] == [
        ["999 000 0026", "'=HYPERLINK(1)", "'@Ann"],
        [rows[2][0], "Baker", "Bo"],
    ]
    # The risk score a number; nothing recorded (eFI, conditions, care home, coordinator): no cell at all.
    assert rows[1][6:] == [70]
    assert not ReportExport.objects.exists()
    event = AuditEvent.objects.get(action="patient.export")
    assert set(event.patients.values_list("family_name", flat=True)) == {"=HYPERLINK(1)", "Baker"}
    assert event.detail == {"rows": 2, "filters": "risk_band=high", "saved_search": search.pk}


def test_a_worklist_result_comes_as_xlsx(sign_in_as, coordinator, practice_a, outsider):
    diabetes = Register.objects.get(key="diabetes")
    due = PatientFactory(practice=practice_a, family_name="-Minus", given_name="Ed", nhs_number="9990000034")
    entry(due, diabetes, 2025, state="invited", invitations=1)
    entry(PatientFactory(practice=outsider.practice), diabetes, 2025)
    search = search_of(coordinator.user, query=f"register={diabetes.pk}", kind="recall_worklist", name="DM")
    book = load_workbook(
        io.BytesIO(download(sign_in_as(coordinator), search, "xlsx").content), read_only=True
    )
    assert sheet(book, "DM") == [
        ["NHS number", "Name", "Register", "Due month", "State"],
        ["999 000 0034", "'-MINUS, Ed", diabetes.name, "June 2025", "Invited"],
    ]
    assert sheet(book, "About")[1] == ["What", "Recall worklist, saved search “DM”"]
    event = AuditEvent.objects.get(action="report.saved_search.download")
    assert list(event.patients.values_list("pk", flat=True)) == [due.pk]


def test_no_format_or_another_format_makes_nothing(sign_in_as, coordinator, high_risk):
    search = search_of(coordinator.user)
    client = sign_in_as(coordinator)
    for data in ({}, {"format": "pdf"}):
        response = client.post(reverse("reporting:saved_search_download", args=[search.pk]), data)
        assert response["Location"] == search.get_absolute_url()
    assert client.get(reverse("reporting:saved_search_download", args=[search.pk])).status_code == 405
    assert not AuditEvent.objects.filter(action="patient.export").exists()


# --- Large: made in the background -------------------------------------------------------------------


@pytest.fixture
def over_two(settings):
    settings.REPORTING_EXPORT_BACKGROUND_ROWS = 2


@pytest.mark.usefixtures("over_two")
def test_a_large_result_is_made_in_the_background_and_kept(
    sign_in_as, client, manager, coordinator, practice_b, high_risk, eager_celery,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """The manager's shared search, run by a coordinator at practice A: 3 rows (> 2), A's only."""
    MembershipFactory(user=manager.user, practice=practice_b, role=Role.MANAGER)
    search = search_of(manager.user, query="risk_min=60", shared=True, name="Over 60")
    sign_in_as(coordinator)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = download(client, search, "xlsx")
    export = ReportExport.objects.get()
    assert len(callbacks) == 1 and response["Location"] == export.get_absolute_url()
    assert (export.kind, export.report_key, export.saved_search, export.query, export.label, export.format) == (
        "saved_search", "patients", search, "risk_min=60", "Over 60", "xlsx",
    )  # fmt: skip
    assert (export.state, export.progress_done, export.progress_total) == ("ready", 3, 3)
    assert export.practice_ids == [coordinator.practice.pk]
    assert export.filename == "over-60-2026-03-02.xlsx"

    page = client.get(response["Location"])
    assert "Saved search: Over 60" in page.text and "3 of 3" not in page.text
    assert reverse("reporting:export_download", args=[export.pk]) in page.text
    fetched = client.get(reverse("reporting:export_download", args=[export.pk]))
    book = load_workbook(io.BytesIO(b"".join(fetched.streaming_content)), read_only=True)
    rows = sheet(book, "Over 60")
    assert rows[0] == PATIENT_HEADER
    assert sorted(row[1] for row in rows[1:]) == ["'=HYPERLINK(1)", "Baker", "Cole"]  # practice A's, escaped
    assert sheet(book, "About")[:4] == [
        ["Saved search: Over 60"], ["What", "Find patients, saved search “Over 60”"],
        ["Filters", "Risk score from: 60"], ["Practices", "Riverside Surgery"],
    ]  # fmt: skip

    asked, made, got = AuditEvent.objects.filter(
        action__in=["report.export.create", "patient.export", "report.export.download"]
    ).order_by("pk")
    assert (asked.action, asked.user, asked.detail["kind"], asked.detail["saved_search"]) == (
        "report.export.create", coordinator.user, "saved_search", search.pk,
    )  # fmt: skip
    assert asked.patient_links.count() == 0
    at_a, _ = high_risk
    assert (made.action, made.user, made.detail["export_id"], made.detail["rows"]) == (
        "patient.export", coordinator.user, export.pk, 3,
    )  # fmt: skip
    assert set(made.patients.values_list("pk", flat=True)) == {p.pk for p in at_a}
    assert (got.action, got.detail["export_id"]) == ("report.export.download", export.pk)


@pytest.mark.usefixtures("over_two")
def test_a_large_csv_reads_back_escaped_and_asking_again_reuses_it(sign_in_as, coordinator, high_risk):
    search = search_of(coordinator.user, query="risk_min=60")
    client = sign_in_as(coordinator)
    first, second = download(client, search, "csv"), download(client, search, "csv")
    export = ReportExport.objects.get()
    assert first["Location"] == second["Location"] == export.get_absolute_url()
    assert export.state == "pending"
    waiting = client.get(export.get_absolute_url(), headers={"HX-Request": "true"})
    assert "hx-get" in waiting.text and "Waiting to start" in waiting.text
    ReportExport.objects.filter(pk=export.pk).update(state="running", progress_done=2)
    assert "2 of 3 rows written" in client.get(export.get_absolute_url(), headers={"HX-Request": "true"}).text
    export = report_export_render(export=export)
    table = list(csv.reader(io.StringIO(read(export).decode("utf-8-sig"))))
    assert table[0] == PATIENT_HEADER
    assert sorted(row[1] for row in table[1:]) == ["'=HYPERLINK(1)", "Baker", "Cole"]
    assert ("999 000 0026", "'@Ann") in {(row[0], row[2]) for row in table[1:]}
    download(client, search, "xlsx")  # another format: another download
    assert ReportExport.objects.count() == 2


@pytest.mark.usefixtures("over_two")
def test_a_search_made_private_before_it_is_made_fails_naming_no_one(
    sign_in_as, coordinator, second_coordinator, high_risk
):
    search = search_of(coordinator.user, query="risk_min=60", shared=True)
    download(sign_in_as(second_coordinator), search, "csv")
    search.shared = False
    search.save()
    export = report_export_render(export=ReportExport.objects.get())
    assert (export.state, bool(export.file)) == ("failed", False)
    assert export.error == "The saved search has been deleted, or is no longer shared with you."
    client = sign_in_as(second_coordinator)
    failed = client.get(export.get_absolute_url(), headers={"HX-Request": "true"})  # the poll's last answer
    assert "The saved search has been deleted, or is no longer shared with you." in failed.text
    assert "Ask your administrator" in failed.text  # no search to go back to: it is not theirs to see
    assert not AuditEvent.objects.filter(action="patient.export").exists()


def test_another_persons_private_search_downloads_nothing(
    sign_in_as, coordinator, second_coordinator, high_risk
):
    search = search_of(coordinator.user)
    assert download(sign_in_as(second_coordinator), search, "xlsx").status_code == 404
    assert (
        not ReportExport.objects.exists() and not AuditEvent.objects.filter(action="patient.export").exists()
    )


@pytest.mark.usefixtures("over_two")
def test_a_large_data_quality_list_is_made_in_the_background(
    sign_in_as, client, manager, practice_a, practice_b
):
    MembershipFactory(user=manager.user, practice=practice_b, role=Role.MANAGER)
    no_mobile = [PatientFactory(practice=practice_a, mobile="", family_name=f"+A{n}") for n in range(3)]
    PatientFactory(practice=practice_b, mobile="")
    sign_in_as(manager)
    url = reverse("reporting:data_quality_csv", args=["no_mobile"])
    response = client.post(url, {"format": "csv", "practice": practice_a.pk})
    export = ReportExport.objects.get()
    assert response["Location"] == export.get_absolute_url()
    assert (export.kind, export.report_key, export.label, export.practice_ids, export.progress_total) == (
        "data_quality", "no_mobile", "No mobile number", [practice_a.pk], 3,
    )  # fmt: skip
    report_export_render(export=export)
    export.refresh_from_db()
    assert export.filename == "data-quality-no_mobile-2026-03-02.csv"
    table = list(csv.reader(io.StringIO(read(export).decode("utf-8-sig"))))
    assert table[0][:2] == ["NHS number", "Family name"] and len(table) == 4
    assert sorted(row[1] for row in table[1:]) == ["'+A0", "'+A1", "'+A2"]  # practice A only, escaped
    made = AuditEvent.objects.get(action="report.data_quality.export")
    assert set(made.patients.values_list("pk", flat=True)) == {p.pk for p in no_mobile}
    assert made.detail | {"export_id": 0} == {
        "export_id": 0, "format": "csv", "rows": 3, "check": "no_mobile", "practices": [practice_a.pk],
    }  # fmt: skip
    # Two rows (not over two): the CSV itself, at once.
    response = client.post(url, {"format": "csv", "practice": practice_b.pk})
    assert response.status_code == 200 and ReportExport.objects.count() == 1


# --- Kept, then deleted ------------------------------------------------------------------------------


@pytest.mark.usefixtures("over_two")
def test_made_downloads_are_deleted_after_the_keep_days(
    settings, sign_in_as, client, coordinator, high_risk, frozen, django_capture_on_commit_callbacks
):
    settings.REPORTING_EXPORT_KEEP_DAYS = 7
    search = search_of(coordinator.user, query="risk_min=60")
    sign_in_as(coordinator)
    download(client, search, "csv")
    old = report_export_render(export=ReportExport.objects.get())
    frozen.shift(timedelta(days=2))
    sign_in_as(coordinator)
    download(client, search, "xlsx")
    recent = report_export_render(export=ReportExport.objects.get(format="xlsx"))
    storage, old_name = old.file.storage, old.file.name
    assert storage.exists(old_name)

    frozen.shift(timedelta(days=5, minutes=1))  # the first made 7 days and a minute ago, the second 5
    with django_capture_on_commit_callbacks(execute=True):  # the files are deleted once the rows commit
        report_exports_expire_task()
        report_exports_expire_task()  # a second run finds nothing more
    old.refresh_from_db()
    recent.refresh_from_db()
    assert (old.state, old.file.name, old.expired_at) == ("expired", "", NOW + timedelta(days=7, minutes=1))
    assert not storage.exists(old_name)
    assert (recent.state, storage.exists(recent.file.name)) == ("ready", True)

    sign_in_as(coordinator)
    page = client.get(old.get_absolute_url())
    assert "Expired — make it again." in page.text
    assert f'href="{search.get_absolute_url()}"' in page.text
    assert reverse("reporting:export_download", args=[old.pk]) not in page.text
    fetched = client.get(reverse("reporting:export_download", args=[old.pk]), follow=True)
    assert "This download has expired: make it again." in fetched.text
    assert 'nhsuk-tag--grey">Expired' in client.get(reverse("reporting:export_list")).text
    assert not AuditEvent.objects.filter(action="report.export.download").exists()
    # Asked for again, it is made again.
    download(client, search, "csv")
    assert ReportExport.objects.filter(format="csv").count() == 2

    frozen.shift(timedelta(days=3))  # the second is now 8 days old; the one asked for again is not made
    assert report_exports_expire(now=timezone.now()) == 1
    assert list(ReportExport.objects.order_by("pk").values_list("state", flat=True)) == [
        "expired", "expired", "pending",
    ]  # fmt: skip


@pytest.mark.usefixtures("over_two")
def test_a_large_worklist_result_is_made_in_the_background(sign_in_as, coordinator, practice_a, outsider):
    diabetes = Register.objects.get(key="diabetes")
    due = [PatientFactory(practice=practice_a, family_name=f"=D{n}", given_name="Di") for n in range(3)]
    for patient in due:
        entry(patient, diabetes, 2025)
    entry(PatientFactory(practice=outsider.practice), diabetes, 2025)
    search = search_of(coordinator.user, query=f"register={diabetes.pk}", kind="recall_worklist", name="DM")
    download(sign_in_as(coordinator), search, "xlsx")
    export = report_export_render(export=ReportExport.objects.get())
    assert (export.kind, export.report_key, export.state, export.progress_total) == (
        "saved_search", "recall_worklist", "ready", 3,
    )  # fmt: skip
    rows = sheet(load_workbook(io.BytesIO(read(export)), read_only=True), "DM")
    assert rows[0] == ["NHS number", "Name", "Register", "Due month", "State"]
    assert sorted(row[1] for row in rows[1:]) == ["'=D0, Di", "'=D1, Di", "'=D2, Di"]  # practice A's, escaped
    made = AuditEvent.objects.get(action="report.saved_search.download")
    assert set(made.patients.values_list("pk", flat=True)) == {p.pk for p in due}
    assert (made.detail["export_id"], made.detail["rows"]) == (export.pk, 3)


def test_the_sweeps_are_on_the_beat(settings):
    assert settings.CELERY_BEAT_SCHEDULE["reporting-exports-expire"]["task"] == (
        "reporting.tasks.report_exports_expire_task"
    )
    retry = settings.CELERY_BEAT_SCHEDULE["reporting-monthly-pack-retry"]
    assert (retry["task"], retry["schedule"].minute) == ("reporting.tasks.monthly_pack_retry_task", {20})
