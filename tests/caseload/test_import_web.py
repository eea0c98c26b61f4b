"""The web upload: upload → preview (background) → import (background) → result; profiles; scoping."""

import importlib
import json
import os

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from caseload.models import ImportBatch, ImportProfile, Patient, RiskSnapshot
from caseload.services.import_runs import population_import_preview, population_import_run
from caseload.services.imports import population_import_start, population_import_upload
from caseload.tasks import population_import_preview_task, population_import_run_task
from pcn.audit import audit
from pcn.models import AuditEvent, Role
from pcn.nhs_number import synthetic_sequence
from tests.caseload.import_helpers import CANONICAL_HEADER, EMIS_HEADER, ICB_SAMPLE, canonical_row, state
from tests.conftest import make_person, sign_in

pytest_plugins = ["tests.caseload.import_fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]

N1, N2, N3 = list(synthetic_sequence(start=4000))[:3]


def csv_upload(*rows: str, name: str = "patients.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\r\n".join([CANONICAL_HEADER, *rows]) + "\r\n").encode(), "text/csv")


def upload(client, profile: ImportProfile, file, capture) -> ImportBatch:
    with capture(execute=True):
        response = client.post(reverse("caseload:import_upload"), {"profile": profile.pk, "file": file})
    assert response.status_code == 302, response.content.decode()[:2000]
    batch = ImportBatch.objects.get()
    assert response["Location"] == reverse("caseload:import_batch_detail", args=[batch.pk])
    return batch


def test_upload_preview_import_result(
    client, pcn_manager, profiles, eager_celery, django_capture_on_commit_callbacks
):
    sign_in(client, pcn_manager.user)
    batch = upload(
        client,
        profiles["canonical"],
        csv_upload(canonical_row(N1), canonical_row(N2, practice="P99002")),
        django_capture_on_commit_callbacks,
    )

    # The preview: counts on screen, nothing written.
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.CHECKED
    assert batch.created_by == pcn_manager.user
    assert batch.counts == {"rows": 2, "new": 2, "updated": 0, "unchanged": 0, "invalid": 0}
    assert (Patient.objects.count(), RiskSnapshot.objects.count()) == (0, 0)
    page = client.get(batch.get_absolute_url()).content.decode()
    assert '<h1><span class="nhsuk-caption-l">patients.csv</span>Check the import</h1>' in page
    assert 'data-testid="count-new">2<' in page
    assert 'data-testid="count-invalid">0<' in page
    assert ">Import</button>" in page
    assert "skip the" not in page
    assert AuditEvent.objects.filter(action="population.preview", detail__batch_id=batch.pk).count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("caseload:import_batch_start", args=[batch.pk]))
    assert response.status_code == 302

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.DONE
    assert batch.counts == {"rows": 2, "new": 2, "updated": 0, "unchanged": 0, "invalid": 0}
    assert not batch.file  # the uploaded copy is deleted once imported
    assert sorted(Patient.objects.values_list("nhs_number", flat=True)) == [N1, N2]
    page = client.get(batch.get_absolute_url()).content.decode()
    assert '<h1 class="nhsuk-panel__title">Import complete</h1>' in page
    assert 'data-testid="count-new">2<' in page


def test_invalid_rows_offer_skipping_them(
    client, manager, practice_b, profiles, eager_celery, django_capture_on_commit_callbacks
):
    sign_in(client, manager.user)  # a manager at P99001 only
    batch = upload(
        client,
        profiles["canonical"],
        csv_upload(canonical_row(N1), canonical_row(N2, practice="P99002"), canonical_row(N3, born="x")),
        django_capture_on_commit_callbacks,
    )
    batch.refresh_from_db()
    assert batch.counts == {"rows": 3, "new": 1, "updated": 0, "unchanged": 0, "invalid": 2}

    page = client.get(batch.get_absolute_url()).content.decode()
    assert ">Import</button>" not in page
    assert "Import the 1 valid patient, skip the 2 invalid rows</button>" in page
    assert "Practice P99002 is not one of your practices" in page
    assert "The date of birth is not a date in the form dd/mm/yyyy or yyyy-mm-dd" in page

    # Importing without skipping is refused and changes nothing.
    response = client.post(reverse("caseload:import_batch_start", args=[batch.pk]))
    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.CHECKED
    assert Patient.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("caseload:import_batch_start", args=[batch.pk]), {"skip_invalid": "on"})
    batch.refresh_from_db()
    assert (batch.status, batch.skip_invalid) == (ImportBatch.Status.DONE, True)
    assert batch.counts == {"rows": 3, "new": 1, "updated": 0, "unchanged": 0, "invalid": 2}
    assert list(Patient.objects.values_list("nhs_number", flat=True)) == [N1]

    response = client.get(reverse("caseload:import_batch_report", args=[batch.pk]))
    assert response["Content-Type"] == "text/csv"
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.splitlines() == [
        "Row,Column,Value,Reason",
        "3,practice_code,P99002,practice P99002 is not one of your practices",
        "4,date_of_birth,x,the date of birth is not a date in the form dd/mm/yyyy or yyyy-mm-dd",
    ]
    assert (
        AuditEvent.objects.filter(action="population.import_report", detail__batch_id=batch.pk).count() == 1
    )


