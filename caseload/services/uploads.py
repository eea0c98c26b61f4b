"""The upload store: where an import's uploaded file (population or care events feed) and its error
report are kept under MEDIA_ROOT/imports/, and how they go."""

import hashlib
import uuid
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile

from caseload.models import (
    ImportBatch,
)


def report_store(batch: ImportBatch, text: str) -> None:
    if batch.report_file:
        batch.report_file.delete(save=False)
    batch.report_file = default_storage.save(
        f"imports/reports/batch-{batch.pk}-{uuid.uuid4().hex[:8]}.csv",
        ContentFile(("\ufeff" + text).encode()),
    )


def upload_delete(batch: ImportBatch) -> None:
    """The uploaded copy holds patient data: it goes once the import has ended."""
    if batch.file:
        batch.file.delete(save=False)
        ImportBatch.objects.filter(pk=batch.pk).update(file="")


def upload_store(*, upload: UploadedFile, suffixes: tuple[str, ...]) -> tuple[str, str]:
    """Keep an uploaded file under MEDIA_ROOT/imports/ with a random name (its own suffix if it is one
    of `suffixes`). Returns its name in storage and its SHA-256."""
    suffix = Path(upload.name or "").suffix.lower()
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    stored = default_storage.save(f"imports/{uuid.uuid4().hex}{suffix if suffix in suffixes else ''}", upload)
    return stored, digest.hexdigest()


def path_sha256(path: Path) -> str:
    """The SHA-256 of a file imported from a path (the command line, the drop folder), read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
