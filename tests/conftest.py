"""Named people for the tests: a coordinator at practice A, a clinical lead, a PCN manager, an
administrator, an outsider (a coordinator at practice B), and a clinical lead at both practices."""

import importlib
import io
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp import DEVICE_ID_SESSION_KEY
from pypdf import PdfReader

from pcn.models import AuditEvent, Practice, Role, User
from tests.factories import MembershipFactory, PatientFactory, PracticeFactory, TOTPDeviceFactory, UserFactory


@dataclass
class Person:
    user: User
    practice: Practice


def make_person(practice: Practice, role: str, *, also_at: Iterable[Practice] = (), **user_fields) -> Person:
    """A user with `role` at `practice` (and at each practice `also_at`), two-factor set up."""
    user = UserFactory(**user_fields)
    for each in [practice, *also_at]:
        MembershipFactory(user=user, practice=each, role=role)
    TOTPDeviceFactory(user=user)
    return Person(user=user, practice=practice)


def sign_in(client: Client, user: User, *, verified: bool = True) -> Client:
    """Signed in as `user`; with `verified`, past two-factor as if a code had been entered."""
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    if verified:
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = user.totpdevice_set.get(confirmed=True).persistent_id
        session.save()
    return client


def send_form(client: Client, url: str, data: dict):
    """Open the form page (it answers 200), then send it with `data`."""
    assert client.get(url).status_code == 200
    return client.post(url, data)


def assert_error_summary(response, *messages: str) -> None:
    """The form page again, its NHS.UK error summary and each of `messages` on it."""
    assert response.status_code == 200
    assert "nhsuk-error-summary" in response.text
    for message in messages:
        assert message in response.text


def audit_actions(patient) -> list[str]:
    """The actions of the audit events naming `patient`, oldest first."""
    return list(
        AuditEvent.objects.filter(patient_links__patient=patient)
        .order_by("id")
        .values_list("action", flat=True)
    )


def page_queries(client: Client, url: str) -> int:
    """How many queries the page at `url` costs (it must answer 200): for "the count does not grow"."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def pdf_text(content: bytes) -> str:
    """The text of a PDF, page after page."""
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)


# Rows the data migrations ship, with the functions that make them (each idempotent), in order.
SHIPPED_DATA = (
    ("caseload.migrations.0006_shipped_import_profiles", "create_profiles", "ImportProfile"),
    (
        "caseload.migrations.0016_shipped_import_profiles_detect_encoding",
        "detect_by_default",
        "ImportProfile",
    ),
    ("caseload.migrations.0010_shipped_referral_types", "create_types", "ReferralType"),
    ("caseload.migrations.0011_example_signposting_services", "add_services", "Service"),
    ("recall.migrations.0002_shipped_registers", "ship", "recall.Register"),
)


def _shipped_model(name: str):
    app_label, _, model = name.rpartition(".")
    return apps.get_model(app_label or "caseload", model)


@pytest.fixture(autouse=True)
def shipped_data(request):
    """A transactional test (browser, Celery worker) flushes the database when it ends, taking the
    rows that data migrations shipped with it. Put them back, so no test depends on test order."""
    database = next((name for name in ("transactional_db", "db") if name in request.fixturenames), None)
    marker = request.node.get_closest_marker("django_db")
    if database is None and marker is not None:
        database = "transactional_db" if marker.kwargs.get("transaction") else "db"
    if database is None:
        return
    request.getfixturevalue(database)

    flushed = {model for _, _, model in SHIPPED_DATA if not _shipped_model(model).objects.exists()}
    for module, function, model in SHIPPED_DATA:
        if model in flushed:
            getattr(importlib.import_module(module), function)(apps, None)


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    # The production hasher is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def media_root(settings, tmp_path) -> Path:
    """Uploads, reports and PDFs go under a temporary MEDIA_ROOT, not var/media (a test module that
    writes files uses it for every test: `pytestmark = [..., pytest.mark.usefixtures("media_root")]`)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def practice_a(db) -> Practice:
    return PracticeFactory(ods_code="P99001", name="Riverside Surgery")


@pytest.fixture
def practice_b(db) -> Practice:
    return PracticeFactory(ods_code="P99002", name="Castle Street Medical Centre")


@pytest.fixture
def coordinator(practice_a) -> Person:
    return make_person(practice_a, Role.COORDINATOR, full_name="Cara Coordinator", email="cara@example.test")


@pytest.fixture
def second_coordinator(practice_a) -> Person:
    return make_person(practice_a, Role.COORDINATOR, full_name="Sam Second", email="sam@example.test")


@pytest.fixture
def clinical_lead(practice_a) -> Person:
    return make_person(practice_a, Role.CLINICAL_LEAD, full_name="Liam Lead", email="liam@example.test")


@pytest.fixture
def safeguarding_lead(practice_a) -> Person:
    """Practice A's named safeguarding lead: a GP who works in the product as a coordinator."""
    person = make_person(practice_a, Role.COORDINATOR, full_name="Dr Sade Safe", email="sade@example.test")
    practice_a.safeguarding_lead = person.user
    practice_a.save()
    return person


@pytest.fixture
def manager(practice_a) -> Person:
    return make_person(practice_a, Role.MANAGER, full_name="Mina Manager", email="mina@example.test")


@pytest.fixture
def administrator(practice_a) -> Person:
    return make_person(
        practice_a, Role.ADMINISTRATOR, full_name="Ade Admin", email="ade@example.test", is_staff=True
    )


@pytest.fixture
def outsider(practice_b) -> Person:
    return make_person(practice_b, Role.COORDINATOR, full_name="Olu Outsider", email="olu@example.test")


@pytest.fixture
def lead_of_both(practice_a, practice_b) -> Person:
    return make_person(
        practice_a, Role.CLINICAL_LEAD, also_at=[practice_b], full_name="Lee Both", email="lee@example.test"
    )


@pytest.fixture
def patient(practice_a):
    return PatientFactory(practice=practice_a, given_name="Grace", family_name="Hopper")


@pytest.fixture
def sign_in_as(client):
    def _sign_in(person_or_user, *, verified: bool = True) -> Client:
        user = getattr(person_or_user, "user", person_or_user)
        return sign_in(client, user, verified=verified)

    return _sign_in
