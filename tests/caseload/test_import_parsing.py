"""caseload.services.import_files: reading and checking rows, without the database."""

import random
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from caseload.models import LongTermCondition
from caseload.services import import_files
from caseload.services.import_files import (
    FIELDS,
    LTC_KEYS,
    FileRejected,
    PracticeInfo,
    RowError,
    _Invalid,
    _nhs_number,
    _xlsx_rows,
    condition_flag,
    parse_population_file,
    profile_problems,
    split_full_name,
)
from pcn.nhs_number import is_valid
from tests.caseload.import_helpers import shipped_profiles
from tests.faults.corpus import sheet_xml, xlsx

TODAY = date(2026, 11, 23)
PRACTICES = {"P99001": PracticeInfo(1, True), "P99002": PracticeInfo(2, True)}


@dataclass
class Profile:
    column_map: dict[str, str]
    name: str = "Test"
    date_formats: list[str] = field(default_factory=lambda: ["%d/%m/%Y"])
    encoding: str = "utf-8-sig"
    delimiter: str = ","
    fill_down: list[str] = field(default_factory=list)
    one_row_per_patient: bool = True


def parse(tmp_path: Path, text: str, profile: Profile, **kwargs):
    path = tmp_path / "f.csv"
    path.write_text(text, encoding="utf-8")
    options = {
        "practices": PRACTICES,
        "allowed_practice_ids": None,
        "care_homes": {},
        "today": TODAY,
        "max_bytes": 1_048_576,
    }
    return parse_population_file(path, profile=profile, **{**options, **kwargs})


BASIC = {"NHS number": "nhs_number", "Practice": "practice_code"}


@pytest.mark.parametrize("spec", shipped_profiles(), ids=lambda spec: spec["slug"])
def test_every_shipped_profile_passes_the_profile_checks(spec):
    assert (
        profile_problems(
            column_map=spec["column_map"], date_formats=spec["date_formats"], fill_down=spec["fill_down"]
        )
        == {}
    )
    assert set(spec["column_map"].values()) <= FIELDS.keys()


def test_headings_match_whatever_their_case_and_spaces_and_unmapped_ones_are_listed(tmp_path):
    result = parse(
        tmp_path,
        "\ufeff  nhs   NUMBER ,practice,Usual GP\n999 000 0018,p99001,Dr Who\n999\u00a0000\u00a00026,P99001,\n",
        Profile(column_map=BASIC),
    )
    assert result.columns == ("nhs_number", "practice_id")
    assert result.records == [("9990000018", 1), ("9990000026", 1)]
    assert result.unmapped_columns == ["Usual GP"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("03/04/2025", date(2025, 4, 3)), ("3/4/2025", date(2025, 4, 3)), ("29/02/2024", date(2024, 2, 29))],
)
def test_uk_dates_are_day_first(tmp_path, text, expected):
    profile = Profile(column_map={**BASIC, "DOB": "date_of_birth"})
    result = parse(tmp_path, f"NHS number,Practice,DOB\n9990000018,P99001,{text}\n", profile)
    assert result.records == [("9990000018", 1, expected)]


def test_values_are_converted_and_rounded(tmp_path):
    profile = Profile(
        column_map={
            **BASIC, "Sex": "sex", "Risk": "risk_score", "eFI": "efi_score", "AE": "ae_attendances_12m",
            "Carer": "is_carer", "Postcode": "postcode", "Conds": "conditions",
        }
    )  # fmt: skip
    result = parse(
        tmp_path,
        "NHS number,Practice,Sex,Risk,eFI,AE,Carer,Postcode,Conds\n"
        "9990000018,P99001,female,58.35,0.125,3.0,Yes,zz99  1ab,Diabetes; copd ;Severe mental illness\n"
        "9990000026,P99001,Unknown,100,0.37,0,false,,\n",
        profile,
    )
    assert result.errors == []
    assert result.columns == (
        "nhs_number", "practice_id", "sex", "postcode", "is_carer", "risk_score", "efi_score", "efi_category",
        "ae_attendances_12m", "ltc_flags",
    )  # fmt: skip
    assert result.records == [
        (
            "9990000018", 1, "F", "ZZ99 1AB", True, Decimal("58.4"), Decimal("0.13"), "mild", 3,
            int(LongTermCondition.DIABETES | LongTermCondition.COPD | LongTermCondition.SMI),
        ),
        ("9990000026", 1, "U", "", False, Decimal("100.0"), Decimal("0.37"), "severe", 0, 0),
    ]  # fmt: skip


