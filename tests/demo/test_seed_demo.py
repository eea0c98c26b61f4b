"""`manage.py seed_demo` and `manage.py demo_totp`: a deterministic synthetic PCN, demo sign-ins."""

from datetime import date
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from careplans.models import CarePlan, CarePlanReview, CarePlanVersion
from careplans.services.ehch import ehch_pcsp_due
from caseload.models import (
    ActivationMeasure,
    CareEvent,
    CareHome,
    CaseloadEpisode,
    CodingEntry,
    Contact,
    Feedback,
    ImportBatch,
    Patient,
    Referral,
    RiskSnapshot,
    Signposting,
    SupportGiven,
    Task,
    efi_category,
)
from demo.services import DEMO_PASSWORD, DemoSeedCounts, demo_pcn_seed
from mdt.models import Action, AgendaItem, Meeting, MeetingSeries
from pcn.audit import audit
from pcn.models import Membership, PcnSettings, Practice, User
from pcn.nhs_number import is_valid
from tests.factories import PatientFactory, PracticeFactory, UserFactory

pytestmark = pytest.mark.django_db

DEMO_EMAILS = [
    "coordinator@demo.pcn.test",
    "coordinator2@demo.pcn.test",
    "lead@demo.pcn.test",
    "manager@demo.pcn.test",
    "admin@demo.pcn.test",
]


@pytest.fixture
def demo_mode(settings):
    settings.DEMO_MODE = True
    return settings


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", "--patients", "300", "--practices", "2", *args, stdout=out)
    return out.getvalue()


def patient_rows() -> list[tuple]:
    return list(
        Patient.objects.order_by("nhs_number").values_list(
            "nhs_number", "given_name", "family_name", "date_of_birth", "sex", "practice__ods_code",
            "postcode", "mobile", "ltc_flags", "risk_score", "efi_score", "ae_attendances_12m",
            "care_home__name",
        )
    )  # fmt: skip


