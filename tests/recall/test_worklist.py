"""The recall worklist: open reviews of the user's practices by default (excepted-but-still-due ones
among them, badged), every filter, the counts per state, sorting, paging, scoping and the audit."""

from datetime import date

import pytest
import time_machine
from django.urls import reverse

from caseload.models import EfiCategory, LongTermCondition
from pcn.models import AuditEvent
from recall.models import RecallEntry
from tests.factories import CaseloadEpisodeFactory, MembershipFactory, PatientFactory
from tests.recall.conftest import TODAY, YEAR, register

pytestmark = pytest.mark.django_db

URL = reverse("recall:worklist")


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


def make_entry(practice, key="diabetes", *, state="due", due=date(2026, 12, 1), invitations=0, year=YEAR,
               last_invited_on=None, **patient_fields) -> RecallEntry:  # fmt: skip
    patient_fields.setdefault("sex", "M")
    patient = patient_fields.pop("patient", None) or PatientFactory(practice=practice, **patient_fields)
    extra = {}
    if state == RecallEntry.State.PCA:
        extra = {"pca_reason": RecallEntry.PcaReason.INFORMED_DISSENT, "pca_on": TODAY}
    if state == RecallEntry.State.CLOSED:
        extra = {"closed_reason": RecallEntry.ClosedReason.LEFT, "closed_on": TODAY}
    if state == RecallEntry.State.SEEN:
        extra = {"seen_on": TODAY, "seen_source": RecallEntry.SeenSource.HERE}
    return RecallEntry.objects.create(
        patient=patient, register=register(key), year=year, state=state, due_month=due,
        invitations=invitations, last_invited_on=last_invited_on, **extra,
    )  # fmt: skip


def shown(response) -> list[int]:
    return [entry.pk for entry in response.context["entries"]]


def test_open_entries_of_the_users_practices_are_shown_by_default(sign_in_as, coordinator, practice_b):
    practice = coordinator.practice
    due = make_entry(practice, due=date(2026, 10, 1))
    invited = make_entry(practice, state="invited", invitations=1, due=date(2026, 11, 1))
    excepted = make_entry(practice, state="excepted", invitations=2, due=date(2026, 12, 1))
    booked = make_entry(practice, state="booked", invitations=1, due=date(2027, 1, 1))
    for state in ("seen", "pca", "closed"):
        make_entry(practice, state=state)
    make_entry(practice_b)  # another practice's patient
    make_entry(practice, year=YEAR - 1)  # last QOF year's

    response = sign_in_as(coordinator).get(URL)

    assert response.status_code == 200
    assert shown(response) == [due.pk, invited.pk, excepted.pk, booked.pk]
    assert response.context["filter"].form["year"].value() == str(YEAR)


def test_excepted_but_still_due_stays_on_the_worklist_clearly_badged(sign_in_as, coordinator):
    excepted = make_entry(coordinator.practice, state="excepted", invitations=2, family_name="Exceptedson")

    client = sign_in_as(coordinator)
    default = client.get(URL)
    only_excepted = client.get(URL, {"state": "excepted"})

    assert shown(default) == [excepted.pk]
    assert shown(only_excepted) == [excepted.pk]
    html = default.content.decode()
    assert (
        '<strong class="nhsuk-tag app-nowrap nhsuk-tag--orange" data-state="excepted">Excepted but still due</strong>'
        in html
    )


def test_counts_per_state_are_of_the_filtered_list_whatever_the_state_chosen(sign_in_as, coordinator):
    practice = coordinator.practice
    for _ in range(3):
        make_entry(practice)
    make_entry(practice, state="invited", invitations=1)
    make_entry(practice, state="excepted", invitations=2)
    make_entry(practice, state="seen")
    make_entry(practice, "copd")  # another register: filtered out below
    client = sign_in_as(coordinator)
    diabetes = register("diabetes").pk

    expected = [("due", "Due", 3), ("invited", "Invited", 1), ("excepted", "Excepted but still due", 1),
                ("booked", "Booked", 0), ("seen", "Seen", 1), ("pca", "PCA", 0), ("closed", "Closed", 0)]  # fmt: skip
    assert client.get(URL, {"register": diabetes}).context["counts"] == expected
    due_only = client.get(URL, {"register": diabetes, "state": "due"})
    assert due_only.context["counts"] == expected
    assert len(shown(due_only)) == 3
    assert client.get(URL).context["counts"][0] == ("due", "Due", 4)


