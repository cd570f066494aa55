"""The cache and what is counted or kept in it: rate limits, message-email throttles, the
attention list."""

from __future__ import annotations

from portal.settings.env import REDIS_URL, VAR_DIR, envint

# Caches: Redis when REDIS_URL is set; otherwise files under var/, which the
# web, worker and beat processes of `make run` all see (a per-process memory
# cache would give each its own rate-limit counters).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "plinth",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }


# How long a clinic's ranked attention list is reused (alerts.attention_cache); any
# alert raised, acknowledged or cleared shows at once regardless. 0: never cached.
PLINTH_ATTENTION_CACHE_SECONDS = envint("PLINTH_ATTENTION_CACHE_SECONDS", 60)

# Rate limits: (requests, per seconds). Login, login failures and password reset are
# counted per client address by django-ratelimit in the default cache (accounts.limits);
# check-ins per patient, from the audit trail, by the check-in service (today.services).
PLINTH_RATE_LIMITS: dict[str, tuple[int, int]] = {
    "login": (envint("PLINTH_RATE_LOGIN", 20), 60),
    "login_failures": (envint("PLINTH_RATE_LOGIN_FAILURES", 30), 60 * 60),
    "password_reset": (envint("PLINTH_RATE_PASSWORD_RESET", 5), 15 * 60),
    # Asking for an emailed sign-in link: per client address (past it, 429), and per email
    # address typed (past it, the same "check your email" page, but no email is sent).
    "sign_in_link": (envint("PLINTH_RATE_SIGN_IN_LINK", 10), 15 * 60),
    "sign_in_link_account": (envint("PLINTH_RATE_SIGN_IN_LINK_ACCOUNT", 3), 15 * 60),
    "checkin": (envint("PLINTH_RATE_CHECKIN", 30), 60),
    # Messages per sender, from the messages themselves (conversations.services).
    "message": (envint("PLINTH_RATE_MESSAGE", 10), 60),
    # Questionnaire drafts kept per patient, page and API together (questionnaires.services).
    "questionnaire_draft": (envint("PLINTH_RATE_QUESTIONNAIRE_DRAFT", 30), 60),
}

# Message emails (conversations.notify): at most one per conversation per recipient in
# this many seconds, and none while the recipient has looked at the conversation (a page
# open or a poll) within the last PLINTH_MESSAGE_READING_SECONDS.
PLINTH_MESSAGE_NOTIFY_SECONDS = envint("PLINTH_MESSAGE_NOTIFY_SECONDS", 60 * 60)
PLINTH_MESSAGE_READING_SECONDS = envint("PLINTH_MESSAGE_READING_SECONDS", 60)
# A counter the cache fails to return lets the request through, as an unreachable
# cache does (accounts.limits): a limiter outage must not become a login outage.
RATELIMIT_FAIL_OPEN = True
SILENCED_SYSTEM_CHECKS = [
    # Django's own RedisCache increments with Redis's atomic INCR; django-ratelimit's
    # list of supported backends names only the django-redis package's.
    "django_ratelimit.W001",
]
if not REDIS_URL:
    # The embedded default's file cache increments without a lock: two logins at the
    # same instant may count once. Accepted on one machine with a handful of users.
    SILENCED_SYSTEM_CHECKS.append("django_ratelimit.E003")
