"""API tokens: created and revoked by their user, shown once, stored hashed."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from accounts.models import ApiToken, User
from audit.services import audit_log
from portal.errors import DomainError
from portal.validity import shows_text

KEYWORD = "Bearer"


MAX_ACTIVE_TOKENS = 10


# last_used_at is a hint for the user, not an audit record; writing it on every
# request would add a write to every API read.
LAST_USED_GRANULARITY = timedelta(minutes=5)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def user_audit_scope(user: User) -> dict[str, Any]:
    """The clinic (and patient) a user's token events belong to, so the clinic's trail shows them."""
    therapist = getattr(user, "therapist", None)
    patient = getattr(user, "patient", None)
    if patient is not None:
        return {"patient": patient, "clinic": patient.clinic}
    return {"clinic": therapist.clinic if therapist is not None else None}


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    key: str  # shown to the user once, never stored


def tokens_for(*, user: User) -> QuerySet[ApiToken]:
    """Every API token of ``user``, revoked ones included (the page lists both), unordered."""
    return ApiToken.objects.filter(user=user)


@transaction.atomic
def api_token_create(*, user: User, name: str, ip: str | None = None) -> NewToken:
    """Make an API token for ``user``, named ``name`` (what will use it; spaces around it dropped).

    Returns the token and its key ``<prefix>.<secret>``, which is shown once and
    stored only as a SHA-256 hash. Writes an ``api_token.created`` audit entry.

    Raises DomainError: required (name), too_long (name: over 100 characters),
    token_limit (name: ``user`` already has ``MAX_ACTIVE_TOKENS``, 10, unrevoked tokens).
    """
    name = name.strip()
    if not shows_text(name):
        raise DomainError(
            "Give the token a name, such as the system that will use it.", field="name", code="required"
        )
    if len(name) > 100:
        raise DomainError("Keep the name to 100 characters or fewer.", field="name", code="too_long")
    # Lock the user's row so two concurrent requests cannot both pass the count.
    User.objects.select_for_update().filter(pk=user.pk).first()
    if ApiToken.objects.filter(user=user, revoked_at=None).count() >= MAX_ACTIVE_TOKENS:
        raise DomainError(
            f"You already have {MAX_ACTIVE_TOKENS} active tokens; revoke one first.",
            field="name",
            code="token_limit",
        )
    prefix = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=prefix, secret_hash=_hash(secret))
    audit_log(
        action="api_token.created",
        actor=user,
        obj=token,
        ip=ip,
        data={"name": name, "prefix": prefix},
        **user_audit_scope(user),
    )
    return NewToken(token=token, key=f"{prefix}.{secret}")


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int, ip: str | None = None) -> ApiToken:
    """Revoke ``user``'s token with id ``token_id``; revoking it again changes nothing. Returns the token.

    Raises ``ApiToken.DoesNotExist`` (the page answers 404) for a token of
    another user or no token at all; no DomainError.
    """
    token = ApiToken.objects.select_for_update().filter(user=user, pk=token_id).first()
    if token is None:
        raise ApiToken.DoesNotExist
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_log(
            action="api_token.revoked",
            actor=user,
            obj=token,
            ip=ip,
            data={"prefix": token.prefix},
            **user_audit_scope(user),
        )
    return token


def _live_token(prefix: str) -> ApiToken | None:
    """The unrevoked token with this prefix, with its user and the user's patient or therapist.

    One query: select_related follows the reverse one-to-ones too, so
    ``user.patient`` and ``user.therapist`` answer (or raise DoesNotExist) without another.
    """
    return (
        ApiToken.objects.select_related("user__patient", "user__therapist")
        .filter(prefix=prefix, revoked_at=None)
        .first()
    )


def user_for_key(key: str) -> tuple[User, ApiToken] | None:
    """The active user and live token that ``key`` (``<prefix>.<secret>``) belongs to, or None.

    None for a malformed key, an unknown or revoked prefix, a wrong secret
    (compared in constant time) or an inactive user. Writes the token's
    ``last_used_at`` at most once per ``LAST_USED_GRANULARITY``.
    """
    prefix, _, secret = key.partition(".")
    if not prefix or not secret or len(prefix) > 16 or len(secret) > 128:
        return None
    token = _live_token(prefix)
    if token is None or not hmac.compare_digest(token.secret_hash, _hash(secret)):
        return None
    if not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at > LAST_USED_GRANULARITY:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token.user, token


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <prefix>.<secret>``."""

    def authenticate(self, request: Request) -> tuple[User, ApiToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: expected 'Bearer <token>'.")
        try:
            key = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed("Invalid token header.") from exc
        found = user_for_key(key)
        if found is None:
            raise exceptions.AuthenticationFailed("Invalid or revoked token.")
        return found

    def authenticate_header(self, request: Request) -> str:
        return KEYWORD


def token_auth_scheme() -> dict[str, Any]:
    """The OpenAPI security scheme of ``ApiTokenAuthentication`` (HTTP bearer)."""
    return {"type": "http", "scheme": "bearer", "description": "An API token made on /account/tokens/."}


class ApiTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    target_class = "accounts.tokens.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return token_auth_scheme()