@pytest.fixture
def worklist(coordinator):
    """Named entries at the coordinator's practice, one per thing a filter picks out."""
    practice = coordinator.practice
    frail = PatientFactory(practice=practice, sex="M", family_name="Frail", efi_category=EfiCategory.SEVERE)
    on_caseload = PatientFactory(
        practice=practice, sex="M", family_name="Caseloaded", nhs_number="9997000021"
    )
    CaseloadEpisodeFactory(patient=on_caseload, coordinator=coordinator.user)
    return {
        "october": make_entry(practice, due=date(2026, 10, 1), family_name="October"),
        "december": make_entry(practice, due=date(2026, 12, 1), family_name="December"),
        "february": make_entry(practice, due=date(2027, 2, 1), family_name="February"),
        "copd": make_entry(practice, "copd", due=date(2026, 12, 1), family_name="Copd"),
        "once": make_entry(practice, state="invited", invitations=1, family_name="Once",
                           last_invited_on=date(2026, 11, 20)),
        "twice": make_entry(practice, state="excepted", invitations=2, family_name="Twice",
                            last_invited_on=date(2026, 11, 1)),
        "thrice": make_entry(practice, "cervical_screening", state="excepted", invitations=3, family_name="Thrice",
                             last_invited_on=date(2026, 10, 1), sex="F"),
        "frail": make_entry(practice, patient=frail),
        "caseload": make_entry(practice, patient=on_caseload),
        "last_year": make_entry(practice, year=YEAR - 1, due=date(2025, 12, 1), family_name="Lastyear"),
    }  # fmt: skip


FILTERS = [
    ({"register": "copd"}, {"copd"}),
    ({"due_month": "12"}, {"october", "december", "copd", "once", "twice", "thrice", "frail", "caseload"}),
    (
        {"due_month": "12", "due_match": "in"},
        {"december", "copd", "once", "twice", "thrice", "frail", "caseload"},
    ),
    ({"due_month": "2", "due_match": "in"}, {"february"}),
    ({"invitations": "0"}, {"october", "december", "february", "copd", "frail", "caseload"}),
    ({"invitations": "1"}, {"once"}),
    ({"invitations": "2"}, {"twice"}),
    ({"invitations": "3+"}, {"thrice"}),
    ({"state": "excepted"}, {"twice", "thrice"}),
    ({"frail": "on"}, {"frail"}),
    ({"on_caseload": "yes"}, {"caseload"}),
    ({"q": "octo"}, {"october"}),
    ({"q": "999 700 0021"}, {"caseload"}),
    ({"year": str(YEAR - 1)}, {"last_year"}),
]


@pytest.mark.parametrize(("query", "expected"), FILTERS, ids=[str(query) for query, _ in FILTERS])
def test_each_filter_narrows_the_worklist(sign_in_as, coordinator, worklist, query, expected):
    if "register" in query:
        query = {**query, "register": register(query["register"]).pk}
    response = sign_in_as(coordinator).get(URL, query)
    assert response.status_code == 200
    assert set(shown(response)) == {worklist[name].pk for name in expected}


def test_not_on_a_caseload_leaves_the_caseload_patient_out(sign_in_as, coordinator, worklist):
    response = sign_in_as(coordinator).get(URL, {"on_caseload": "no"})
    assert worklist["caseload"].pk not in shown(response)
    assert len(shown(response)) == 8


SORTS = [
    ("due", ["october", "caseload", "copd", "december", "frail", "once", "thrice", "twice", "february"]),
    ("name", ["caseload", "copd", "december", "february", "frail", "october", "once", "thrice", "twice"]),
    (
        "invitations",
        ["thrice", "twice", "once", "october", "caseload", "copd", "december", "frail", "february"],
    ),
    (
        "last_invited",
        ["october", "caseload", "copd", "december", "frail", "february", "thrice", "twice", "once"],
    ),
]


@pytest.mark.parametrize(("sort", "order"), SORTS, ids=[sort for sort, _ in SORTS])
def test_the_worklist_sorts(sign_in_as, coordinator, worklist, sort, order):
    response = sign_in_as(coordinator).get(URL, {"sort": sort})
    names = {entry.pk: name for name, entry in worklist.items()}
    assert [names[pk] for pk in shown(response)] == order


