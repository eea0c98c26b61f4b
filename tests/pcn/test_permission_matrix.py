"""Every URL pattern × sign-in state × role × practice scope.

The URL list comes from the resolver, so a view added by any app must be listed in MATRIX or
`test_every_url_pattern_is_in_the_matrix` fails. For each URL the matrix says who may use it:
- anonymous → redirected to sign-in (unless the page is public);
- signed in without two-factor → redirected to the two-factor page (unless exempt);
- a role without the permission → 403;
- a role with it, but the record at another practice → 404.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from pcn.models import Role

ALL_ROLES = frozenset(Role)
PATIENT_ROLES = frozenset({Role.COORDINATOR, Role.CLINICAL_LEAD, Role.MANAGER})
CASELOAD_ROLES = PATIENT_ROLES


@dataclass(frozen=True)
class Spec:
    roles: frozenset[str] = ALL_ROLES  # roles that get the page (the rest get 403)
    args: Callable[[Any], list[Any]] = lambda ctx: []
    public: bool = False  # anonymous users may use it
    two_factor_exempt: bool = False  # signed-in users reach it before two-factor
    scoped: bool = False  # the args name a record at practice A: practice B's users get 404
    method: str = "get"
    ok: frozenset[int] = field(default_factory=lambda: frozenset({200}))
    login_url: str = "login"  # where anonymous users are sent


def patient_pk(ctx: Any) -> list[Any]:
    return [ctx.patient.pk]


def episode_pk(ctx: Any) -> list[Any]:
    return [ctx.episode.pk]


MATRIX: dict[str, Spec] = {
    "home": Spec(),
    "login": Spec(public=True, two_factor_exempt=True, ok=frozenset({200, 302})),
    "logout": Spec(two_factor_exempt=True, method="post", ok=frozenset({302})),
    "two_factor": Spec(two_factor_exempt=True, ok=frozenset({200, 302})),
    "two_factor_setup": Spec(two_factor_exempt=True, ok=frozenset({200, 302})),
    "password_reset": Spec(public=True, two_factor_exempt=True),
    "password_reset_done": Spec(public=True, two_factor_exempt=True),
    "password_reset_confirm": Spec(
        public=True, two_factor_exempt=True, args=lambda ctx: ["MQ", "set-password"], ok=frozenset({200, 302})
    ),
    "password_reset_complete": Spec(public=True, two_factor_exempt=True),
    "audit:event_list": Spec(roles=frozenset({Role.ADMINISTRATOR})),
    "audit:event_export": Spec(roles=frozenset({Role.ADMINISTRATOR})),
    "caseload:patient_list": Spec(roles=PATIENT_ROLES),
    "caseload:patient_detail": Spec(roles=PATIENT_ROLES, args=patient_pk, scoped=True),
    "caseload:patient_export": Spec(roles=PATIENT_ROLES),
    "caseload:my_caseload": Spec(roles=PATIENT_ROLES),
    # Without patients chosen the add page sends the user back to the list.
    "caseload:episode_add": Spec(roles=CASELOAD_ROLES, ok=frozenset({302})),
    "caseload:episode_transfer": Spec(roles=CASELOAD_ROLES, args=episode_pk, scoped=True),
    "caseload:episode_close": Spec(roles=CASELOAD_ROLES, args=episode_pk, scoped=True),
    # Every admin view goes through one AdminSite.admin_view; the index stands for them all.
    # (Anonymous users go to the admin's login URL, which sends them on to the one sign-in page.)
    "admin:*": Spec(roles=frozenset({Role.ADMINISTRATOR}), login_url="admin:login"),
}


def url_names(patterns: list[Any], namespace: str = "") -> Iterator[str]:
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from url_names(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            if namespace.startswith("admin:"):
                yield "admin:*"  # the admin's own patterns, some unnamed, all behind AdminSite.admin_view
            elif pattern.name is None:
                raise AssertionError(
                    f"URL pattern {pattern.pattern} has no name: name it and add it to MATRIX"
                )
            else:
                yield f"{namespace}{pattern.name}"


def test_every_url_pattern_is_in_the_matrix():
    names = set(url_names(get_resolver().url_patterns))
    assert names - MATRIX.keys() == set(), "URL patterns missing from the permission matrix"
    assert MATRIX.keys() - names == set(), "the matrix lists URLs that no longer exist"


@dataclass
class Context:
    patient: Any
    episode: Any


def resolve(name: str, ctx: Context) -> str:
    if name == "admin:*":
        return reverse("admin:index")
    return reverse(name, args=MATRIX[name].args(ctx))


def request(client, name: str, ctx: Context):
    return getattr(client, MATRIX[name].method)(resolve(name, ctx))


@pytest.fixture
def ctx(patient, coordinator) -> Context:
    from tests.factories import CaseloadEpisodeFactory

    return Context(
        patient=patient, episode=CaseloadEpisodeFactory(patient=patient, coordinator=coordinator.user)
    )


@pytest.fixture
def people(coordinator, clinical_lead, manager, administrator) -> dict[str, Any]:
    return {
        Role.COORDINATOR: coordinator,
        Role.CLINICAL_LEAD: clinical_lead,
        Role.MANAGER: manager,
        Role.ADMINISTRATOR: administrator,
    }


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_anonymous_is_sent_to_sign_in(client, ctx, name):
    response = request(client, name, ctx)
    if MATRIX[name].public:
        assert response.status_code in MATRIX[name].ok
        assert not response.get("Location", "").startswith(reverse("login") + "?")
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse(MATRIX[name].login_url) + "?next=")


def test_admin_sign_in_is_the_site_sign_in(client):
    response = client.get(reverse("admin:login") + "?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == reverse("login") + "?next=/admin/"


@pytest.mark.parametrize("name", sorted(MATRIX))
def test_signed_in_without_two_factor_is_sent_to_two_factor(sign_in_as, coordinator, ctx, name):
    client = sign_in_as(coordinator, verified=False)
    response = request(client, name, ctx)
    if MATRIX[name].two_factor_exempt:
        assert not response.get("Location", "").startswith(reverse("two_factor") + "?next=")
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("two_factor") + "?next=")


@pytest.mark.parametrize("role", sorted(Role))
@pytest.mark.parametrize("name", sorted(name for name, spec in MATRIX.items() if not spec.two_factor_exempt))
def test_each_role_gets_what_it_may_and_403_otherwise(client, people, ctx, role, name):
    from tests.conftest import sign_in

    sign_in(client, people[role].user)
    response = request(client, name, ctx)
    if role in MATRIX[name].roles:
        assert response.status_code in MATRIX[name].ok
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("name", sorted(name for name, spec in MATRIX.items() if spec.scoped))
def test_record_at_another_practice_is_404(sign_in_as, outsider, ctx, name):
    client = sign_in_as(outsider)
    assert request(client, name, ctx).status_code == 404
