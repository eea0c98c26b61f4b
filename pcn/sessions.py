"""Database sessions that remember their user, so that deactivating a user ends all their sessions.

Django's documented way to extend the session model (AbstractBaseSession + a SessionStore subclass).
"""

from typing import Any, ClassVar, cast

from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


class UserSession(AbstractBaseSession):
    user_id = models.BigIntegerField(null=True, db_index=True)

    class Meta:
        app_label = "pcn"
        db_table = "pcn_user_session"

    @classmethod
    def get_session_store_class(cls) -> type["SessionStore"]:
        return SessionStore


class SessionStore(DBStore):
    model_class: ClassVar = UserSession

    @classmethod
    def get_model_class(cls) -> type[UserSession]:
        return UserSession

    def create_model_instance(self, data: dict[str, Any]) -> UserSession:
        # Django builds get_model_class()'s model, a UserSession; the stubs say only AbstractBaseSession.
        obj = cast(UserSession, super().create_model_instance(data))
        user_id = data.get("_auth_user_id")
        obj.user_id = int(user_id) if user_id else None
        return obj


def end_sessions_for(user_id: int) -> int:
    """Delete every session the user holds; returns how many there were."""
    deleted, _ = UserSession.objects.filter(user_id=user_id).delete()
    return deleted
