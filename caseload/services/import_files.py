"""Reading and checking population import files (CSV or XLSX) through an ImportProfile.

Pure functions: no database, no request. `parse_population_file` reads a file the way its profile
says, checks every row, and returns the patients that passed (as tuples ready for `COPY`), every
error with its row, column, value and reason, and the columns it ignored. The service
(`caseload.services.population_import_*`) supplies the practices and care homes to check against,
writes what passed, and keeps the report.

Rules, each with its message in the code below:
- The first row holds the column headings; they match the profile's case-insensitively, with
  surrounding spaces and a byte order mark ignored. A heading the profile maps but the file lacks is
  a file-level error; a heading the profile does not map is ignored and listed (its cells are never
  stored).
- A blank cell in a mapped column clears the patient's value (numbers become "not known", Y/N flags
  become No, sex becomes "not known"), except where a value is required: NHS number, practice,
  date of birth and family name (when the profile maps them) must be present on every row.
  `care_home_resident` = Y without a care home's name keeps the patient's current home (the app
  records residence as a link to a known home; name the home to link a new resident).
- Numbers: risk score 0-100 (rounded to one decimal), eFI 0-1 (two decimals; the category follows
  `caseload.models.efi_category`), A&E attendances and emergency admissions 0-365 whole numbers.
- Dates of birth in one of the profile's formats, not in the future and not before 1900.
- A profile with `one_row_per_patient` treats a second row with the same NHS number as an error;
  without it, a patient's rows are combined (EMIS: one row per coded condition) and a row that
  contradicts an earlier one for the same patient is an error. A patient whose rows come back after
  other patients' rows (a block repeated further down) is a warning: the rows are still combined and
  imported, but the export may list the patient twice.
- A C0 control character other than tab, line feed and carriage return (NUL, ESC, …) in any cell is
  an error for that cell (PostgreSQL text cannot hold NUL, and no clinical export has them: they mean
  a damaged or mis-saved file); the report shows it escaped (`\\x00`), never raw. In the headings it
  is a file-level error. XLSX files hold these characters as Excel's `_x0000_` escapes.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from operator import itemgetter
from pathlib import Path
from typing import Any, NamedTuple, Protocol

from openpyxl import load_workbook

from caseload.models import LTC_LABELS, ImportProfile, LongTermCondition, efi_category
from pcn.exports import csv_safe
from pcn.nhs_number import format_nhs_number, is_impossible_chi_date, nhs_number_problem, normalise

# --- The fields a column can map to --------------------------------------------------------------


class FieldSpec(NamedTuple):
    label: str
    help: str


LTC_KEYS: dict[str, LongTermCondition] = {
    name.lower(): flag for name, flag in LongTermCondition.__members__.items()
}

FIELDS: dict[str, FieldSpec] = {
    "nhs_number": FieldSpec("NHS number", "10 digits; spaces and hyphens are ignored. Required."),
    "given_name": FieldSpec("Given name", "Forename."),
    "family_name": FieldSpec("Family name", "Surname. Required on every row when the profile maps it."),
    "full_name": FieldSpec(
        "Full name", "EMIS style “SURNAME, Forename (Title)”: split into family and given name."
    ),
    "date_of_birth": FieldSpec(
        "Date of birth", "In one of the profile's date formats. Required for a new patient."
    ),
    "sex": FieldSpec("Sex", "M, Male, F, Female, I, Indeterminate, U or Unknown."),
    "practice_code": FieldSpec(
        "Practice ODS code", "One of the PCN's practices, and one of yours. Required."
    ),
    "address": FieldSpec("Address", "Up to 300 characters."),
    "postcode": FieldSpec("Postcode", "Up to 10 characters."),
    "phone": FieldSpec("Phone", "Landline."),
    "mobile": FieldSpec("Mobile", "Mobile phone (used for patient messaging)."),
    "preferred_language": FieldSpec("Preferred language", "For example Polish, Bengali."),
    "ethnicity": FieldSpec(
        "Ethnicity",
        "The ethnic category as the GP record has it, e.g. “White British”; up to 100 characters.",
    ),
    "interpreter_needed": FieldSpec("Needs an interpreter", "Y or N."),
    "is_carer": FieldSpec("Is a carer", "Y or N."),
    "has_carer": FieldSpec("Has a carer", "Y or N."),
    "care_home_resident": FieldSpec(
        "Care home resident", "Y or N. N unlinks the patient from their care home."
    ),
    "care_home_name": FieldSpec(
        "Care home", "The name of a care home known at the patient's practice (not case-sensitive)."
    ),
    "is_deceased": FieldSpec("Deceased", "Y or N."),
    "has_left": FieldSpec("Left the practice", "Y or N."),
    "risk_score": FieldSpec("Risk score", "0 to 100; rounded to one decimal place."),
    "efi_score": FieldSpec("eFI score", "Electronic Frailty Index, 0 to 1; rounded to two decimal places."),
    "ae_attendances_12m": FieldSpec("A&E attendances, 12 months", "A whole number, 0 to 365."),
    "emergency_admissions_12m": FieldSpec("Emergency admissions, 12 months", "A whole number, 0 to 365."),
    "conditions": FieldSpec(
        "Long-term conditions",
        "Condition keys separated by semicolons, e.g. “diabetes;copd”. Keys: " + ", ".join(LTC_KEYS) + ".",
    ),
    "condition_term": FieldSpec(
        "Condition term",
        "A coded term such as “Type 2 diabetes mellitus” (EMIS “Code Term”), one per row; matched to "
        "the registers by the words in it. Terms that match no register are ignored and counted.",
    ),
    **{
        f"ltc_{key}": FieldSpec(f"{LTC_LABELS[flag]} (Y/N)", f"Y or N: on the {LTC_LABELS[flag]} register.")
        for key, flag in LTC_KEYS.items()
    },
}

REQUIRED_FIELDS = ("nhs_number", "practice_code")
CONDITION_FIELDS = frozenset({"conditions", "condition_term", *(f"ltc_{key}" for key in LTC_KEYS)})
NAME_FIELDS = frozenset({"given_name", "family_name", "full_name"})
BOOLEAN_FIELDS = ("interpreter_needed", "is_carer", "has_carer", "is_deceased", "has_left")
TEXT_FIELDS: dict[str, int] = {  # field → longest value (the model's max_length)
    "given_name": 100,
    "family_name": 100,
    "address": 300,
    "postcode": 10,
    "phone": 30,
    "mobile": 30,
    "preferred_language": 60,
    "ethnicity": 100,
}

# Date formats an administrator can pick for a profile. US month-first formats are left out on
# purpose: 03/04/2025 must never be read as 4 March (DESIGN.md: UK dates unless the profile says).
DATE_FORMATS: dict[str, str] = {
    "%d/%m/%Y": "dd/mm/yyyy (20/01/1959)",
    "%d-%b-%Y": "dd-Mon-yyyy (20-Jan-1959, EMIS)",
    "%d %b %Y": "dd Mon yyyy (20 Jan 1959)",
    "%Y-%m-%d": "yyyy-mm-dd (1959-01-20, ISO)",
    "%d-%m-%Y": "dd-mm-yyyy (20-01-1959)",
    "%d.%m.%Y": "dd.mm.yyyy (20.01.1959)",
    "%Y%m%d": "yyyymmdd (19590120)",
}

# EMIS "Code Term" → register, by words in the term (case-insensitive). The first match wins;
# a term with an excluding phrase ("resolved", "family history of …") counts for no register.
CONDITION_TERMS: tuple[tuple[str, LongTermCondition], ...] = (
    ("atrial fibrillation", LongTermCondition.ATRIAL_FIBRILLATION),
    ("diabetes", LongTermCondition.DIABETES),
    ("diabetic", LongTermCondition.DIABETES),
    ("heart failure", LongTermCondition.HEART_FAILURE),
    ("coronary heart disease", LongTermCondition.CHD),
    ("ischaemic heart disease", LongTermCondition.CHD),
    ("angina", LongTermCondition.CHD),
    ("myocardial infarction", LongTermCondition.CHD),
    ("transient ischaemic", LongTermCondition.STROKE_TIA),
    ("stroke", LongTermCondition.STROKE_TIA),
    ("cerebrovascular accident", LongTermCondition.STROKE_TIA),
    ("hypertension", LongTermCondition.HYPERTENSION),
    ("high blood pressure", LongTermCondition.HYPERTENSION),
    ("chronic obstructive", LongTermCondition.COPD),
    ("copd", LongTermCondition.COPD),
    ("emphysema", LongTermCondition.COPD),
    ("asthma", LongTermCondition.ASTHMA),
    ("chronic kidney disease", LongTermCondition.CKD),
    ("ckd stage", LongTermCondition.CKD),
    ("dementia", LongTermCondition.DEMENTIA),
    ("alzheimer", LongTermCondition.DEMENTIA),
    ("schizophrenia", LongTermCondition.SMI),
    ("bipolar", LongTermCondition.SMI),
    ("psychosis", LongTermCondition.SMI),
    ("psychotic", LongTermCondition.SMI),
    ("learning disabilit", LongTermCondition.LEARNING_DISABILITY),
    ("cancer", LongTermCondition.CANCER),
    ("malignant", LongTermCondition.CANCER),
    ("carcinoma", LongTermCondition.CANCER),
    ("lymphoma", LongTermCondition.CANCER),
    ("leukaemia", LongTermCondition.CANCER),
    ("melanoma", LongTermCondition.CANCER),
)
# Non-diabetic hyperglycaemia (the NDH register) is matched before the diabetes words, so that
# "Non-diabetic hyperglycaemia" and "Prediabetes" are not read as diabetes.
NDH_TERMS = ("non-diabetic hyperglycaemia", "prediabetes", "pre-diabetes", "impaired fasting glucose")
CONDITION_TERM_EXCLUSIONS = (
    "resolved",
    "family history",
    "fh:",
    "screening",
    "at risk",
    "risk of",
    "suspected",
    "excluded",
    "no history",
)


def condition_flag(term: str) -> int | None:
    """The register a coded term belongs to (0 when it is excluded), or None when nothing matches."""
    text = term.casefold()
    if any(phrase in text for phrase in CONDITION_TERM_EXCLUSIONS):
        return 0
    if any(words in text for words in NDH_TERMS):
        return int(LongTermCondition.NON_DIABETIC_HYPERGLYCAEMIA)
    if "non-diabetic" in text:
        return 0
    for words, flag in CONDITION_TERMS:
        if words in text:
            return int(flag)
    return None


# --- Profiles ----------------------------------------------------------------------------------------


class ProfileLike(Protocol):
    name: str
    column_map: dict[str, str]
    date_formats: list[str]
    encoding: str
    delimiter: str
    fill_down: list[str]
    one_row_per_patient: bool


def heading_key(text: Any) -> str:
    """How headings are matched: case, surrounding spaces, runs of spaces and a BOM do not matter."""
    return " ".join(str(text or "").replace("\ufeff", "").split()).casefold()


def profile_problems(*, column_map: Any, date_formats: Any, fill_down: Any) -> dict[str, list[str]]:
    """What is wrong with a profile's settings, by model field ({} when nothing is)."""
    problems: dict[str, list[str]] = {}
    if not isinstance(column_map, dict) or not column_map:
        return {"column_map": ["Map at least the NHS number and practice code columns."]}
    mapped: dict[str, str] = {}
    headings: set[str] = set()
    for heading, name in column_map.items():
        if not heading_key(heading):
            problems.setdefault("column_map", []).append("A column heading is blank.")
            continue
        if heading_key(heading) in headings:
            problems.setdefault("column_map", []).append(f"The column “{heading}” is mapped twice.")
        headings.add(heading_key(heading))
        if name not in FIELDS:
            problems.setdefault("column_map", []).append(
                f"“{name}” (for the column “{heading}”) is not a field name: use one from the list of fields."
            )
        elif name in mapped:
            problems.setdefault("column_map", []).append(
                f"The field {name} is mapped from two columns: “{mapped[name]}” and “{heading}”."
            )
        else:
            mapped[name] = heading
    for name in REQUIRED_FIELDS:
        if name not in mapped:
            problems.setdefault("column_map", []).append(f"Map a column to {name}: every import needs it.")
    if "full_name" in mapped and mapped.keys() & {"given_name", "family_name"}:
        problems.setdefault("column_map", []).append(
            "Map either full_name or given_name and family_name, not both."
        )
    if not isinstance(date_formats, list) or not date_formats:
        problems.setdefault("date_formats", []).append("Choose at least one date format.")
    else:
        for fmt in date_formats:
            if fmt not in DATE_FORMATS:
                problems.setdefault("date_formats", []).append(
                    f"“{fmt}” is not one of the date formats offered."
                )
    if not isinstance(fill_down, list):
        problems.setdefault("fill_down", []).append("Fill-down columns must be a list of column headings.")
    else:
        for heading in fill_down:
            if heading_key(heading) not in headings:
                problems.setdefault("fill_down", []).append(
                    f"The fill-down column “{heading}” is not one of the mapped columns."
                )
    return problems


