"""Reads for patients. Therapist reads start from the clinic; patient reads from the patient."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.models import Clinic, Invitation, Patient, Therapist
from accounts.services import token_hash
from audit.services import audit_read

# --- tenant access: one queryset and one access function per object kind ----------------
#
# Every therapist-facing page and API view reaches patient data through these (and
# careplans.selectors.clinic_plans / plan_for_clinic / plan_exercise_of): a queryset
# for lists, and for one object a function that answers 404 for another clinic's id
# (never 403, which would confirm it exists) and notes the read for the audit trail.
# tests/api/test_tenant_access.py fails if a view or API module filters by clinic itself.


def clinic_patients(*, clinic: Clinic) -> QuerySet[Patient]:
    """The only way into patients for therapists: ``clinic``'s patients, user, clinic and therapist loaded.

    Another clinic's patient is not in it. Notes no read: callers that show the
    rows note them (``patient_for_clinic``, the API's pages).
    """
    return Patient.objects.filter(clinic=clinic).select_related("user", "clinic", "therapist__user")


def clinic_therapist_names(*, clinic: Clinic) -> list[tuple[int, str]]:
    """``clinic``'s therapists as (id, name shown: full name, else email), by name (one query)."""
    rows = Therapist.objects.filter(clinic=clinic).values_list("pk", "user__full_name", "user__email")
    return sorted(((pk, name or email) for pk, name, email in rows), key=lambda row: row[1].lower())


def patient_for_clinic(*, clinic: Clinic, patient_id: int) -> Patient:
    """A patient of ``clinic`` to show a therapist; raises Http404 for any other id.

    The read is noted for the audit trail (audit.services.audit_read).
    """
    patient = get_object_or_404(clinic_patients(clinic=clinic), pk=patient_id)
    audit_read([patient])
    return patient


def invitation_for_token(*, token: str) -> Invitation | None:
    """The invitation whose link carries the raw ``token`` (matched by its hash), patient's user loaded;
    None for an unknown token. Used or expired invitations are returned too: the page explains them."""
    return Invitation.objects.select_related("patient__user").filter(token_hash=token_hash(token)).first()


def pending_invitation(*, patient: Patient) -> Invitation | None:
    """The patient's most recent invitation, in whatever state (used, expired, live), or None."""
    return patient.invitations.order_by("-created_at").first()


@dataclass(frozen=True)
class InvitationStatus:
    """Where a patient's account stands, for the therapist: ``state`` and the latest link, if any.

    ``state``: "accepted" (a password is set), "pending" (a live link waits to be used),
    "expired" (no live link: the last one expired, or was purged after it did) or "closed"
    (the account is deactivated).
    """

    state: str
    invitation: Invitation | None

    @property
    def can_resend(self) -> bool:
        """Whether accounts.services.invitation_resend would send a new link (not joined, not closed)."""
        return self.state in ("pending", "expired")


def invitation_status(*, patient: Patient) -> InvitationStatus:
    """The patient's account state and latest invitation (one query; the user must be loaded)."""
    invitation = pending_invitation(patient=patient)
    user = patient.user
    if not user.is_active:
        return InvitationStatus("closed", invitation)
    if user.has_usable_password() or (invitation is not None and invitation.used_at is not None):
        return InvitationStatus("accepted", invitation)
    if invitation is not None and invitation.expires_at > timezone.now():
        return InvitationStatus("pending", invitation)
    return InvitationStatus("expired", invitation)
