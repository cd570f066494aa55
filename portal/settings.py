"""Plinth settings, read from the environment.

With nothing set, Plinth runs on one machine with nothing installed: SQLite,
a filesystem Celery broker and email written to files, all under ``var/``.
``DATABASE_URL``, ``REDIS_URL`` and ``EMAIL_HOST`` switch to PostgreSQL, Redis
and real SMTP; ``PLINTH_ENV=production`` turns on the production checklist.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

from portal.proxies import parse_trusted_proxies

# Lets admin.ModelAdmin[Model] and friends be subscripted at run time, for mypy.
django_stubs_ext.monkeypatch()

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PLINTH_VAR_DIR", BASE_DIR / "var"))


def envbool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def envlist(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


PLINTH_ENV = os.environ.get("PLINTH_ENV", "development")
PRODUCTION = PLINTH_ENV == "production"
DEBUG = envbool("DEBUG", default=not PRODUCTION)


def _secret_key() -> str:
    key = os.environ.get("SECRET_KEY", "")
    if PRODUCTION:
        if len(key) < 50 or len(set(key)) < 5:
            raise ImproperlyConfigured("PLINTH_ENV=production needs SECRET_KEY (50+ random chars)")
        return key
    if key:
        return key
    # A development secret generated once and kept, so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(64))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "" if PRODUCTION else "localhost,127.0.0.1,[::1],testserver")
if PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("PLINTH_ENV=production needs ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS")
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "portal.apps.PlinthAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "csp",
    "django_ratelimit",
    "easy_thumbnails",
    # Plinth's apps, lowest first: each imports only apps above it in this list (docs/architecture.md).
    "audit",
    "accounts",
    "library",
    "careplans",
    "checkins",
    "questionnaires",
    "outcomes",
    "alerts",
    "reminders",
    "conversations",
    "today",
    "caseload",
    "fhir_r4",
    "portal.apps.PortalConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Every authenticated response is Cache-Control: no-store, private (portal.caching).
    "portal.caching.NoStoreMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # Before any view reads a parameter: NUL characters and non-UTF-8 bytes are a 400.
    "portal.input_guard.BadInputMiddleware",
    # An HTMX request whose session has ended goes to the login page and back (issue 15).
    "accounts.middleware.HtmxLoginRedirectMiddleware",
    "accounts.middleware.IdleLogoutMiddleware",
    "audit.middleware.AuditReadMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as django-axes requires: it turns a lockout into the response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "portal" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]
# After a failed submit the first field with an error has the focus (portal.forms).
FORM_RENDERER = "portal.forms.PlinthFormRenderer"

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"].endswith("postgresql"):
        # A database host that does not answer must fail fast (healthz, requests), not hang.
        DATABASES["default"].setdefault("OPTIONS", {})["connect_timeout"] = envint(
            "DATABASE_CONNECT_TIMEOUT", 5
        )
        # Parameters bound by the server and statements prepared on their second run
        # in a connection: the planner's work on the API's every-request statements
        # (token lookup, check-in) is then done once per connection, not per request.
        # Behind a pooler in transaction mode (pgbouncer), set DATABASE_PREPARED=false.
        if envbool("DATABASE_PREPARED", True):
            DATABASES["default"]["OPTIONS"].update(server_side_binding=True, prepare_threshold=2)
        # PostgreSQL's JIT compiler is for long analytic queries. Plinth's are short, but the
        # outcome definition's correlated subqueries estimate costs past the JIT thresholds,
        # and compiling them takes seconds in every backend, every time (measured: the
        # attention list's stale-plan figures, 92 ms without JIT, 2.1 s with it).
        if not envbool("DATABASE_JIT", False):
            DATABASES["default"]["OPTIONS"]["options"] = "-c jit=off"
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "plinth.sqlite3"),
            # WAL lets the web app, the worker and beat share the file.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Counts failed logins and refuses a locked account before the password is checked.
    "accounts.security.LockoutBackend",
    # ModelBackend, loading the user's therapist or patient record with them (one query).
    "accounts.backends.ModelBackendWithRole",
    # Emailed sign-in links (django-sesame), for patients of clinics that allow them only.
    "accounts.backends.SignInLinkBackend",
]
# Sign-in links (django-sesame; accounts.signin): a link works within 15 minutes, once (its
# token is bound to the user's last login, which signing in changes), not after a new password
# (bound to the password hash) nor for an inactive account (the backend refuses it). It names
# the user by User.sign_in_key, which logging out everywhere replaces, so older links name
# nobody. It depends on nothing in the browser that asked, so it works on any device.
SESAME_MAX_AGE = 15 * 60
SESAME_ONE_TIME = True
SESAME_INVALIDATE_ON_PASSWORD_CHANGE = True
SESAME_PRIMARY_KEY_FIELD = "sign_in_key"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
PASSWORD_RESET_TIMEOUT = 60 * 60 * 24

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
# portal/ is the project, not an installed app, so its static folder is named here.
STATICFILES_DIRS = [BASE_DIR / "portal" / "static"]
STATIC_ROOT = VAR_DIR / "static"
# Exercise pictures and videos (library.media): files under var/media, or in an S3-compatible
# bucket when MEDIA_S3_BUCKET is set (django-storages; credentials from AWS_* variables). Never
# served by URL: library.media_views checks who asks, so MEDIA_URL is only a name prefix.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_URL = "/media-files/"
MEDIA_STORAGE: dict[str, Any] = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if os.environ.get("MEDIA_S3_BUCKET"):
    MEDIA_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": os.environ["MEDIA_S3_BUCKET"],
            "endpoint_url": os.environ.get("MEDIA_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("MEDIA_S3_REGION") or None,
            "default_acl": "private",
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
EXERCISE_IMAGE_MAX_BYTES = envint("EXERCISE_IMAGE_MAX_BYTES", 10 * 1024 * 1024)
EXERCISE_VIDEO_MAX_BYTES = envint("EXERCISE_VIDEO_MAX_BYTES", 50 * 1024 * 1024)
# Hosts a video link may point to instead of an upload (https only).
EXERCISE_VIDEO_HOSTS = envlist(
    "EXERCISE_VIDEO_HOSTS", "www.youtube.com,youtube.com,youtu.be,vimeo.com,player.vimeo.com"
)
# The sizes pages show (library.media.THUMBNAIL_SIZES names them), made once at upload.
THUMBNAIL_ALIASES = {
    "": {
        "card": {"size": (320, 240), "crop": "smart"},
        "page": {"size": (960, 720)},
    }
}
THUMBNAIL_PRESERVE_EXTENSIONS = ("png", "webp")

STORAGES = {
    "default": MEDIA_STORAGE,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# Email: real SMTP when EMAIL_HOST is set, otherwise files under var/mail/.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Plinth <no-reply@plinth.local>")
if EMAIL_HOST:
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_PORT = envint("EMAIL_PORT", 25)
    EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
    EMAIL_USE_TLS = envbool("EMAIL_USE_TLS")
    EMAIL_TIMEOUT = envint("EMAIL_TIMEOUT", 10)
else:
    # One .eml file per message, named by time, recipient and subject (portal.mail).
    EMAIL_BACKEND = "portal.mail.FileEmailBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"

# Celery: Redis when REDIS_URL is set, otherwise kombu's filesystem transport,
# which needs no server.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {
        # Longer than any countdown or ETA we use, or Redis re-delivers them.
        "visibility_timeout": 2 * 60 * 60,
        "socket_connect_timeout": 1,
        "socket_timeout": 2,
    }
else:
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    # The filesystem transport ignores the host, but kombu warns "No hostname was supplied" on
    # every publish to a URL without one (the make run terminal would show it on each check-in).
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        # kombu's default is "control" in the current directory.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER")
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 120
CELERY_TASK_SOFT_TIME_LIMIT = 100
# Publishing must never hang a request when the broker is down.
CELERY_BROKER_CONNECTION_TIMEOUT = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_PUBLISH_RETRY = True
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TIMEZONE = "UTC"
# Reminder delivery (reminders/services.py). Every countdown stays far below
# the Redis visibility_timeout, and the send lease outlasts the task time limit
# (so a lease only ever runs out on a send that died).
REMINDER_SEND_LEASE = envint("PLINTH_REMINDER_SEND_LEASE", 300)
REMINDER_REQUEUE_AFTER = envint("PLINTH_REMINDER_REQUEUE_AFTER", 600)
REMINDER_RETRY_BACKOFF = envint("PLINTH_REMINDER_RETRY_BACKOFF", 60)
REMINDER_MAX_ATTEMPTS = 6
# The therapists' alert digest goes out in this hour of the clinic's own day.
ALERT_DIGEST_HOUR = 7

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header turns "not logged in" into a 401.
        "accounts.tokens.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "portal.api.exceptions.exception_handler",
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "portal.api.common.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "portal.api.filters.ApiFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # JSON in and out only: the browsable API's forms would need inline scripts.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # DRF's JSONParser with the body checks of portal.api.parsers; DRF's own negotiation.
    "DEFAULT_PARSER_CLASSES": ["portal.api.parsers.JSONParser"],
    # Machine interfaces read ISO 8601 only (DRF's default, pinned); the filters'
    # forms get the same rule from portal.api.filters.
    "DATE_INPUT_FORMATS": ["iso-8601"],
    "DATETIME_INPUT_FORMATS": ["iso-8601"],
    "TIME_INPUT_FORMATS": ["iso-8601"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Plinth API",
    "DESCRIPTION": "Care plans, pain check-ins and outcomes for physical-therapy clinics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "SideEnum": "checkins.models.Side",
        "PlanStatusEnum": "careplans.models.PlanStatus",
    },
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

# Content-Security-Policy: everything from our own origin, nothing inline.
CONTENT_SECURITY_POLICY: dict[str, dict[str, Any]] = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

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


def _trusted_proxies() -> list[str]:
    entries = envlist("PLINTH_TRUSTED_PROXIES")
    try:
        parse_trusted_proxies(entries)
    except ValueError as exc:
        raise ImproperlyConfigured(f"PLINTH_TRUSTED_PROXIES: {exc}") from exc
    return entries


# The proxies (addresses or CIDR networks) whose X-Forwarded-For is believed, e.g.
# "172.16.0.0/12" for a TLS proxy on the Docker network. Empty: the header is
# ignored and the peer address is the client (portal.access.client_ip).
PLINTH_TRUSTED_PROXIES = _trusted_proxies()

# Brute force: 5 failures for one account from one client address lock that pair
# for 15 minutes, and failing again while locked does not extend the lock. The
# account is not locked for everyone: an attacker who knows a therapist's email
# must not be able to keep the therapist out. PLINTH_RATE_LIMITS["login_failures"]
# also refuses an address that fails too often, so one address cannot go on
# guessing across every account of a clinic. Nothing counts all clients together.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=envint("AXES_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_CLIENT_IP_CALLABLE = "portal.access.client_ip"
AXES_RESET_ON_SUCCESS = True
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_USERNAME_FORM_FIELD = "username"
AXES_LOCKOUT_CALLABLE = "accounts.security.lockout_response"
AXES_VERBOSE = False

# Idle logout: the clinic's shared desktops log out quickly; patients on their
# own phones stay logged in for a month.
PLINTH_IDLE_TIMEOUT_STAFF_SECONDS = envint("PLINTH_IDLE_TIMEOUT_STAFF_SECONDS", 15 * 60)
PLINTH_IDLE_TIMEOUT_PATIENT_SECONDS = envint("PLINTH_IDLE_TIMEOUT_PATIENT_SECONDS", 30 * 24 * 60 * 60)
SESSION_COOKIE_AGE = PLINTH_IDLE_TIMEOUT_PATIENT_SECONDS

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

if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", True)
    # Load balancers and container healthchecks probe over plain HTTP.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["upgrade-insecure-requests"] = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes logs every login at INFO; lockouts are WARNING and still show.
    # fontTools logs each font subset of every handout PDF at INFO, glyph by glyph.
    "loggers": {"axes": {"level": "WARNING"}, "fontTools": {"level": "WARNING"}},
}
FORMS_URLFIELD_ASSUME_HTTPS = True

# FHIR Bulk Data exports (fhir_r4.bulk): NDJSON files under var/fhir-exports, kept this many hours
# after the request and then deleted by the beat job fhir-exports-expire; rows read per batch; a type
# with more rows than FHIR_EXPORT_PART_ROWS is split by pk range into files written by tasks of their
# own, so every worker process shares the export (fhir_r4.export_writer).
FHIR_EXPORT_DIR = Path(os.environ.get("FHIR_EXPORT_DIR", VAR_DIR / "fhir-exports"))
FHIR_EXPORT_TTL_HOURS = int(os.environ.get("FHIR_EXPORT_TTL_HOURS", "24"))
FHIR_EXPORT_BATCH = 2000
FHIR_EXPORT_PART_ROWS = int(os.environ.get("FHIR_EXPORT_PART_ROWS", "100000"))