# --- What a parse returns -------------------------------------------------------------------------


class FileRejected(Exception):
    """A problem with the whole file (empty, too big, wrong encoding, missing columns): nothing is imported."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class RowError(NamedTuple):
    row: int
    column: str
    value: str
    reason: str


class PracticeInfo(NamedTuple):
    id: int
    is_active: bool


@dataclass
class ParsedFile:
    columns: tuple[str, ...]  # the database columns of each record, in order
    records: list[tuple[Any, ...]]  # one per patient that passed every check
    record_rows: list[int]  # the (first) file row of each record
    rows: int = 0  # data rows read (blank rows are not counted)
    errors: list[RowError] = field(default_factory=list)
    # Rows that are imported but deserve a look (row, column, value, reason, like the errors).
    warnings: list[RowError] = field(default_factory=list)
    invalid_rows: int = 0
    unmapped_columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ltc_mask: int = 0  # the condition flags this file speaks for (0: it says nothing about conditions)


class _Invalid(Exception):
    pass


# --- Cell converters: text → value, or _Invalid(reason) ---------------------------------------------

_BOOLEANS = {
    **dict.fromkeys(("y", "yes", "true", "t", "1", "Y", "Yes", "YES", "True", "TRUE", "T"), True),
    **dict.fromkeys(("n", "no", "false", "f", "0", "", "N", "No", "NO", "False", "FALSE", "F"), False),
}
_SEX = {
    "m": "M",
    "male": "M",
    "f": "F",
    "female": "F",
    "i": "I",
    "indeterminate": "I",
    "u": "U",
    "unknown": "U",
    "not known": "U",
    "not specified": "U",
    "": "U",
}
_ONE_DECIMAL = Decimal("0.1")
_TWO_DECIMALS = Decimal("0.01")
_TITLE = re.compile(r"\s*\([^)]*\)\s*$")
_DATE_PATTERNS = {  # fast paths for the common formats; anything else goes through strptime
    "%d/%m/%Y": re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})"),
    "%d-%m-%Y": re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})"),
    "%d.%m.%Y": re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})"),
}


def _sex(text: str) -> str:
    sex = _SEX.get(text.lower())
    if sex is None:
        raise _Invalid("use M, F, I (indeterminate) or U (not known)")
    return sex


def _text_parser(limit: int, *, postcode: bool = False) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if postcode:
            text = " ".join(text.upper().split())
        if len(text) > limit:
            raise _Invalid(f"longer than {limit} characters")
        return text

    return parse


def _boolean(text: str) -> bool:
    value = _BOOLEANS.get(text)
    if value is None:
        value = _BOOLEANS.get(text.lower())
        if value is None:
            raise _Invalid("use Y or N")
    return value


def _date_parser(formats: list[str], *, today: date, what: str) -> Callable[[Any], date]:
    cache: dict[str, date] = {}
    examples = " or ".join(DATE_FORMATS.get(fmt, fmt).split(" (")[0] for fmt in formats)

    def parse_one(text: str) -> date | None:
        for fmt in formats:
            if fmt == "%Y-%m-%d":
                try:
                    if len(text) == 10:
                        return date.fromisoformat(text)
                except ValueError:
                    continue
                continue
            pattern = _DATE_PATTERNS.get(fmt)
            if pattern is not None:
                match = pattern.fullmatch(text)
                if match:
                    day, month, year = match.groups()
                    try:
                        return date(int(year), int(month), int(day))
                    except ValueError:
                        continue
                continue
            try:
                return datetime.strptime(text, fmt).date()  # noqa: DTZ007 — a date, no time zone
            except ValueError:
                continue
        return None

    def parse(value: Any) -> date:
        if isinstance(value, date):  # an XLSX date cell
            parsed = value.date() if isinstance(value, datetime) else value
        else:
            if not value:
                raise _Invalid(f"{what} is missing")
            cached = cache.get(value)
            if cached is None:
                cached = parse_one(value)
                if cached is None:
                    raise _Invalid(f"{what} is not a date in the form {examples}")
                cache[value] = cached
            parsed = cached
        if parsed > today:
            raise _Invalid(f"{what} is in the future")
        if parsed.year < 1900:
            raise _Invalid(f"{what} is before 1900")
        return parsed

    return parse


def _cached[T](parse_one: Callable[[str], T]) -> Callable[[str], T | None]:
    """A cell parser that parses each distinct text once: a file repeats the same few values."""
    cache: dict[str, T] = {}

    def parse(text: str) -> T | None:
        if not text:
            return None
        value = cache.get(text)
        if value is None:
            value = cache[text] = parse_one(text)
        return value

    return parse


def _finite_number(text: str, message: str) -> Decimal:
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise _Invalid(message) from None
    if not number.is_finite():
        raise _Invalid(message)
    return number


def _decimal_parser(
    *, low: Decimal, high: Decimal, step: Decimal, what: str
) -> Callable[[str], Decimal | None]:
    message = f"{what} must be a number from {low} to {high}"

    def parse_one(text: str) -> Decimal:
        number = _finite_number(text, message)
        if not low <= number <= high:
            raise _Invalid(message)
        return number.quantize(step, rounding=ROUND_HALF_UP)

    return _cached(parse_one)


def _count_parser(what: str) -> Callable[[str], int | None]:
    message = f"{what} must be a whole number from 0 to 365"

    def parse_one(text: str) -> int:
        number = _finite_number(text, message)
        if number != number.to_integral_value() or not 0 <= number <= 365:
            raise _Invalid(message)
        return int(number)

    return _cached(parse_one)


def _nhs_number(text: str) -> str:
    digits = text if len(text) == 10 else text.replace(" ", "").replace("-", "")
    if len(digits) != 10:
        digits = normalise(digits)  # other spaces too: Excel's non-breaking space, tabs
    if len(digits) == 10 and digits.isascii() and digits.isdigit():
        # The modulus-11 check of pcn.nhs_number.check_digit, unrolled: this runs for every row.
        d = [ord(c) - 48 for c in digits]
        check = (
            11
            - (
                d[0] * 10
                + d[1] * 9
                + d[2] * 8
                + d[3] * 7
                + d[4] * 6
                + d[5] * 5
                + d[6] * 4
                + d[7] * 3
                + d[8] * 2
            )
            % 11
        )
        if check == 11:
            check = 0
        if check == d[9] and (digits > "3112999999" or not is_impossible_chi_date(digits)):
            return digits
    # validate_nhs_number agrees with the check above: a number that failed it has a problem to report.
    raise _Invalid(nhs_number_problem(text) or "This is not a valid NHS number.")


_CONDITIONS_CACHE: dict[str, int] = {}


def _conditions(text: str) -> int:
    cached = _CONDITIONS_CACHE.get(text)
    if cached is not None:
        return cached
    flags = 0
    for part in text.replace(",", ";").split(";"):
        key = "_".join(part.strip().casefold().replace("-", " ").split())
        if not key:
            continue
        flag = LTC_KEYS.get(key) or _LABEL_KEYS.get(key)
        if flag is None:
            raise _Invalid(f"“{part.strip()}” is not a condition key: use {', '.join(LTC_KEYS)}")
        flags |= flag
    if len(_CONDITIONS_CACHE) < 10_000:
        _CONDITIONS_CACHE[text] = int(flags)
    return int(flags)


_LABEL_KEYS = {"_".join(label.casefold().split()): flag for flag, label in LTC_LABELS.items()}


def split_full_name(text: str) -> tuple[str, str]:
    """EMIS "SURNAME, Forename (Title)" → ("SURNAME", "Forename"); without a comma, all of it is the surname."""
    text = _TITLE.sub("", text).strip()
    family, _, given = text.partition(",")
    return family.strip(), " ".join(given.split())


# --- Control characters -----------------------------------------------------------------------------

CONTROL_CHARACTER = "contains a control character"
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # C0 controls except tab, LF, CR
# The same bytes: in UTF-8 and in Windows-1252 each of these characters is that one byte.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_XLSX_CONTROL_ESCAPE = re.compile(r"_x(00[01][0-9A-Fa-f])_")  # how Excel writes them in XLSX (ST_Xstring)


def escape_control(text: str) -> str:
    """`text` with each control character shown as \\xNN, for a report that echoes a value."""
    return _CONTROL.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def control_cells(cells: list[Any]) -> list[int]:
    """The indexes of the cells that hold a control character (one search per row when none do)."""
    try:
        text = "\t".join(cells)
    except TypeError:  # XLSX: numbers and dates among the text
        text = "\t".join(cell for cell in cells if type(cell) is str)
    if not _CONTROL.search(text):
        return []
    return [index for index, cell in enumerate(cells) if type(cell) is str and _CONTROL.search(cell)]


def has_control_bytes(path: Path) -> bool:
    """Whether a CSV file holds a control character anywhere: when it does not (nearly always), no
    row needs checking for them."""
    with path.open("rb") as handle:
        return any(_CONTROL_BYTES.search(chunk) for chunk in iter(lambda: handle.read(1 << 20), b""))


def headings_check(header: list[Any]) -> None:
    """Raise FileRejected when a heading holds a control character."""
    for index in control_cells(header):
        raise FileRejected(
            f"The heading of column {index + 1} (“{escape_control(header[index].strip())[:100]}”) contains "
            "a control character: the file is damaged, or is not a CSV or XLSX file. Export it again and "
            "import the new file."
        )


# --- Reading rows from CSV or XLSX -------------------------------------------------------------------

XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
ENCODING_NAMES = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "cp1252": "Windows-1252 (cp1252)"}


def detect_encoding(path: Path) -> str:
    """UTF-8 ("utf-8-sig": a byte order mark is dropped) when the file starts with UTF-8's byte order
    mark or all of it reads as UTF-8, otherwise Windows-1252, what Excel's plain “CSV” writes on UK
    Windows. Text in Windows-1252 beyond ASCII (£, ë, ’) is almost never also valid UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        if handle.read(3) == codecs.BOM_UTF8:
            return "utf-8-sig"
        handle.seek(0)
        try:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def _decode_problem(path: Path, encoding: str, *, detected: bool) -> FileRejected:
    raw = path.read_bytes()
    try:
        raw.decode(encoding)
    except UnicodeDecodeError as error:
        row = raw.count(b"\n", 0, error.start) + 1
        where = f"the first character that cannot be read is in row {row}"
        if detected and encoding.startswith("utf-8"):
            return FileRejected(
                f"The file starts with UTF-8's byte order mark but is not in UTF-8: {where}. Save it again "
                "as “CSV UTF-8” in Excel and import that."
            )
        if detected:
            return FileRejected(
                f"The file is neither UTF-8 nor Windows-1252: {where}. Save it as “CSV UTF-8” in Excel and "
                "import that."
            )
        if encoding.startswith("utf-8"):
            advice = (
                "Save it as “CSV UTF-8” in Excel, or ask an administrator to set this profile's encoding "
                "to “Detect”."
            )
        else:
            advice = (
                "Save it as “CSV UTF-8” in Excel and ask an administrator to set this profile's encoding "
                "to “Detect”."
            )
        return FileRejected(f"The file is not in {ENCODING_NAMES.get(encoding, encoding)}: {where}. {advice}")
    return FileRejected(f"The file could not be read as {ENCODING_NAMES.get(encoding, encoding)}.")


