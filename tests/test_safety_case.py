"""The hazard log (docs/safety/hazard-log.toml) is well formed and its controls are real: every field a
DCB0129 hazard needs, ratings on the matrix, no closed hazard left at a residual risk of 4 or more, the
hazards the issue names all there, and every test a control names exists."""

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOG = tomllib.loads((ROOT / "docs/safety/hazard-log.toml").read_text())
HAZARDS = LOG["hazard"]

# The risk (1–5) by likelihood (rows, 1 very low … 5 very high) and severity (columns, 1 minor … 5
# catastrophic): the matrix in docs/safety/README.md.
MATRIX = {
    5: (3, 4, 4, 5, 5),
    4: (2, 3, 3, 4, 5),
    3: (2, 2, 3, 3, 4),
    2: (1, 2, 2, 3, 4),
    1: (1, 1, 2, 2, 3),
}
FIELDS = {
    "id",
    "name",
    "description",
    "causes",
    "effect",
    "harm",
    "initial",
    "controls",
    "residual",
    "status",
}
REQUIRED = [
    "Wrong patient matched on import",
    "Patient shown to the wrong practice",
    "Missed transfer of care",
    "Duplicate or missed invitation",
    "Excepted patient lost from recall",
    "EHCH deadline miscounted",
    "MDT action not chased",
    "Stale PCSP shown as current",
    "PDF sent to the wrong member",
]


def risk(rating: dict) -> int:
    return MATRIX[rating["likelihood"]][rating["severity"] - 1]


def defined_tests(path: Path) -> set[str]:
    """The test functions a module defines, at its top level and in its classes (as Class::name)."""
    tree = ast.parse(path.read_text())
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef):
            names |= {f"{node.name}::{f.name}" for f in node.body if isinstance(f, ast.FunctionDef)}
    return names


def test_the_log_describes_this_release():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert LOG["log"]["version"] == version
    assert LOG["log"]["clinical_safety_officer"]


def test_every_hazard_the_issue_names_is_in_the_log_and_the_readme():
    names = [h["name"] for h in HAZARDS]
    assert [name for name in REQUIRED if name not in names] == []
    readme = (ROOT / "docs/safety/README.md").read_text()
    for hazard in HAZARDS:
        row = f"| {hazard['id']} | {hazard['name']} | {hazard['initial']['risk']} | {hazard['residual']['risk']} | {hazard['status']} |"
        assert row in readme, row


@pytest.mark.parametrize("hazard", HAZARDS, ids=[h["id"] for h in HAZARDS])
def test_each_hazard_is_complete_and_rated_on_the_matrix(hazard):
    assert set(hazard) == FIELDS
    assert hazard["causes"] and all(isinstance(c, str) and c for c in hazard["causes"])
    for rating in (hazard["initial"], hazard["residual"]):
        assert 1 <= rating["severity"] <= 5 and 1 <= rating["likelihood"] <= 5
        assert rating["risk"] == risk(rating), rating
    assert hazard["residual"]["risk"] <= hazard["initial"]["risk"]
    assert hazard["status"] in {"open", "transferred", "closed"}
    assert not (hazard["status"] == "closed" and hazard["residual"]["risk"] >= 4)
    for control in hazard["controls"]:
        assert control["kind"] in {"design", "test", "training", "process"}
        if control["kind"] in {"design", "test"}:
            assert control["verified_by"], f"{hazard['id']}: a {control['kind']} control names its tests"


def test_every_test_a_control_names_exists():
    named = {test for h in HAZARDS for c in h["controls"] for test in c["verified_by"]}
    assert len(named) > 40
    missing = []
    for test in sorted(named):
        path, _, name = test.partition("::")
        module = ROOT / path
        if not (module.is_file() and path.startswith("tests/") and name in defined_tests(module)):
            missing.append(test)
    assert missing == []
