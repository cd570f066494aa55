"""Account services' refusals name their rule: each DomainError code (and field) is part of the contract."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from accounts.models import Invitation, Patient, User
from accounts.services import invitation_accept, invitation_resend, patient_invite, token_hash
from accounts.tokens import MAX_ACTIVE_TOKENS, api_token_create
from portal.errors import DomainError
from tests.factories import PatientFactory, UserFactory

pytestmark = pytest.mark.django_db


def _invite(p: Any, **changes: Any) -> Patient:
    values: dict[str, Any] = {
        "clinic": p.clinic,
        "by": p.owner,
        "full_name": "Nina Newcomer",
        "email": "nina@example.test",
        "timezone": "Europe/London",
        "reminder_time": time(8, 30),
    } | changes
    return patient_invite(**values)


def _link(p: Any, *, days: int = 7, used: bool = False) -> str:
    """A link of a new patient without a password, expiring ``days`` from now; returns its token."""
    patient = PatientFactory(clinic=p.clinic, therapist=p.owner, user__password=None)
    token = f"token-{patient.pk}-{days}-{used}"
    now = timezone.now()
    Invitation.objects.create(
        patient=patient,
        token_hash=token_hash(token),
        expires_at=now + timedelta(days=days),
        used_at=now if used else None,
    )
    return token


def _full_of_tokens(user: User) -> User:
    for number in range(MAX_ACTIVE_TOKENS):
        api_token_create(user=user, name=f"System {number}")
    return user


CASES: dict[str, tuple[Callable[[Any], object], str, str | None]] = {
    "adding to another clinic": (lambda p: _invite(p, clinic=p.other_clinic), "other_clinic", None),
    "no name": (lambda p: _invite(p, full_name="  "), "required", "full_name"),
    "no email": (lambda p: _invite(p, email=" "), "required", "email"),
    "an unknown zone": (lambda p: _invite(p, timezone="Mars/Olympus"), "unknown_zone", "timezone"),
    "a patient of this clinic": (
        lambda p: _invite(p, email=p.patient_a.user.email.upper()),
        "email_in_caseload",
        "email",
    ),
    "a therapist's address": (
        lambda p: _invite(p, email=p.outsider.user.email),
        "email_unavailable",
        "email",
    ),
    "resending for another clinic": (
        lambda p: invitation_resend(patient=p.patient_a, by=p.outsider),
        "not_found",
        None,
    ),
    "resending to a patient with a password": (
        lambda p: invitation_resend(patient=p.patient_a, by=p.owner),
        "password_already_set",
        None,
    ),
    "an unknown link": (
        lambda p: invitation_accept(token="no-such-token", password="plinth-sunrise-walk-42"),
        "invalid",
        None,
    ),
    "a used link": (
        lambda p: invitation_accept(token=_link(p, used=True), password="plinth-sunrise-walk-42"),
        "used",
        None,
    ),
    "an expired link": (
        lambda p: invitation_accept(token=_link(p, days=-1), password="plinth-sunrise-walk-42"),
        "expired",
        None,
    ),
    "a common password": (
        lambda p: invitation_accept(token=_link(p), password="password"),
        "password_invalid",
        "password",
    ),
    "a token without a name": (
        lambda p: api_token_create(user=p.owner.user, name=" "),
        "required",
        "name",
    ),
    "a token name over 100 characters": (
        lambda p: api_token_create(user=p.owner.user, name="x" * 101),
        "too_long",
        "name",
    ),
    "one token too many": (
        lambda p: api_token_create(user=_full_of_tokens(UserFactory()), name="One more"),
        "token_limit",
        "name",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_refusal_names_its_rule_and_field(personas: Any, case: str) -> None:
    act, code, field = CASES[case]
    with pytest.raises(DomainError) as refused:
        act(personas)
    assert (refused.value.code, refused.value.field) == (code, field)