def _csv_rows(path: Path, profile: ProfileLike) -> Iterator[list[Any]]:
    with path.open("rb") as raw:
        start = raw.read(4)
    if profile.encoding == ImportProfile.Encoding.CP1252 and start.startswith(codecs.BOM_UTF8):
        raise FileRejected(
            "The file is in UTF-8 (it starts with a byte order mark), but this profile reads Windows-1252. "
            "Ask an administrator to set the profile's encoding to “Detect” or UTF-8."
        )
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRejected(
            "The file is in UTF-16 (Excel's “Unicode text”). Save it as “CSV UTF-8” and import that."
        )
    detected = profile.encoding == ImportProfile.Encoding.AUTO
    encoding = detect_encoding(path) if detected else profile.encoding
    delimiter = "\t" if profile.delimiter in ("\\t", "\t") else profile.delimiter
    with path.open(encoding=encoding, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter, strict=False)
        try:
            yield from reader
        except UnicodeDecodeError:
            raise _decode_problem(path, encoding, detected=detected) from None
        except csv.Error as error:
            raise FileRejected(
                f"Row {reader.line_num} could not be read as CSV ({error}). Check that the file is a CSV file."
            ) from None


def _cell_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
    return str(value)


def _xlsx_value(value: Any) -> Any:
    """An XLSX cell as text, except dates, which stay dates (a date of birth needs no format)."""
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else _cell_text(value)
    if isinstance(value, str):
        # openpyxl leaves Excel's _x0000_ escapes as they are: decode those of control characters,
        # so that the checks see the character the cell holds.
        if "_x00" in value:
            return _XLSX_CONTROL_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), value)
        return value
    if isinstance(value, date):
        return value
    return _cell_text(value)


