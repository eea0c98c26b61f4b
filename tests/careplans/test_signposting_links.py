"""Goals and support needs in the care plan editor link to the patient's own signposting records."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from careplans.models import Goal, SupportNeed
from careplans.services.plans import care_plan_draft, care_plan_save
from caseload.models import Service, Signposting
from tests.careplans.plan_helpers import agree, edit_post, pdf_response_text
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db

GOAL = "Get out of the house once a week"


@pytest.fixture
def befriending(db) -> Service:
    return Service.objects.create(
        name="Age UK Befriending",
        category=Service.Category.PEER_SUPPORT,
        phone="0300 123 4567",
        website="https://www.ageuk.org.uk/befriending",
    )


@pytest.fixture
def signposted(patient, coordinator, befriending) -> Signposting:
    return Signposting.objects.create(
        patient=patient, service=befriending, signposted_on=date(2025, 3, 3), signposted_by=coordinator.user
    )


@pytest.fixture
def someone_elses(patient, coordinator, befriending) -> Signposting:
    """Another patient's record, at the same practice: the coordinator may see it, but it is not theirs."""
    other = PatientFactory(practice=patient.practice)
    return Signposting.objects.create(
        patient=other, service=befriending, signposted_on=date(2025, 3, 4), signposted_by=coordinator.user
    )


def _as_the_browser_sends_it(response, **changes):
    """The edit page's form sent back unchanged (each field's shown value), then `changes`."""
    context = response.context
    forms = [context["form"]]
    for formset in (context["goals"], context["needs"]):
        forms += [formset.management_form, *formset.forms]
    data = {}
    for form in forms:
        for field in form:
            value = field.value()
            if value is not None and value is not False:
                data[field.html_name] = "on" if value is True else str(value)
    data.update(changes)
    return data


def test_the_select_offers_only_the_patients_records_newest_first(
    sign_in_as, patient, coordinator, befriending, signposted, someone_elses
):
    older = Signposting.objects.create(
        patient=patient,
        service=Service.objects.create(name="Riverside Money Advice", category=Service.Category.BENEFITS),
        signposted_on=date(2024, 11, 20),
        signposted_by=coordinator.user,
        outcome=Signposting.Outcome.ENGAGED,
    )
    draft = care_plan_draft(patient=patient, by=coordinator.user)
    response = sign_in_as(coordinator).get(reverse("careplans:edit", args=[draft.pk]))
    page = response.content.decode()
    for prefix in ("goals-0", "needs-0"):
        assert (
            f'<label class="nhsuk-label" for="id_{prefix}-signposting">Linked signposting (optional)</label>'
            in (page)
        )
        field = response.context[prefix.split("-")[0]].forms[0]["signposting"]
        assert list(field.field.choices) == [
            ("", "None"),
            (str(signposted.pk), "Age UK Befriending, 3 Mar 2025 (Not known yet)"),
            (str(older.pk), "Riverside Money Advice, 20 Nov 2024 (Engaged with the service)"),
        ]
    assert f'value="{someone_elses.pk}"' not in page
    assert 'data-testid="no-signposting"' not in page


def test_without_records_the_page_says_how_to_record_one(sign_in_as, patient, coordinator, someone_elses):
    draft = care_plan_draft(patient=patient, by=coordinator.user)
    page = sign_in_as(coordinator).get(reverse("careplans:edit", args=[draft.pk])).content.decode()
    assert 'data-testid="no-signposting"' in page
    assert f'href="{reverse("caseload:signposting_add", args=[patient.pk])}">record signposting</a>' in page
    assert '<input type="hidden" name="goals-0-signposting" id="id_goals-0-signposting">' in page
    assert '<input type="hidden" name="needs-0-signposting" id="id_needs-0-signposting">' in page
    assert 'select name="goals-0-signposting"' not in page  # no select with nothing to choose


def test_the_link_is_saved_survives_a_second_save_and_a_new_draft(
    sign_in_as, patient, coordinator, signposted
):
    client = sign_in_as(coordinator)
    draft = care_plan_draft(patient=patient, by=coordinator.user)
    url = reverse("careplans:edit", args=[draft.pk])
    response = client.post(
        url,
        edit_post(
            draft, goal=GOAL, **{"goals-0-signposting": signposted.pk, "needs-0-signposting": signposted.pk}
        ),
    )
    assert response.status_code == 302
    assert [(g.goal, g.signposting) for g in draft.goals.all()] == [(GOAL, signposted)]
    assert [(n.need, n.signposting) for n in draft.support_needs.all()] == [
        ("Lonely at weekends", signposted)
    ]

    # Open the page again and save it with only the "About me" changed: the links are kept.
    opened = client.get(url)
    assert f'<option value="{signposted.pk}" selected>' in opened.content.decode()
    assert client.post(url, _as_the_browser_sends_it(opened, about_me="I like company")).status_code == 302
    draft.refresh_from_db()
    assert (draft.about_me, draft.lock_version) == ("I like company", 2)
    assert [g.signposting for g in draft.goals.all()] == [signposted]
    assert [n.signposting for n in draft.support_needs.all()] == [signposted]

    # A new draft made from the agreed version copies the links, and its page shows them chosen.
    agree(draft, coordinator.user)
    second = care_plan_draft(patient=patient, by=coordinator.user)
    assert second.number == 2
    assert [g.signposting for g in second.goals.all()] == [signposted]
    assert [n.signposting for n in second.support_needs.all()] == [signposted]
    page = client.get(reverse("careplans:edit", args=[second.pk])).content.decode()
    assert page.count(f'<option value="{signposted.pk}" selected>') == 2