def test_progress_is_reported_as_rows_are_read(tmp_path, monkeypatch):
    monkeypatch.setattr("caseload.services.import_files.PROGRESS_EVERY", 2)
    seen: list[int] = []
    rows = "".join(
        f"{n},P99001\n" for n in ["9990000018", "9990000026", "9990000034", "9990000042", "9990000050"]
    )
    parse(tmp_path, "NHS number,Practice\n" + rows, Profile(column_map=BASIC), on_progress=seen.append)
    assert seen == [2, 4, 5]


def test_scope_and_unknown_practices(tmp_path):
    result = parse(
        tmp_path,
        "NHS number,Practice\n9990000018,P99001\n9990000026,P99002\n9990000034,X1\n",
        Profile(column_map=BASIC),
        allowed_practice_ids=frozenset({1}),
    )
    assert result.errors == [
        RowError(3, "Practice", "P99002", "practice P99002 is not one of your practices"),
        RowError(4, "Practice", "X1", "practice X1 is not one of the PCN's practices"),
    ]
    assert (result.rows, result.invalid_rows, len(result.records)) == (3, 2, 1)


def test_too_many_rows_is_a_file_problem(tmp_path):
    with pytest.raises(FileRejected) as rejected:
        parse(
            tmp_path,
            "NHS number,Practice\n9990000018,P99001\n9990000026,P99001\n",
            Profile(column_map=BASIC),
            max_rows=1,
        )
    assert rejected.value.message == "The file has more than 1 rows, the most one import takes. Split it."


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_a_detect_profile_reads_utf8_with_or_without_a_bom_and_windows_1252(tmp_path, encoding):
    path = tmp_path / "f.csv"
    path.write_bytes(
        "NHS number,Practice,Surname,Address\n9990000018,P99001,Zoë O’Brien,£5 Lane\n".encode(encoding)
    )
    profile = Profile(column_map={**BASIC, "Surname": "family_name", "Address": "address"}, encoding="auto")

    result = parse_population_file(
        path, profile=profile, practices=PRACTICES, allowed_practice_ids=None, care_homes={}, today=TODAY,
        max_bytes=1_048_576,
    )  # fmt: skip

    assert result.records == [("9990000018", 1, "", "Zoë O’Brien", "£5 Lane")]


def test_a_detect_profile_refuses_a_file_that_is_neither_utf8_nor_windows_1252(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"NHS number,Practice\n9990000018,P99001\n9990000026,P\x81\n")  # 0x81: not in cp1252

    with pytest.raises(FileRejected) as rejected:
        parse_population_file(
            path, profile=Profile(column_map=BASIC, encoding="auto"), practices=PRACTICES,
            allowed_practice_ids=None, care_homes={}, today=TODAY, max_bytes=1_048_576,
        )  # fmt: skip

    assert rejected.value.message == (
        "The file is neither UTF-8 nor Windows-1252: the first character that cannot be read is in row 3. "
        "Save it as “CSV UTF-8” in Excel and import that."
    )


def test_semicolon_delimiter_and_cp1252(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("NHS number;Practice;Surname\n9990000018;P99001;Renée\n".encode("cp1252"))
    profile = Profile(column_map={**BASIC, "Surname": "family_name"}, encoding="cp1252", delimiter=";")
    result = parse_population_file(
        path, profile=profile, practices=PRACTICES, allowed_practice_ids=None, care_homes={}, today=TODAY,
        max_bytes=1_048_576,
    )  # fmt: skip
    assert result.records == [("9990000018", 1, "", "Renée")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PATEL, John (Mr)", ("PATEL", "John")),
        ("O'NEILL, Seán Patrick (Dr)", ("O'NEILL", "Seán Patrick")),
        ("MÜLLER,Peter", ("MÜLLER", "Peter")),
        ("Cher", ("Cher", "")),
    ],
)
def test_emis_full_names(text, expected):
    assert split_full_name(text) == expected