# What an XLSX file may unpack to. A part that inflates more than 100 times is a zip bomb, not a
# spreadsheet (Apache POI's ZipSecureFile refuses the same ratio; Excel's XML inflates 5-30 times);
# small parts are left alone. A sheet cannot have more rows than Excel's 1,048,576, and the cells read
# (a row counts to its last cell: openpyxl fills the gaps) are capped, so that a small file cannot keep
# a worker busy for hours.
XLSX_MAX_INFLATE_RATIO = 100
XLSX_RATIO_FROM_BYTES = 1_048_576
XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_CELLS = 30_000_000


def _xlsx_bomb(archive: zipfile.ZipFile, *, max_uncompressed: int) -> str:
    """Why the archive must not be unpacked ("" when it may be)."""
    parts = archive.infolist()
    if any(Path(info.filename).name.lower() == "vbaproject.bin" for info in parts):
        return (
            "This is a macro-enabled workbook (.xlsm): save it as an Excel Workbook (.xlsx) or as CSV and "
            "import that."
        )
    if sum(info.file_size for info in parts) > max_uncompressed:
        return "The XLSX file unpacks to more than the import limit. Save it as CSV, or split it."
    for info in parts:
        if info.file_size > XLSX_RATIO_FROM_BYTES and info.file_size > XLSX_MAX_INFLATE_RATIO * max(
            info.compress_size, 1
        ):
            return (
                f"The XLSX file is packed {info.file_size // max(info.compress_size, 1):,} times smaller than "
                "it unpacks to, which no spreadsheet is: it is damaged or made to overload the server. "
                "Save it again from Excel, or as CSV."
            )
    return ""


