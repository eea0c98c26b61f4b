"""Issuing, revoking and checking the BI feed's API tokens (reporting.models.ApiToken)."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from pcn.audit import audit_by
from pcn.models import User
from pcn.permissions import Perm, has_perm
from reporting.models import ApiToken, token_hash

TOKEN_PREFIX = "pcnbi_"  # noqa: S105 — a label, not a secret; says what a token is when one turns up in a file or a secret scanner


@transaction.atomic
def api_token_create(*, user: User, name: str, by: User) -> tuple[ApiToken, str]:
    """A new token for `user`: the row, and the token itself (shown once, never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    made = ApiToken.objects.create(user=user, name=name, token_hash=token_hash(token), created_by=by)
    audit_by(by, "report.token.create", token=made.pk, holder=user.pk, name=name)
    return made, token


@transaction.atomic
def api_token_revoke(*, token: ApiToken, by: User) -> ApiToken:
    """Revoke `token` (once: revoking it again changes nothing)."""
    locked = ApiToken.objects.select_for_update().get(pk=token.pk)
    if locked.revoked_at is None:
        locked.revoked_at, locked.revoked_by = timezone.now(), by
        locked.save(update_fields=["revoked_at", "revoked_by"])
        audit_by(by, "report.token.revoke", token=locked.pk, holder=locked.user_id)
    return locked


def api_token_authenticate(*, header: str) -> ApiToken | None:
    """The live token an `Authorization: Bearer …` header carries, else None; marks it used.

    None too when its holder may no longer see PCN figures (a role taken away)."""
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value.startswith(TOKEN_PREFIX):
        return None
    found = ApiToken.objects.live().select_related("user").filter(token_hash=token_hash(value)).first()
    if found is None or not has_perm(found.user, Perm.VIEW_PCN_FIGURES):
        return None
    found.last_used_at = timezone.now()
    ApiToken.objects.filter(pk=found.pk).update(last_used_at=found.last_used_at)
    return found
