"""The hostile-file campaign (#13, F9), fast: every file of the generated corpus through the service
the import tasks call and through `manage.py import_population`, and a sample of them through the
drop folder and the web upload → preview → import pages. bench/faults/hostile_files.py puts the
whole corpus, the big files included, through every route and prints the figures."""

import pytest

from tests.faults.corpus import corpus
from tests.faults.routes import failures, routes_of, run, table, world_make

pytest_plugins = ["tests.caseload.import_fixtures"]
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root", "eager_celery", "profiles")]

FAST = [file for file in corpus() if not file.big]
SAMPLE = FAST[::9]


@pytest.fixture
def world(tmp_path, settings, django_capture_on_commit_callbacks):
    settings.IMPORT_DROP_DIR = tmp_path / "drop"
    return world_make(tmp_path, lambda: django_capture_on_commit_callbacks(execute=True))


def test_the_corpus_has_200_files_of_every_kind_the_same_on_every_run():
    files = corpus()
    assert len(files) >= 200
    assert len({file.kind for file in files}) >= 20
    again = {file.name: file.content for file in corpus() if not file.big}
    assert all(again[file.name] == file.content for file in FAST)


@pytest.mark.parametrize(
    ("route", "files"), [("service", FAST), ("command", FAST), ("drop folder", SAMPLE), ("web", SAMPLE)]
)
def test_hostile_files_end_in_an_error_report_with_nothing_written(world, route, files):
    outcomes = [run(file, route, world) for file in files if route in routes_of(file)]
    print(table(outcomes))
    assert failures(outcomes) == []