def _xlsx_rows(path: Path, *, max_uncompressed: int) -> Iterator[list[Any]]:
    try:
        with zipfile.ZipFile(path) as archive:
            bomb = _xlsx_bomb(archive, max_uncompressed=max_uncompressed)
        if bomb:
            raise FileRejected(bomb)
        workbook = load_workbook(path, read_only=True, data_only=True)
    except FileRejected:
        raise
    except Exception:  # openpyxl raises many kinds for a damaged file
        raise FileRejected(
            "The XLSX file could not be opened. Save it again from Excel, or as CSV."
        ) from None
    try:
        if not workbook.worksheets:
            raise FileRejected("The XLSX file has no worksheet. Save it again from Excel, or as CSV.")
        sheet = workbook.worksheets[0]
        # The rows as they are: a sheet's declared size (<dimension ref="A1:XFD1048576"/>) would
        # otherwise pad every row to it.
        sheet.reset_dimensions()
        rows = cells = 0
        try:
            for values in sheet.iter_rows(values_only=True):
                rows += 1
                cells += len(values)
                if rows > XLSX_MAX_ROWS or cells > XLSX_MAX_CELLS:
                    raise FileRejected(
                        f"The XLSX sheet has more than {XLSX_MAX_ROWS:,} rows or {XLSX_MAX_CELLS:,} cells, "
                        "more than Excel or one import takes: it is damaged. Save it again from Excel, "
                        "or as CSV."
                    )
                yield [_xlsx_value(value) for value in values]
        except FileRejected:
            raise
        except Exception:  # the sheet's XML is read as the rows are: damage shows up here
            raise FileRejected(
                "The XLSX file could not be read to the end: it is damaged. Save it again from Excel, or as CSV."
            ) from None
    finally:
        workbook.close()


class _DetectedCsv(NamedTuple):
    """The reading of a CSV file without a profile: the encoding detected, commas."""

    encoding: str = ImportProfile.Encoding.AUTO
    delimiter: str = ","


def _file_kind(path: Path, *, max_bytes: int) -> bytes:
    """The file's first four bytes (XLSX_MAGIC for a workbook), once it is known to be neither empty, too
    big, nor an old .xls. Raises FileRejected."""
    size = path.stat().st_size
    if size == 0:
        raise FileRejected("The file is empty.")
    if size > max_bytes:
        raise FileRejected(
            f"The file is {size / 1_048_576:.1f} MB: the largest file that can be imported is "
            f"{max_bytes / 1_048_576:.0f} MB. Split it into smaller files."
        )
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == XLS_MAGIC:
        raise FileRejected(
            "This is an old-style Excel file (.xls). Save it as .xlsx or as CSV and import that."
        )
    return magic


def file_rows(path: Path, *, max_bytes: int) -> Iterator[list[Any]]:
    """The rows of a CSV or XLSX file read as the imports read them, for a file with no profile (a recall
    dates file): CSV in UTF-8 or Windows-1252 (detected), comma-separated; XLSX's first sheet, its dates
    as dates and Excel's escapes of control characters decoded. Raises FileRejected."""
    magic = _file_kind(path, max_bytes=max_bytes)
    if magic == XLSX_MAGIC:
        return _xlsx_rows(path, max_uncompressed=max(10 * max_bytes, 200 * 1_048_576))
    return _csv_rows(path, _DetectedCsv())  # type: ignore[arg-type]


# --- The parse ---------------------------------------------------------------------------------------

PROGRESS_EVERY = 5000


def parse_population_file(
    path: Path,
    *,
    profile: ProfileLike,
    practices: Mapping[str, PracticeInfo],
    allowed_practice_ids: frozenset[int] | None,
    care_homes: Mapping[tuple[int, str], int],
    today: date,
    max_bytes: int,
    max_rows: int = 1_000_000,
    on_progress: Callable[[int], None] | None = None,
) -> ParsedFile:
    """Read and check every row of `path`. Raises FileRejected for a problem with the whole file.

    practices: ODS code → (id, is_active) for every practice; allowed_practice_ids: the practices
    whose patients may be imported (None: all of them, for unattended imports); care_homes:
    (practice id, casefolded name) → care home id.
    """
    magic = _file_kind(path, max_bytes=max_bytes)

    column_map = {heading_key(heading): name for heading, name in profile.column_map.items()}
    fill_down_keys = {heading_key(heading) for heading in profile.fill_down}
    if magic == XLSX_MAGIC:
        rows: Iterator[list[Any]] = _xlsx_rows(path, max_uncompressed=max(10 * max_bytes, 200 * 1_048_576))
    else:
        rows = _csv_rows(path, profile)

    header = next(rows, None)
    if header is None:
        raise FileRejected("The file is empty.")
    if _is_blank(header):
        raise FileRejected("The first row is blank: it must hold the column headings.")
    headings_check(header)
    headings = [_cell_text(cell).replace("\ufeff", "").strip() for cell in header]
    if headings and headings[0].startswith("ï»¿"):
        headings[0] = headings[0][3:]
    return _Parser(
        profile=profile,
        column_map=column_map,
        fill_down_keys=fill_down_keys,
        headings=headings,
        practices=practices,
        allowed_practice_ids=allowed_practice_ids,
        care_homes=care_homes,
        today=today,
        max_rows=max_rows,
        on_progress=on_progress,
        xlsx=magic == XLSX_MAGIC,
        check_control=magic == XLSX_MAGIC or has_control_bytes(path),
    ).parse(rows)


