"""Writing the audit trail. Every patient-record view, list, export, download and change calls `audit`."""

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest

from pcn.models import AuditEvent, AuditEventPatient


def client_ip(request: HttpRequest) -> str | None:
    # Behind the production proxy REMOTE_ADDR is the proxy; gunicorn is started with
    # --forwarded-allow-ips so that REMOTE_ADDR is already the client's there.
    return request.META.get("REMOTE_ADDR") or None


def audit(
    request: HttpRequest | None,
    action: str,
    patients: Iterable[Any] = (),
    *,
    user: Any = None,
    **detail: Any,
) -> AuditEvent:
    """Append one audit event naming every patient touched (model instances or ids).

    Two queries whatever the number of patients: the event and one bulk insert of its links.
    """
    if request is not None:
        user = user or request.user
    event = AuditEvent.objects.create(
        user=user if getattr(user, "is_authenticated", False) else None,
        action=action,
        ip_address=client_ip(request) if request is not None else None,
        path=request.get_full_path()[:500] if request is not None else "",
        detail=detail,
    )
    patient_ids = {getattr(p, "pk", p) for p in patients}
    if patient_ids:
        AuditEventPatient.objects.bulk_create(
            AuditEventPatient(event=event, patient_id=pid) for pid in sorted(patient_ids)
        )
    return event


def audit_by(user: Any, action: str, patients: Iterable[Any] = (), **detail: Any) -> AuditEvent:
    """The audit event of a service: done by `user`, outside any request (services take none)."""
    return audit(None, action, patients, user=user, **detail)
