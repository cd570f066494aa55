"""Signing in by emailed link (Plinth issue 19): patients may ask the login page for a link
that signs them in once, within 15 minutes, on any device. Opening the link shows a page with a
"Sign in" button; only pressing it (a POST) signs in and uses the link up, so an email scanner
or a link preview that fetches the link spends nothing and gets no session.

The token scheme is django-sesame's (settings ``SESAME_*``): an HMAC over the user's
``sign_in_key``, the time it was made, their password hash and their last login, in the
scope ``SIGN_IN_SCOPE``. So a link stops working when it is 15 minutes old, when anyone
signs in as the user (it was used, or they logged in since), when the password changes,
when the account is deactivated or its clinic turns links off (``SignInLinkBackend``
refuses the user), and when the user logs out everywhere (a new ``sign_in_key``: the
link names nobody). Nothing of the browser that asked is in it.

Why ``sign_in_key`` and not a scope derived from a "log out everywhere" generation:
sesame checks the scope it is given before it knows whose token it reads, so a scope
cannot depend on the user; the key the token names is sesame's supported hook
(``SESAME_PRIMARY_KEY_FIELD``) that can.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from sesame.utils import get_query_string, get_user

from accounts.backends import may_sign_in_by_link
from accounts.models import User
from audit.services import audit_log

log = logging.getLogger(__name__)

#: The sesame scope of login links: a token made for another purpose never signs anyone in here.
SIGN_IN_SCOPE = "sign-in"

#: How long a link works, in minutes (``SESAME_MAX_AGE``, for the email's and the page's words).
LINK_MINUTES = 15

#: What the login page says when a link does not work, whatever the reason (the reason is
#: not told: it would say whether the address has an account).
LINK_REFUSED = "This sign-in link has expired or was already used. Ask for a new one."


def sign_in_url(user: User) -> str:
    """The full URL (``SITE_URL`` + path + ``?sesame=<token>``) of a new sign-in link for ``user``."""
    query: str = get_query_string(user, scope=SIGN_IN_SCOPE)
    return settings.SITE_URL + reverse("sign-in-link") + query


def sign_in_link_send(*, email: str, ip: str | None = None) -> bool:
    """Email a sign-in link to the account with address ``email``, if links are for it.

    ``email``: as typed; matched without regard to case. Sends only to an active
    patient whose clinic allows links (``may_sign_in_by_link``); for anyone else
    (no account, a therapist, staff, a deactivated account) it does nothing and says
    nothing, so the caller's answer cannot tell them apart. Writes one
    ``auth.sign_in_link_sent`` audit entry when it sends. Returns whether it sent.
    A failure of the mail server is logged, not raised: the asker sees the same page.
    """
    user = (
        User.objects.select_related("patient__clinic")
        .filter(email__iexact=email.strip(), is_active=True)
        .first()
    )
    if user is None or not may_sign_in_by_link(user):
        return False
    clinic = user.patient.clinic
    body = (
        f"Hello {user.get_short_name()},\n\n"
        "Open this link to sign in to Plinth:\n\n"
        f"{sign_in_url(user)}\n\n"
        f"The link works once, within {LINK_MINUTES} minutes, on this or any other device.\n"
        "If it has expired, the login page lets you ask for a new one.\n\n"
        f"{clinic.contact_paragraph()}"
        "If you did not ask to sign in, you can ignore this email: nobody can sign in without the link.\n"
    )
    try:
        send_mail(f"Your sign-in link for {clinic.name}", body, None, [user.email])
    except Exception:
        log.exception("sign-in link email to user %s failed", user.pk)
        return False
    audit_log(action="auth.sign_in_link_sent", actor=None, obj=user.patient, ip=ip)
    return True


def sign_in_link_user(*, token: str) -> User | None:
    """The patient a sign-in link's ``token`` would sign in, the link left unused; None if it does not work.

    ``token``: the ``sesame`` parameter of the link. None for a token that is forged,
    more than 15 minutes old, already used (or the user signed in since), made before
    a password change or a log-out-everywhere, or whose user may not sign in by link.
    Opening the link (GET) asks only this: email scanners and link previews fetch links
    by themselves, so a GET must neither sign in nor use the link up
    (``update_last_login=False``: a one-time token ends when the last login changes).
    """
    user = get_user(token, scope=SIGN_IN_SCOPE, update_last_login=False)
    return user if isinstance(user, User) else None


def sign_in_link_use(*, token: str, ip: str | None = None) -> User | None:
    """The patient a sign-in link's ``token`` signs in, using the link up; None if it does not work.

    ``token``: as for ``sign_in_link_user``, which says when it does not work; called
    when the patient presses "Sign in" (POST). Single use even when the link is used
    twice at once: the last login the token was checked against is replaced only if
    no one replaced it first. Writes one ``auth.signed_in_by_link`` entry. The caller
    logs the user in.
    """
    user = sign_in_link_user(token=token)
    if user is None:
        return None
    with transaction.atomic():
        now = timezone.now()
        used = User.objects.filter(pk=user.pk, last_login=user.last_login).update(last_login=now)
        if not used:
            return None
        user.last_login = now
        audit_log(action="auth.signed_in_by_link", actor=user, obj=user.patient, ip=ip)
    return user