@pytest.mark.parametrize(
    ("term", "flag"),
    [
        ("Type 2 diabetes mellitus", LongTermCondition.DIABETES),
        ("Essential hypertension", LongTermCondition.HYPERTENSION),
        ("Coronary heart disease", LongTermCondition.CHD),
        ("Stroke", LongTermCondition.STROKE_TIA),
        ("Transient ischaemic attack", LongTermCondition.STROKE_TIA),
        ("Heart failure", LongTermCondition.HEART_FAILURE),
        ("Chronic obstructive pulmonary disease", LongTermCondition.COPD),
        ("Asthma", LongTermCondition.ASTHMA),
        ("Chronic kidney disease stage 3", LongTermCondition.CKD),
        ("Dementia", LongTermCondition.DEMENTIA),
        ("Schizophrenia", LongTermCondition.SMI),
        ("Bipolar affective disorder", LongTermCondition.SMI),
        ("Learning disability", LongTermCondition.LEARNING_DISABILITY),
        ("Malignant neoplasm of breast", LongTermCondition.CANCER),
        ("Diabetes resolved", 0),
        ("Family history of stroke", 0),
        ("Non-diabetic hyperglycaemia", LongTermCondition.NON_DIABETIC_HYPERGLYCAEMIA),
        ("Prediabetes", LongTermCondition.NON_DIABETIC_HYPERGLYCAEMIA),
        ("Non-diabetic retinopathy", 0),
        ("Resolved non-diabetic hyperglycaemia", 0),
        ("Atrial fibrillation", LongTermCondition.ATRIAL_FIBRILLATION),
        ("Paroxysmal atrial fibrillation", LongTermCondition.ATRIAL_FIBRILLATION),
        ("Chronic fatigue syndrome", None),
    ],
)
def test_condition_terms_map_to_registers(term, flag):
    assert condition_flag(term) == (None if flag is None else int(flag))


def test_condition_keys_cover_every_register():
    assert set(LTC_KEYS.values()) == set(LongTermCondition)


def test_the_fast_nhs_number_check_agrees_with_pcn_nhs_number():
    rng = random.Random(7)
    numbers = [f"{rng.randrange(10**10):010d}" for _ in range(20_000)]
    numbers += [f"{rng.randrange(100_000_000, 3_112_999_999):010d}" for _ in range(20_000)]  # CHI range
    for number in numbers:
        try:
            accepted = _nhs_number(number) == number
        except _Invalid:
            accepted = False
        assert accepted == is_valid(number), number


# --- Control characters -------------------------------------------------------------------------------


@pytest.mark.parametrize("character", ["\x00", "\x01", "\x08", "\x0b", "\x0c", "\x0e", "\x1b", "\x1f"])
def test_a_control_character_in_a_cell_is_a_row_error_shown_escaped(tmp_path, character):
    profile = Profile(column_map={**BASIC, "Surname": "family_name"})

    result = parse(
        tmp_path,
        f"NHS number,Practice,Surname\n9990000018,P99001,O{character}Brien\n9990000026,P99001,Jones\n",
        profile,
    )

    assert result.errors == [
        RowError(2, "Surname", f"O\\x{ord(character):02x}Brien", "contains a control character")
    ]
    assert result.records == [("9990000026", 1, "", "Jones")]
    assert (result.rows, result.invalid_rows) == (2, 1)


def test_tabs_and_line_breaks_in_a_cell_are_not_control_characters(tmp_path):
    profile = Profile(column_map={**BASIC, "Address": "address"})

    result = parse(
        tmp_path, 'NHS number,Practice,Address\n9990000018,P99001,"1 High St\tFlat 2\r\nTown"\n', profile
    )

    assert result.errors == []
    assert result.records == [("9990000018", 1, "1 High St\tFlat 2\r\nTown")]


def test_a_control_character_is_the_cells_only_error_and_an_ignored_columns_value_is_not_echoed(tmp_path):
    profile = Profile(column_map={**BASIC, "Sex": "sex"})

    result = parse(
        tmp_path, "NHS number,Practice,Sex,Notes\n9990000018\x00,P99001,F\x00,private\x00note\n", profile
    )

    assert result.errors == [
        RowError(2, "NHS number", "9990000018\\x00", "contains a control character"),
        RowError(2, "Sex", "F\\x00", "contains a control character"),
        RowError(2, "Notes", "", "contains a control character"),
    ]
    assert (result.records, result.invalid_rows) == ([], 1)