def age(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def test_same_seed_gives_the_same_patients_after_a_reset(demo_mode):
    seed("--seed", "7")
    first = patient_rows()

    seed("--seed", "7", "--reset")

    assert patient_rows() == first
    assert len(first) == 300
    assert Patient.objects.count() == 300


def test_another_seed_gives_other_people_with_the_same_nhs_numbers(demo_mode):
    seed("--seed", "1")
    first = patient_rows()
    seed("--seed", "2", "--reset")
    second = patient_rows()
    assert [row[0] for row in second] == [row[0] for row in first]
    assert [row[1:4] for row in second] != [row[1:4] for row in first]


# Seed 1, 300 patients, 2 practices, on 23 November 2026.
SEED_1_COUNTS = DemoSeedCounts(
    practices=2,
    care_homes=4,
    patients=300,
    care_home_residents=3,
    with_efi=61,
    frequent_attenders=1,
    import_batches=2,
    risk_snapshots=600,
    users=5,
    meeting_series=3,
    recall_entries=345,
    recall_invitations=181,
    appointments=35,
    caseload_episodes=22,
    referrals=23,
    care_events=16,
    contacts=62,
    tasks=38,  # 4 of them the safeguarding lead's
    activation_measures=12,
    signpostings=8,
    support_given=2,
    coding_entries=123,
    care_plans=16,
    care_plan_versions=17,
    care_plan_reviews=2,
    mdt_meetings_held=19,
    agenda_items=85,
    mdt_actions=71,
    gp_reviews_booked=4,
    safeguarding_concerns=4,
    feedback_stories=9,
    with_ethnicity=260,
)
# Who moved into a care home lately (two per practice where two live in one; one practice has one).
MOVES_FOR_SEED_1 = [
    ("9996001008", date(2026, 11, 9)),
    ("9996001024", date(2026, 11, 11)),
    ("9996003256", date(2026, 11, 18)),
]


@time_machine.travel(date(2026, 11, 23), tick=False)
def test_counts_for_seed_1_are_exact_and_match_the_database(demo_mode):
    # A change to the generator changes these figures: check the new ones are still plausible. They
    # hold whatever ran before (test_the_counts_do_not_depend_on_the_ids_the_database_hands_out).
    counts = demo_pcn_seed(patients=300, practices=2, seed=1)

    assert counts == SEED_1_COUNTS
    assert CaseloadEpisode.objects.count() == counts.caseload_episodes
    assert Referral.objects.count() == counts.referrals
    assert CareEvent.objects.exclude(kind=CareEvent.Kind.CARE_HOME_ADMISSION).count() == counts.care_events
    assert (Contact.objects.count(), Task.objects.count()) == (counts.contacts, counts.tasks)
    assert ActivationMeasure.objects.count() == counts.activation_measures
    assert (Signposting.objects.count(), SupportGiven.objects.count()) == (
        counts.signpostings,
        counts.support_given,
    )
    assert CodingEntry.objects.count() == counts.coding_entries
    assert Feedback.objects.count() == counts.feedback_stories
    assert Patient.objects.exclude(ethnicity="").count() == counts.with_ethnicity
    assert (CarePlan.objects.count(), CarePlanVersion.objects.count(), CarePlanReview.objects.count()) == (
        counts.care_plans, counts.care_plan_versions, counts.care_plan_reviews,
    )  # fmt: skip
    assert Meeting.objects.filter(status=Meeting.Status.HELD).count() == counts.mdt_meetings_held
    assert (AgendaItem.objects.count(), Action.objects.count()) == (counts.agenda_items, counts.mdt_actions)
    assert Practice.objects.count() == 2
    assert CareHome.objects.count() == 4
    assert Patient.objects.count() == 300
    assert Patient.objects.filter(care_home__isnull=False).count() == counts.care_home_residents
    assert Patient.objects.filter(efi_score__isnull=False).count() == counts.with_efi
    assert Patient.objects.filter(ae_attendances_12m__gte=5).count() == counts.frequent_attenders
    assert RiskSnapshot.objects.count() == counts.risk_snapshots
    assert User.objects.count() == 5
    series = {
        s.kind: s
        for s in MeetingSeries.objects.prefetch_related("practices", "care_homes", "external_members")
    }
    assert sorted(series) == ["cancer_palliative", "care_home", "frailty"]
    assert all(s.chair.email == "lead@demo.pcn.test" for s in series.values())
    assert all(set(s.practices.all()) == set(Practice.objects.all()) for s in series.values())
    assert set(series["care_home"].care_homes.all()) == set(CareHome.objects.all())
    assert [m.organisation for m in series["cancer_palliative"].external_members.all()] == [
        "St Anne's Hospice"
    ]


@pytest.mark.parametrize("ids_used", [1, 2, 5, 40])
@time_machine.travel(date(2026, 11, 23), tick=False)
def test_the_counts_do_not_depend_on_the_ids_the_database_hands_out(demo_mode, ids_used):
    # Earlier tests leave the sequences advanced (a rolled-back row keeps its id used); the demo walked
    # its practices in the order a DISTINCT without ORDER BY returned them, which follows the ids.
    for _ in range(ids_used):
        PracticeFactory().delete()
        PatientFactory().delete()
    Practice.objects.all().delete()

    assert demo_pcn_seed(patients=300, practices=2, seed=1) == SEED_1_COUNTS
    moved = Patient.objects.filter(care_home_since__isnull=False).order_by("nhs_number")
    assert list(moved.values_list("nhs_number", "care_home_since")) == MOVES_FOR_SEED_1


def test_the_pcn_and_its_practices(demo_mode):
    seed()
    pcn = PcnSettings.load()
    assert (pcn.name, pcn.ods_code) == ("Riverside Primary Care Network", "U99999")
    assert list(Practice.objects.order_by("ods_code").values_list("ods_code", "name", "is_active")) == [
        ("P99001", "Riverside Surgery", True),
        ("P99002", "Castle Street Medical Centre", True),
    ]
    assert sorted(CareHome.objects.values_list("practice__ods_code", flat=True)) == [
        "P99001", "P99001", "P99002", "P99002",
    ]  # fmt: skip


def test_a_smaller_reseed_removes_the_extra_practice(demo_mode):
    call_command("seed_demo", "--patients", "50", "--practices", "3", stdout=StringIO())
    seed("--reset")
    assert list(Practice.objects.order_by("ods_code").values_list("ods_code", flat=True)) == [
        "P99001",
        "P99002",
    ]
    assert set(Patient.objects.values_list("practice__ods_code", flat=True)) == {"P99001", "P99002"}


def test_every_nhs_number_is_a_valid_test_range_number(demo_mode):
    seed()
    numbers = list(Patient.objects.values_list("nhs_number", flat=True))
    assert len(numbers) == len(set(numbers)) == 300
    assert all(n.startswith("999") and len(n) == 10 and is_valid(n) for n in numbers)


def test_phone_numbers_and_postcodes_are_fictional(demo_mode):
    seed()
    for phone, mobile, postcode in Patient.objects.values_list("phone", "mobile", "postcode"):
        assert phone == "" or phone.startswith("01632 960")  # Ofcom's drama range
        assert mobile == "" or mobile.startswith("07700 900")
        assert postcode.startswith("ZZ99 ")


def test_users_for_every_role_with_their_practices(demo_mode):
    seed()
    memberships = {
        email: sorted(Membership.objects.filter(user__email=email).values_list("role", "practice__ods_code"))
        for email in DEMO_EMAILS
    }
    assert memberships == {
        "coordinator@demo.pcn.test": [("coordinator", "P99001")],
        "coordinator2@demo.pcn.test": [("coordinator", "P99002")],
        "lead@demo.pcn.test": [("clinical_lead", "P99001"), ("clinical_lead", "P99002")],
        "manager@demo.pcn.test": [("manager", "P99001"), ("manager", "P99002")],
        "admin@demo.pcn.test": [("administrator", "P99001"), ("administrator", "P99002")],
    }
    flags = dict(User.objects.values_list("email", "is_superuser"))
    assert flags == {email: email == "admin@demo.pcn.test" for email in DEMO_EMAILS}
    assert list(User.objects.filter(is_staff=True).values_list("email", flat=True)) == ["admin@demo.pcn.test"]
    coordinator = User.objects.get(email="coordinator@demo.pcn.test")
    assert coordinator.check_password(DEMO_PASSWORD) is True
    assert set(User.objects.values_list("password", flat=True)) == {coordinator.password}
    devices = TOTPDevice.objects.order_by("user__email").values_list("user__email", "name", "confirmed")
    assert list(devices) == [(email, "Demo authenticator", True) for email in sorted(DEMO_EMAILS)]


def test_a_reset_keeps_the_demo_authenticators(demo_mode):
    seed()
    keys = dict(TOTPDevice.objects.values_list("user__email", "key"))
    seed("--reset")
    assert dict(TOTPDevice.objects.values_list("user__email", "key")) == keys
    assert TOTPDevice.objects.count() == 5


def test_care_home_residents_live_in_a_home_of_their_practice(demo_mode):
    call_command("seed_demo", "--patients", "3000", "--practices", "2", stdout=StringIO())
    residents = Patient.objects.filter(care_home__isnull=False).select_related("care_home")
    assert residents.count() > 0
    assert [p.nhs_number for p in residents if p.care_home.practice_id != p.practice_id] == []


def test_recent_care_home_moves_have_an_admission_and_a_pcsp_due(demo_mode):
    call_command("seed_demo", "--patients", "3000", "--practices", "2", stdout=StringIO())
    moved = list(Patient.objects.filter(care_home_since__isnull=False))
    assert len(moved) == 4  # two per practice
    today = timezone.localdate()
    for patient in moved:
        admission = CareEvent.objects.get(patient=patient, kind=CareEvent.Kind.CARE_HOME_ADMISSION)
        assert timezone.localdate(admission.occurred_at) == patient.care_home_since < today
        assert ehch_pcsp_due(patient=patient, today=today).admitted_on == patient.care_home_since
    # The first of each practice is past its 7 working days (EHCH "PCSP overdue").
    states = sorted(ehch_pcsp_due(patient=patient, today=today).state for patient in moved)
    assert states == ["due", "due", "overdue", "overdue"]
    # A reset deletes them with the patients (the demo's other transfers of care are not care home moves).
    call_command("seed_demo", "--patients", "100", "--practices", "2", "--reset", stdout=StringIO())
    moves = CareEvent.objects.filter(kind=CareEvent.Kind.CARE_HOME_ADMISSION)
    assert moves.filter(patient__care_home_since__isnull=True).count() == 0


def test_efi_only_for_65_and_over_and_its_category_follows_the_score(demo_mode):
    seed()
    today = timezone.localdate()  # the seed's reference date
    for born, score, category in Patient.objects.values_list("date_of_birth", "efi_score", "efi_category"):
        if age(born, today) >= 65:
            assert score is not None
            assert category == efi_category(score)
        else:
            assert (score, category) == (None, "")


def test_two_import_batches_with_a_snapshot_per_patient(demo_mode):
    seed()
    latest, earlier = ImportBatch.objects.order_by("-created_at")
    assert (latest.source, latest.status, earlier.source, earlier.status) == (
        "Demo seed",
        "done",
        "Demo seed",
        "done",
    )
    assert latest.counts["rows"] == 300 == latest.snapshots.count()
    assert earlier.counts["rows"] == earlier.snapshots.count()
    # The newest snapshot is what the patient row says.
    mismatched = [
        s.patient_id
        for s in latest.snapshots.select_related("patient")
        if (s.risk_score, s.efi_score, s.ae_attendances_12m, s.ltc_flags)
        != (s.patient.risk_score, s.patient.efi_score, s.patient.ae_attendances_12m, s.patient.ltc_flags)
    ]
    assert mismatched == []


def test_prints_the_summary_and_the_demo_sign_ins(demo_mode):
    out = seed()
    assert "Patients                          300" in out
    assert "Demo sign-ins — password for all: demo-password-1234" in out
    assert "  coordinator@demo.pcn.test     Care coordinator  P99001\n" in out
    assert "  admin@demo.pcn.test           Administrator     P99001, P99002\n" in out


def test_refuses_to_seed_over_existing_patients(demo_mode):
    seed()
    before = patient_rows()
    with pytest.raises(CommandError) as error:
        seed("--seed", "2")
    assert str(error.value) == (
        "The database already holds 300 patients. "
        "Run with --reset to delete every patient, care home and import first."
    )
    assert patient_rows() == before


def test_refuses_to_reset_when_audit_rows_name_patients(demo_mode):
    seed()
    before = patient_rows()
    audit(None, "patient.view", [Patient.objects.first()])
    with pytest.raises(CommandError) as error:
        seed("--reset", "--seed", "2")
    assert str(error.value) == (
        "--reset cannot delete the patients: the audit trail names them (1 entry), and audit rows are "
        "append-only (the database refuses to delete them). Seed a fresh database instead (drop and create "
        "it, then `manage.py migrate` and `manage.py seed_demo`)."
    )
    assert patient_rows() == before


def test_refuses_without_demo_mode(settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError) as error:
        seed()
    assert str(error.value) == (
        "seed_demo only runs when DEMO_MODE is on: it creates users, including a superuser, "
        "whose password is published ('demo-password-1234')."
    )
    assert (Patient.objects.count(), User.objects.count(), Practice.objects.count()) == (0, 0, 0)


@pytest.mark.parametrize(("practices", "patients"), [("1", "10"), ("10", "10"), ("2", "0")])
def test_refuses_impossible_sizes(demo_mode, practices, patients):
    with pytest.raises(CommandError):
        call_command("seed_demo", "--patients", patients, "--practices", practices, stdout=StringIO())
    assert Patient.objects.count() == 0


# --- demo_totp --------------------------------------------------------------------------------------


def test_demo_totp_refuses_without_demo_mode(settings):
    settings.DEMO_MODE = False
    with pytest.raises(CommandError) as error:
        call_command("demo_totp", "coordinator@demo.pcn.test", stdout=StringIO())
    assert str(error.value) == (
        "demo_totp only runs when DEMO_MODE is on; it would defeat two-factor authentication on a real site."
    )


def test_demo_totp_prints_a_code_the_device_accepts(demo_mode):
    seed()
    out = StringIO()
    call_command("demo_totp", "Coordinator@demo.pcn.test", stdout=out)
    code = out.getvalue().strip()
    assert len(code) == 6 and code.isdigit()
    device = TOTPDevice.objects.get(user__email="coordinator@demo.pcn.test")
    assert device.verify_token(code) is True


def test_demo_totp_unknown_email(demo_mode):
    with pytest.raises(CommandError) as error:
        call_command("demo_totp", "nobody@demo.pcn.test", stdout=StringIO())
    assert str(error.value) == "No user has the email address 'nobody@demo.pcn.test'."


def test_demo_totp_user_without_an_authenticator(demo_mode):
    UserFactory(email="new@example.test")
    with pytest.raises(CommandError) as error:
        call_command("demo_totp", "new@example.test", stdout=StringIO())
    assert str(error.value) == "new@example.test has no confirmed authenticator (TOTP device)."


def test_if_empty_leaves_an_existing_database_alone(settings, patient):
    settings.DEMO_MODE = True
    out = StringIO()
    call_command("seed_demo", "--if-empty", "--patients", "300", "--practices", "2", stdout=out)
    assert out.getvalue() == "The database already holds patients: demo data not loaded again.\n"
    assert list(Patient.objects.all()) == [patient]
