"""The API token lookup's hand-written SELECT reads exactly what the ORM would."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from patients.api_tokens import api_token_create, user_for_key
from patients.models import ApiToken, Patient, Therapist, User


def _fields(instance: Model) -> dict[str, Any]:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def test_lookup_equals_the_orm_and_answers_relations_without_queries(
    personas: Any, django_assert_num_queries: Any
) -> None:
    for user in (personas.patient_a.user, personas.owner.user):
        key = api_token_create(user=user, name="lookup").key
        user_for_key(key)  # the first use records last_used_at
        with django_assert_num_queries(1):
            found = user_for_key(key)
            assert found is not None
            got_user, token = found
            patient = getattr(got_user, "patient", None)
            therapist = getattr(got_user, "therapist", None)
            assert token.user is got_user
        assert _fields(token) == _fields(ApiToken.objects.get(pk=token.pk))
        assert _fields(got_user) == _fields(User.objects.get(pk=user.pk))
        expected_patient = Patient.objects.filter(user=user).first()
        expected_therapist = Therapist.objects.filter(user=user).first()
        assert (patient and _fields(patient)) == (expected_patient and _fields(expected_patient))
        assert (therapist and _fields(therapist)) == (expected_therapist and _fields(expected_therapist))
        assert got_user._state.adding is False and got_user._state.db == "default"


def test_revoked_wrong_and_inactive_keys_find_no_one(personas: Any) -> None:
    user = personas.patient_a.user
    new = api_token_create(user=user, name="lookup")
    prefix = new.key.split(".")[0]
    assert user_for_key(f"{prefix}.not-the-secret") is None
    assert user_for_key("nosuchprefix.secret") is None
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert user_for_key(new.key) is None
    User.objects.filter(pk=user.pk).update(is_active=True)
    ApiToken.objects.filter(pk=new.token.pk).update(revoked_at="2026-01-01T00:00:00Z")
    assert user_for_key(new.key) is None