def test_the_check_page_and_the_report_show_a_repeated_patient_as_a_warning(
    client, pcn_manager, profiles, eager_celery, django_capture_on_commit_callbacks
):
    sign_in(client, pcn_manager.user)
    rows = [
        EMIS_HEADER,
        f'{N1},"SMITH, Ann (Mrs)",01-Feb-1950,Female,P99001,,Asthma',
        f'{N2},"JONES, Bob (Mr)",01-Mar-1940,Male,P99002,,Asthma',
        f'{N1},"SMITH, Ann (Mrs)",01-Feb-1950,Female,P99001,,COPD',
    ]
    file = SimpleUploadedFile("emis.csv", "\r\n".join(rows).encode(), "text/csv")

    batch = upload(client, profiles["emis-search"], file, django_capture_on_commit_callbacks)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.CHECKED
    assert batch.counts == {"rows": 3, "new": 2, "updated": 0, "unchanged": 0, "invalid": 0}
    page = client.get(batch.get_absolute_url()).content.decode()
    assert ">Import</button>" in page  # a warning does not stop the import
    assert '<h2 class="nhsuk-heading-m">Warnings: these rows are imported, but check them</h2>' in page
    assert (
        f'<tr><td class="nhsuk-table__cell--numeric">4</td><td>NHS Number</td><td><code>{N1}</code></td>'
        "<td>The same NHS number is on row 2, with other patients&#x27; rows in between: both blocks of rows "
        "are imported as this one patient</td></tr>"
    ) in page
    assert "Download these warnings (CSV)</a>" in page
    assert 'data-testid="import-errors"' not in page
    view = AuditEvent.objects.get(action="population.import_view", detail__batch_id=batch.pk)
    assert view.detail == {"batch_id": batch.pk, "errors_shown": 0, "warnings_shown": 1}

    response = client.get(reverse("caseload:import_batch_report", args=[batch.pk]))
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    assert text.splitlines() == [
        "Row,Column,Value,Reason",
        f'4,NHS Number,{N1},"Warning, still imported: the same NHS number is on row 2, with other '
        "patients' rows in between: both blocks of rows are imported as this one patient\"",
    ]

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("caseload:import_batch_start", args=[batch.pk]))
    batch.refresh_from_db()
    assert (batch.status, batch.warning_count) == (ImportBatch.Status.DONE, 1)
    assert Patient.objects.count() == 2


