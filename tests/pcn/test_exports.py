import pytest

from pcn.exports import cell_safe, csv_safe


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+44 7700 900123", "'+44 7700 900123"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Grace Hopper", "Grace Hopper"),
        ("a=b", "a=b"),
        (None, ""),
        (-2, -2),
        (3.5, 3.5),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_made_text(value, expected):
    assert cell_safe(value) == expected


def test_a_row_is_escaped_cell_by_cell():
    assert csv_safe(["=cmd", 1, "ok"]) == ["'=cmd", 1, "ok"]
