"""When a user's credentials end: a new password, a deactivated account, and logging out everywhere.

Each is one service that the pages and the admin call in the transaction that
made the change, so no path (reset link, password change, the admin setting a
password or unticking "active") leaves a credential working that should not.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from accounts.models import ApiToken, Invitation, User
from accounts.tokens import user_audit_scope
from audit.services import audit_log


@dataclass(frozen=True)
class EndedCredentials:
    """How many of each credential a service ended (for the page to say so)."""

    api_tokens: int = 0
    invitations: int = 0
    sessions: int = 0


def _revoke_api_tokens(user: User) -> int:
    return ApiToken.objects.filter(user=user, revoked_at=None).update(revoked_at=timezone.now())


def _end_sessions(user: User) -> int:
    """Delete every stored session logged in as ``user``; returns how many.

    Sessions are not indexed by user (Django's database session store keeps
    them opaque), so the live ones are read once. Deactivation is a rare staff
    action, and a deleted row cannot come back to life if the account is
    reactivated, which "inactive users are refused" alone would allow.
    """
    mine = [
        session.session_key
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500)
        if session.get_decoded().get(SESSION_KEY) == str(user.pk)
    ]
    return Session.objects.filter(session_key__in=mine).delete()[0] if mine else 0


@transaction.atomic
def user_password_changed(*, user: User, actor: User | None, ip: str | None, via: str) -> EndedCredentials:
    """End what a new password must end; call it in the transaction that saved the password.

    ``via`` names the path for the audit trail: "reset", "change", "admin" or
    "invitation". Revokes every live API token of ``user`` (a token made before a
    reset must not outlive it) and writes one ``user.password_changed`` entry.
    Returns the counts ended. Two credentials end without this service, by
    Django's design: the user's other sessions (each carries an HMAC of the old
    password hash, checked on every request) and pending password-reset links
    (their token is built from the password hash).
    """
    revoked = _revoke_api_tokens(user)
    audit_log(
        action="user.password_changed",
        actor=actor,
        obj=user,
        ip=ip,
        data={"via": via, "api_tokens_revoked": revoked},
        **user_audit_scope(user),
    )
    return EndedCredentials(api_tokens=revoked)


@transaction.atomic
def user_deactivate(*, user: User, by: User | None, ip: str | None) -> EndedCredentials:
    """Deactivate ``user`` and end every credential they hold; safe to call again.

    Sets ``is_active`` false, retires pending invitations (their links then
    answer 410), draws a new ``sign_in_key`` (emailed sign-in links name nobody,
    even if the account is reactivated), revokes API tokens, deletes their sessions, and writes one
    ``user.deactivated`` entry with the counts. Password-reset emails are not
    sent to inactive accounts (Django's PasswordResetForm skips them) and login
    refuses them. Returns the counts ended.
    """
    user.sign_in_key = uuid.uuid4()
    User.objects.filter(pk=user.pk).update(is_active=False, sign_in_key=user.sign_in_key)
    user.is_active = False
    now = timezone.now()
    invitations = Invitation.objects.filter(
        patient__user=user, used_at__isnull=True, expires_at__gt=now
    ).update(expires_at=now)
    ended = EndedCredentials(
        api_tokens=_revoke_api_tokens(user), invitations=invitations, sessions=_end_sessions(user)
    )
    audit_log(
        action="user.deactivated",
        actor=by,
        obj=user,
        ip=ip,
        data={
            "api_tokens_revoked": ended.api_tokens,
            "invitations_retired": ended.invitations,
            "sessions_ended": ended.sessions,
        },
        **user_audit_scope(user),
    )
    return ended


@transaction.atomic
def user_log_out_everywhere(*, user: User, ip: str | None) -> EndedCredentials:
    """End every session of ``user`` (this one too) and every sign-in link emailed to them.

    Draws a new ``User.sign_in_key``: the links sent before name the old key, so
    django-sesame finds no one for them (accounts.signin). API tokens and the password
    stay. Writes one ``auth.logged_out_everywhere`` entry with the sessions ended.
    Returns the counts ended.
    """
    user.sign_in_key = uuid.uuid4()
    User.objects.filter(pk=user.pk).update(sign_in_key=user.sign_in_key)
    ended = EndedCredentials(sessions=_end_sessions(user))
    audit_log(
        action="auth.logged_out_everywhere",
        actor=user,
        obj=user,
        ip=ip,
        data={"sessions_ended": ended.sessions},
        **user_audit_scope(user),
    )
    return ended


def revoked_tokens_message(count: int, *, own: bool) -> str:
    """``"Your 2 API tokens were revoked; ..."`` (or "Their" when staff acted), for the page."""
    whose = "Your" if own else "Their"
    noun = "API token was" if count == 1 else "API tokens were"
    return f"{whose} {count} {noun} revoked with the new password; make new ones on the API tokens page."