def test_htmx_poll_gets_only_the_batch_partial(client, manager, profiles):
    batch = ImportBatch.objects.create(
        source="Canonical CSV", profile=profiles["canonical"], created_by=manager.user,
        status=ImportBatch.Status.RUNNING, rows_total=60_000, rows_done=15_000,
    )  # fmt: skip
    sign_in(client, manager.user)

    response = client.get(batch.get_absolute_url(), headers={"HX-Request": "true"})

    html = response.content.decode()
    assert html.lstrip().startswith('<div id="import-batch" hx-get="')
    assert 'hx-trigger="every 1s"' in html
    assert "<html" not in html
    assert '<progress id="import-progress" class="nhsuk-u-width-full" max="60000" value="15000">' in html
    assert "15,000 of 60,000 rows checked" in html

    batch.status = ImportBatch.Status.DONE
    batch.save()
    html = client.get(batch.get_absolute_url(), headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in html  # polling stops


def test_cancel_deletes_the_upload(
    client, manager, profiles, eager_celery, django_capture_on_commit_callbacks
):
    sign_in(client, manager.user)
    batch = upload(
        client, profiles["canonical"], csv_upload(canonical_row(N1)), django_capture_on_commit_callbacks
    )
    batch.refresh_from_db()
    stored = batch.file.path

    response = client.post(reverse("caseload:import_batch_cancel", args=[batch.pk]))

    assert response.status_code == 302
    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.CANCELLED
    assert not batch.file

    assert not os.path.exists(stored)
    assert Patient.objects.count() == 0


@pytest.mark.parametrize(
    ("file", "error"),
    [
        (None, "Select a CSV or XLSX file"),
        (SimpleUploadedFile("empty.csv", b"", "text/csv"), "The selected file is empty"),
        (SimpleUploadedFile("notes.docx", b"PK\x03\x04", "application/msword"), "The selected file must be a CSV or XLSX file"),
        (SimpleUploadedFile("big.csv", b"x" * (1_048_576 + 1), "text/csv"), "The selected file must be smaller than 1 MB"),
    ],
    ids=["none", "empty", "wrong-type", "too-big"],
)  # fmt: skip
def test_upload_form_errors_write_nothing(client, manager, profiles, settings, file, error):
    settings.IMPORT_MAX_UPLOAD_MB = 1
    sign_in(client, manager.user)
    before = state()
    data = {"profile": profiles["canonical"].pk}
    if file is not None:
        data["file"] = file

    response = client.post(reverse("caseload:import_upload"), data)

    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Error: Import a file" in html
    assert f'<span class="nhsuk-u-visually-hidden">Error:</span> {error}</span>' in html
    assert ImportBatch.objects.count() == 0
    assert state() == before


def test_upload_form_requires_a_profile(client, manager, profiles):
    sign_in(client, manager.user)
    response = client.post(reverse("caseload:import_upload"), {"file": csv_upload(canonical_row(N1))})
    assert "Select where the file comes from" in response.content.decode()


def test_a_file_level_problem_shows_on_the_batch_page(
    client, manager, profiles, eager_celery, django_capture_on_commit_callbacks
):
    sign_in(client, manager.user)
    file = SimpleUploadedFile("wrong.csv", ICB_SAMPLE.read_bytes(), "text/csv")

    batch = upload(client, profiles["canonical"], file, django_capture_on_commit_callbacks)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    html = client.get(batch.get_absolute_url()).content.decode()
    assert "The file was not imported" in html
    assert "The file is missing columns that the “Canonical CSV” profile needs" in html


def test_managers_see_their_own_and_unattended_imports_administrators_all(
    client, manager, administrator, profiles, practice_b
):
    other = make_person(practice_b, Role.MANAGER, email="other@example.test")
    mine = ImportBatch.objects.create(source="x", profile=profiles["canonical"], created_by=manager.user)
    theirs = ImportBatch.objects.create(source="x", profile=profiles["canonical"], created_by=other.user)
    unattended = ImportBatch.objects.create(source="x", profile=profiles["canonical"])

    sign_in(client, manager.user)
    assert client.get(mine.get_absolute_url()).status_code == 200
    assert client.get(unattended.get_absolute_url()).status_code == 200
    assert client.get(theirs.get_absolute_url()).status_code == 404
    assert client.get(reverse("caseload:import_batch_report", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("caseload:import_batch_cancel", args=[theirs.pk])).status_code == 404
    listed = client.get(reverse("caseload:import_batch_list")).context["page"].object_list
    assert set(listed) == {mine, unattended}

    sign_in(client, administrator.user)
    assert client.get(theirs.get_absolute_url()).status_code == 200


def test_batch_list_query_count_does_not_grow(client, manager, profiles, django_assert_num_queries):
    for _ in range(10):
        ImportBatch.objects.create(source="x", profile=profiles["canonical"], created_by=manager.user)
    sign_in(client, manager.user)
    client.get(reverse("caseload:import_batch_list"))  # warm the session

    with django_assert_num_queries(10) as captured:
        assert client.get(reverse("caseload:import_batch_list")).status_code == 200
    queries = len(captured.captured_queries)
    for _ in range(10):
        ImportBatch.objects.create(source="x", profile=profiles["canonical"], created_by=manager.user)
    with django_assert_num_queries(queries):
        client.get(reverse("caseload:import_batch_list"))


# --- Import profiles (administrators) ----------------------------------------------------------------


def profile_data(**changes) -> dict:
    data = {
        "name": "Frailty register",
        "slug": "frailty",
        "description": "",
        "encoding": "utf-8-sig",
        "delimiter": ",",
        "date_formats": ["%d/%m/%Y"],
        "column_map": "NHS No = nhs_number\nPractice = practice_code\neFI = efi_score\nDOB = date_of_birth",
        "fill_down": "",
        "one_row_per_patient": "on",
    }
    data.update(changes)
    return data


def test_administrator_adds_a_profile(client, administrator, profiles):
    sign_in(client, administrator.user)
    response = client.post(reverse("caseload:import_profile_create"), profile_data())
    assert response.status_code == 302
    profile = ImportProfile.objects.get(slug="frailty")
    assert profile.column_map == {
        "NHS No": "nhs_number", "Practice": "practice_code", "eFI": "efi_score", "DOB": "date_of_birth",
    }  # fmt: skip
    assert (profile.date_formats, profile.fill_down, profile.one_row_per_patient) == (["%d/%m/%Y"], [], True)
    assert AuditEvent.objects.filter(action="import_profile.add", detail__profile_id=profile.pk).exists()


def test_administrator_edits_a_shipped_profile(client, administrator, profiles):
    emis = profiles["emis-search"]
    sign_in(client, administrator.user)
    form = client.get(reverse("caseload:import_profile_edit", args=[emis.pk])).context["form"]
    assert form.initial["column_map"].splitlines()[:2] == ["NHS Number = nhs_number", "Full Name = full_name"]
    assert form.initial["fill_down"] == "NHS Number\nFull Name\nDate of Birth\nGender\nPractice"

    data = {
        **{name: form.initial.get(name, getattr(emis, name)) for name in ("name", "slug", "description", "encoding", "delimiter")},
        "date_formats": emis.date_formats,
        "column_map": form.initial["column_map"].replace("Practice = practice_code", "Practice Code = practice_code"),
        "fill_down": "NHS Number\nPractice Code",
    }  # fmt: skip
    response = client.post(reverse("caseload:import_profile_edit", args=[emis.pk]), data)

    assert response.status_code == 302, response.context["form"].errors
    emis.refresh_from_db()
    assert emis.column_map["Practice Code"] == "practice_code"
    assert (emis.fill_down, emis.one_row_per_patient) == (["NHS Number", "Practice Code"], False)


def test_a_new_profile_detects_the_encoding_unless_one_is_pinned(client, administrator, profiles):
    sign_in(client, administrator.user)

    form = client.get(reverse("caseload:import_profile_create")).context["form"]

    assert form["encoding"].initial == ImportProfile.Encoding.AUTO
    assert [value for value, _ in form.fields["encoding"].choices] == ["auto", "utf-8-sig", "cp1252"]


def test_the_data_migration_switches_shipped_profiles_to_detect_but_keeps_a_pin(profiles, administrator):
    migration = importlib.import_module("caseload.migrations.0016_shipped_import_profiles_detect_encoding")
    ImportProfile.objects.update(encoding=ImportProfile.Encoding.UTF8)
    ImportProfile.objects.filter(slug="canonical").update(encoding=ImportProfile.Encoding.CP1252)
    by = administrator.user
    audit(
        None, "import_profile.change", user=by, profile_id=profiles["emis-search"].pk, changed=["column_map"]
    )
    audit(None, "import_profile.change", user=by, profile_id=profiles["systmone"].pk, changed=["encoding"])
    LogEntry.objects.create(
        user=by, content_type=ContentType.objects.get_for_model(ImportProfile),
        object_id=str(profiles["icb-risk"].pk), object_repr="ICB risk-stratification extract",
        action_flag=CHANGE, change_message=json.dumps([{"changed": {"fields": ["Encoding", "Delimiter"]}}]),
    )  # fmt: skip
    ImportProfile.objects.create(
        name="Frailty register", slug="frailty", column_map={"NHS": "nhs_number", "Practice": "practice_code"},
        date_formats=["%d/%m/%Y"], encoding=ImportProfile.Encoding.UTF8,
    )  # fmt: skip

    migration.detect_by_default(apps, None)

    assert dict(ImportProfile.objects.values_list("slug", "encoding")) == {
        "canonical": "cp1252",  # not the shipped default
        "emis-search": "auto",  # edited, but not its encoding
        "systmone": "utf-8-sig",  # an administrator chose UTF-8 on the profile's page…
        "icb-risk": "utf-8-sig",  # … or in the admin site
        "frailty": "utf-8-sig",  # an administrator's own profile
    }


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"column_map": "NHS No = nhs_number"}, "column_map", "Map a column to practice_code: every import needs it"),
        ({"column_map": "NHS No nhs_number\nPractice = practice_code"}, "column_map", "Line 1: enter the heading, an equals sign, then the field name, like NHS Number = nhs_number"),
        ({"column_map": "NHS No = nhs\nPractice = practice_code"}, "column_map", "Line 1: “nhs” is not a field name – use one from the list below"),
        ({"column_map": "NHS = nhs_number\nnhs = nhs_number\nPractice = practice_code"}, "column_map", "Line 2: the column “nhs” is already mapped"),
        ({"column_map": "NHS = nhs_number\nNHS2 = nhs_number\nPractice = practice_code"}, "column_map", "The field nhs_number is mapped from two columns: “NHS” and “NHS2”"),
        ({"column_map": "NHS = nhs_number\nPractice = practice_code\nName = full_name\nSurname = family_name"}, "column_map", "Map either full_name or given_name and family_name, not both"),
        ({"fill_down": "Surname"}, "fill_down", "The fill-down column “Surname” is not one of the mapped columns"),
        ({"date_formats": []}, "date_formats", "Select at least one date format"),
        ({"slug": "done"}, "slug", "“done” is a folder name the drop folder uses itself: choose another"),
        ({"slug": "icb-risk"}, "slug", "There is already a profile with this short name"),
        ({"name": ""}, "name", "Enter a name for the profile"),
    ],
)  # fmt: skip
def test_profile_form_explains_each_mistake(client, administrator, profiles, changes, field, message):
    sign_in(client, administrator.user)
    response = client.post(reverse("caseload:import_profile_create"), profile_data(**changes))
    assert response.status_code == 200
    assert message in response.context["form"].errors[field]
    assert ImportProfile.objects.filter(slug="frailty").count() == 0