class _Parser:
    def __init__(
        self,
        *,
        profile: ProfileLike,
        column_map: dict[str, str],
        fill_down_keys: set[str],
        headings: list[str],
        practices: Mapping[str, PracticeInfo],
        allowed_practice_ids: frozenset[int] | None,
        care_homes: Mapping[tuple[int, str], int],
        today: date,
        max_rows: int,
        on_progress: Callable[[int], None] | None,
        xlsx: bool = False,
        check_control: bool = True,
    ) -> None:
        self.profile = profile
        self.xlsx = xlsx
        self.check_control = check_control
        self.headings = headings
        self.practices = practices
        self.allowed = allowed_practice_ids
        self.care_homes = care_homes
        self.max_rows = max_rows
        self.on_progress = on_progress
        self.one_row_per_patient = profile.one_row_per_patient

        # Which column holds which field; what is missing; what is ignored.
        self.field_index: dict[str, int] = {}
        self.unmapped: list[str] = []
        seen: dict[str, int] = {}
        for position, heading in enumerate(headings):
            key = heading_key(heading)
            name = column_map.get(key)
            if name is None:
                if key or heading:
                    self.unmapped.append(heading)
                continue
            if key in seen:
                raise FileRejected(
                    f"The column “{heading}” appears twice (columns {seen[key] + 1} and {position + 1}). "
                    "Remove or rename one of them."
                )
            seen[key] = position
            self.field_index[name] = position
        order = {name: position for position, name in enumerate(FIELDS)}
        missing = [
            heading
            for heading, name in sorted(profile.column_map.items(), key=lambda item: order.get(item[1], 0))
            if name not in self.field_index
        ]
        if missing:
            listed = ", ".join(f"“{heading}”" for heading in missing)
            raise FileRejected(
                f"The file is missing {'a column' if len(missing) == 1 else 'columns'} that the "
                f"“{profile.name}” profile needs: {listed}. Check that you chose the right profile; "
                "an administrator can change the profile if the source's columns have changed."
            )
        self.fill_down = sorted(seen[key] for key in fill_down_keys if key in seen)
        self.width = len(headings)
        self.mapped_indexes = frozenset(self.field_index.values())

        names = set(self.field_index)
        self.maps_names = bool(names & NAME_FIELDS)
        self.maps_care_home = bool(names & {"care_home_resident", "care_home_name"})
        self.maps_efi = "efi_score" in names
        if names & {"conditions", "condition_term"}:
            self.ltc_mask = int(sum(LongTermCondition))
        else:
            self.ltc_mask = int(sum(LTC_KEYS[name[4:]] for name in names if name.startswith("ltc_")))

        columns = ["nhs_number", "practice_id"]
        if self.maps_names:
            columns += ["given_name", "family_name"]
        for name in ("date_of_birth", "sex", *TEXT_FIELDS, *BOOLEAN_FIELDS):
            if name in names and name not in columns:
                columns.append(name)
        if self.maps_care_home:
            columns += ["care_home_id", "care_home_keep"]
        for name in ("risk_score", "efi_score"):
            if name in names:
                columns.append(name)
        if self.maps_efi:
            columns.append("efi_category")
        for name in ("ae_attendances_12m", "emergency_admissions_12m"):
            if name in names:
                columns.append(name)
        if self.ltc_mask:
            columns.append("ltc_flags")
        self.columns = tuple(columns)

        index = self.field_index
        parse_date = _date_parser(list(profile.date_formats), today=today, what="the date of birth")
        # One step per simple column: (field, column index, text → value or _Invalid(reason)).
        self.steps: list[tuple[str, int, Callable[[Any], Any]]] = [
            ("nhs_number", index["nhs_number"], _nhs_number)
        ]
        if "date_of_birth" in index:
            self.steps.append(("date_of_birth", index["date_of_birth"], parse_date))
        if "sex" in index:
            self.steps.append(("sex", index["sex"], _sex))
        for name, limit in TEXT_FIELDS.items():
            if name in index and name not in ("given_name", "family_name"):
                self.steps.append((name, index[name], _text_parser(limit, postcode=name == "postcode")))
        for name in BOOLEAN_FIELDS:
            if name in index:
                self.steps.append((name, index[name], _boolean))
        numbers = {
            "risk_score": _decimal_parser(
                low=Decimal(0), high=Decimal(100), step=_ONE_DECIMAL, what="the risk score"
            ),
            "efi_score": _decimal_parser(
                low=Decimal(0), high=Decimal(1), step=_TWO_DECIMALS, what="the eFI score"
            ),
            "ae_attendances_12m": _count_parser("A&E attendances"),
            "emergency_admissions_12m": _count_parser("emergency admissions"),
        }
        for name, convert in numbers.items():
            if name in index:
                self.steps.append((name, index[name], convert))
        self.practice_index = index["practice_code"]
        self.ltc_columns = [
            (index[f"ltc_{key}"], int(flag)) for key, flag in LTC_KEYS.items() if f"ltc_{key}" in index
        ]
        self.efi_categories: dict[Any, str] = {}
        self.unrecognised_terms: Counter[str] = Counter()
        self.resident_without_home = 0

    def error(self, errors: list[RowError], row: int, cells: list[Any], name: str, reason: str) -> None:
        index = self.field_index.get(name)
        if index is None:
            errors.append(RowError(row, name, "", reason))
        else:
            errors.append(RowError(row, self.headings[index], _cell_text(cells[index])[:100], reason))

    def convert(self, cells: list[Any], row: int, errors: list[RowError]) -> dict[str, Any] | None:
        """One row's (stripped) cells → its values by column, or None when it has an error."""
        values: dict[str, Any] = {}
        before = len(errors)
        for name, index, convert in self.steps:
            try:
                values[name] = convert(cells[index])
            except _Invalid as invalid:
                errors.append(
                    RowError(row, self.headings[index], _cell_text(cells[index])[:100], str(invalid))
                )

        code = cells[self.practice_index].upper()
        practice = self.practices.get(code)
        if (
            practice is not None
            and practice.is_active
            and (self.allowed is None or practice.id in self.allowed)
        ):
            values["practice_id"] = practice.id
        elif not code:
            self.error(errors, row, cells, "practice_code", "the practice code is missing")
        elif practice is None:
            self.error(
                errors, row, cells, "practice_code", f"practice {code} is not one of the PCN's practices"
            )
        elif not practice.is_active:
            self.error(errors, row, cells, "practice_code", f"practice {code} is marked inactive")
        else:
            self.error(errors, row, cells, "practice_code", f"practice {code} is not one of your practices")

        if self.maps_names:
            self._names(cells, row, values, errors)
        if self.maps_care_home:
            self._care_home(cells, row, values, errors)
        if self.maps_efi:
            score = values.get("efi_score")
            category = self.efi_categories.get(score)
            if category is None:
                category = self.efi_categories[score] = str(efi_category(score))
            values["efi_category"] = category
        if self.ltc_mask:
            self._conditions(cells, row, values, errors)
        return values if len(errors) == before else None

    def _names(self, cells: list[Any], row: int, values: dict[str, Any], errors: list[RowError]) -> None:
        index = self.field_index
        if "full_name" in index:
            family, given = split_full_name(cells[index["full_name"]])
            name_field = "full_name"
        else:
            family = cells[index["family_name"]] if "family_name" in index else ""
            given = cells[index["given_name"]] if "given_name" in index else ""
            name_field = "family_name" if "family_name" in index else "given_name"
        if ("full_name" in index or "family_name" in index) and not family:
            self.error(errors, row, cells, name_field, "the family name is missing")
        for value, label in ((family, "family name"), (given, "given name")):
            if len(value) > 100:
                self.error(errors, row, cells, name_field, f"the {label} is longer than 100 characters")
        values["given_name"], values["family_name"] = given, family

    def _conditions(self, cells: list[Any], row: int, values: dict[str, Any], errors: list[RowError]) -> None:
        index = self.field_index
        flags = 0
        if "conditions" in index:
            try:
                flags |= _conditions(cells[index["conditions"]])
            except _Invalid as invalid:
                self.error(errors, row, cells, "conditions", str(invalid))
        if "condition_term" in index:
            term = cells[index["condition_term"]]
            if term:
                flag = condition_flag(term)
                if flag is None:
                    self.unrecognised_terms[term] += 1
                else:
                    flags |= flag
        for column, flag in self.ltc_columns:
            try:
                if _boolean(cells[column]):
                    flags |= flag
            except _Invalid as invalid:
                errors.append(
                    RowError(row, self.headings[column], _cell_text(cells[column])[:100], str(invalid))
                )
        values["ltc_flags"] = flags

    def _care_home(self, cells: list[Any], row: int, values: dict[str, Any], errors: list[RowError]) -> None:
        index = self.field_index
        resident: bool | None = None
        if "care_home_resident" in index:
            raw = cells[index["care_home_resident"]]
            if raw:
                try:
                    resident = _boolean(raw)
                except _Invalid as invalid:
                    self.error(errors, row, cells, "care_home_resident", str(invalid))
                    return
        name = cells[index["care_home_name"]] if "care_home_name" in index else ""
        values["care_home_id"], values["care_home_keep"] = None, False
        if name:
            if resident is False:
                self.error(
                    errors,
                    row,
                    cells,
                    "care_home_name",
                    "a care home is named, but care home resident says N",
                )
                return
            practice_id = values.get("practice_id")
            if practice_id is None:
                return  # the practice's own error says why
            home = self.care_homes.get((practice_id, name.casefold()))
            if home is None:
                code = cells[self.practice_index].upper()
                self.error(
                    errors, row, cells, "care_home_name",
                    f"care home “{name}” is not known at practice {code}: ask an administrator to add it",
                )  # fmt: skip
                return
            values["care_home_id"] = home
        elif resident is True or (resident is None and "care_home_name" not in index):
            # Y without a home's name (or a blank resident cell): keep the patient's current home.
            values["care_home_keep"] = True
            if resident is True:
                self.resident_without_home += 1

    def parse(self, rows: Iterator[list[Any]]) -> ParsedFile:
        result = ParsedFile(columns=self.columns, records=[], record_rows=[], unmapped_columns=self.unmapped)
        errors = result.errors
        columns = self.columns
        width = self.width
        fill_down = self.fill_down
        last: dict[int, Any] = {}
        invalid_rows: set[int] = set()
        on_progress = self.on_progress
        nhs_index = self.field_index["nhs_number"]
        dob_index = self.field_index.get("date_of_birth")
        xlsx = self.xlsx
        check_control = self.check_control
        record_of = itemgetter(*columns)

        # One row per patient: NHS number → first row. Several rows: NHS number (or the raw text of an
        # invalid one) → [first row, values, rows, any row invalid].
        first_row: dict[str, int] = {}
        groups: dict[str, list[Any]] = {}
        order: list[str] = []
        previous_key: str | None = None  # the patient of the last data row (several rows per patient)
        row = 1
        for cells in rows:
            row += 1
            if len(cells) != width:
                # A CSV row short of cells is cut short (a truncated file's last row): padded, its
                # blank cells would clear the patient's values. An XLSX row ends at its last value.
                short = len(cells) < width and not xlsx and any(cell.strip() for cell in cells)
                if short or (len(cells) > width and any(_cell_text(c).strip() for c in cells[width:])):
                    errors.append(
                        RowError(
                            row,
                            "",
                            "",
                            f"the row has {len(cells)} cells but there are {width} column headings: "
                            + ("the file may be cut short; " if short else "")
                            + "check the delimiter and quoting",
                        )
                    )
                    invalid_rows.add(row)
                    result.rows += 1
                    continue
                cells = [*cells[:width], *[""] * (width - len(cells))]
            control = control_cells(cells) if check_control else None
            if control:
                # Each such cell is this row's error; the rest of the row is read without the control
                # characters, so that nothing stores or echoes them (fill-down and notes included).
                control_errors = [
                    RowError(
                        row,
                        self.headings[index],
                        escape_control(cells[index].strip())[:100] if index in self.mapped_indexes else "",
                        CONTROL_CHARACTER,
                    )
                    for index in control
                ]
                cells = list(cells)
                for index in control:
                    cells[index] = _CONTROL.sub("", cells[index])
            if xlsx:
                # Text stripped; a date cell stays a date in the date of birth column only.
                cells = [
                    c.strip() if type(c) is str else c if i == dob_index else _cell_text(c)
                    for i, c in enumerate(cells)
                ]
            else:
                cells = [c.strip() for c in cells]
            if not control and not any(cells):
                continue  # a blank row
            result.rows += 1
            if result.rows > self.max_rows:
                raise FileRejected(
                    f"The file has more than {self.max_rows:,} rows, the most one import takes. Split it."
                )
            if on_progress is not None and result.rows % PROGRESS_EVERY == 0:
                on_progress(result.rows)
            if control and not any(cells):
                # Nothing but control characters (a damaged file's padding): those are its errors.
                errors.extend(control_errors)
                invalid_rows.add(row)
                continue
            for column in fill_down:
                value = cells[column]
                if value == "" or value is None:
                    if column in last:
                        cells[column] = last[column]
                else:
                    last[column] = value
            before = len(errors)
            values = self.convert(cells, row, errors)
            if control:
                # The control character is the cells' one error (not also what is left without it).
                columns_with_control = {self.headings[index] for index in control}
                errors[before:] = [
                    *control_errors,
                    *(error for error in errors[before:] if error.column not in columns_with_control),
                ]
                values = None
            raw_number = cells[nhs_index]
            if values is not None:
                key = valid_key = values["nhs_number"]
            else:
                valid_key = _nhs_or_none(raw_number)
                key = valid_key or _cell_text(raw_number).strip()
            if self.one_row_per_patient:
                if values is None:
                    invalid_rows.add(row)
                    nhs_number = _nhs_or_none(raw_number)
                    if nhs_number and nhs_number not in first_row:
                        first_row[nhs_number] = row
                    continue
                earlier = first_row.get(key)
                if earlier is not None:
                    errors.append(
                        RowError(
                            row,
                            self.headings[nhs_index],
                            str(raw_number)[:100],
                            f"NHS number {format_nhs_number(key)} is also on row {earlier}",
                        )
                    )
                    invalid_rows.add(row)
                    continue
                first_row[key] = row
                result.records.append(record_of(values))
                result.record_rows.append(row)
            else:
                group = groups.get(key)
                if group is not None and key != previous_key and valid_key:
                    result.warnings.append(
                        RowError(
                            row,
                            self.headings[nhs_index],
                            _cell_text(raw_number)[:100],
                            f"the same NHS number is on row {group[0]}, with other patients' rows in "
                            "between: both blocks of rows are imported as this one patient",
                        )
                    )
                previous_key = key
                if group is None:
                    groups[key] = group = [row, values, [row], values is None]
                    order.append(key)
                    if values is None:
                        invalid_rows.add(row)
                    continue
                group[2].append(row)
                if values is None:
                    invalid_rows.add(row)
                    group[3] = True
                    continue
                if group[1] is None:
                    group[1] = values
                    continue
                self._merge(group, values, cells, row, errors)
                if len(errors) > before:
                    invalid_rows.add(row)
                    group[3] = True

        if not self.one_row_per_patient:
            for key in order:
                first, values, group_rows, bad = groups[key]
                if bad:
                    problem_row = min(r for r in group_rows if r in invalid_rows)
                    for other in group_rows:
                        if other not in invalid_rows:
                            invalid_rows.add(other)
                            errors.append(
                                RowError(
                                    other,
                                    self.headings[nhs_index],
                                    format_nhs_number(key),
                                    f"not imported: row {problem_row} for the same NHS number has a problem",
                                )
                            )
                    continue
                result.records.append(record_of(values))
                result.record_rows.append(first)

        if result.rows == 0:
            raise FileRejected("The file has column headings but no rows of data.")
        errors.sort(key=lambda e: e.row)
        result.invalid_rows = len(invalid_rows)
        result.ltc_mask = self.ltc_mask
        if self.unrecognised_terms:
            total = sum(self.unrecognised_terms.values())
            common = ", ".join(f"{term} ({count})" for term, count in self.unrecognised_terms.most_common(10))
            result.notes.append(
                f"{total} row{'s' if total != 1 else ''} had a condition term that matches none of the "
                f"registers and {'was' if total == 1 else 'were'} ignored: {common}"
                f"{', …' if len(self.unrecognised_terms) > 10 else ''}."
            )
        if self.resident_without_home:
            count = self.resident_without_home
            result.notes.append(
                f"{count} row{'s say' if count != 1 else ' says'} “care home resident” without naming the home: "
                "a patient already linked to a care home keeps it; others are not linked to one. "
                "Add the home's name to link them."
            )
        if on_progress is not None:
            on_progress(result.rows)
        return result

    def _merge(
        self, group: list[Any], values: dict[str, Any], cells: list[Any], row: int, errors: list[RowError]
    ) -> None:
        """A later row for the same patient: conditions add up; anything else must agree with the first row."""
        first = group[1]
        for column in self.columns:
            if column == "ltc_flags":
                first["ltc_flags"] |= values["ltc_flags"]
                continue
            if column in ("care_home_keep", "efi_category"):
                continue
            new, old = values.get(column), first.get(column)
            if new in (None, "") or new == old:
                continue
            if old in (None, ""):
                first[column] = new
                continue
            name = {"practice_id": "practice_code", "care_home_id": "care_home_name"}.get(column, column)
            if name in ("given_name", "family_name") and "full_name" in self.field_index:
                name = "full_name"
            index = self.field_index[name]
            errors.append(
                RowError(
                    row,
                    self.headings[index],
                    _cell_text(cells[index]).strip()[:100],
                    f"differs from row {group[0]} for the same NHS number",
                )
            )
            return


def _is_blank(cells: list[Any]) -> bool:
    return not any(cell.strip() if isinstance(cell, str) else cell is not None for cell in cells)


def _nhs_or_none(raw: Any) -> str | None:
    try:
        return _nhs_number(str(raw).strip())
    except _Invalid:
        return None


# --- The error report ------------------------------------------------------------------------------

REPORT_HEADER = ("Row", "Column", "Value", "Reason")
WARNING_PREFIX = "Warning, still imported: "


def report_csv(
    errors: Sequence[RowError] | Sequence[list[Any]], *, warnings: Sequence[RowError] = (), message: str = ""
) -> str:
    """The report as CSV text (UTF-8 with a BOM is added by the writer), formula-escaped: the errors
    and the warnings in row order, a warning's reason starting “Warning, still imported: ”."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(REPORT_HEADER)
    if message:
        writer.writerow(csv_safe(["", "", "", message]))
    rows = [(error[0], 0, list(error)) for error in errors]
    rows += [
        (row, 1, [row, column, value, WARNING_PREFIX + reason]) for row, column, value, reason in warnings
    ]
    for _, _, cells in sorted(rows, key=itemgetter(0, 1)):
        writer.writerow(csv_safe(cells))
    return buffer.getvalue()