def test_unlinking_saves_none(sign_in_as, patient, coordinator, signposted):
    client = sign_in_as(coordinator)
    draft = care_plan_draft(patient=patient, by=coordinator.user)
    url = reverse("careplans:edit", args=[draft.pk])
    client.post(url, edit_post(draft, goal=GOAL, **{"goals-0-signposting": signposted.pk}))
    opened = client.get(url)
    assert (
        client.post(url, _as_the_browser_sends_it(opened, **{"goals-0-signposting": ""})).status_code == 302
    )
    assert [g.signposting for g in draft.goals.all()] == [None]


@pytest.mark.parametrize("name", ["goals-0-signposting", "needs-0-signposting"])
def test_another_patients_record_is_refused_and_nothing_saved(
    sign_in_as, patient, coordinator, signposted, someone_elses, name
):
    draft = care_plan_draft(patient=patient, by=coordinator.user)
    response = sign_in_as(coordinator).post(
        reverse("careplans:edit", args=[draft.pk]),
        edit_post(draft, goal=GOAL, about_me="Changed", **{name: someone_elses.pk}),
    )
    assert response.status_code == 200
    formset = response.context[name.split("-")[0]]
    assert formset.forms[0].errors == {
        "signposting": ["Choose one of this person's signposting records, or None"]
    }
    draft.refresh_from_db()
    assert (draft.about_me, draft.lock_version) == ("", 0)
    assert not Goal.objects.exists() and not SupportNeed.objects.exists()


def test_plan_page_and_pdfs_show_the_linked_service(sign_in_as, patient, coordinator, signposted):
    user = coordinator.user
    draft = care_plan_draft(patient=patient, by=user)
    care_plan_save(version=draft, data={}, lock_version=0, by=user,
                   goals=[{"goal": GOAL, "signposting": signposted}],
                   support_needs=[{"domain": "loneliness", "need": "Lonely at weekends", "signposting": signposted}])  # fmt: skip
    agree(draft, user)
    client = sign_in_as(coordinator)

    page = client.get(reverse("careplans:plan", args=[patient.pk])).content.decode()
    assert page.count("Service: Age UK Befriending (signposted 3 March 2025, not known yet)") == 2

    # Compared without spaces: a long web address may wrap in the PDF.
    text = "".join(pdf_response_text(client.get(reverse("careplans:pdf", args=[draft.pk]))).split())
    shown = "Service: Age UK Befriending, phone 0300 123 4567, website www.ageuk.org.uk/befriending"
    assert text.count("".join(shown.split())) == 2

    staff = " ".join(pdf_response_text(client.get(reverse("careplans:staff_pdf", args=[draft.pk]))).split())
    assert staff.count("Age UK Befriending") == 2


def test_edit_query_count_does_not_grow_with_the_rows(sign_in_as, patient, coordinator, signposted):
    user = coordinator.user
    Signposting.objects.create(
        patient=patient,
        service=Service.objects.create(name="Riverside Money Advice", category=Service.Category.BENEFITS),
        signposted_on=date(2025, 1, 10),
        signposted_by=user,
    )
    client = sign_in_as(coordinator)
    draft = care_plan_draft(patient=patient, by=user)
    url = reverse("careplans:edit", args=[draft.pk])
    counts = {}
    for rows in (1, 6):
        draft.refresh_from_db()
        care_plan_save(version=draft, data={}, lock_version=draft.lock_version, by=user,
                       goals=[{"goal": f"Goal {n}", "signposting": signposted} for n in range(rows)],
                       support_needs=[{"domain": "loneliness", "need": f"Need {n}", "signposting": signposted}
                                      for n in range(rows)])  # fmt: skip
        with CaptureQueriesContext(connection) as shown:
            opened = client.get(url)
        with CaptureQueriesContext(connection) as saved:
            assert client.post(url, _as_the_browser_sends_it(opened)).status_code == 302
        signposting_reads = [q for q in saved.captured_queries if '"caseload_signposting"' in q["sql"]]
        counts[rows] = (len(shown), len(signposting_reads))
    # The page's queries, and the save's reads of signposting records (one per formset), are the
    # same for 6 goals and 6 support needs as for one of each. (The save's other per-row reads are
    # Django's own check of each row's hidden id.)
    assert counts[6] == counts[1]
    assert counts[1][1] == 2
    assert draft.goals.filter(signposting=signposted).count() == 6  # the save kept every link
    assert draft.support_needs.filter(signposting=signposted).count() == 6
