"""How each route of the authorization matrix is called: its URL arguments, built from the
shared World (tests/world.py) of two clinics and their patients (tests/portal/routes.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.models import Patient
from accounts.services import _new_invitation
from reminders.preferences import optout_token
from tests.world import World

Args = Callable[[World], dict[str, Any]]


def none(w: World) -> dict[str, Any]:
    return {}


def plan_a(w: World) -> dict[str, Any]:
    return {"plan_id": w.plan_a.pk}


def plan_item_a(w: World) -> dict[str, Any]:
    return {"plan_id": w.plan_a.pk, "plan_exercise_id": w.item_a.pk}


def peg_response_a(w: World) -> dict[str, Any]:
    return {"pk": w.peg_a.responses.get().pk}


def patient_a(w: World) -> dict[str, Any]:
    return {"patient_id": w.p.patient_a.pk}


def own_media(w: World) -> dict[str, Any]:
    return {"slug": w.own_exercise.slug, "key": w.own_media.key}


def pk(attr: str) -> Args:
    def args(w: World) -> dict[str, Any]:
        return {"pk": getattr(w, attr).pk}

    return args


def fhir_id(obj: Callable[[World], Any]) -> Args:
    def args(w: World) -> dict[str, Any]:
        return {"resource_id": obj(w).pk}

    return args


def reset_link(w: World) -> dict[str, Any]:
    user = w.p.patient_a.user
    return {
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }


def invitation_link(w: World) -> dict[str, Any]:
    return {"token": _new_invitation(patient=w.p.patient_a, by=w.p.owner.user)}


def optout_link(w: World) -> dict[str, Any]:
    return {"token": optout_token(w.p.patient_a.pk)}


def view_on_site(w: World) -> dict[str, Any]:
    return {"content_type_id": ContentType.objects.get_for_model(Patient).pk, "object_id": w.p.patient_a.pk}


# name: (method, arguments, expected statuses in PERSONAS order)
