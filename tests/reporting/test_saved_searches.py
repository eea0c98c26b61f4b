"""Saved searches (issue 10): saving Find-patients and worklist filters, running them in the runner's
scope, the run history and its change, the CSV, owner-only changes and the weekly job."""

import csv
import io
import re
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from pcn.models import AuditEvent, Role
from recall.models import Register
from reporting.models import SavedSearch, SavedSearchRun
from reporting.services.saved_searches import saved_search_create
from reporting.tasks import saved_searches_run_due_task
from tests.conftest import assert_error_summary
from tests.factories import MembershipFactory, PatientFactory
from tests.reporting.report_data import entry

LONDON = ZoneInfo("Europe/London")
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=LONDON)  # QOF year 2025/26
CSV = {"format": "csv"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(MONDAY, tick=False) as traveller:
        yield traveller


def high_risk(practice, count: int, **fields) -> list:
    return [PatientFactory(practice=practice, risk_score=Decimal("70"), **fields) for _ in range(count)]


def save(client, kind: str, query: str, name: str = "High risk", shared: bool = False):
    data = {"kind": kind, "query": query, "name": name} | ({"shared": "on"} if shared else {})
    return client.post(reverse("reporting:saved_search_create"), data)


def run(client, search):
    return client.post(reverse("reporting:saved_search_run", args=[search.pk]))


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def result_count(response) -> str:
    text = response.text
    start = text.index('data-testid="result-count">') + len('data-testid="result-count">')
    return " ".join(text[start : text.index("</p>", start)].split())


# --- Saving from each list ---------------------------------------------------------------------------


def test_both_list_pages_offer_save_this_search_with_their_filters(sign_in_as, coordinator):
    client = sign_in_as(coordinator)
    patients = client.get(reverse("caseload:patient_list") + "?risk_band=high&page=1")
    assert 'action="/reports/searches/new/"' in patients.text
    assert '<input type="hidden" name="kind" value="patients">' in patients.text
    assert '<input type="hidden" name="query" value="risk_band=high">' in patients.text
    worklist = client.get(reverse("recall:worklist") + "?state=any")
    assert '<input type="hidden" name="kind" value="recall_worklist">' in worklist.text
    assert '<input type="hidden" name="query" value="state=any">' in worklist.text


def test_a_find_patients_search_round_trips_to_the_same_count(sign_in_as, coordinator, practice_a):
    high_risk(practice_a, 3)
    PatientFactory(practice=practice_a, risk_score=Decimal("20"))
    client = sign_in_as(coordinator)
    listed = client.get(reverse("caseload:patient_list") + "?risk_band=high&sort=-name")
    assert result_count(listed) == "3 patients"

    response = save(client, "patients", "risk_band=high&page=2&sort=-name&bogus=1&q=")
    search = SavedSearch.objects.get()
    assert response["Location"] == search.get_absolute_url()
    # The page, unknown keys and empty values are dropped; the sort is kept (the list reopens in it).
    assert (search.kind, search.query, search.owner, search.shared) == (
        "patients", "risk_band=high&sort=-name", coordinator.user, False,
    )  # fmt: skip

    response = run(client, search)
    assert response["Location"] == "/patients/?risk_band=high&sort=-name"
    assert SavedSearchRun.objects.get().count == 3
    opened = client.get(response["Location"])
    assert result_count(opened) == "3 patients"
    assert "“High risk”: 3 patients." in opened.text


def test_a_worklist_search_round_trips_and_follows_the_qof_year(sign_in_as, coordinator, practice_a):
    diabetes, asthma = Register.objects.get(key="diabetes"), Register.objects.get(key="asthma")
    for patient in PatientFactory.create_batch(2, practice=practice_a):
        entry(patient, diabetes, 2025)
    entry(PatientFactory(practice=practice_a), diabetes, 2025, state="seen")
    entry(PatientFactory(practice=practice_a), asthma, 2025)
    query = f"register={diabetes.pk}&year=2025&due_match=by&state=&sort=due"
    client = sign_in_as(coordinator)
    assert result_count(client.get(reverse("recall:worklist") + "?" + query)) == "2 reviews"

    save(client, "recall_worklist", query, name="Diabetes due")
    search = SavedSearch.objects.get()
    # The current QOF year is dropped, so a weekly search moves on to the new year on 1 April.
    assert search.query == f"register={diabetes.pk}&due_match=by&sort=due"
    response = run(client, search)
    assert response["Location"] == f"/recall/?register={diabetes.pk}&due_match=by&sort=due"
    assert SavedSearchRun.objects.get().count == 2
    assert result_count(client.get(response["Location"])) == "2 reviews"

    save(client, "recall_worklist", f"register={diabetes.pk}&year=2024", name="Last year")
    assert SavedSearch.objects.get(name="Last year").query == f"register={diabetes.pk}&year=2024"


def test_an_invalid_filter_is_refused_with_a_clear_error(sign_in_as, coordinator, practice_b):
    client = sign_in_as(coordinator)
    response = save(client, "patients", "risk_min=abc&age_band=12-15")
    assert_error_summary(
        response,
        "These filters cannot be saved: change them on the list page and save again.",
        "Risk score from: Enter a number.",
        "Age: Select a valid choice. 12-15 is not one of the available choices.",
    )
    # A practice that is not the user's is refused, not dropped (that would widen the search).
    response = save(client, "patients", f"practice={practice_b.pk}")
    assert_error_summary(response, f"Practice: Select a valid choice. {practice_b.pk} is not one of the")
    assert_error_summary(save(client, "patients", "risk_band=high", name=""), "This field is required.")
    assert SavedSearch.objects.count() == 0


# --- Sharing and scope -------------------------------------------------------------------------------

SEARCH_URLS = [
    ("reporting:saved_search_detail", "get"),
    ("reporting:saved_search_run", "post"),
    ("reporting:saved_search_download", "post"),
    ("reporting:saved_search_edit", "get"),
    ("reporting:saved_search_delete", "get"),
    ("reporting:saved_search_delete", "post"),
]


@pytest.mark.parametrize(("name", "method"), SEARCH_URLS)
def test_another_persons_private_search_is_404(sign_in_as, coordinator, second_coordinator, name, method):
    search = saved_search_create(
        owner=coordinator.user, kind="patients", query="risk_band=high", name="Mine", shared=False
    )
    client = sign_in_as(second_coordinator)
    assert getattr(client, method)(reverse(name, args=[search.pk])).status_code == 404
    assert "Mine" not in client.get(reverse("reporting:saved_search_list")).text
    assert SavedSearch.objects.filter(pk=search.pk).exists()
    assert SavedSearchRun.objects.count() == 0


def test_a_shared_search_is_run_in_the_runners_scope(
    sign_in_as, client, coordinator, manager, practice_a, practice_b
):
    MembershipFactory(user=manager.user, practice=practice_b, role=Role.MANAGER)
    high_risk(practice_a, 2)
    high_risk(practice_b, 3)
    search = saved_search_create(
        owner=manager.user, kind="patients", query="risk_band=high", name="PCN high risk", shared=True
    )
    run(sign_in_as(manager), search)
    client.logout()
    coordinators = sign_in_as(coordinator)
    listed = coordinators.get(reverse("reporting:saved_search_list"))
    assert "PCN high risk" in listed.text
    assert "Mina Manager" in listed.text
    assert "Not run by you yet" in listed.text  # the manager's count (of practice B too) is not shown

    opened = coordinators.get(run(coordinators, search)["Location"])
    assert result_count(opened) == "2 patients"
    assert practice_b.name not in opened.text
    assert [(r.run_by, r.count) for r in SavedSearchRun.objects.order_by("id")] == [
        (manager.user, 5), (coordinator.user, 2),
    ]  # fmt: skip
    download = rows(coordinators.post(reverse("reporting:saved_search_download", args=[search.pk]), CSV))
    assert len(download) == 1 + 2
    assert {row[5] for row in download[1:]} == {practice_a.ods_code}


def test_a_search_naming_a_practice_the_runner_cannot_see_is_refused(
    sign_in_as, client, coordinator, manager, practice_a, practice_b
):
    MembershipFactory(user=manager.user, practice=practice_b, role=Role.MANAGER)
    search = saved_search_create(
        owner=manager.user, kind="patients", query=f"practice={practice_b.pk}", name="Castle", shared=True
    )
    response = run(sign_in_as(coordinator), search)
    assert response["Location"] == search.get_absolute_url()
    page = client.get(response["Location"])
    assert "This search cannot be run for your practices: Practice: Select a valid choice." in page.text
    assert SavedSearchRun.objects.count() == 0
    assert client.post(reverse("reporting:saved_search_download", args=[search.pk]), CSV).status_code == 302


# --- History and change ------------------------------------------------------------------------------


def test_the_list_and_history_show_the_last_count_and_its_change(sign_in_as, coordinator, practice_a, frozen):
    high_risk(practice_a, 3)
    search = saved_search_create(
        owner=coordinator.user, kind="patients", query="risk_band=high", name="High risk", shared=False
    )
    client = sign_in_as(coordinator)
    run(client, search)
    frozen.shift(timedelta(days=1))
    client = sign_in_as(coordinator)  # a day on: the session has timed out
    high_risk(practice_a, 2)
    response = client.get(run(client, search)["Location"])
    assert "“High risk”: 5 patients, 2 more than on 2 March 2026 (3)." in response.text
    frozen.shift(timedelta(days=1))
    client = sign_in_as(coordinator)
    PatientFactory(practice=practice_a, risk_score=Decimal("70"), is_deceased=True)  # not counted
    run(client, search)

    listed = client.get(reverse("reporting:saved_search_list")).text
    row = listed[listed.index(f'data-search="{search.pk}"') :]
    assert '<td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-testid="last-count">5</td>' in row
    assert 'data-testid="change">No change' in row
    assert "4 Mar 2026 09:00" in row

    history = client.get(search.get_absolute_url()).text
    table = history[history.index('data-testid="run-history"') :]
    cells = [" ".join(cell.split()) for cell in re.findall(r"<td[^>]*>(.*?)</td>", table, re.DOTALL)]
    assert cells[:12] == [
        "4 Mar 2026 09:00", "You", "5", "No change",
        "3 Mar 2026 09:00", "You", "5", "+2",
        "2 Mar 2026 09:00", "You", "3", "–",
    ]  # fmt: skip
    assert "Risk band: High (60 to 79.9)" in history


# --- Download ----------------------------------------------------------------------------------------


def test_a_patients_download_is_the_find_patients_csv_escaped_and_audited(
    sign_in_as, coordinator, practice_a
):
    evil = PatientFactory(
        practice=practice_a, risk_score=Decimal("70"), family_name="=HYPERLINK(1)", given_name="@Ann",
        nhs_number="9990000026",
    )  # fmt: skip
    PatientFactory(practice=practice_a, risk_score=Decimal("10"))
    search = saved_search_create(
        owner=coordinator.user, kind="patients", query="risk_band=high", name="High", shared=False
    )
    response = sign_in_as(coordinator).post(reverse("reporting:saved_search_download", args=[search.pk]), CSV)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="high-2026-03-02.csv"'
    table = rows(response)
    assert table[0][:6] == ["NHS number", "Family name", "Given name", "Date of birth", "Sex", "Practice"]
    assert table[1][:3] == ["999 000 0026", "'=HYPERLINK(1)", "'@Ann"]
    assert len(table) == 2
    event = AuditEvent.objects.get(action="patient.export")
    assert list(event.patients.values_list("pk", flat=True)) == [evil.pk]
    assert event.detail == {"rows": 1, "filters": "risk_band=high", "saved_search": search.pk}


def test_a_worklist_download_has_its_rows_escaped_and_audited(sign_in_as, coordinator, practice_a, outsider):
    diabetes = Register.objects.get(key="diabetes")
    due = PatientFactory(practice=practice_a, family_name="-Minus", given_name="Ed", nhs_number="9990000034")
    entry(due, diabetes, 2025, state="invited", invitations=1)
    entry(PatientFactory(practice=practice_a), diabetes, 2025, state="seen")
    entry(PatientFactory(practice=outsider.practice), diabetes, 2025)
    search = saved_search_create(
        owner=coordinator.user,
        kind="recall_worklist",
        query=f"register={diabetes.pk}",
        name="DM",
        shared=True,
    )
    response = sign_in_as(coordinator).post(reverse("reporting:saved_search_download", args=[search.pk]), CSV)
    assert response["Content-Disposition"] == 'attachment; filename="dm-2026-03-02.csv"'
    assert rows(response) == [
        ["NHS number", "Name", "Register", "Due month", "State"],
        ["999 000 0034", "'-MINUS, Ed", diabetes.name, "June 2025", "Invited"],
    ]
    event = AuditEvent.objects.get(action="report.saved_search.download")
    assert list(event.patients.values_list("pk", flat=True)) == [due.pk]
    assert event.detail == {"saved_search": search.pk, "rows": 1}


# --- Edit and delete: the owner's --------------------------------------------------------------------


def test_only_the_owner_changes_or_deletes_a_shared_search(
    sign_in_as, client, coordinator, second_coordinator
):
    search = saved_search_create(
        owner=coordinator.user, kind="patients", query="risk_band=high", name="Shared", shared=True
    )
    others = sign_in_as(second_coordinator)
    assert others.get(search.get_absolute_url()).status_code == 200
    assert others.get(reverse("reporting:saved_search_edit", args=[search.pk])).status_code == 403
    edit = others.post(reverse("reporting:saved_search_edit", args=[search.pk]), {"name": "Mine now"})
    assert edit.status_code == 403
    assert others.post(reverse("reporting:saved_search_delete", args=[search.pk])).status_code == 403
    search.refresh_from_db()
    assert (search.name, search.shared) == ("Shared", True)
    client.logout()

    owner = sign_in_as(coordinator)
    response = owner.post(reverse("reporting:saved_search_edit", args=[search.pk]), {"name": "Renamed"})
    assert response["Location"] == search.get_absolute_url()
    search.refresh_from_db()
    assert (search.name, search.shared, search.schedule) == ("Renamed", False, "none")


def test_deleting_asks_first(sign_in_as, coordinator, practice_a):
    search = saved_search_create(
        owner=coordinator.user, kind="patients", query="", name="Everyone", shared=False
    )
    client = sign_in_as(coordinator)
    run(client, search)
    url = reverse("reporting:saved_search_delete", args=[search.pk])
    question = client.get(url)
    assert "Delete “Everyone”?" in question.text
    assert "its run history (1 run)" in question.text
    assert SavedSearch.objects.count() == 1
    response = client.post(url)
    assert response["Location"] == reverse("reporting:saved_search_list")
    assert (SavedSearch.objects.count(), SavedSearchRun.objects.count()) == (0, 0)


def test_the_weekly_schedule_is_a_managers_option(sign_in_as, client, coordinator, manager):
    mine = saved_search_create(owner=coordinator.user, kind="patients", query="", name="A", shared=False)
    coordinators = sign_in_as(coordinator)
    assert (
        'name="schedule"' not in coordinators.get(reverse("reporting:saved_search_edit", args=[mine.pk])).text
    )
    coordinators.post(
        reverse("reporting:saved_search_edit", args=[mine.pk]), {"name": "A", "schedule": "weekly"}
    )
    mine.refresh_from_db()
    assert (mine.schedule, mine.next_run_on) == ("none", None)
    client.logout()

    theirs = saved_search_create(owner=manager.user, kind="patients", query="", name="B", shared=False)
    managers = sign_in_as(manager)
    assert 'name="schedule"' in managers.get(reverse("reporting:saved_search_edit", args=[theirs.pk])).text
    managers.post(
        reverse("reporting:saved_search_edit", args=[theirs.pk]), {"name": "B", "schedule": "weekly"}
    )
    theirs.refresh_from_db()
    assert (theirs.schedule, theirs.next_run_on) == ("weekly", date(2026, 3, 2))
    managers.post(reverse("reporting:saved_search_edit", args=[theirs.pk]), {"name": "B", "schedule": "none"})
    theirs.refresh_from_db()
    assert (theirs.schedule, theirs.next_run_on) == ("none", None)


# --- The weekly job ----------------------------------------------------------------------------------


def test_the_weekly_job_runs_each_due_search_once_in_its_owners_scope(
    coordinator, manager, practice_a, practice_b, frozen
):
    MembershipFactory(user=manager.user, practice=practice_b, role=Role.MANAGER)
    high_risk(practice_a, 2, family_name="Secretname")
    high_risk(practice_b, 1, family_name="Secretname")
    search = saved_search_create(
        owner=manager.user, kind="patients", query="risk_band=high", name="PCN high risk", shared=True
    )
    SavedSearch.objects.filter(pk=search.pk).update(schedule="weekly", next_run_on=date(2026, 3, 2))
    saved_search_create(owner=coordinator.user, kind="patients", query="", name="Unscheduled", shared=False)

    frozen.move_to(datetime(2026, 3, 2, 7, 0, tzinfo=LONDON))
    saved_searches_run_due_task()
    saved_searches_run_due_task()  # the same day again: nothing due
    run = SavedSearchRun.objects.get()
    assert (run.search, run.count, run.run_by, run.scheduled_for) == (search, 3, None, date(2026, 3, 2))
    search.refresh_from_db()
    assert search.next_run_on == date(2026, 3, 9)
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert (message.to, message.subject) == (
        ["mina@example.test"],
        "Saved search “PCN high risk”: 3 patients",
    )
    assert "It found 3 patients. This is its first weekly run." in message.body
    assert f"http://localhost:8000/reports/searches/{search.pk}/" in message.body
    assert "SECRETNAME" not in message.body.upper()
    assert "999" not in message.body

    frozen.move_to(datetime(2026, 3, 8, 7, 0, tzinfo=LONDON))  # six days on: not due
    high_risk(practice_b, 2)
    saved_searches_run_due_task()
    assert SavedSearchRun.objects.count() == 1

    frozen.move_to(datetime(2026, 3, 9, 7, 0, tzinfo=LONDON))
    saved_searches_run_due_task()
    saved_searches_run_due_task()
    assert list(SavedSearchRun.objects.values_list("count", "scheduled_for")) == [
        (5, date(2026, 3, 9)), (3, date(2026, 3, 2)),
    ]  # fmt: skip
    assert len(mail.outbox) == 2
    assert "It found 5 patients: 2 more than on 2 March 2026 (3)." in mail.outbox[1].body


def test_the_weekly_job_tells_the_owner_when_it_cannot_run(manager, practice_a, practice_b):
    membership = MembershipFactory(user=manager.user, practice=practice_b, role=Role.MANAGER)
    search = saved_search_create(
        owner=manager.user, kind="patients", query=f"practice={practice_b.pk}", name="Castle", shared=False
    )
    SavedSearch.objects.filter(pk=search.pk).update(schedule="weekly", next_run_on=date(2026, 3, 2))
    membership.delete()  # the manager no longer works with practice B
    saved_searches_run_due_task()
    saved_searches_run_due_task()
    assert SavedSearchRun.objects.count() == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "Saved search “Castle”: could not be run"
    assert "It could not be run: Practice: Select a valid choice." in mail.outbox[0].body
    search.refresh_from_db()
    assert search.next_run_on == date(2026, 3, 9)


# --- Speed -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("searches", [2, 12])
def test_the_list_page_query_count_does_not_grow(
    sign_in_as, coordinator, second_coordinator, django_assert_num_queries, searches
):
    for number in range(searches):
        owner = coordinator.user if number % 2 else second_coordinator.user
        search = SavedSearch.objects.create(
            owner=owner, kind="patients", name=f"S{number}", shared=True, query="risk_band=high"
        )
        for count in (number, number + 1):
            SavedSearchRun.objects.create(search=search, run_at=MONDAY, count=count, run_by=coordinator.user)
    client = sign_in_as(coordinator)
    with django_assert_num_queries(9):
        response = client.get(reverse("reporting:saved_search_list"))
    assert response.text.count("data-search=") == searches
    assert response.text.count('data-testid="change">+1') == searches
