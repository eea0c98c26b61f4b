"""The demo's recall year in progress: every state a coordinator works is there on first sign-in."""

from datetime import date

import pytest
import time_machine

from demo.services import demo_pcn_seed
from recall.models import Appointment, Invitation, InvitationBatch, RecallEntry

pytestmark = pytest.mark.django_db


@time_machine.travel(date(2026, 11, 23), tick=False)
def test_the_demo_recall_year_has_every_state_and_a_consistent_ledger(settings):
    settings.DEMO_MODE = True
    demo_pcn_seed(patients=600, practices=2, seed=1)

    states = set(RecallEntry.objects.values_list("state", flat=True))
    assert states == {"due", "invited", "excepted", "booked", "seen", "pca"}
    assert set(Appointment.objects.values_list("outcome", flat=True)) == {"booked", "attended", "dna"}
    assert RecallEntry.objects.filter(register__kind="screening", state__in=["invited", "excepted"]).exists()
    assert RecallEntry.objects.filter(register__key="af").exists()  # the AF register has patients
    # Each entry's count is its ledger rows, and the batches count what they hold.
    for entry in RecallEntry.objects.filter(invitations__gt=0)[:50]:
        rows = Invitation.objects.filter(entry=entry).order_by("sequence")
        assert [row.sequence for row in rows] == list(range(1, entry.invitations + 1))
        assert entry.last_invited_on == max(row.sent_on for row in rows)
    for batch in InvitationBatch.objects.all()[:20]:
        assert batch.invitation_count == batch.invitations.count()
        assert batch.sent_on < date(2026, 11, 23)
    # Booked entries have an appointment still to come; seen ones here an attended appointment.
    booked = RecallEntry.objects.filter(state="booked")
    assert all(
        e.appointments.filter(outcome="booked", starts_at__date__gt=date(2026, 11, 23)).exists()
        for e in booked
    )
    seen_here = RecallEntry.objects.filter(state="seen", seen_source="here")
    assert all(e.appointments.filter(outcome="attended", review_done=True).exists() for e in seen_here[:50])