def test_a_control_character_in_a_filled_down_patient_keeps_its_other_rows_out(tmp_path):
    profile = Profile(
        column_map={**BASIC, "Code Term": "condition_term"},
        fill_down=["NHS number", "Practice"],
        one_row_per_patient=False,
    )

    result = parse(
        tmp_path,
        "NHS number,Practice,Code Term\n"
        "9990000018,P99001,Asthma\x00\n,,COPD\n"
        "9990000026,P99001,Asthma\n,,Dementia\x07\n,,COPD\n"
        "9990000034,P99001,Asthma\n",
        profile,
    )

    assert result.errors == [
        RowError(2, "Code Term", "Asthma\\x00", "contains a control character"),
        RowError(
            3, "NHS number", "999 000 0018", "not imported: row 2 for the same NHS number has a problem"
        ),
        RowError(
            4, "NHS number", "999 000 0026", "not imported: row 5 for the same NHS number has a problem"
        ),
        RowError(5, "Code Term", "Dementia\\x07", "contains a control character"),
        RowError(
            6, "NHS number", "999 000 0026", "not imported: row 5 for the same NHS number has a problem"
        ),
    ]
    assert result.records == [("9990000034", 1, int(LongTermCondition.ASTHMA))]


def test_a_control_character_in_the_headings_is_a_file_problem(tmp_path):
    with pytest.raises(FileRejected) as rejected:
        parse(
            tmp_path, "NHS number,Practice,Sur\x00name\n9990000018,P99001,Jones\n", Profile(column_map=BASIC)
        )

    assert rejected.value.message == (
        "The heading of column 3 (“Sur\\x00name”) contains a control character: the file is damaged, or is "
        "not a CSV or XLSX file. Export it again and import the new file."
    )


def test_a_row_of_nothing_but_control_characters_is_an_error_not_a_blank_row(tmp_path):
    result = parse(
        tmp_path, "NHS number,Practice\n9990000018,P99001\n\x00\x00,\x00\n", Profile(column_map=BASIC)
    )

    assert result.errors == [
        RowError(3, "NHS number", "\\x00\\x00", "contains a control character"),
        RowError(3, "Practice", "\\x00", "contains a control character"),
    ]
    assert (result.rows, result.invalid_rows, result.records) == (2, 1, [("9990000018", 1)])


# --- Warnings: rows that are imported but deserve a look -------------------------------------------


EMIS_LIKE = Profile(
    column_map={**BASIC, "Code Term": "condition_term"},
    fill_down=["NHS number", "Practice"],
    one_row_per_patient=False,
)
REPEATED = (
    "the same NHS number is on row 2, with other patients' rows in between: both blocks of rows are "
    "imported as this one patient"
)


def test_a_patient_block_repeated_further_down_is_a_warning_and_still_imported(tmp_path):
    result = parse(
        tmp_path,
        "NHS number,Practice,Code Term\n"
        "999 000 0018,P99001,Asthma\n,,COPD\n"
        "9990000026,P99001,Dementia\n"
        "999 000 0018,P99001,Stroke\n",
        EMIS_LIKE,
    )

    assert result.errors == []
    assert result.warnings == [RowError(5, "NHS number", "999 000 0018", REPEATED)]
    flags = LongTermCondition.ASTHMA | LongTermCondition.COPD | LongTermCondition.STROKE_TIA
    assert result.records == [
        ("9990000018", 1, int(flags)),
        ("9990000026", 1, int(LongTermCondition.DEMENTIA)),
    ]
    assert (result.rows, result.invalid_rows) == (4, 0)


def test_rows_of_one_patient_together_are_no_warning_even_with_the_number_on_each(tmp_path):
    result = parse(
        tmp_path,
        "NHS number,Practice,Code Term\n9990000018,P99001,Asthma\n9990000018,P99001,COPD\n\n"
        "9990000018,P99001,Stroke\n9990000026,P99001,Dementia\n",
        EMIS_LIKE,
    )

    assert (result.errors, result.warnings) == ([], [])


