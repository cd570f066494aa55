"""The sign-in backend: Django's ModelBackend, loading the user with their therapist or patient."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend

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
