"""factory_boy factories. Every NHS number comes from the 999 test range."""

from datetime import date

import factory
from django_otp.plugins.otp_totp.models import TOTPDevice

from caseload.models import CareHome, CaseloadEpisode, Patient
from pcn.models import Membership, Practice, Role, User
from pcn.nhs_number import synthetic_sequence

_nhs_numbers = synthetic_sequence(start=500_000)


class PracticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Practice
        django_get_or_create = ("ods_code",)

    ods_code = factory.Sequence(lambda n: f"P{98000 + n:05d}")
    name = factory.Sequence(lambda n: f"Test Surgery {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.test")
    full_name = factory.Sequence(lambda n: f"Test User {n}")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    practice = factory.SubFactory(PracticeFactory)
    role = Role.COORDINATOR


class TOTPDeviceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TOTPDevice

    user = factory.SubFactory(UserFactory)
    name = "Test authenticator"
    confirmed = True


class CareHomeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CareHome

    name = factory.Sequence(lambda n: f"Test Care Home {n}")
    practice = factory.SubFactory(PracticeFactory)


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    nhs_number = factory.LazyFunction(lambda: next(_nhs_numbers))
    given_name = factory.Iterator(["Ada", "Bilal", "Chen", "Deborah", "Eilidh", "Farah", "Gareth"])
    family_name = factory.Iterator(["Okafor", "Smith", "Nowak", "Patel", "Jones", "Evans", "Kaur"])
    date_of_birth = factory.Sequence(lambda n: date(1930 + n % 70, 1 + n % 12, 1 + n % 28))
    sex = Patient.Sex.FEMALE
    practice = factory.SubFactory(PracticeFactory)


class CaseloadEpisodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CaseloadEpisode

    patient = factory.SubFactory(PatientFactory)
    coordinator = factory.SubFactory(UserFactory)
    opened_by = factory.SelfAttribute("coordinator")
    reason = CaseloadEpisode.Reason.RISK_LIST