def test_a_repeat_of_an_invalid_nhs_number_is_not_a_warning(tmp_path):
    result = parse(
        tmp_path,
        "NHS number,Practice,Code Term\n12345,P99001,Asthma\n9990000026,P99001,Dementia\n12345,P99001,COPD\n",
        EMIS_LIKE,
    )

    assert result.warnings == []
    assert [error.row for error in result.errors] == [2, 4]


# --- XLSX files made to keep a worker busy or to fill its memory (found by tests/faults) ---------------


def xlsx_file(tmp_path: Path, data: bytes) -> Path:
    path = tmp_path / "f.xlsx"
    path.write_bytes(data)
    return path


def xlsx_read(path: Path) -> list[list]:
    return list(_xlsx_rows(path, max_uncompressed=200 * 1_048_576))


def test_an_xlsx_sheets_declared_size_does_not_pad_its_rows(tmp_path):
    # <dimension ref="A1:XFD1048576"/> made every row 16,384 cells: a 1.5 KB file with one far cell
    # kept a worker busy for hours.
    sheet = sheet_xml([["NHS number", "Practice"], ["9990000018", "P99001"]], dimension="A1:XFD1048576")

    rows = xlsx_read(xlsx_file(tmp_path, xlsx(sheet)))

    assert rows == [["NHS number", "Practice"], ["9990000018", "P99001"]]


def test_an_xlsx_sheet_longer_than_excels_is_refused(tmp_path):
    far = '<row r="1048577"><c r="A1048577"><v>1</v></c></row>'
    path = xlsx_file(tmp_path, xlsx(sheet_xml([["NHS number", "Practice"]], extra_rows=far)))

    with pytest.raises(FileRejected, match="more than 1,048,576 rows"):
        xlsx_read(path)


def test_an_xlsx_sheet_of_too_many_cells_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(import_files, "XLSX_MAX_CELLS", 100_000)
    far = "".join(
        f'<row r="{r}"><c r="XFD{r}"><v>1</v></c></row>' for r in range(2, 12)
    )  # 16,384 cells a row
    path = xlsx_file(tmp_path, xlsx(sheet_xml([["NHS number", "Practice"]], extra_rows=far)))

    with pytest.raises(FileRejected, match="or 100,000 cells"):
        xlsx_read(path)


def test_an_xlsx_part_that_inflates_more_than_100_times_is_refused_unread(tmp_path):
    sheet = sheet_xml([["NHS number", "Practice"]], extra_rows="<row/>" * 400_000)  # 2.4 MB → 10 KB

    with pytest.raises(FileRejected, match=r"packed \d[\d,]* times smaller than it unpacks to"):
        xlsx_read(xlsx_file(tmp_path, xlsx(sheet)))


def test_a_macro_enabled_workbook_is_refused(tmp_path):
    data = xlsx(sheet_xml([["NHS number", "Practice"]]), parts={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0"})

    with pytest.raises(FileRejected, match=r"macro-enabled workbook \(\.xlsm\)"):
        xlsx_read(xlsx_file(tmp_path, data))


def test_a_workbook_without_a_worksheet_is_refused_not_crashed(tmp_path):
    # workbook.worksheets[0] raised IndexError: the batch failed as "an unexpected error".
    with pytest.raises(FileRejected, match="has no worksheet"):
        xlsx_read(xlsx_file(tmp_path, xlsx(None)))


def test_a_csv_row_short_of_cells_is_an_error_not_blanks(tmp_path):
    # A file cut short ends in a short row: padded with blanks, it imported them and cleared the
    # patient's address (and any other value after the cut).
    profile = Profile(column_map={**BASIC, "Address": "address"})

    result = parse(
        tmp_path, "NHS number,Practice,Address\n9990000018,P99001,1 High St\n9990000026,P99001", profile
    )

    assert result.errors == [
        RowError(
            3, "", "", "the row has 2 cells but there are 3 column headings: the file may be cut short; "
            "check the delimiter and quoting",
        )
    ]  # fmt: skip
    assert result.records == [("9990000018", 1, "1 High St")]
