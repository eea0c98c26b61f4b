"""Services of the core app: accounts and two-factor enrolment.

`user_deactivate` ends every session of a deactivated user; `totp_device_for_enrolment` and
`totp_device_confirm` take a first-time user through setting up their authenticator app.
"""

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from pcn.audit import audit_by
from pcn.models import User
from pcn.sessions import end_sessions_for

TOTP_DEVICE_NAME = "Authenticator app"


@transaction.atomic
def user_deactivate(*, user: User, by: User | None) -> int:
    """Deactivate `user` and end every session they hold; returns how many sessions were ended."""
    if user.is_active:
        user.is_active = False
        user.save(update_fields=["is_active"])
    ended = end_sessions_for(user.pk)
    audit_by(by, "account.deactivate", target_user_id=user.pk, sessions_ended=ended)
    return ended


def totp_device_for_enrolment(*, user: User) -> TOTPDevice:
    """The user's unconfirmed authenticator, created on first use; the same one until it is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice) -> TOTPDevice:
    """Mark the device confirmed once the user has entered a right code from it."""
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    audit_by(device.user, "account.two_factor_enrol")
    return device