def test_only_the_users_practices_are_offered_and_another_practice_is_refused(
    sign_in_as, coordinator, practice_b
):
    make_entry(coordinator.practice)
    make_entry(practice_b)
    response = sign_in_as(coordinator).get(URL, {"practice": practice_b.pk})
    assert list(response.context["filter"].form.fields["practice"].queryset) == [coordinator.practice]
    assert response.context["filter"].form.errors["practice"]
    assert all(entry.patient.practice_id == coordinator.practice.pk for entry in response.context["entries"])


def test_a_member_of_two_practices_filters_by_one(sign_in_as, coordinator, practice_b):
    MembershipFactory(user=coordinator.user, practice=practice_b, role="coordinator")
    at_a, at_b = make_entry(coordinator.practice), make_entry(practice_b)
    client = sign_in_as(coordinator)
    assert set(shown(client.get(URL))) == {at_a.pk, at_b.pk}
    assert shown(client.get(URL, {"practice": practice_b.pk})) == [at_b.pk]


def test_an_outsider_sees_none_of_practice_as_entries(sign_in_as, coordinator, outsider):
    make_entry(coordinator.practice)
    response = sign_in_as(outsider).get(URL)
    assert shown(response) == []
    assert [count for _, _, count in response.context["counts"]] == [0] * 7
    assert 'data-testid="empty"' in response.content.decode()


def test_the_page_is_audited_once_with_the_patients_shown(sign_in_as, coordinator):
    entries = [make_entry(coordinator.practice) for _ in range(3)]
    sign_in_as(coordinator).get(URL, {"state": "due"})
    event = AuditEvent.objects.get(action="recall.worklist.view")
    assert sorted(event.patients.values_list("pk", flat=True)) == sorted(e.patient_id for e in entries)
    assert event.detail == {"page": 1, "filters": "state=due"}


def test_the_empty_worklist_says_so(sign_in_as, coordinator):
    response = sign_in_as(coordinator).get(URL)
    html = response.content.decode()
    assert 'data-testid="empty"' in html
    assert "No reviews are open for your practices’ patients this QOF year." in html
    assert (
        "No reviews match these filters."
        in sign_in_as(coordinator).get(URL, {"q": "nobody"}).content.decode()
    )


def test_the_worklist_pages(sign_in_as, coordinator):
    for _ in range(55):
        make_entry(coordinator.practice)
    client = sign_in_as(coordinator)
    assert len(shown(client.get(URL))) == 50
    second = client.get(URL, {"page": 2})
    assert len(shown(second)) == 5
    assert AuditEvent.objects.filter(action="recall.worklist.view").first().detail["page"] == 2


# Sign-in (session, user, two-factor device, memberships), the register chosen, the count, the page's
# rows, the audit event and its patients, the counts per state, the header's practices, the register and
# practice choices of the filter form, and the session saved (savepoint, update, release).
WORKLIST_QUERIES = 16


@pytest.mark.parametrize("rows", [5, 40])
def test_the_query_count_does_not_grow_with_the_rows(
    sign_in_as, coordinator, django_assert_num_queries, rows
):
    for index in range(rows):
        patient = PatientFactory(practice=coordinator.practice, sex="M", efi_category=EfiCategory.MODERATE)
        if index % 2:
            CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
        make_entry(coordinator.practice, patient=patient, state="invited" if index % 3 else "due",
                   invitations=1 if index % 3 else 0)  # fmt: skip
    client, query = (
        sign_in_as(coordinator),
        {"register": register("diabetes").pk, "frail": "on", "sort": "name"},
    )
    with django_assert_num_queries(WORKLIST_QUERIES):
        response = client.get(URL, query)
    assert len(response.context["entries"]) == rows


def test_a_patient_with_two_reviews_due_has_a_row_for_each(sign_in_as, coordinator):
    patient = PatientFactory(practice=coordinator.practice, ltc_flags=LongTermCondition.DIABETES)
    first, second = (
        make_entry(coordinator.practice, patient=patient),
        make_entry(coordinator.practice, "hypertension", patient=patient),
    )
    response = sign_in_as(coordinator).get(URL)
    assert set(shown(response)) == {first.pk, second.pk}
