"""API token authentication: one query finds the token, its user and their role; revoked,
wrong and inactive keys are 401; last_used_at is written at most once per few minutes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import ApiToken, User
from accounts.tokens import LAST_USED_GRANULARITY, api_token_create, user_for_key

pytestmark = pytest.mark.django_db


def _me(key: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    return client.get(reverse("api-me"))


def test_one_query_finds_the_user_and_answers_their_role_without_more(
    personas: Any, django_assert_num_queries: Any
) -> None:
    for user, patient, therapist in (
        (personas.patient_a.user, personas.patient_a, None),
        (personas.owner.user, None, personas.owner),
    ):
        key = api_token_create(user=user, name="lookup").key
        user_for_key(key)  # the first use records last_used_at
        with django_assert_num_queries(1):
            found = user_for_key(key)
            assert found is not None
            got_user, token = found
            got_patient = getattr(got_user, "patient", None)
            got_therapist = getattr(got_user, "therapist", None)
            assert token.user is got_user
        assert got_user.pk == user.pk and token.user_id == user.pk
        assert (got_patient and got_patient.pk) == (patient and patient.pk)
        assert (got_therapist and got_therapist.pk) == (therapist and therapist.pk)
        assert token.prefix == key.split(".")[0] and token.revoked_at is None


def test_revoked_wrong_unknown_and_inactive_keys_are_401(personas: Any) -> None:
    user = personas.patient_a.user
    new = api_token_create(user=user, name="lookup")
    prefix = new.key.split(".")[0]
    assert _me(new.key).status_code == 200
    for key in (f"{prefix}.not-the-secret", "nosuchprefix.secret"):
        assert user_for_key(key) is None
        assert _me(key).status_code == 401, key
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert user_for_key(new.key) is None
    assert _me(new.key).status_code == 401
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert _me(new.key).status_code == 200
    ApiToken.objects.filter(pk=new.token.pk).update(revoked_at=datetime(2026, 1, 1, tzinfo=UTC))
    assert user_for_key(new.key) is None
    response = _me(new.key)
    assert response.status_code == 401 and response["WWW-Authenticate"] == "Bearer"


def test_last_used_at_is_written_at_most_once_per_granularity(
    personas: Any, django_assert_num_queries: Any
) -> None:
    key = api_token_create(user=personas.owner.user, name="clock").key
    start = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

    def last_used() -> datetime | None:
        return ApiToken.objects.values_list("last_used_at", flat=True).get(prefix=key.split(".")[0])

    with time_machine.travel(start, tick=False), django_assert_num_queries(2):  # the lookup, the write
        assert user_for_key(key) is not None
    assert last_used() == start
    with time_machine.travel(start + LAST_USED_GRANULARITY, tick=False), django_assert_num_queries(1):
        assert user_for_key(key) is not None
    assert last_used() == start
    later = start + LAST_USED_GRANULARITY + timedelta(seconds=1)
    with time_machine.travel(later, tick=False), django_assert_num_queries(2):
        assert user_for_key(key) is not None
    assert last_used() == later
