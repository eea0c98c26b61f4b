"""Report downloads: the CSV, XLSX and PDF hold the caseload report's figures (the hand-built data set of
test_caseload_report), made by the task (directly and through eager Celery) with progress; an identical
request reuses the download; a download is its maker's alone, and asking and fetching are audited."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from caseload.models import CaseloadEpisode
from pcn.models import AuditEvent, Role
from reporting.models import ReportExport
from reporting.periods import month
from reporting.services import exports as export_service
from reporting.services.exports import report_export_render, report_export_request
from reporting.tasks import report_export_task
from tests.conftest import make_person, pdf_text
from tests.reporting.test_caseload_report import caseloads  # noqa: F401 — the shared data set

pytest_plugins = ["tests.caseload.import_fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root", "caseloads")]

NOVEMBER = {"period": "month", "month": "2026-11"}
DECEMBER_3 = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
# Signing in and the page's frame (session, user, two-factor device, memberships, navigation, the session
# saved), then the count and the page's rows: the same for 2 downloads or 3.
NUM_LIST_QUERIES = 10

# Castle Street (B) before Riverside (A): practices by name.
HEADER = [
    "Figure", "All practices, November 2026", "All practices, October 2026", "Change",
    "Castle Street Medical Centre, November 2026", "Riverside Surgery, November 2026",
]  # fmt: skip
FIGURES = [
    ["On a caseload at the end of the period", 4, 3, 1, 2, 2],
    ["Taken onto a caseload", 3, 2, 1, 1, 2],
    ["Closed", 2, 0, 2, 0, 2],
    ["Transferred between coordinators", 1, 0, 1, 1, 0],
]


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(DECEMBER_3, tick=False):
        yield


@pytest.fixture
def lead_of_both(practice_a, practice_b):
    person = make_person(practice_a, Role.CLINICAL_LEAD, full_name="Lee Both", email="lee@example.test")
    person.user.memberships.create(practice=practice_b, role=Role.CLINICAL_LEAD)
    return person


def made(user, practices, format: str) -> ReportExport:
    export, created = report_export_request(
        by=user, report_key="caseload", period=month(2026, 11), practice_ids=[p.pk for p in practices],
        format=format,
    )  # fmt: skip
    assert created
    return report_export_render(export=export)


def read(export: ReportExport) -> bytes:
    with export.file.open("rb") as file:
        return file.read()


def test_the_csv_is_one_table_of_figures_then_each_breakdown(lead_of_both, practice_a, practice_b):
    export = made(lead_of_both.user, [practice_a, practice_b], "csv")
    assert (export.state, export.progress_done, export.progress_total) == ("ready", 5, 5)  # 4 figures + file
    assert export.filename == "caseload-2026-11.csv"
    rows = list(csv.reader(io.StringIO(read(export).decode("utf-8-sig"))))
    assert rows[0] == ["Section", *HEADER]
    assert rows[1:5] == [["Caseload", *map(str, row)] for row in FIGURES]
    assert rows[5:] == [
        ["On a caseload at the end of the period, by coordinator", "Ann Able", "3"],
        ["On a caseload at the end of the period, by coordinator", "Ben Baker", "1"],
        ["Taken onto a caseload, by coordinator", "Ann Able", "2"],
        ["Taken onto a caseload, by coordinator", "Ben Baker", "1"],
        ["Taken onto a caseload, by why", "Risk stratification list", "3"],
        ["Closed, by reason closed", "Died", "1"],
        ["Closed, by reason closed", "Goals met", "1"],
        ["Closed, by coordinator", "Ann Able", "2"],
    ]


def test_the_xlsx_has_a_cover_the_figures_and_a_sheet_per_breakdown(lead_of_both, practice_a, practice_b):
    export = made(lead_of_both.user, [practice_a, practice_b], "xlsx")
    book = load_workbook(io.BytesIO(read(export)), read_only=True)
    assert book.sheetnames == [
        "About", "Figures", "On a caseload at the end of the", "Taken onto a caseload, by coord",
        "Taken onto a caseload, by why", "Closed, by reason closed", "Closed, by coordinator",
    ]  # fmt: skip
    cover = [list(row) for row in book["About"].iter_rows(values_only=True)]
    assert cover == [
        ["Caseload"],
        ["Question", "How many people are on the care coordinators' caseloads, and how many joined and left them?"],
        ["Definition version", "caseload-1"],
        ["Period", "November 2026"],
        ["Compared with", "October 2026"],
        ["Practices", "Castle Street Medical Centre, Riverside Surgery"],
        ["Made by", "Lee Both"],
        ["Made at", "03/12/2026 09:30"],
    ]  # fmt: skip
    figures = [list(row) for row in book["Figures"].iter_rows(values_only=True)]
    assert figures == [HEADER, *FIGURES]
    assert [list(row) for row in book["Closed, by reason closed"].iter_rows(values_only=True)] == [
        ["Closed, by reason closed", "Number"], ["Died", 1], ["Goals met", 1],
    ]  # fmt: skip


def test_the_pdf_has_a_cover_then_a_chart_and_a_table_per_figure(lead_of_both, practice_a, practice_b):
    export = made(lead_of_both.user, [practice_a, practice_b], "pdf")
    content = read(export)
    assert content.startswith(b"%PDF")
    text = " ".join(pdf_text(content).split())
    for expected in (
        "Caseload November 2026", "Definition version caseload-1", "Compared with October 2026",
        "Practices Castle Street Medical Centre, Riverside Surgery", "Made by Lee Both",
        # The table under the first figure's chart: all, then each practice; this period, then the last.
        "Practices November 2026 October 2026 All practices 4 3 Castle Street Medical Centre 2 1 "
        "Riverside Surgery 2 2",
        "Closed, by reason closed Reason closed November 2026 Died 1 Goals met 1",
    ):  # fmt: skip
        assert expected in text


def test_one_practice_chosen_covers_that_practice_only(lead_of_both, practice_a):
    export = made(lead_of_both.user, [practice_a], "csv")
    rows = list(csv.reader(io.StringIO(read(export).decode("utf-8-sig"))))
    assert rows[0][-1] == "Riverside Surgery, November 2026" and len(rows[0]) == 6
    assert rows[1] == ["Caseload", "On a caseload at the end of the period", "2", "2", "0", "2"]


def test_a_breakdown_label_that_is_a_formula_is_escaped(lead_of_both, practice_a, practice_b):
    CaseloadEpisode.objects.update(
        coordinator=make_person(practice_a, Role.COORDINATOR, full_name="=cmd").user
    )
    rows = list(
        csv.reader(io.StringIO(read(made(lead_of_both.user, [practice_a], "csv")).decode("utf-8-sig")))
    )
    assert ["On a caseload at the end of the period, by coordinator", "'=cmd", "2"] in rows
    book = load_workbook(io.BytesIO(read(made(lead_of_both.user, [practice_a], "xlsx"))), read_only=True)
    sheet = book["On a caseload at the end of the"]
    assert [list(row) for row in sheet.iter_rows(values_only=True)][1] == ["'=cmd", 2]


def test_the_task_is_safe_to_run_twice(lead_of_both, practice_a):
    export, _ = report_export_request(
        by=lead_of_both.user, report_key="caseload", period=month(2026, 11), practice_ids=[practice_a.pk],
        format="csv",
    )  # fmt: skip
    report_export_task(export.pk)
    export.refresh_from_db()
    first = (export.state, export.file.name, export.finished_at)
    report_export_task(export.pk)
    export.refresh_from_db()
    assert (export.state, export.file.name, export.finished_at) == first


def test_a_failure_is_recorded_and_the_export_left_failed(lead_of_both, practice_a, monkeypatch):
    def broken(export, every):
        raise RuntimeError("The disk is full")

    monkeypatch.setitem(export_service.WRITERS, "csv", broken)
    export, _ = report_export_request(
        by=lead_of_both.user, report_key="caseload", period=month(2026, 11), practice_ids=[practice_a.pk],
        format="csv",
    )  # fmt: skip
    with pytest.raises(RuntimeError):
        report_export_render(export=export)
    export.refresh_from_db()
    assert (export.state, export.error, export.progress_done, bool(export.file)) == (
        "failed", "The disk is full", 4, False,
    )  # fmt: skip


def test_downloading_from_the_report_page_through_celery(
    client, sign_in_as, lead_of_both, practice_a, eager_celery, django_capture_on_commit_callbacks
):
    sign_in_as(lead_of_both)
    page = client.get(reverse("reporting:report_detail", args=["caseload"]), NOVEMBER)
    assert page.status_code == 200
    assert 'action="{}"'.format(reverse("reporting:export_create", args=["caseload"])) in page.text
    assert '<input type="hidden" name="month" value="2026-11">' in page.text
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("reporting:export_create", args=["caseload"]),
            {**NOVEMBER, "practice": "", "format": "xlsx"},
        )
    export = ReportExport.objects.get()
    assert len(callbacks) == 1
    assert response.status_code == 302 and response["Location"] == reverse(
        "reporting:export_detail", args=[export.pk]
    )
    assert (export.state, export.format, export.practice_ids, export.created_by) == (
        "ready", "xlsx", sorted(lead_of_both.user.practice_ids()), lead_of_both.user,
    )  # fmt: skip
    detail = client.get(response["Location"])
    assert reverse("reporting:export_download", args=[export.pk]) in detail.text
    assert "hx-get" not in detail.text
    download = client.get(reverse("reporting:export_download", args=[export.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="caseload-2026-11.xlsx"'
    book = load_workbook(io.BytesIO(b"".join(download.streaming_content)), read_only=True)
    assert [list(row) for row in book["Figures"].iter_rows(values_only=True)][1] == FIGURES[0]
    asked, fetched = AuditEvent.objects.filter(action__startswith="report.export").order_by("pk")
    assert (asked.action, asked.user, asked.detail["export_id"], asked.detail["reused"]) == (
        "report.export.create", lead_of_both.user, export.pk, False,
    )  # fmt: skip
    assert (fetched.action, fetched.detail["format"], fetched.detail["period"]) == (
        "report.export.download", "xlsx", "November 2026",
    )  # fmt: skip
    assert asked.patient_links.count() == 0 and fetched.patient_links.count() == 0  # figures only


def test_an_identical_request_reuses_the_download(client, sign_in_as, lead_of_both, practice_a):
    sign_in_as(lead_of_both)
    url = reverse("reporting:export_create", args=["caseload"])
    data = {**NOVEMBER, "practice": practice_a.pk, "format": "csv"}
    first, second = client.post(url, data), client.post(url, data)
    export = ReportExport.objects.get()  # waiting to start: the second request is sent to the same one
    assert first["Location"] == second["Location"] == export.get_absolute_url()
    assert list(AuditEvent.objects.filter(action="report.export.create").order_by("pk").values_list("detail__reused", flat=True)) == [
        False, True,
    ]  # fmt: skip
    client.post(url, {**data, "format": "pdf"})  # another format, another practice: new downloads
    client.post(url, {**data, "practice": ""})
    assert ReportExport.objects.count() == 3
    # Made an hour ago, or failed: asked for again, it is made again.
    ReportExport.objects.filter(pk=export.pk).update(
        state="ready", finished_at=timezone.now() - timedelta(minutes=61)
    )
    client.post(url, data)
    assert ReportExport.objects.count() == 4
    ReportExport.objects.filter(format="pdf").update(state="failed")
    client.post(url, {**data, "format": "pdf"})
    assert ReportExport.objects.count() == 5


def test_asking_without_a_format_or_for_another_practice_makes_nothing(
    client, sign_in_as, coordinator, practice_b
):
    sign_in_as(coordinator)
    url = reverse("reporting:export_create", args=["caseload"])
    for data in (
        {**NOVEMBER},
        {**NOVEMBER, "format": "docx"},
        {**NOVEMBER, "practice": practice_b.pk, "format": "csv"},
    ):
        response = client.post(url, data)
        assert response.status_code == 302
        assert response["Location"] == reverse("reporting:report_detail", args=["caseload"])
    assert ReportExport.objects.count() == 0
    assert client.get(url).status_code == 405
    assert (
        client.post(
            reverse("reporting:export_create", args=["nothing"]), {**NOVEMBER, "format": "csv"}
        ).status_code
        == 404
    )


def test_the_progress_partial_polls_while_the_file_is_made(client, sign_in_as, lead_of_both, practice_a):
    export, _ = report_export_request(
        by=lead_of_both.user, report_key="caseload", period=month(2026, 11), practice_ids=[practice_a.pk],
        format="pdf",
    )  # fmt: skip
    sign_in_as(lead_of_both)
    url = reverse("reporting:export_detail", args=[export.pk])
    waiting = client.get(url, headers={"HX-Request": "true"})
    assert waiting.text.lstrip().startswith('<div id="export-progress" hx-get="' + url + '"')
    assert "Waiting to start" in waiting.text and "<h1>" not in waiting.text
    ReportExport.objects.filter(pk=export.pk).update(state="running", progress_done=2)
    running = client.get(url, headers={"HX-Request": "true"})
    assert "2 of 5 steps done" in running.text
    assert '<progress id="export-bar" class="nhsuk-u-width-full" max="5" value="2">' in running.text
    assert client.get(reverse("reporting:export_download", args=[export.pk]))["Location"] == url  # not ready
    report_export_render(export=export)
    ready = client.get(url, headers={"HX-Request": "true"})
    assert "hx-get" not in ready.text and 'data-state="ready"' in ready.text
    assert reverse("reporting:export_download", args=[export.pk]) in ready.text
    page = client.get(url)
    assert "<h1>" in page.text and "Riverside Surgery" in page.text and "caseload-1" in page.text


def test_a_download_is_its_makers_alone(client, sign_in_as, lead_of_both, manager, practice_a):
    export = made(lead_of_both.user, [practice_a], "csv")
    sign_in_as(manager)  # at practice A too, but not the maker
    for name in ("reporting:export_detail", "reporting:export_download"):
        assert client.get(reverse(name, args=[export.pk])).status_code == 404
    assert "No downloads yet" in client.get(reverse("reporting:export_list")).text
    # The maker who has since left a practice the download covers cannot fetch it either.
    lead_of_both.user.memberships.filter(practice=practice_a).delete()
    sign_in_as(lead_of_both)
    assert client.get(reverse("reporting:export_download", args=[export.pk])).status_code == 404
    assert not AuditEvent.objects.filter(action="report.export.download").exists()


def test_the_list_shows_the_users_downloads_in_a_fixed_number_of_queries(
    client, sign_in_as, lead_of_both, manager, practice_a, django_assert_num_queries
):
    for format in ("csv", "xlsx"):
        report_export_request(
            by=lead_of_both.user, report_key="caseload", period=month(2026, 11), practice_ids=[practice_a.pk],
            format=format,
        )  # fmt: skip
    report_export_request(
        by=manager.user,
        report_key="caseload",
        period=month(2026, 10),
        practice_ids=[practice_a.pk],
        format="csv",
    )
    sign_in_as(lead_of_both)
    url = reverse("reporting:export_list")
    client.get(url)
    with django_assert_num_queries(NUM_LIST_QUERIES):
        response = client.get(url)
    assert response.text.count('data-testid="export-') == 2
    assert "2 downloads" in response.text and "Excel (XLSX)" in response.text
    report_export_request(
        by=lead_of_both.user, report_key="care_plans", period=month(2026, 11), practice_ids=[practice_a.pk],
        format="pdf",
    )  # fmt: skip
    with django_assert_num_queries(NUM_LIST_QUERIES):
        assert client.get(url).text.count('data-testid="export-') == 3


def test_period_labels_in_file_names():
    export = ReportExport(report_key="care_plans", period_kind="custom", period_start=date(2026, 5, 10),
                          period_end=date(2026, 5, 19), format="pdf")  # fmt: skip
    assert export.filename == "care-plans-2026-05-10-to-2026-05-19.pdf"
