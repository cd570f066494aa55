"""The sign-in backends: Django's ModelBackend, loading the user with their therapist or patient, and
django-sesame's for patients' emailed sign-in links."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from sesame.backends import SesameBackendMixin

from accounts.models import User


class ModelBackendWithRole(ModelBackend):
    """Django's ModelBackend; the user of a logged-in request comes with their therapist or
    patient record and its clinic in the same query (reverse one-to-ones, Django's
    ``select_related``), so ``user.role``, the idle timeout and the pages' access checks ask
    the database nothing more. Everything else (passwords, permissions) is ModelBackend's."""

    def get_user(self, user_id: Any) -> User | None:
        """The active user with primary key ``user_id``, or None (unknown or inactive)."""
        user = (
            User._default_manager.select_related("therapist__clinic", "patient__clinic")
            .filter(pk=user_id)
            .first()
        )
        return user if user is not None and self.user_can_authenticate(user) else None


def may_sign_in_by_link(user: User) -> bool:
    """Whether emailed sign-in links are for ``user``: an active patient of a clinic that has
    not turned them off (``Clinic.sign_in_links``). Therapists, staff and users with no role
    always sign in with their password (and its lockout)."""
    patient = getattr(user, "patient", None)
    return bool(user.is_active and patient is not None and patient.clinic.sign_in_links)


class SignInLinkBackend(SesameBackendMixin, ModelBackendWithRole):  # type: ignore[misc]
    """django-sesame's backend for emailed sign-in links (accounts.signin).

    sesame finds the user by the key its token names (``SESAME_PRIMARY_KEY_FIELD``:
    ``User.sign_in_key``) through ``get_user``; a user who may not sign in by link
    (``may_sign_in_by_link``) is no one, so their token is refused like a forged one.
    A session is never logged in with this backend: the sign-in view logs the user in
    with ``ModelBackendWithRole``, as a password login does.
    """

    def get_user(self, user_id: Any) -> User | None:
        """The user whose ``sign_in_key`` is ``user_id`` (a UUID), if they may sign in by link; else None."""
        user = User._default_manager.select_related("patient__clinic").filter(sign_in_key=user_id).first()
        return user if user is not None and may_sign_in_by_link(user) else None
