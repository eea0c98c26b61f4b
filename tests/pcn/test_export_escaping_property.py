"""Export escaping as a property (Hardening): 10,000 generated cell values — any text, and text behind
every formula trigger and its look-alikes — written through the CSV and XLSX exports and read back give
no cell a spreadsheet would run as a formula, and lose nothing but the quote that makes a cell text."""

import csv
import io
import re
from datetime import date

from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from pcn.exports import FORMULA_TRIGGERS, csv_safe, xlsx_write

PER_EXAMPLE, EXAMPLES = 500, 20  # 10,000 values in all
# No shrinking: a failure names the cells that run as formulas, and shrinking 500-value lists takes
# many minutes.
PHASES = (Phase.explicit, Phase.generate)

# What attackers put first (OWASP "CSV Injection"), and near misses that must be left as they are.
PREFIXES = [*FORMULA_TRIGGERS, "=cmd|' /C calc'!A0", "@SUM(", "+1+", "-2-", "=HYPERLINK(", "\t=", "\r="]
NEAR_MISSES = [" =", "\u00a0=", "\uff1d", "'=", '"=', ";=", "a=", "1-"]
values = st.one_of(
    st.text(),
    st.builds(str.__add__, st.sampled_from(PREFIXES + NEAR_MISSES), st.text()),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
    st.dates(min_value=date(1900, 3, 1)),
)


NUMBER = re.compile(r"-?\d+(\.\d+)?(e[+-]?\d+)?")


def runs_as_formula(cell: object) -> bool:
    """A text cell a spreadsheet runs: one that starts with a trigger and is not a plain number (a
    negative number is written as such, and read as a number)."""
    return isinstance(cell, str) and cell.startswith(FORMULA_TRIGGERS) and not NUMBER.fullmatch(cell)


def _text(value: object) -> str:
    return "" if value is None else str(value)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, phases=PHASES)
@given(st.lists(values, min_size=PER_EXAMPLE, max_size=PER_EXAMPLE))
def test_no_generated_value_becomes_a_formula_cell_in_csv(cells):
    out = io.StringIO()
    csv.writer(out).writerow(csv_safe(cells))
    (read,) = list(csv.reader(io.StringIO(out.getvalue(), newline="")))
    assert len(read) == len(cells)
    assert [c for c in read if runs_as_formula(c)] == []
    for value, cell in zip(cells, read, strict=True):
        text = _text(value)
        escaped = isinstance(value, str) and value.startswith(FORMULA_TRIGGERS)
        assert cell == ("'" + text if escaped else text)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, phases=PHASES)
@given(st.lists(values, min_size=PER_EXAMPLE, max_size=PER_EXAMPLE))
def test_no_generated_value_becomes_a_formula_cell_in_xlsx(cells):
    buffer = io.BytesIO()
    rows = [[value] for value in cells]
    xlsx_write(buffer, [("Values", ["value"], rows)], title="Property test", by="tests")
    sheet = load_workbook(io.BytesIO(buffer.getvalue()))["Values"]
    # Up to the last row written: an empty value (None, "") is an empty cell, which is not written at all.
    read = [row[0] for row in sheet.iter_rows(min_row=2, max_row=len(cells) + 1, max_col=1)]
    assert len(read) == len(cells)
    assert [c.coordinate for c in read if c.data_type == "f" or runs_as_formula(c.value)] == []
    for value, cell in zip(cells, read, strict=True):
        if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
            assert isinstance(cell.value, str) and cell.value.startswith("'"), (value, cell.value)
