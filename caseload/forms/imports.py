"""Forms of the population import: the upload, and an administrator's import profile."""

from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile

from caseload.models import ImportProfile
from caseload.services.import_files import DATE_FORMATS, FIELDS, heading_key, profile_problems

ACCEPTED_SUFFIXES = (".csv", ".txt", ".xlsx")
RESERVED_SLUGS = frozenset({"done", "failed", "processing"})  # the drop folder's own sub-folders


class ProfileChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: ImportProfile) -> str:  # type: ignore[override]
        return obj.name


class ImportUploadForm(forms.Form):
    profile = ProfileChoiceField(
        queryset=ImportProfile.objects.order_by("name"),
        label="Where does the file come from?",
        help_text="The import profile says which column is which, the date format and the encoding.",
        widget=forms.RadioSelect,
        empty_label=None,
        error_messages={"required": "Select where the file comes from"},
    )
    file = forms.FileField(
        label="Upload a file",
        error_messages={
            "required": "Select a CSV or XLSX file",
            "empty": "The selected file is empty",
            "invalid": "The selected file could not be uploaded – try again",
        },
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = f"A CSV or XLSX file, up to {settings.IMPORT_MAX_UPLOAD_MB} MB."

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if Path(upload.name or "").suffix.lower() not in ACCEPTED_SUFFIXES:
            raise forms.ValidationError("The selected file must be a CSV or XLSX file", code="type")
        if upload.size is not None and upload.size > settings.IMPORT_MAX_UPLOAD_MB * 1_048_576:
            raise forms.ValidationError(
                f"The selected file must be smaller than {settings.IMPORT_MAX_UPLOAD_MB} MB", code="size"
            )
        return upload


class ImportStartForm(forms.Form):
    """The preview page's buttons: import everything, or only the valid rows."""

    skip_invalid = forms.BooleanField(required=False)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def column_map_text(column_map: dict[str, str]) -> str:
    """The map as the form shows it: one "Heading = field" per line, in the order of FIELDS."""
    order = {name: index for index, name in enumerate(FIELDS)}
    pairs = sorted(column_map.items(), key=lambda pair: (order.get(pair[1], len(order)), pair[0]))
    return "\n".join(f"{heading} = {name}" for heading, name in pairs)


class ImportProfileForm(forms.ModelForm):
    column_map = forms.CharField(
        label="Columns",
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}),
        help_text=(
            "One column per line: the heading as it is in the file, an equals sign, then the field name, "
            "for example <code>NHS Number = nhs_number</code>. The field names are listed below this form. "
            "Headings match whatever their capital letters and spaces."
        ),
        error_messages={"required": "Enter the columns: at least the NHS number and the practice code"},
    )
    date_formats = forms.MultipleChoiceField(
        label="Date formats",
        choices=list(DATE_FORMATS.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text="Tried in this order. Month-first (US) dates are not offered: 03/04/2025 is always 3 April.",
        error_messages={"required": "Select at least one date format"},
    )
    fill_down = forms.CharField(
        label="Fill-down columns",
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text=(
            "One heading per line. A blank cell in these columns takes the value from the row above "
            "(EMIS puts a patient's NHS number, name and practice on their first row only)."
        ),
    )

    class Meta:
        model = ImportProfile
        fields = [
            "name",
            "slug",
            "description",
            "encoding",
            "delimiter",
            "date_formats",
            "column_map",
            "fill_down",
            "one_row_per_patient",
        ]
        labels = {
            "slug": "Short name",
            "one_row_per_patient": "Each patient is on one row",
        }
        help_texts = {
            "slug": (
                "Lower-case letters, numbers and hyphens, e.g. icb-risk. Used by "
                "<code>manage.py import_population --profile</code> and as the drop folder's sub-folder."
            ),
            "description": "What the source is and anything people should know about its files.",
            "encoding": (
                "Excel's “CSV UTF-8” is UTF-8; its plain “CSV” on UK Windows is Windows-1252. “Detect” "
                "reads either: choose one only to refuse files in the other."
            ),
            "one_row_per_patient": (
                "An NHS number on two rows is then an error. Untick it for sources with one row per "
                "coded condition (EMIS searches): a patient's rows are combined."
            ),
        }
        widgets = {
            "encoding": forms.RadioSelect,
            "delimiter": forms.RadioSelect,
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        error_messages = {
            "name": {
                "required": "Enter a name for the profile",
                "unique": "There is already a profile with this name",
            },
            "slug": {
                "required": "Enter a short name",
                "unique": "There is already a profile with this short name",
                "invalid": "Use only lower-case letters, numbers and hyphens in the short name",
            },
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        if not self.is_bound:
            self.initial["column_map"] = column_map_text(instance.column_map or {})
            self.initial["fill_down"] = "\n".join(instance.fill_down or [])
            self.initial["date_formats"] = list(instance.date_formats or ["%d/%m/%Y"])

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(
                f"“{slug}” is a folder name the drop folder uses itself: choose another", code="reserved"
            )
        return slug

    def clean_column_map(self) -> dict[str, str]:
        mapping: dict[str, str] = {}
        problems = []
        for number, line in enumerate(self.cleaned_data["column_map"].splitlines(), start=1):
            if not line.strip():
                continue
            heading, equals, name = line.rpartition("=")
            heading, name = heading.strip(), name.strip()
            if not equals or not heading or not name:
                problems.append(
                    f"Line {number}: enter the heading, an equals sign, then the field name, like NHS Number = nhs_number"
                )
                continue
            if name not in FIELDS:
                problems.append(f"Line {number}: “{name}” is not a field name – use one from the list below")
                continue
            if any(heading_key(existing) == heading_key(heading) for existing in mapping):
                problems.append(f"Line {number}: the column “{heading}” is already mapped")
                continue
            mapping[heading] = name
        if problems:
            raise forms.ValidationError(problems)
        return mapping

    def clean_fill_down(self) -> list[str]:
        return _lines(self.cleaned_data.get("fill_down", ""))

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "column_map" in data and "date_formats" in data:
            problems = profile_problems(
                column_map=data["column_map"],
                date_formats=data["date_formats"],
                fill_down=data.get("fill_down", []),
            )
            for name, messages in problems.items():
                for message in messages:
                    self.add_error(name, message.rstrip("."))
        return data
