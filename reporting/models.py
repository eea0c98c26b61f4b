"""The BI feed's API tokens: an administrator issues one to a user for a Power BI or Excel query, and
revokes it. Only a hash of the token is stored; the token itself is shown once, when it is made."""

from __future__ import annotations

import hashlib
from typing import Self

from django.db import models


def token_hash(token: str) -> str:
    """SHA-256 of the token, hex. A token is 256 random bits (reporting.services.tokens), so a fast hash
    is enough: there is nothing to guess from a leaked hash, unlike a password."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def live(self) -> Self:
        """Not revoked, and held by an active user."""
        return self.filter(revoked_at__isnull=True, user__is_active=True)


class ApiToken(models.Model):
    user = models.ForeignKey(
        "pcn.User", on_delete=models.CASCADE, related_name="api_tokens", help_text="The figures are theirs: "
        "the feed shows the practices they are a member of."
    )  # fmt: skip
    name = models.CharField(max_length=100, help_text="What it is for, e.g. “Power BI PCN dashboard”.")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey("pcn.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        "pcn.User", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.user})"

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