def test_admin_site_uses_the_checked_profile_form(client, administrator, profiles):
    administrator.user.is_superuser = True  # the admin site's model permissions
    administrator.user.save()
    sign_in(client, administrator.user)
    response = client.post(
        reverse("admin:caseload_importprofile_add"), profile_data(column_map="NHS No = nhs_number")
    )
    assert response.status_code == 200
    assert "Map a column to practice_code: every import needs it" in response.content.decode()


def test_cancelling_while_the_file_is_checked_wins(client, manager, profiles):
    """The preview task finishing after a cancel must not bring the batch back."""

    sign_in(client, manager.user)
    with_file = upload_without_running(manager, profiles["canonical"])
    client.post(reverse("caseload:import_batch_cancel", args=[with_file.pk]))

    population_import_preview(batch=with_file)

    with_file.refresh_from_db()
    assert with_file.status == ImportBatch.Status.CANCELLED
    assert Patient.objects.count() == 0


def upload_without_running(person, profile: ImportProfile) -> ImportBatch:
    return population_import_upload(profile=profile, upload=csv_upload(canonical_row(N1)), by=person.user)


def test_tasks_are_safe_to_run_twice(client, manager, profiles):
    batch = upload_without_running(manager, profiles["canonical"])
    population_import_preview_task(batch.pk)
    population_import_preview_task(batch.pk)  # redelivered: the batch is already checked
    batch.refresh_from_db()
    assert (batch.status, batch.attempts) == (ImportBatch.Status.CHECKED, 1)
    assert AuditEvent.objects.filter(action="population.preview").count() == 1

    population_import_start(batch=batch, skip_invalid=False, by=manager.user)
    population_import_run_task(batch.pk)
    population_import_run_task(batch.pk)  # redelivered after it finished: nothing more happens

    batch.refresh_from_db()
    assert (batch.status, batch.attempts, batch.counts["new"]) == (ImportBatch.Status.DONE, 1, 1)
    assert (Patient.objects.count(), RiskSnapshot.objects.count()) == (1, 1)
    assert AuditEvent.objects.filter(action="population.import").count() == 1


def test_an_import_that_keeps_crashing_gives_up(manager, profiles):
    batch = upload_without_running(manager, profiles["canonical"])
    ImportBatch.objects.filter(pk=batch.pk).update(status=ImportBatch.Status.RUNNING, attempts=3)

    population_import_run(batch=batch)

    batch.refresh_from_db()
    assert batch.status == ImportBatch.Status.FAILED
    assert batch.error_message == "The import stopped after 3 attempts. Nothing was imported."
    assert Patient.objects.count() == 0
    assert not batch.file


def test_checking_page_shows_an_indeterminate_progress_bar(client, manager, profiles):
    batch = ImportBatch.objects.create(
        source="Canonical CSV", profile=profiles["canonical"], created_by=manager.user,
        status=ImportBatch.Status.CHECKING, rows_done=5000,
    )  # fmt: skip
    sign_in(client, manager.user)

    html = client.get(batch.get_absolute_url()).content.decode()

    assert "Checking your file" in html
    assert '<label class="nhsuk-label" for="import-progress">5,000 rows checked so far</label>' in html
    assert '<progress id="import-progress" class="nhsuk-u-width-full"></progress>' in html
    assert 'hx-trigger="every 1s"' in html
