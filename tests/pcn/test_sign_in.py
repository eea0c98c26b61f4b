from datetime import timedelta

import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from pcn.models import AuditEvent, UserSession
from pcn.services import user_deactivate
from tests.factories import MembershipFactory, UserFactory

PASSWORD = "correct-horse-battery"


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift):06d}"


def sign_in_with_password(client, email: str, password: str = PASSWORD):
    return client.post(reverse("login"), {"username": email, "password": password})


def test_first_sign_in_enrols_an_authenticator_then_reaches_home(client, practice_a):
    user = UserFactory(email="new@example.test")
    MembershipFactory(user=user, practice=practice_a)

    response = sign_in_with_password(client, "NEW@example.test")
    assert response.status_code == 302 and response["Location"] == reverse("home")
    # Home needs two-factor: an unverified user is sent to the code page, which enrols them first.
    response = client.get(reverse("home"))
    assert response["Location"] == reverse("two_factor") + "?next=%2F"
    response = client.get(response["Location"])
    assert response["Location"] == reverse("two_factor_setup") + "?next=%2F"

    page = client.get(reverse("two_factor_setup"))
    assert page.status_code == 200
    assert page.context["qr_data_uri"].startswith("data:image/svg+xml")
    device = TOTPDevice.objects.get(user=user, confirmed=False)

    wrong = client.post(
        reverse("two_factor_setup"), {"token": "000000" if code_for(device) != "000000" else "111111"}
    )
    assert wrong.status_code == 200
    assert wrong.context["form"].errors["token"] == [
        "That code is not right or has expired. Enter the newest code from your app."
    ]
    device.refresh_from_db()
    assert device.confirmed is False

    # django-otp throttles after a wrong code; the throttle is per device and lifts after a second.
    with time_machine.travel(timezone.now() + timedelta(seconds=5)):
        done = client.post(reverse("two_factor_setup"), {"token": code_for(device), "next": "/"})
        assert done.status_code == 302 and done["Location"] == "/"
        assert client.get(reverse("home")).status_code == 200
    device.refresh_from_db()
    assert device.confirmed is True


def test_returning_user_enters_a_code(client, coordinator):
    sign_in_with_password(client, coordinator.user.email)
    device = coordinator.user.totpdevice_set.get()

    response = client.post(reverse("two_factor"), {"token": code_for(device), "next": "/patients/"})

    assert response.status_code == 302 and response["Location"] == "/patients/"
    assert client.get(reverse("caseload:patient_list")).status_code == 200


def test_two_factor_refuses_an_off_site_next(client, coordinator):
    sign_in_with_password(client, coordinator.user.email)
    device = coordinator.user.totpdevice_set.get()
    response = client.post(
        reverse("two_factor"), {"token": code_for(device), "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("home")


def test_five_failed_sign_ins_lock_the_account(client, coordinator):
    for _ in range(4):
        response = sign_in_with_password(client, coordinator.user.email, "wrong-password")
        assert response.status_code == 200
        assert response.context["form"].non_field_errors() == [
            "Enter a correct email address and password. After 5 failed attempts the account is locked for 30 minutes."
        ]
    locked = sign_in_with_password(client, coordinator.user.email, "wrong-password")
    assert locked.status_code == 429
    # Even the right password is refused now, and nobody is signed in.
    again = sign_in_with_password(client, coordinator.user.email)
    assert again.status_code == 429
    assert b"Your account is locked for 30 minutes" in again.content
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_account_not_per_address(client, coordinator, clinical_lead):
    for _ in range(5):
        sign_in_with_password(client, coordinator.user.email, "wrong-password")
    # Another person at the same practice (same network address) can still sign in.
    response = sign_in_with_password(client, clinical_lead.user.email)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(clinical_lead.user.pk)


def test_sessions_end_after_30_idle_minutes(sign_in_as, coordinator):
    client = sign_in_as(coordinator)
    now = timezone.now()
    with time_machine.travel(now + timedelta(minutes=29)):
        assert client.get(reverse("home")).status_code == 200  # activity pushes expiry on
    with time_machine.travel(now + timedelta(minutes=58)):
        assert client.get(reverse("home")).status_code == 200
    with time_machine.travel(now + timedelta(minutes=58 + 31)):
        response = client.get(reverse("home"))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_deactivating_a_user_ends_their_sessions(sign_in_as, coordinator, administrator):
    client = sign_in_as(coordinator)
    assert UserSession.objects.filter(user_id=coordinator.user.pk).count() == 1

    assert user_deactivate(user=coordinator.user, by=administrator.user) == 1

    event = AuditEvent.objects.latest("id")
    assert (event.user, event.action, event.detail) == (
        administrator.user,
        "account.deactivate",
        {"target_user_id": coordinator.user.pk, "sessions_ended": 1},
    )
    assert UserSession.objects.filter(user_id=coordinator.user.pk).count() == 0
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    coordinator.user.refresh_from_db()
    assert coordinator.user.is_active is False


def test_deactivated_user_cannot_sign_in(client, coordinator):
    coordinator.user.is_active = False
    coordinator.user.save()
    response = sign_in_with_password(client, coordinator.user.email)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_sign_out(sign_in_as, coordinator):
    client = sign_in_as(coordinator)
    assert client.post(reverse("logout"))["Location"] == reverse("login")
    assert client.get(reverse("home"))["Location"].startswith(reverse("login"))


def test_password_reset_by_email(client, coordinator):
    response = client.post(reverse("password_reset"), {"email": coordinator.user.email})
    assert response["Location"] == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [coordinator.user.email]
    assert message.subject == "Reset your PCN Care Coordination password"
    link = next(line for line in message.body.splitlines() if "/accounts/password-reset/" in line).strip()
    path = link.split("testserver", 1)[1]

    form_page = client.get(path, follow=True)
    assert form_page.context["validlink"] is True
    new_password = "a-new-long-passphrase-42"
    done = client.post(
        form_page.redirect_chain[-1][0], {"new_password1": new_password, "new_password2": new_password}
    )
    assert done["Location"] == reverse("password_reset_complete")
    coordinator.user.refresh_from_db()
    assert coordinator.user.check_password(new_password)


def test_password_reset_says_the_same_for_an_unknown_address(client, coordinator):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.test"})
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []
