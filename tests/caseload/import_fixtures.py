"""Fixtures for the population import tests (tests/caseload/test_import_*.py).

Loaded by each of those modules with `pytest_plugins`, so that they share them without a conftest
that other features' tests would also load.
"""

from collections.abc import Iterator

import pytest

from caseload.models import CareHome, ImportProfile
from pcn.celery import app as celery_app
from pcn.models import Practice, Role
from tests.caseload.import_helpers import shipped_profiles
from tests.conftest import Person, make_person
from tests.factories import PracticeFactory


@pytest.fixture
def profiles(db) -> dict[str, ImportProfile]:
    """The shipped profiles by slug (made again if a transactional test has flushed them)."""
    result = {}
    for spec in shipped_profiles():
        fields = {key: value for key, value in spec.items() if key != "slug"}
        result[spec["slug"]], _ = ImportProfile.objects.get_or_create(slug=spec["slug"], defaults=fields)
    return result


@pytest.fixture
def practice_c(db) -> Practice:
    return PracticeFactory(ods_code="P99003", name="Parkview Health Centre")


@pytest.fixture
def sample_practices(practice_a, practice_b, practice_c) -> list[Practice]:
    """P99001-P99003: the sample files' practices."""
    return [practice_a, practice_b, practice_c]


@pytest.fixture
def sample_care_homes(sample_practices) -> list[CareHome]:
    """The homes the canonical sample names (as the demo PCN has them)."""
    a, b, c = sample_practices
    return [
        CareHome.objects.create(name="Willow Court Care Home", practice=a),
        CareHome.objects.create(name="The Laurels", practice=b),
        CareHome.objects.create(name="Meadowbank Lodge", practice=c),
    ]


@pytest.fixture
def pcn_manager(sample_practices) -> Person:
    """A PCN manager at all three sample practices."""
    first, *others = sample_practices
    return make_person(
        first, Role.MANAGER, also_at=others, full_name="Pat Pcnmanager", email="pat@example.test"
    )


@pytest.fixture
def eager_celery(settings) -> Iterator[None]:
    """Tasks run in the calling thread (Celery reads its configuration once, so set it on the app too).

    The app's values are read before the Django setting changes: Celery reads Django's settings
    lazily, so reading them afterwards would "restore" eager mode for every later test."""
    previous = celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates
    settings.CELERY_TASK_ALWAYS_EAGER = True
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_eager_propagates = previous
